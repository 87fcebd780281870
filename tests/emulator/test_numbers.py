"""Number, currency and percent values: doubles on the wire, decimal arithmetic in aggregates.

Salesforce's API carries these fields as ``xsd:double`` (its help articles 000221617 and 000385889:
12345678 comes back as ``1.2345678E7`` over SOAP, REST and Bulk alike), while SUM and AVG are computed
on the decimals it stores. The emulator does the same: values round-trip as the double the client
sent, and aggregates add their decimal values exactly.
"""

from __future__ import annotations

import csv
import io
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import EmulatorApi


def _opportunity(api: EmulatorApi, name: str, **values: Any) -> str:
    return api.create("Opportunity", Name=name, StageName="Prospecting", CloseDate="2026-01-31", **values)


def _query(api: EmulatorApi, soql: str) -> dict[str, Any]:
    response = api.get("query", params={"q": soql})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_sum_and_avg_add_decimals_exactly(emulator_api: EmulatorApi) -> None:
    for i in range(10):
        _opportunity(emulator_api, f"Dime {i}", Amount=0.1)
    _opportunity(emulator_api, "Pair A", Amount=0.1, TotalOpportunityQuantity=0.1)
    _opportunity(emulator_api, "Pair B", Amount=0.2, TotalOpportunityQuantity=0.2)
    dimes = _query(
        emulator_api, "SELECT SUM(Amount) total, AVG(Amount) mean FROM Opportunity WHERE Name LIKE 'Dime%'"
    )
    assert dimes["records"][0]["total"] == 1.0  # binary floating point gives 0.9999999999999999
    assert dimes["records"][0]["mean"] == 0.1
    pair = _query(
        emulator_api,
        "SELECT SUM(Amount), AVG(TotalOpportunityQuantity), MIN(Amount), MAX(Amount) "
        "FROM Opportunity WHERE Name LIKE 'Pair%'",
    )["records"][0]
    assert pair["expr0"] == 0.3  # not 0.30000000000000004
    assert pair["expr1"] == 0.15  # not 0.15000000000000002
    assert (pair["expr2"], pair["expr3"]) == (0.1, 0.2)
    grouped = _query(
        emulator_api,
        "SELECT StageName, SUM(Amount) s FROM Opportunity GROUP BY StageName HAVING SUM(Amount) = 1.3",
    )
    assert grouped["records"] == [
        {"attributes": {"type": "AggregateResult"}, "StageName": "Prospecting", "s": 1.3}
    ]


def test_integer_sums_stay_integers(emulator_api: EmulatorApi) -> None:
    for employees in (3, 4):
        emulator_api.create("Account", Name=f"Staff {employees}", NumberOfEmployees=employees)
    body = _query(emulator_api, "SELECT SUM(NumberOfEmployees), AVG(NumberOfEmployees) FROM Account")
    assert body["records"][0]["expr0"] == 7
    assert isinstance(body["records"][0]["expr0"], int)
    assert body["records"][0]["expr1"] == 3.5


def test_eighteen_digits_travel_as_the_nearest_double(emulator_api: EmulatorApi) -> None:
    """As in Salesforce, an 18-digit value in a number(18,0) field is carried as a double."""
    account_id = emulator_api.create("Account", Name="Big", AnnualRevenue=123456789012345678)
    record = emulator_api.get(f"sobjects/Account/{account_id}").json()
    assert record["AnnualRevenue"] == float(123456789012345678)
    job = emulator_api.post(
        "jobs/query",
        json={"operation": "query", "query": f"SELECT AnnualRevenue FROM Account WHERE Id = '{account_id}'"},
    ).json()
    deadline = time.monotonic() + 30
    while emulator_api.get(f"jobs/query/{job['id']}").json()["state"] != "JobComplete":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    rows = list(csv.DictReader(io.StringIO(emulator_api.get(f"jobs/query/{job['id']}/results").text)))
    assert rows == [
        {"AnnualRevenue": "1.2345678901234568E17"}
    ]  # Java's Double.toString, as Salesforce prints


def test_values_beyond_the_precision_are_refused_with_salesforce_wording(emulator_api: EmulatorApi) -> None:
    too_big = emulator_api.post("sobjects/Account", json={"Name": "Huge", "AnnualRevenue": 10**18})
    assert too_big.status_code == 400
    assert too_big.json() == [
        {
            "message": "Annual Revenue: value outside of valid range on numeric field: 1.0E18",
            "errorCode": "NUMBER_OUTSIDE_VALID_RANGE",
            "fields": ["AnnualRevenue"],
        }
    ]
    fits = emulator_api.post(
        "sobjects/Opportunity",
        json={
            "Name": "Edge",
            "StageName": "Prospecting",
            "CloseDate": "2026-01-31",
            "Amount": 1234567890123456.5,  # 16 integer digits, exactly representable
        },
    )
    assert fits.status_code == 201, fits.text
    stored = emulator_api.get(f"sobjects/Opportunity/{fits.json()['id']}").json()["Amount"]
    assert stored == 1234567890123456.5
