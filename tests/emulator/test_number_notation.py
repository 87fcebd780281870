"""Number, currency and percent values in JSON: Java's notation, every digit, on every JSON path.

Salesforce writes these fields in REST and SOQL JSON as it writes them in CSV: ``1234567.0`` but
``1.2345678E7`` (help articles 000221617 and 000385889: "This is not just through SOAP API, but Rest
API or SOQL as well"). That is Java's ``Double.toString`` layout: plain for 1e-3 <= |x| < 1e7, else
``d.dddE±n``. The lower bound is inferred from the same Java rule. The emulator keeps every stored digit in
that layout, and Python's ``json`` reads the text back as the stored double (or, with
``parse_float=Decimal``, as the stored decimal exactly).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_numbers import OPPORTUNITY, Api, _v1_query, exact_json

from kinetic_core import SalesforceClient
from kinetic_core.emulator.app import create_app
from kinetic_core.emulator.org import Org, OrgSettings
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.emulator.store import numbers
from kinetic_core.emulator.store.formats import java_double

with warnings.catch_warnings():  # this Starlette release deprecates TestClient on plain httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

JAVA = re.compile(r"-?(?:(?:0|[1-9]\d{0,6})\.\d+|[1-9]\.\d+E-?[1-9]\d*)")
"""Java's ``Double.toString`` layout: plain below 1e7, else one digit, a fraction and an exponent."""

CASES = [  # (value sent, JSON text Salesforce's notation gives)
    ("0", "0.0"),
    ("5", "5.0"),
    ("1234567", "1234567.0"),
    ("9999999.99", "9999999.99"),
    ("10000000", "1.0E7"),
    ("12345678", "1.2345678E7"),
    ("-12345678.9", "-1.23456789E7"),
    ("80000000", "8.0E7"),
    ("0.001", "0.001"),
    ("0.000999", "9.99E-4"),
    ("0.0005", "5.0E-4"),
    ("0.00001", "1.0E-5"),
    ("1222333444555666.88", "1.22233344455566688E15"),
    ("-9876543210987654.3", "-9.8765432109876543E15"),
    ("0.10000000000000000001", "0.10000000000000000001"),
    ("0.00012345678901234567891", "1.2345678901234567891E-4"),
]


def _dumps(value: Any) -> str:
    return numbers.dumps(value, separators=(",", ":"))


@pytest.mark.parametrize(("sent", "expected"), CASES)
def test_json_text_is_javas_notation_with_every_digit(sent: str, expected: str) -> None:
    stored = numbers.stored_text(sent)
    text = _dumps(numbers.json_value(stored))
    assert text == expected
    assert text == numbers.java_text(stored)  # JSON and CSV write the same text
    assert json.loads(text, parse_float=Decimal) == Decimal(sent)


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e18, max_value=1e18))
def test_every_double_prints_as_java_and_reads_back(value: float) -> None:
    stored = numbers.stored_text(repr(value))
    text = _dumps({"x": numbers.json_value(stored)})
    number = text[5:-1]
    assert number == java_double(value)
    assert JAVA.fullmatch(number), number
    assert json.loads(text)["x"] == value
    assert json.loads(text, parse_float=Decimal)["x"] == Decimal(repr(value))


_DECIMALS = st.builds(
    lambda digits, exponent, negative: Decimal(f"{'-' if negative else ''}{digits}E{exponent}"),
    st.integers(1, 10**18 - 1),
    st.integers(-24, 0),
    st.booleans(),
)


@given(_DECIMALS)
def test_every_exact_decimal_prints_as_java_and_reads_back(value: Decimal) -> None:
    stored = numbers.stored_decimal(value)
    text = _dumps([numbers.json_value(stored)])[1:-1]
    assert JAVA.fullmatch(text), text
    assert text == numbers.java_text(stored)  # JSON and CSV write the same text
    assert ("E" in text) == (not Decimal("1e-3") <= abs(value) < Decimal("1e7"))
    assert json.loads(text, parse_float=Decimal) == value
    assert json.loads(text) == float(value)
    pretty = numbers.dumps(numbers.loads(text, exact=True), indent=2)
    assert pretty == text  # X-PrettyPrint re-writes the same text


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    org = Org(OrgSettings(data_dir=tmp_path), sleep=lambda _s: None)
    try:
        with TestClient(create_app(org), base_url=org.base_url) as client:
            yield Api(org, client)
    finally:
        org.close()


def _opportunity(name: str, amount: str) -> str:
    return "{" + OPPORTUNITY.format(name=name) + f',"Amount":{amount}}}'


def _get(api: Api, path: str, params: dict[str, str], headers: dict[str, str]) -> str:
    headers = {"Authorization": f"Bearer {api.token}", **headers}
    response = api.client.get(f"/services/data/v62.0{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.text


def _amounts(text: str) -> list[str]:
    return re.findall(r'"Amount":([^,}]+)', text)


def test_every_json_path_writes_javas_notation(api: Api) -> None:
    ids = [api.create("Opportunity", _opportunity(f"N{i:02d}", sent)) for i, (sent, _) in enumerate(CASES)]
    expected = [text for _, text in CASES]
    soql = "SELECT Name, Amount FROM Opportunity ORDER BY Name"

    assert [
        _amounts(api.rest("GET", f"/sobjects/Opportunity/{rid}?fields=Amount").text)[0] for rid in ids
    ] == (expected)
    for resource in ("/query", "/queryAll"):
        assert _amounts(api.rest("GET", resource, params={"q": soql}).text) == expected
    pretty = _get(api, "/query", {"q": soql}, {"X-PrettyPrint": "1"})
    assert re.findall(r'"Amount": ([^,\n}]+)', pretty) == expected

    collection = api.rest(
        "POST", "/composite/sobjects/Opportunity", json.dumps({"ids": ids, "fields": ["Amount"]})
    )
    assert _amounts(collection.text) == expected
    sub = [
        {"method": "GET", "url": f"/services/data/v62.0/sobjects/Opportunity/{rid}", "referenceId": f"r{i}"}
        for i, rid in enumerate(ids[:20])
    ]
    composite = api.rest("POST", "/composite", json.dumps({"compositeRequest": sub[:5]}))
    assert _amounts(composite.text) == expected[:5]
    batch = [{"method": "GET", "url": f"v62.0/sobjects/Opportunity/{rid}"} for rid in ids]
    assert (
        _amounts(api.rest("POST", "/composite/batch", json.dumps({"batchRequests": batch})).text) == expected
    )
    query_sub = {"method": "GET", "url": f"v62.0/query?q={soql.replace(' ', '+')}"}
    in_batch = api.rest("POST", "/composite/batch", json.dumps({"batchRequests": [query_sub]}))
    assert _amounts(in_batch.text) == expected

    for i, (sent, _) in enumerate(CASES):
        api.create("Account", f'{{"Name":"N{i:02d}","AnnualRevenue":{sent}}}')
    v1 = _v1_query(api, "SELECT Name, AnnualRevenue FROM Account ORDER BY Name", "JSON")
    assert re.findall(r'"AnnualRevenue":([^,}]+)', v1) == expected


def test_query_pages_write_javas_notation(api: Api) -> None:
    values = [12345678 + i for i in range(200)]
    records = [
        {"attributes": {"type": "Opportunity"}, "Name": f"P{i:03d}", "StageName": "Prospecting"}
        | {"CloseDate": "2026-01-31", "Amount": value}
        for i, value in enumerate(values)
    ]
    assert api.rest("POST", "/composite/sobjects", json.dumps({"records": records})).status_code == 200
    api.create("Opportunity", _opportunity("P200", "0.0005"))
    soql = {"q": "SELECT Amount FROM Opportunity ORDER BY Name"}
    first = _get(api, "/query", soql, {"Sforce-Query-Options": "batchSize=200"})
    assert _amounts(first) == [java_double(float(v)) for v in values]
    assert _amounts(first)[:3] == ["1.2345678E7", "1.2345679E7", "1.234568E7"]
    locator = json.loads(first)["nextRecordsUrl"].rsplit("/", 1)[1]
    for resource in ("query", "queryAll"):
        assert _amounts(api.rest("GET", f"/{resource}/{locator}").text) == ["5.0E-4"]


def test_tree_and_composite_take_javas_notation_and_give_it_back(api: Api) -> None:
    tree = api.rest(
        "POST",
        "/composite/tree/Opportunity",
        '{"records":[{"attributes":{"type":"Opportunity","referenceId":"t1"},'
        + OPPORTUNITY.format(name="Tree")
        + ',"Amount":1.23456789012345678E15,"Probability":5.0E-4,"TotalOpportunityQuantity":1.0E7}]}',
    )
    assert tree.status_code == 201, tree.text
    rid = tree.json()["results"][0]["id"]
    text = api.rest(
        "GET", f"/sobjects/Opportunity/{rid}?fields=Amount,Probability,TotalOpportunityQuantity"
    ).text
    assert '"Amount":1.23456789012345678E15' in text
    assert '"Probability":5.0E-4' in text
    assert '"TotalOpportunityQuantity":1.0E7' in text
    composite = api.rest(
        "POST",
        "/composite",
        json.dumps(
            {
                "compositeRequest": [
                    {
                        "method": "GET",
                        "url": f"/services/data/v62.0/sobjects/Opportunity/{rid}",
                        "referenceId": "got",
                    },
                    {
                        "method": "POST",
                        "url": "/services/data/v62.0/sobjects/Opportunity",
                        "referenceId": "copy",
                        "body": {
                            "Name": "Copy @{got.Amount}",
                            "StageName": "Prospecting",
                            "CloseDate": "2026-01-31",
                            "Amount": "@{got.Amount}",
                        },
                    },
                    {
                        "method": "GET",
                        "url": "/services/data/v62.0/sobjects/Opportunity/@{copy.id}",
                        "referenceId": "back",
                    },
                ]
            }
        ),
    )
    assert composite.status_code == 200, composite.text
    back = exact_json(composite.text)["compositeResponse"][2]["body"]
    assert back["Amount"] == Decimal("1234567890123456.78")
    assert back["Name"] == "Copy 1.23456789012345678E15"


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_DECIMALS.filter(lambda v: abs(v) < Decimal("1e16")), min_size=1, max_size=8))
def test_the_library_reads_back_the_stored_value(
    local_org: LocalOrg, tmp_path: Path, amounts: list[Decimal]
) -> None:
    """Over HTTP, the library gives the stored value as the nearest double; Python's ``json`` with
    ``parse_float=Decimal`` gives it digit for digit."""
    with SalesforceClient.connect(
        environ={},
        cwd=tmp_path,
        home=tmp_path / "home",
        sleep=lambda s: None,
        login_url=local_org.login_url,
        client_id=local_org.client_id,
        client_secret=local_org.client_secret,
        username=local_org.username,
        password=local_org.password,
    ) as client:
        ids = []
        for amount in [*amounts, *(Decimal(sent) for sent, _ in CASES[:-3])]:
            fields = {
                "Name": "L",
                "StageName": "Prospecting",
                "CloseDate": "2026-01-31",
                "Amount": str(amount),
            }
            rid = client.create("Opportunity", fields)
            ids.append(rid)
            assert client.get("Opportunity", rid)["Amount"] == float(amount)
            found = client.query_one(f"SELECT Amount FROM Opportunity WHERE Id = '{rid}'")
            assert found is not None
            assert found["Amount"] == float(amount)
            raw = httpx.get(
                f"{local_org.instance_url}/services/data/v62.0/sobjects/Opportunity/{rid}",
                params={"fields": "Amount"},
                headers={"Authorization": f"Bearer {local_org.token()}"},
            ).text
            assert exact_json(raw)["Amount"] == amount
