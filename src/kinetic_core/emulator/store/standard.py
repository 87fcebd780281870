"""The standard objects of the emulated org, modelled on a real Developer Edition describe.

Account and Contact follow a real org's recorded describe field for field (order, types, lengths,
flags, compound addresses; ``tests/emulator/test_standard_objects.py`` compares them and lists what
differs). Opportunity, Lead and Case carry the everyday business fields (with Salesforce's labels,
lengths and picklist values); all five add the custom ``External_Id__c`` key. User, Organization,
Profile, PermissionSet and PermissionSetAssignment carry what authentication and permission checks need.

Example:
    >>> [o.key_prefix for o in standard_objects()][:3]
    ['001', '003', '006']
"""

from __future__ import annotations

from dataclasses import replace

from kinetic_core.emulator.store.fieldkit import (
    address,
    boolean,
    computed,
    external_id,
    id_field,
    number,
    picklist,
    read_only,
    reference,
    standard_object_fields,
    text,
    textarea,
    typed,
)
from kinetic_core.emulator.store.schema import FieldDef, FieldType, ObjectDef

INDUSTRIES = (
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications", "Construction",
    "Consulting", "Education", "Electronics", "Energy", "Engineering", "Entertainment", "Environmental",
    "Finance", "Food & Beverage", "Government", "Healthcare", "Hospitality", "Insurance", "Machinery",
    "Manufacturing", "Media", "Not For Profit", "Recreation", "Retail", "Shipping", "Technology",
    "Telecommunications", "Transportation", "Utilities", "Other",
)  # fmt: skip
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
RATINGS = ("Hot", "Warm", "Cold")
SALUTATIONS = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")
OPPORTUNITY_STAGES = (
    "Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
    "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost",
)  # fmt: skip
LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
CASE_STATUSES = ("New", "Working", "Escalated", "Closed")
PERMISSIONS = (
    "PermissionsApiEnabled",
    "PermissionsBulkApiHardDelete",
    "PermissionsViewAllData",
    "PermissionsModifyAllData",
    "PermissionsViewSetup",
    "PermissionsManageUsers",
    "PermissionsCustomizeApplication",
    "PermissionsAuthorApex",
    "PermissionsRunReports",
    "PermissionsExportReport",
)
"""Permission checkboxes on Profile and PermissionSet, in describe order."""


CLEAN_STATUSES = (
    ("Matched", "In Sync"), ("Different", "Different"), ("Acknowledged", "Reviewed"),
    ("NotFound", "Not Found"), ("Inactive", "Inactive"), ("Pending", "Not Compared"),
    ("SelectMatch", "Select Match"), ("Skipped", "Skipped"),
)  # fmt: skip
"""Data.com clean status ``(value, label)`` pairs, in describe order."""

_NOT_PERMISSIONABLE = (("permissionable", False),)
_NOT_FILTERABLE = (("filterable", False), ("sortable", False))


def _master_record(obj: str) -> FieldDef:
    return reference(
        "MasterRecordId", "Master Record ID", obj, "MasterRecord", createable=False, updateable=False
    )


def _person_name(length: int = 121, label: str = "Full Name") -> FieldDef:
    return computed("Name", label, length, nillable=False, name_field=True, extra_type_info="personname")


def _name_part(f: FieldDef) -> FieldDef:
    """First name, last name and salutation: parts of the person-name compound ``Name``."""
    flags = (("compoundFieldName", "Name"),)
    return replace(f, extra_type_info="personname", describe_flags=flags + f.describe_flags)


def _clean_status() -> FieldDef:
    return picklist(
        "CleanStatus", "Clean Status", tuple(v for v, _ in CLEAN_STATUSES), restricted=True,
        picklist_labels=tuple(p for p in CLEAN_STATUSES if p[0] != p[1]),
    )  # fmt: skip


def _jigsaw_id(name: str, label: str, relationship: str) -> FieldDef:
    """Data.com ids: read-only strings that describe with a relationship name but no target."""
    flags = (("relationshipName", relationship), *_NOT_PERMISSIONABLE)
    return text(name, label, 20, createable=False, updateable=False, describe_flags=flags)


def _viewed() -> list[FieldDef]:
    return [
        read_only("LastViewedDate", FieldType.DATETIME, "Last Viewed Date"),
        read_only("LastReferencedDate", FieldType.DATETIME, "Last Referenced Date"),
    ]


def _photo_url() -> FieldDef:
    return read_only("PhotoUrl", FieldType.URL, "Photo URL", extra_type_info="imageurl")


def account() -> ObjectDef:
    body = [
        _master_record("Account"),
        text("Name", "Account Name", 255, nillable=False, name_field=True,
             extra_type_info="switchablepersonname", describe_flags=(("compoundFieldName", "Name"),)),
        picklist("Type", "Account Type", ("Prospect", "Customer - Direct", "Customer - Channel",
                 "Channel Partner / Reseller", "Installation Partner", "Technology Partner", "Other")),
        reference("ParentId", "Parent Account ID", "Account", "Parent", "ChildAccounts"),
        *address("Billing", "Billing"),
        *address("Shipping", "Shipping"),
        typed("Phone", FieldType.PHONE, "Account Phone"),
        typed("Fax", FieldType.PHONE, "Account Fax"),
        text("AccountNumber", "Account Number", 40),
        typed("Website", FieldType.URL, "Website"),
        _photo_url(),
        text("Sic", "SIC Code", 20),
        picklist("Industry", "Industry", INDUSTRIES),
        number("AnnualRevenue", FieldType.CURRENCY, "Annual Revenue", 18, 0),
        number("NumberOfEmployees", FieldType.INT, "Employees", 8),
        picklist("Ownership", "Ownership", ("Public", "Private", "Subsidiary", "Other")),
        text("TickerSymbol", "Ticker Symbol", 20),
        textarea("Description", "Account Description", 32000),
        picklist("Rating", "Account Rating", RATINGS),
        text("Site", "Account Site", 80),
    ]  # fmt: skip
    tail = [
        read_only("LastActivityDate", FieldType.DATE, "Last Activity"),
        *_viewed(),
        boolean("IsPartner", "Partner Account", createable=False),
        boolean("IsCustomerPortal", "Customer Portal Account", createable=False),
        text("ChannelProgramName", "Channel Program Name", 255, createable=False, updateable=False,
             describe_flags=_NOT_FILTERABLE + _NOT_PERMISSIONABLE),
        text("ChannelProgramLevelName", "Channel Program Level Name", 255, createable=False, updateable=False,
             describe_flags=_NOT_FILTERABLE + _NOT_PERMISSIONABLE),
        text("Jigsaw", "Data.com Key", 20),
        _jigsaw_id("JigsawCompanyId", "Jigsaw Company ID", "JigsawCompany"),
        _clean_status(),
        picklist("AccountSource", "Account Source", LEAD_SOURCES),
        text("DunsNumber", "D-U-N-S Number", 9),
        text("Tradestyle", "Tradestyle", 255),
        text("NaicsCode", "NAICS Code", 8),
        text("NaicsDesc", "NAICS Description", 120),
        text("YearStarted", "Year Started", 4),
        text("SicDesc", "SIC Description", 80),
        reference("DandbCompanyId", "D&B Company ID", "DandBCompany", "DandbCompany"),
        reference("OperatingHoursId", "Operating Hour ID", "OperatingHours", "OperatingHours"),
        external_id(),
    ]  # fmt: skip
    return ObjectDef(
        "Account", "001", standard_object_fields("Account", body, tail=tail), "Account", "Accounts"
    )


def contact() -> ObjectDef:
    body = [
        _master_record("Contact"),
        reference("AccountId", "Account ID", "Account", "Account", "Contacts", cascade_delete=True),
        _name_part(text("LastName", "Last Name", 80, nillable=False)),
        _name_part(text("FirstName", "First Name", 40, describe_flags=_NOT_PERMISSIONABLE)),
        _name_part(picklist("Salutation", "Salutation", SALUTATIONS, describe_flags=_NOT_PERMISSIONABLE)),
        _person_name(),
        *address("Other", "Other"),
        *address("Mailing", "Mailing"),
        typed("Phone", FieldType.PHONE, "Business Phone"),
        typed("Fax", FieldType.PHONE, "Business Fax"),
        typed("MobilePhone", FieldType.PHONE, "Mobile Phone"),
        typed("HomePhone", FieldType.PHONE, "Home Phone"),
        typed("OtherPhone", FieldType.PHONE, "Other Phone"),
        typed("AssistantPhone", FieldType.PHONE, "Asst. Phone"),
        reference("ReportsToId", "Reports To ID", "Contact", "ReportsTo"),
        typed("Email", FieldType.EMAIL, "Email", id_lookup=True),
        text("Title", "Title", 128),
        text("Department", "Department", 80),
        text("AssistantName", "Assistant's Name", 40),
        picklist("LeadSource", "Lead Source", LEAD_SOURCES, length=255),
        typed("Birthdate", FieldType.DATE, "Birthdate"),
        textarea("Description", "Contact Description", 32000),
        boolean("HasOptedOutOfEmail", "Email Opt Out"),
        boolean("DoNotCall", "Do Not Call"),
    ]
    tail = [
        read_only("LastActivityDate", FieldType.DATE, "Last Activity"),
        read_only("LastCURequestDate", FieldType.DATETIME, "Last Stay-in-Touch Request Date"),
        read_only("LastCUUpdateDate", FieldType.DATETIME, "Last Stay-in-Touch Save Date"),
        *_viewed(),
        text("EmailBouncedReason", "Email Bounced Reason", 255, describe_flags=_NOT_PERMISSIONABLE),
        typed("EmailBouncedDate", FieldType.DATETIME, "Email Bounced Date",
              describe_flags=_NOT_PERMISSIONABLE),
        boolean("IsEmailBounced", "Is Email Bounced", createable=False, updateable=False),
        _photo_url(),
        text("Jigsaw", "Data.com Key", 20),
        _jigsaw_id("JigsawContactId", "Jigsaw Contact ID", "JigsawContact"),
        _clean_status(),
        reference("IndividualId", "Individual ID", "Individual", "Individual",
                  describe_flags=_NOT_PERMISSIONABLE),
        external_id(),
    ]  # fmt: skip
    return ObjectDef(
        "Contact", "003", standard_object_fields("Contact", body, tail=tail), "Contact", "Contacts"
    )


def opportunity() -> ObjectDef:
    body = [
        reference("AccountId", "Account ID", "Account", "Account", "Opportunities", cascade_delete=True),
        boolean("IsPrivate", "Private"),
        text("Name", "Name", 120, nillable=False, name_field=True),
        textarea("Description", "Description", 32000),
        picklist("StageName", "Stage", OPPORTUNITY_STAGES, nillable=False),
        number("Amount", FieldType.CURRENCY, "Amount", 18, 2),
        number("Probability", FieldType.PERCENT, "Probability (%)", 3, 0),
        number("TotalOpportunityQuantity", FieldType.DOUBLE, "Quantity", 18, 2),
        typed("CloseDate", FieldType.DATE, "Close Date", nillable=False),
        picklist("Type", "Opportunity Type", ("Existing Customer - Upgrade",
                 "Existing Customer - Replacement", "Existing Customer - Downgrade", "New Customer")),
        text("NextStep", "Next Step", 255),
        picklist("LeadSource", "Lead Source", LEAD_SOURCES),
        boolean("IsClosed", "Closed", createable=False, updateable=False),
        boolean("IsWon", "Won", createable=False, updateable=False),
        picklist("ForecastCategoryName", "Forecast Category",
                 ("Omitted", "Pipeline", "Best Case", "Commit", "Closed")),
    ]  # fmt: skip
    tail = [*_viewed(), external_id()]
    fields = standard_object_fields("Opportunity", body, tail=tail)
    return ObjectDef("Opportunity", "006", fields, "Opportunity", "Opportunities")


def lead() -> ObjectDef:
    body = [
        _master_record("Lead"),
        text("LastName", "Last Name", 80, nillable=False),
        text("FirstName", "First Name", 40),
        picklist("Salutation", "Salutation", SALUTATIONS),
        _person_name(),
        text("Title", "Title", 128),
        text("Company", "Company", 255, nillable=False),
        *address(),
        typed("Phone", FieldType.PHONE, "Phone"),
        typed("MobilePhone", FieldType.PHONE, "Mobile Phone"),
        typed("Email", FieldType.EMAIL, "Email", id_lookup=True),
        typed("Website", FieldType.URL, "Website"),
        textarea("Description", "Description", 32000),
        picklist("LeadSource", "Lead Source", LEAD_SOURCES),
        picklist("Status", "Status", LEAD_STATUSES, default="Open - Not Contacted", nillable=False),
        picklist("Industry", "Industry", INDUSTRIES),
        picklist("Rating", "Rating", RATINGS),
        number("AnnualRevenue", FieldType.CURRENCY, "Annual Revenue", 18, 0),
        number("NumberOfEmployees", FieldType.INT, "Employees", 8),
        boolean("IsConverted", "Converted", createable=False, updateable=False),
        typed("ConvertedDate", FieldType.DATE, "Converted Date", createable=False, updateable=False),
        reference("ConvertedAccountId", "Converted Account ID", "Account", "ConvertedAccount",
                  createable=False, updateable=False),
        reference("ConvertedContactId", "Converted Contact ID", "Contact", "ConvertedContact",
                  createable=False, updateable=False),
        boolean("IsUnreadByOwner", "Unread By Owner"),
    ]  # fmt: skip
    fields = standard_object_fields("Lead", body, tail=[*_viewed(), _photo_url(), external_id()])
    return ObjectDef("Lead", "00Q", fields, "Lead", "Leads")


def case() -> ObjectDef:
    body = [
        _master_record("Case"),
        text("CaseNumber", "Case Number", 30, nillable=False, createable=False, updateable=False,
             defaulted_on_create=True, auto_number=True, name_field=True, display_format="{00000000}"),
        reference("ContactId", "Contact ID", "Contact", "Contact", "Cases"),
        reference("AccountId", "Account ID", "Account", "Account", "Cases"),
        reference("ParentId", "Parent Case ID", "Case", "Parent", "Cases"),
        text("SuppliedName", "Name", 80),
        typed("SuppliedEmail", FieldType.EMAIL, "Email"),
        text("SuppliedPhone", "Phone", 40),
        text("SuppliedCompany", "Company", 80),
        picklist("Type", "Case Type", ("Mechanical", "Electrical", "Electronic", "Structural", "Other")),
        picklist("Status", "Status", CASE_STATUSES, default="New", nillable=False),
        picklist("Reason", "Case Reason", ("Installation", "Equipment Complexity", "Performance",
                 "Breakdown", "Equipment Design", "Feedback", "Other")),
        picklist("Origin", "Case Origin", ("Phone", "Email", "Web")),
        text("Subject", "Subject", 255),
        picklist("Priority", "Priority", ("High", "Medium", "Low"), default="Medium"),
        textarea("Description", "Description", 32000),
        boolean("IsClosed", "Closed", createable=False, updateable=False),
        typed("ClosedDate", FieldType.DATETIME, "Closed Date", createable=False, updateable=False),
        boolean("IsEscalated", "Escalated"),
    ]  # fmt: skip
    return ObjectDef("Case", "500", standard_object_fields("Case", body, tail=_viewed()), "Case", "Cases")


def user() -> ObjectDef:
    body = [
        text("Username", "Username", 80, nillable=False, unique=True, id_lookup=True),
        text("LastName", "Last Name", 80, nillable=False),
        text("FirstName", "First Name", 40),
        _person_name(),
        text("CompanyName", "Company Name", 80),
        text("Department", "Department", 80),
        text("Title", "Title", 80),
        typed("Email", FieldType.EMAIL, "Email", length=128, nillable=False),
        text("Alias", "Alias", 8, nillable=False),
        text("CommunityNickname", "Nickname", 40),
        boolean("IsActive", "Active", default=True),
        picklist("TimeZoneSidKey", "Time Zone", ("America/Los_Angeles", "America/New_York", "Europe/London",
                 "Europe/Paris", "Asia/Tokyo", "GMT"), nillable=False, restricted=True),
        picklist("LocaleSidKey", "Locale", ("en_US", "en_GB", "fr_FR", "de_DE", "ja_JP"),
                 nillable=False, restricted=True),
        picklist("EmailEncodingKey", "Email Encoding", ("UTF-8", "ISO-8859-1", "Shift_JIS"),
                 nillable=False, restricted=True),
        reference("ProfileId", "Profile ID", "Profile", "Profile", "Users", nillable=False),
        picklist("LanguageLocaleKey", "Language", ("en_US", "fr", "de", "ja"),
                 nillable=False, restricted=True),
        picklist("UserType", "User Type", ("Standard", "PowerPartner", "CsnOnly", "Guest"),
                 createable=False, updateable=False, default="Standard", nillable=False),
        reference("ManagerId", "Manager ID", "User", "Manager", "ManagedUsers"),
        typed("LastLoginDate", FieldType.DATETIME, "Last Login", createable=False, updateable=False),
    ]  # fmt: skip
    fields = standard_object_fields("User", body, with_owner=False)
    return ObjectDef("User", "005", fields, "User", "Users", deletable=False)


def organization() -> ObjectDef:
    body = [
        text("Name", "Name", 80, nillable=False, name_field=True),
        text("Division", "Division", 80),
        *address(),
        typed("Phone", FieldType.PHONE, "Phone"),
        text("PrimaryContact", "Primary Contact", 80),
        text("DefaultLocaleSidKey", "Locale", 40),
        text("TimeZoneSidKey", "Time Zone", 40),
        text("LanguageLocaleKey", "Language", 40),
        number("FiscalYearStartMonth", FieldType.INT, "Fiscal Year Starts In", 2),
        text("InstanceName", "Instance Name", 5),
        boolean("IsSandbox", "Is Sandbox"),
        typed("TrialExpirationDate", FieldType.DATETIME, "Trial Expiration Date"),
        text("NamespacePrefix", "Namespace Prefix", 15),
        picklist("OrganizationType", "Edition", ("Team Edition", "Professional Edition", "Enterprise Edition",
                 "Developer Edition", "Personal Edition", "Unlimited Edition")),
        boolean("IsReadOnly", "Is Read Only"),
    ]  # fmt: skip
    fields = tuple(
        replace(f, createable=False, updateable=False)
        for f in standard_object_fields("Organization", body, with_owner=False)
    )
    return ObjectDef(
        "Organization", "00D", fields, "Organization", "Organizations",
        createable=False, updateable=False, deletable=False, bulk_supported=False,
    )  # fmt: skip


def _permissions(**kw: bool) -> list[FieldDef]:
    return [
        boolean(p, p.removeprefix("Permissions").replace("Api", "API ") + " permission", **kw)
        for p in PERMISSIONS
    ]


def profile() -> ObjectDef:
    body = [
        text("Name", "Name", 255, nillable=False, name_field=True),
        picklist(
            "UserType", "User Type", ("Standard", "PowerPartner", "CsnOnly", "Guest"), default="Standard"
        ),
        textarea("Description", "Description", 255),
        *_permissions(),
    ]
    fields = standard_object_fields("Profile", body, with_owner=False)
    return ObjectDef("Profile", "00e", fields, "Profile", "Profile", deletable=False)


def permission_set() -> ObjectDef:
    body = [
        text("Name", "Name", 80, nillable=False),
        text("Label", "Label", 80, nillable=False, name_field=True),
        textarea("Description", "Description", 255),
        boolean("IsOwnedByProfile", "Is Owned By Profile", createable=False, updateable=False),
        reference("ProfileId", "Profile ID", "Profile", "Profile", createable=False, updateable=False),
        *_permissions(),
    ]
    fields = standard_object_fields("PermissionSet", body, with_owner=False)
    return ObjectDef("PermissionSet", "0PS", fields, "Permission Set", "Permission Sets")


def permission_set_assignment() -> ObjectDef:
    body = [
        reference("AssigneeId", "Assignee ID", "User", "Assignee", "PermissionSetAssignments",
                  nillable=False),
        reference("PermissionSetId", "Permission Set ID", "PermissionSet", "PermissionSet", "Assignments",
                  nillable=False, cascade_delete=True),
        typed("ExpirationDate", FieldType.DATETIME, "Expiration Date"),
    ]  # fmt: skip
    fields = standard_object_fields("PermissionSetAssignment", body, with_owner=False)
    return ObjectDef(
        "PermissionSetAssignment", "0Pa", fields, "Permission Set Assignment", "Permission Set Assignments",
        updateable=False,
    )  # fmt: skip


SEED_OBJECTS = frozenset({"organization", "user", "profile", "permissionset", "permissionsetassignment"})
"""Objects whose rows survive ``Store.reset()`` (lower-case names)."""


def standard_objects() -> list[ObjectDef]:
    """Every standard object of the emulated org, business objects first.

    Example:
        >>> sorted(o.name for o in standard_objects())[:2]
        ['Account', 'Case']
    """
    return [
        account(),
        contact(),
        opportunity(),
        lead(),
        case(),
        user(),
        organization(),
        profile(),
        permission_set(),
        permission_set_assignment(),
    ]


__all__ = ["PERMISSIONS", "SEED_OBJECTS", "id_field", "standard_objects"]
