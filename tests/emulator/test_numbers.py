"""Number, currency and percent values: stored and returned exactly, on every path.

Salesforce keeps a value set through the API at the full precision it was sent with, even with more
decimal places than the field's scale (its help article 000387302: "the full precision value is stored
in the database as inserted. When you retrieve the value via API, no rounding occurs"); values of more
than 15 digits are rounded only by the browser in its UI (000394530). The API carries these fields as
``xsd:double`` lexical forms, so large values print in scientific notation (12345678 as ``1.2345678E7``:
000221617, 000385889). The emulator does the same with every digit: 123456789012345678 in a
number(18,0) field comes back as ``1.23456789012345678E17`` in CSV and as a JSON number with those
digits, over REST, Composite, Bulk 2.0 and Bulk 1.0; SOQL compares, sorts and aggregates exact values.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinetic_core.emulator.app import create_app
from kinetic_core.emulator.org import Org, OrgSettings
from kinetic_core.emulator.store import from_csv, from_json, to_csv, to_json
from kinetic_core.emulator.store.formats import java_double
from kinetic_core.emulator.store.schema import FieldDef, FieldType

with warnings.catch_warnings():  # this Starlette release deprecates TestClient on plain httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

REST = "/services/data/v62.0"
ASYNC = "/services/async/62.0"
BIG = "123456789012345678"  # 18 digits: a number(18,0) value past the doubles' 15-17 digits
BIG_CSV = "1.23456789012345678E17"
BIG_JSON = "1.23456789012345678E17"  # JSON and XML write the CSV text
CENTS = "1222333444555666.88"  # 18 digits in a number(18,2) field
CENTS_CSV = "1.22233344455566688E15"
OPPORTUNITY = '"Name":"{name}","StageName":"Prospecting","CloseDate":"2026-01-31"'


class Api:
    """REST, Bulk 2.0 and Bulk 1.0 on one in-process org (bulk work runs when :meth:`process` is called)."""

    def __init__(self, org: Org, client: TestClient) -> None:
        self.org = org
        self.client = client
        self.token = org.tokens.issue_access(
            org.admin_user_id, "admin@kinetic.local", "api", ttl_seconds=3600
        ).token

    def rest(self, method: str, path: str, body: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        return self.client.request(method, REST + path, headers=headers, content=body, **kw)

    def v1(self, method: str, path: str, body: bytes | str, content_type: str) -> httpx.Response:
        headers = {"X-SFDC-Session": self.token, "Content-Type": content_type}
        return self.client.request(method, ASYNC + path, headers=headers, content=body)

    def process(self) -> None:
        assert self.org.bulk is not None
        self.org.bulk.run_pending()

    def create(self, sobject: str, body: str) -> str:
        response = self.rest("POST", f"/sobjects/{sobject}", body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def query(self, soql: str) -> Any:
        response = self.rest("GET", "/query", params={"q": soql})
        assert response.status_code == 200, response.text
        return exact_json(response.text)

    def bulk_query(self, soql: str) -> list[dict[str, str]]:
        job = self.rest("POST", "/jobs/query", json.dumps({"operation": "query", "query": soql})).json()
        self.process()
        assert self.rest("GET", f"/jobs/query/{job['id']}").json()["state"] == "JobComplete"
        text = self.rest("GET", f"/jobs/query/{job['id']}/results").text
        return list(csv.DictReader(io.StringIO(text)))

    def bulk_ingest(self, sobject: str, data: str, operation: str = "insert") -> None:
        spec = {"object": sobject, "operation": operation, "lineEnding": "LF"}
        job = self.rest("POST", "/jobs/ingest", json.dumps(spec)).json()
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "text/csv"}
        put = self.client.put(f"{REST}/jobs/ingest/{job['id']}/batches", headers=headers, content=data)
        assert put.status_code == 201, put.text
        self.rest("PATCH", f"/jobs/ingest/{job['id']}", json.dumps({"state": "UploadComplete"}))
        self.process()
        info = self.rest("GET", f"/jobs/ingest/{job['id']}").json()
        assert (info["state"], info["numberRecordsFailed"]) == ("JobComplete", 0), info


def exact_json(text: str) -> Any:
    """A JSON body with every number as a Decimal, digit for digit."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    org = Org(OrgSettings(data_dir=tmp_path), sleep=lambda _s: None)
    try:
        with TestClient(create_app(org), base_url=org.base_url) as client:
            yield Api(org, client)
    finally:
        org.close()


def _revenue(api: Api, record_id: str) -> tuple[str, Any]:
    response = api.rest("GET", f"/sobjects/Account/{record_id}?fields=AnnualRevenue")
    assert response.status_code == 200, response.text
    return response.text, exact_json(response.text)["AnnualRevenue"]


def test_eighteen_digits_round_trip_exactly_over_rest_and_composite(api: Api) -> None:
    rest_id = api.create("Account", f'{{"Name":"Rest","AnnualRevenue":{BIG}}}')
    text, value = _revenue(api, rest_id)
    assert f'"AnnualRevenue":{BIG_JSON}' in text
    assert value == Decimal(BIG)
    as_string = api.create("Account", f'{{"Name":"Text","AnnualRevenue":"{BIG}"}}')
    assert _revenue(api, as_string)[1] == Decimal(BIG)
    updated = api.rest("PATCH", f"/sobjects/Account/{rest_id}", '{"AnnualRevenue":123456789012345677}')
    assert updated.status_code == 204, updated.text
    assert _revenue(api, rest_id)[1] == Decimal("123456789012345677")

    records = ",".join(
        f'{{"attributes":{{"type":"Account"}},"Name":"C{i}","AnnualRevenue":{BIG[:-1]}{i}}}' for i in range(3)
    )
    created = api.rest("POST", "/composite/sobjects", f'{{"allOrNone":true,"records":[{records}]}}')
    assert created.status_code == 200, created.text
    ids = [r["id"] for r in created.json()]
    fetched = api.rest(
        "POST", "/composite/sobjects/Account", json.dumps({"ids": ids, "fields": ["AnnualRevenue"]})
    )
    assert [r["AnnualRevenue"] for r in exact_json(fetched.text)] == [
        Decimal(f"{BIG[:-1]}{i}") for i in range(3)
    ]

    tree = api.rest(
        "POST",
        "/composite/tree/Account",
        f'{{"records":[{{"attributes":{{"type":"Account","referenceId":"r1"}},"Name":"Tree",'
        f'"AnnualRevenue":{BIG}}}]}}',
    )
    assert tree.status_code == 201, tree.text
    tree_id = tree.json()["results"][0]["id"]
    batch = api.rest(
        "POST",
        "/composite/batch",
        json.dumps({"batchRequests": [{"method": "GET", "url": f"v62.0/sobjects/Account/{tree_id}"}]}),
    )
    assert f'"AnnualRevenue":{BIG_JSON}' in batch.text
    composite = api.rest(
        "POST",
        "/composite",
        '{"compositeRequest":[{"method":"POST","url":"/services/data/v62.0/sobjects/Account",'
        f'"referenceId":"new","body":{{"Name":"Composite","AnnualRevenue":{BIG}}}}},'
        '{"method":"GET","url":"/services/data/v62.0/sobjects/Account/@{new.id}","referenceId":"got"},'
        '{"method":"POST","url":"/services/data/v62.0/sobjects/Opportunity","referenceId":"opp",'
        f'"body":{{{OPPORTUNITY.format(name="Composite")},"Amount":{CENTS}}}}},'
        '{"method":"GET","url":"/services/data/v62.0/sobjects/Opportunity/@{opp.id}","referenceId":"back"}]}',
    )
    assert composite.status_code == 200, composite.text
    responses = exact_json(composite.text)["compositeResponse"]
    assert responses[1]["body"]["AnnualRevenue"] == Decimal(BIG)
    assert responses[3]["body"]["Amount"] == Decimal(CENTS)

    rows = api.query("SELECT AnnualRevenue FROM Account WHERE AnnualRevenue != null ORDER BY Name")["records"]
    assert {r["AnnualRevenue"] for r in rows} >= {Decimal(BIG), Decimal("123456789012345677")}
    assert api.bulk_query(f"SELECT AnnualRevenue FROM Account WHERE Id = '{tree_id}'") == [
        {"AnnualRevenue": BIG_CSV}
    ]


def test_eighteen_digits_and_cents_round_trip_over_bulk_2(api: Api) -> None:
    api.bulk_ingest("Account", f"Name,AnnualRevenue\nBulk,{BIG}\nSci,1.23456789012345671E17\nSmall,5000\n")
    names = {r["Name"]: r["AnnualRevenue"] for r in api.bulk_query("SELECT Name, AnnualRevenue FROM Account")}
    assert names == {"Bulk": BIG_CSV, "Sci": "1.23456789012345671E17", "Small": "5000.0"}
    api.bulk_ingest(
        "Opportunity",
        f"Name,StageName,CloseDate,Amount\nBig deal,Prospecting,2026-01-31,{CENTS}\n"
        "Odd,Prospecting,2026-01-31,0.123456789\n",
    )
    rows = api.bulk_query("SELECT Name, Amount FROM Opportunity ORDER BY Amount")
    assert rows == [{"Name": "Odd", "Amount": "0.123456789"}, {"Name": "Big deal", "Amount": CENTS_CSV}]
    record = api.query("SELECT Amount FROM Opportunity WHERE Name = 'Big deal'")["records"][0]
    assert record["Amount"] == Decimal(CENTS)


def _v1_job(api: Api, operation: str, sobject: str, content_type: str) -> str:
    job = api.v1(
        "POST",
        "/job",
        json.dumps({"operation": operation, "object": sobject, "contentType": content_type}),
        "application/json",
    )
    assert job.status_code == 201, job.text
    return str(job.json()["id"])


def _v1_query(api: Api, soql: str, content_type: str) -> str:
    job_id = _v1_job(api, "query", "Account", content_type)
    kind = {"CSV": "text/csv", "JSON": "application/json", "XML": "application/xml"}[content_type]
    batch = api.v1("POST", f"/job/{job_id}/batch", soql, kind)
    assert batch.status_code == 201, batch.text
    batch_id = (
        batch.json()["id"] if batch.text.startswith("{") else ElementTree.fromstring(batch.content)[0].text
    )
    api.process()
    listing = api.v1("GET", f"/job/{job_id}/batch/{batch_id}/result", b"", "application/json")
    result_id = (
        listing.json()[0] if listing.text.startswith("[") else ElementTree.fromstring(listing.content)[0].text
    )
    return api.v1("GET", f"/job/{job_id}/batch/{batch_id}/result/{result_id}", b"", "application/json").text


def test_eighteen_digits_round_trip_over_bulk_1(api: Api) -> None:
    csv_job = _v1_job(api, "insert", "Account", "CSV")
    added = api.v1("POST", f"/job/{csv_job}/batch", f"Name,AnnualRevenue\nV1 csv,{BIG}\n", "text/csv")
    assert added.status_code == 201, added.text
    json_job = _v1_job(api, "insert", "Account", "JSON")
    body = (
        f'[{{"Name":"V1 json","AnnualRevenue":{BIG}}},'
        '{"Name":"V1 frac","AnnualRevenue":1.23456789012345677E17}]'
    )
    assert api.v1("POST", f"/job/{json_job}/batch", body, "application/json").status_code == 201
    api.process()
    soql = "SELECT Name, AnnualRevenue FROM Account WHERE Name LIKE 'V1%' ORDER BY Name"
    rows = list(csv.DictReader(io.StringIO(_v1_query(api, soql, "CSV"))))
    assert [(r["Name"], r["AnnualRevenue"]) for r in rows] == [
        ("V1 csv", BIG_CSV),
        ("V1 frac", "1.23456789012345677E17"),
        ("V1 json", BIG_CSV),
    ]
    as_json = _v1_query(api, soql, "JSON")
    assert [r["AnnualRevenue"] for r in exact_json(as_json)] == [
        Decimal(BIG),
        Decimal("123456789012345677"),
        Decimal(BIG),
    ]
    assert f"<AnnualRevenue>{BIG_JSON}</AnnualRevenue>" in _v1_query(api, soql, "XML")


def test_cents_and_extra_decimals_are_kept(api: Api) -> None:
    big = api.create("Opportunity", "{" + OPPORTUNITY.format(name="Cents") + f',"Amount":{CENTS}}}')
    extra = api.create("Opportunity", "{" + OPPORTUNITY.format(name="Extra") + ',"Amount":12.3456}')
    long = api.create(
        "Opportunity", "{" + OPPORTUNITY.format(name="Long") + ',"Amount":"0.10000000000000000001"}'
    )
    got = {
        rid: api.rest("GET", f"/sobjects/Opportunity/{rid}?fields=Amount").text for rid in (big, extra, long)
    }
    assert f'"Amount":{CENTS_CSV}' in got[big]
    assert '"Amount":12.3456' in got[extra]  # more decimals than the scale of 2: kept, as Salesforce does
    assert '"Amount":0.10000000000000000001' in got[long]
    rows = api.bulk_query("SELECT Name, Amount FROM Opportunity ORDER BY Name")
    assert rows == [
        {"Name": "Cents", "Amount": CENTS_CSV},
        {"Name": "Extra", "Amount": "12.3456"},
        {"Name": "Long", "Amount": "0.10000000000000000001"},
    ]
    too_big = api.rest("POST", "/sobjects/Account", '{"Name":"Huge","AnnualRevenue":1000000000000000000}')
    assert too_big.status_code == 400
    assert too_big.json() == [
        {
            "message": "Annual Revenue: value outside of valid range on numeric field: 1.0E18",
            "errorCode": "NUMBER_OUTSIDE_VALID_RANGE",
            "fields": ["AnnualRevenue"],
        }
    ]


MIX = [
    "5",
    "5.5",
    "1222333444555666.88",
    "1222333444555666.9",  # the same nearest double as the value above: 1222333444555667
    "1222333444555667.1",  # and that one
    "1222333444555667",  # that double exactly, an INTEGER
    "-0.25",
    "0.1",  # a REAL
    "0.10000000000000000001",  # decimal TEXT with the same nearest double, as the next one
    "0.09999999999999999999",
    "9999999999999999.99",
]


def test_comparisons_and_order_use_exact_values(api: Api) -> None:
    for i, amount in enumerate(MIX):
        api.create("Opportunity", "{" + OPPORTUNITY.format(name=f"M{i:02d}") + f',"Amount":{amount}}}')
    ordered = api.query("SELECT Amount FROM Opportunity ORDER BY Amount")["records"]
    assert [r["Amount"] for r in ordered] == sorted(Decimal(v) for v in MIX)
    down = api.query("SELECT Amount FROM Opportunity ORDER BY Amount DESC NULLS LAST")["records"]
    assert [r["Amount"] for r in down] == sorted((Decimal(v) for v in MIX), reverse=True)
    bulk = api.bulk_query("SELECT Amount FROM Opportunity ORDER BY Amount")
    assert [Decimal(r["Amount"]) for r in bulk] == sorted(Decimal(v) for v in MIX)
    for literal in (
        "1222333444555666.88",
        "1222333444555666.9",
        "0.1",
        "5",
        "5.0",
        "1222333444555667",
        "1222333444555667.1",
    ):
        for op, test in (
            ("=", Decimal.__eq__),
            ("!=", Decimal.__ne__),
            ("<", Decimal.__lt__),
            ("<=", Decimal.__le__),
            (">", Decimal.__gt__),
            (">=", Decimal.__ge__),
        ):
            soql = f"SELECT Amount FROM Opportunity WHERE Amount {op} {literal} ORDER BY Amount"
            got = [r["Amount"] for r in api.query(soql)["records"]]
            assert got == sorted(v for v in map(Decimal, MIX) if test(v, Decimal(literal))), soql
    listed = api.query(f"SELECT Amount FROM Opportunity WHERE Amount IN ({CENTS}, 5.0, 0.1) ORDER BY Amount")
    assert [r["Amount"] for r in listed["records"]] == [Decimal("0.1"), Decimal(5), Decimal(CENTS)]


def test_sum_avg_min_max_are_exact(api: Api) -> None:
    for i in range(10):
        api.create("Opportunity", "{" + OPPORTUNITY.format(name=f"Dime {i}") + ',"Amount":0.1}')
    dimes = api.query("SELECT SUM(Amount) total, AVG(Amount) mean FROM Opportunity WHERE Name LIKE 'Dime%'")
    assert (dimes["records"][0]["total"], dimes["records"][0]["mean"]) == (Decimal("1.0"), Decimal("0.1"))
    for name, amount in (("Big A", CENTS), ("Big B", "1222333444555666.9"), ("Big C", "0.01")):
        api.create("Opportunity", "{" + OPPORTUNITY.format(name=name) + f',"Amount":{amount}}}')
    big = api.query(
        "SELECT SUM(Amount), AVG(Amount), MIN(Amount), MAX(Amount) FROM Opportunity WHERE Name LIKE 'Big%'"
    )["records"][0]
    total = Decimal(CENTS) + Decimal("1222333444555666.9") + Decimal("0.01")
    assert big["expr0"] == total
    assert big["expr1"] == Decimal(repr(float(total / 3)))  # a third has no finite decimal: nearest double
    assert (big["expr2"], big["expr3"]) == (Decimal("0.01"), Decimal("1222333444555666.9"))
    pair = api.query(
        "SELECT SUM(Amount) s, MAX(Amount) m FROM Opportunity WHERE Name IN ('Big A', 'Big B') "
        f"HAVING MAX(Amount) > {CENTS}"
    )["records"]
    assert pair[0]["s"] == Decimal("2444666889111333.78")
    grouped = api.query(
        "SELECT StageName, SUM(Amount) s FROM Opportunity WHERE Name LIKE 'Dime%' "
        "GROUP BY StageName HAVING SUM(Amount) = 1.0"
    )["records"]
    assert [g["s"] for g in grouped] == [Decimal("1.0")]
    integers = api.query("SELECT SUM(AnnualRevenue) FROM Account")["records"][0]["expr0"]
    assert integers is None


def test_integer_sums_stay_integers(api: Api) -> None:
    for employees in (3, 4):
        api.create("Account", f'{{"Name":"Staff {employees}","NumberOfEmployees":{employees}}}')
    record = api.query("SELECT SUM(NumberOfEmployees), AVG(NumberOfEmployees) FROM Account")["records"][0]
    assert record["expr0"] == 7
    assert record["expr1"] == Decimal("3.5")


MONEY = FieldDef("Amount", FieldType.CURRENCY, label="Amount", precision=18, scale=2)
REVENUE = FieldDef("AnnualRevenue", FieldType.CURRENCY, label="Annual Revenue", precision=18, scale=0)
ORDINARY = [0.0, 1.0, 1234.56, 50000.0, 12345678.0, 1234567.0, 0.001, 0.0001, -2.5e-5, 1e7, 99.99, 0.1]


@pytest.mark.parametrize("value", ORDINARY)
def test_ordinary_values_print_in_javas_notation(value: float) -> None:
    """Values that are exact doubles print as Java's ``Double.toString`` in JSON and CSV alike; those
    Python already writes that way (1e-3 <= |x| < 1e7, or zero) stay floats."""
    for stored in (
        from_json(MONEY, value),
        from_csv(MONEY, java_double(value)),
        from_csv(MONEY, repr(value)),
    ):
        assert to_csv(MONEY, stored) == java_double(value)
        out = to_json(MONEY, stored)
        assert _dumps(out) == java_double(value)
        assert (type(out) is float) == (value == 0 or 1e-3 <= abs(value) < 1e7)
        assert json.loads(_dumps(out)) == value


def test_ordinary_values_print_in_javas_notation_over_http(api: Api) -> None:
    for i, value in enumerate(ORDINARY):
        api.create("Opportunity", "{" + OPPORTUNITY.format(name=f"O{i:02d}") + f',"Amount":{value!r}}}')
    text = api.rest("GET", "/query", params={"q": "SELECT Amount FROM Opportunity ORDER BY Name"}).text
    assert [r["Amount"] for r in json.loads(text)["records"]] == ORDINARY
    for value in ORDINARY:
        assert f'"Amount":{java_double(value)}' in text
    rows = api.bulk_query("SELECT Amount FROM Opportunity ORDER BY Name")
    assert [r["Amount"] for r in rows] == [java_double(v) for v in ORDINARY]


def _decimals(precision: int, scale: int) -> st.SearchStrategy[Decimal]:
    bound = 10 ** (precision - scale) - 1
    return st.decimals(
        min_value=-bound, max_value=bound, places=scale, allow_nan=False, allow_infinity=False
    ) | st.integers(-bound, bound).map(Decimal)


@given(
    st.sampled_from([(18, 2), (18, 0), (16, 4), (18, 15)]).flatmap(
        lambda ps: st.tuples(st.just(ps), _decimals(*ps))
    )
)
def test_random_decimals_round_trip(case: tuple[tuple[int, int], Decimal]) -> None:
    (precision, scale), value = case
    field = FieldDef("X__c", FieldType.DOUBLE, label="X", precision=precision, scale=scale)
    text = format(value, "f")
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (x BLOB)")
    for stored in (from_csv(field, text), from_json(field, json.loads(text, parse_float=_json_float))):
        conn.execute("DELETE FROM t")
        conn.execute("INSERT INTO t VALUES (?)", (stored,))
        back = conn.execute("SELECT x FROM t").fetchone()[0]
        assert Decimal(to_csv(field, back)) == value
        out = to_json(field, back)
        assert (Decimal(repr(out)) if isinstance(out, float) else out) == value
        assert Decimal(json.loads(_dumps(out), parse_float=Decimal)) == value


def _json_float(text: str) -> Any:
    from kinetic_core.emulator.store.numbers import JsonFloat

    return JsonFloat(text)


def _dumps(value: Any) -> str:
    from kinetic_core.emulator.store.numbers import dumps

    return dumps(value)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_decimals(18, 2))
def test_random_amounts_round_trip_over_rest(api: Api, value: Decimal) -> None:
    text = format(value, "f")
    rid = api.create("Opportunity", "{" + OPPORTUNITY.format(name="H") + f',"Amount":{text}}}')
    got = exact_json(api.rest("GET", f"/sobjects/Opportunity/{rid}?fields=Amount").text)["Amount"]
    assert got == value


def test_a_store_with_real_columns_keeps_working(tmp_path: Path) -> None:
    """A store file made when number columns were REAL: rebuilt on open (``test_store_migrate.py``), its
    values read, compare and sort, and new values keep every digit."""
    org = Org(OrgSettings(data_dir=tmp_path), sleep=lambda _s: None)
    org.close()
    conn = sqlite3.connect(tmp_path / "org.sqlite")
    conn.execute("ALTER TABLE sobj_opportunity DROP COLUMN amount")
    conn.execute("ALTER TABLE sobj_opportunity ADD COLUMN amount REAL")
    conn.close()
    org = Org(OrgSettings(data_dir=tmp_path), sleep=lambda _s: None)
    try:
        with TestClient(create_app(org), base_url=org.base_url) as client:
            api = Api(org, client)
            for name, amount in (("A", "2.5"), ("B", "1234.56"), ("C", CENTS), ("D", "7")):
                api.create("Opportunity", "{" + OPPORTUNITY.format(name=name) + f',"Amount":{amount}}}')
            rows = api.query("SELECT Name, Amount FROM Opportunity WHERE Amount > 2 ORDER BY Amount DESC")
            assert [(r["Name"], r["Amount"]) for r in rows["records"]] == [
                ("C", Decimal(CENTS)),  # the column lost its REAL affinity when the store opened
                ("B", Decimal("1234.56")),
                ("D", Decimal("7.0")),
                ("A", Decimal("2.5")),
            ]
            assert api.query("SELECT SUM(Amount) FROM Opportunity WHERE Name != 'C'")["records"][0][
                "expr0"
            ] == Decimal("1244.06")
    finally:
        org.close()


def _neighbours(value: Decimal) -> list[Decimal]:
    """``value``, its nearest double's shortest decimal and that double exactly, and decimals a few units
    of the 17th to 20th significant digit away: the values that share or straddle one double."""
    double = float(value)
    out = [value, Decimal(repr(double)), Decimal(double)]
    exponent = value.adjusted() if value else 0
    for digits in (17, 18, 19, 20):
        step = Decimal(1).scaleb(exponent - digits + 1)
        out.extend((value + step, value - step, value + 5 * step))
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(_decimals(18, 2) | _decimals(18, 15) | _decimals(18, 0), min_size=1, max_size=4), st.data())
def test_sql_order_and_comparisons_follow_exact_values(bases: list[Decimal], data: st.DataObject) -> None:
    from kinetic_core.emulator.soql.conditions import _number_order
    from kinetic_core.emulator.store.database import register_functions
    from kinetic_core.emulator.store.numbers import order_key, stored_decimal

    values = sorted({v.normalize() for base in bases for v in _neighbours(base)})
    conn = sqlite3.connect(":memory:")
    register_functions(conn)
    conn.execute("CREATE TABLE t (x BLOB)")
    conn.executemany("INSERT INTO t VALUES (?)", [(stored_decimal(v),) for v in reversed(values)])
    double, tie = order_key("x")
    ordered = [row[0] for row in conn.execute(f"SELECT x FROM t ORDER BY {double}, {tie}")]
    assert [Decimal(str(v)) if not isinstance(v, float) else Decimal(repr(v)) for v in ordered] == values
    literal = data.draw(st.sampled_from(values))
    for op, test in (
        ("<", Decimal.__lt__),
        ("<=", Decimal.__le__),
        (">", Decimal.__gt__),
        (">=", Decimal.__ge__),
    ):
        where = _number_order("x", op, stored_decimal(literal))
        count = conn.execute(f"SELECT count(*) FROM t WHERE {where.text}", where.params).fetchone()[0]
        assert count == sum(1 for v in values if test(v, literal)), op
    equal = conn.execute("SELECT count(*) FROM t WHERE x = ?", (stored_decimal(literal),)).fetchone()[0]
    assert equal == 1
