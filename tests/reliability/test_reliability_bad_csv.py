"""Bad CSV input, table-driven: each case names its expected error; good rows load; totals add up.

Every case writes a small CSV whose rows carry ``External_Id__c = <case>-<row number>``, loads it
(``client.bulk.<operation>(path)`` or ``client.load(...)``) into a shared emulator, and checks:

* the load either finishes with one outcome per data row (``successful + failed + unprocessed ==
  total``), the bad rows failed with an error whose code/message/fields name the expected token, and
  every good row stored exactly once; or, for a file that cannot be read at all, the load refuses it
  before sending anything with an error that names the row (or the file problem);
* it never fails with a bare parser exception (``csv.Error``, ``UnicodeDecodeError``) lacking the row.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import store_keys, store_value

from kinetic_core.client import SalesforceClient
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.errors import KineticError


@dataclass
class Ctx:
    """What a case body may use: its key prefix and ids of records created for it beforehand."""

    p: str
    ids: list[str] = field(default_factory=list)
    contact_id: str = ""

    def k(self, n: int) -> str:
        return f"{self.p}-{n}"


def lines(*rows: str, eol: str = "\n") -> bytes:
    return (eol.join(rows) + eol).encode("utf-8")


@dataclass(frozen=True)
class CsvCase:
    """One bad input and what must come of it."""

    id: str
    body: Callable[[Ctx], bytes]
    rows: int
    bad: Mapping[int, str] = field(default_factory=dict)
    operation: str = "insert"
    via: str = "bulk"  # bulk | load | load-composite
    options: Mapping[str, Any] = field(default_factory=dict)
    job_error: str | None = None  # the whole job refused: every row unprocessed/failed with this token
    refuse: str | None = None  # the file may be refused up front; the message must match this regex
    precreate: int = 0
    check: Callable[[LocalOrg, Ctx], None] | None = None

    @property
    def good(self) -> list[int]:
        if self.job_error is not None:
            return []
        return [n for n in range(1, self.rows + 1) if n not in self.bad]


WIDE = 5001
BIG = 131_072


def _wide(c: Ctx) -> bytes:
    header = ",".join(["Name", "External_Id__c"] + [f"Extra{i}__c" for i in range(WIDE)])
    return lines(header, ",".join(["A", c.k(1)] + [""] * WIDE))


def _updated(field_name: str, value: str, rows: list[int]) -> Callable[[LocalOrg, Ctx], None]:
    def check(org: LocalOrg, c: Ctx) -> None:
        for n in rows:
            assert store_value(org, "Account", c.k(n), field_name) == value, f"row {n} not updated"

    return check


def _deleted(rows: list[int]) -> Callable[[LocalOrg, Ctx], None]:
    def check(org: LocalOrg, c: Ctx) -> None:
        for n in rows:
            assert store_keys(org, "Account", prefix=c.k(n))[c.k(n)] == 0, f"row {n} not deleted"

    return check


CASES: list[CsvCase] = [
    # -- the file itself -------------------------------------------------------------------------
    CsvCase("empty-file", lambda c: b"", 0, refuse=r"(?i)empty|no header"),
    CsvCase("blank-lines-only", lambda c: b"\n\n\n", 0, refuse=r"(?i)empty|no header"),
    CsvCase("header-only", lambda c: lines("Name,External_Id__c"), 0),
    CsvCase("bom", lambda c: b"\xef\xbb\xbf" + lines("Name,External_Id__c", f"A,{c.k(1)}"), 1),
    CsvCase(
        "bom-crlf-quoted-newline",
        lambda c: (
            b"\xef\xbb\xbf"
            + lines("Name,External_Id__c,Description", f'A,{c.k(1)},"two\r\nlines"', eol="\r\n")
        ),
        1,
    ),
    CsvCase(
        "nul-byte",
        lambda c: lines("Name,External_Id__c", f"A\x00B,{c.k(1)}", f"C,{c.k(2)}"),
        2,
        bad={1: "Name"},
        refuse=r"(?i)(row|line|record)\s*#?\s*1\b.*(nul|\\x00|null byte)"
        r"|(nul|null byte).*(row|line)\s*#?\s*1\b",
    ),
    CsvCase(
        "non-utf8-bytes",
        lambda c: b"Name,External_Id__c\nCaf\xe9," + c.k(1).encode() + b"\nB," + c.k(2).encode() + b"\n",
        2,
        bad={1: "Name"},
        refuse=r"(?i)(row|line|record)\s*#?\s*1\b.*utf-?8|utf-?8.*(row|line|record)\s*#?\s*1\b",
    ),
    CsvCase(
        "wrong-delimiter-declared",
        lambda c: lines("Name;External_Id__c", f"A;{c.k(1)}", f"B;{c.k(2)}"),
        2,
        options={"column_delimiter": "COMMA"},
        job_error="Name;External_Id__c",
    ),
    CsvCase("semicolon-detected", lambda c: lines("Name;External_Id__c", f"A;{c.k(1)}", f"B;{c.k(2)}"), 2),
    CsvCase("tab-detected", lambda c: lines("Name\tExternal_Id__c", f"A\t{c.k(1)}", f"B, Inc\t{c.k(2)}"), 2),
    CsvCase(
        "unbalanced-quote-at-end",
        lambda c: lines("Name,External_Id__c", f"A,{c.k(1)}", f'"B,{c.k(2)}', f"C,{c.k(3)}"),
        3,
        bad={2: "quote"},
        refuse=r"(?i)(row|line|record)\s*#?\s*2\b.*quot|quot.*(row|line|record)\s*#?\s*2\b",
    ),
    CsvCase(
        "stray-quote-mid-file",
        lambda c: lines("Name,External_Id__c", f"A,{c.k(1)}", f'B"x,{c.k(2)}', f"C,{c.k(3)}"),
        3,
        bad={2: "quote"},
        refuse=r"(?i)(row|line|record)\s*#?\s*2\b.*quot|quot.*(row|line|record)\s*#?\s*2\b",
    ),
    CsvCase(
        "duplicate-column",
        lambda c: lines("Name,Name,External_Id__c", f"A,B,{c.k(1)}", f"C,D,{c.k(2)}"),
        2,
        job_error="Name",
    ),
    CsvCase(
        "blank-column-name",
        lambda c: lines("Name,,External_Id__c", f"A,x,{c.k(1)}"),
        1,
        job_error="Field name not found",
    ),
    CsvCase(
        "unknown-field",
        lambda c: lines("Name,Bogus__c,External_Id__c", f"A,1,{c.k(1)}", f"B,2,{c.k(2)}"),
        2,
        job_error="Bogus__c",
    ),
    CsvCase(
        "unknown-relationship-field",
        lambda c: lines("Name,Parent.Bogus__c,External_Id__c", f"A,1,{c.k(1)}"),
        1,
        job_error="Bogus__c",
    ),
    CsvCase("more-than-5000-columns", _wide, 1, job_error=r"(?i)5,?000|columns|Extra0__c"),
    CsvCase(
        "field-over-131072-chars",
        lambda c: lines("Name,Notes__c,External_Id__c", f"A,{'x' * (BIG + 1)},{c.k(1)}", f"B,ok,{c.k(2)}"),
        2,
        bad={1: "Notes__c"},
    ),
    CsvCase(
        "field-of-131072-chars-loads",
        lambda c: lines("Name,Notes__c,External_Id__c", f"A,{'x' * BIG},{c.k(1)}"),
        1,
    ),
    CsvCase(
        "row-over-400000-chars",
        lambda c: lines(
            "Name,Description,Notes__c,Notes2__c,Notes3__c,Notes4__c,External_Id__c",
            f"A,{'y' * 30000},{'x' * 100000},{'x' * 100000},{'x' * 100000},{'x' * 100000},{c.k(1)}",
            f"B,,,,,,{c.k(2)}",
        ),
        2,
        bad={1: "400"},
    ),
    CsvCase(
        "more-cells-than-header",
        lambda c: lines("Name,External_Id__c", f"A,{c.k(1)},extra", f"B,{c.k(2)}"),
        2,
        bad={1: "column"},
    ),
    # -- values ----------------------------------------------------------------------------------
    CsvCase(
        "bad-date",
        lambda c: lines(
            "Name,Signed_On__c,External_Id__c", f"A,2020-13-45,{c.k(1)}", f"B,2020-01-02,{c.k(2)}"
        ),
        2,
        bad={1: "Signed_On__c"},
    ),
    CsvCase(
        "bad-datetime",
        lambda c: lines(
            "Name,Signed_At__c,External_Id__c",
            f"A,yesterday,{c.k(1)}",
            f"B,2021-11-06T17:38:40.000Z,{c.k(2)}",
        ),
        2,
        bad={1: "Signed_At__c"},
    ),
    CsvCase(
        "bad-number",
        lambda c: lines("Name,Score__c,External_Id__c", f"A,abc,{c.k(1)}", f"B,1.5,{c.k(2)}"),
        2,
        bad={1: "Score__c"},
    ),
    CsvCase(
        "number-out-of-range",
        lambda c: lines("Name,Score__c,External_Id__c", f"A,123456789.5,{c.k(1)}", f"B,12.5,{c.k(2)}"),
        2,
        bad={1: "Score__c"},
    ),
    CsvCase(
        "bad-integer",
        lambda c: lines("Name,NumberOfEmployees,External_Id__c", f"A,12x,{c.k(1)}", f"B,12,{c.k(2)}"),
        2,
        bad={1: "NumberOfEmployees"},
    ),
    CsvCase(
        "bad-boolean",
        lambda c: lines("Name,Vip__c,External_Id__c", f"A,maybe,{c.k(1)}", f"B,true,{c.k(2)}"),
        2,
        bad={1: "Vip__c"},
    ),
    CsvCase(
        "bad-picklist",
        lambda c: lines("Name,Tier__c,External_Id__c", f"A,Platinum,{c.k(1)}", f"B,Gold,{c.k(2)}"),
        2,
        bad={1: "Tier__c"},
    ),
    CsvCase(
        "text-too-long",
        lambda c: lines("Name,Site,External_Id__c", f"A,{'s' * 81},{c.k(1)}", f"B,short,{c.k(2)}"),
        2,
        bad={1: "Site"},
    ),
    CsvCase(
        "required-field-empty",
        lambda c: lines("Name,External_Id__c", f",{c.k(1)}", f"B,{c.k(2)}", f"#N/A,{c.k(3)}"),
        3,
        bad={1: "Name", 3: "Name"},
    ),
    CsvCase(
        "malformed-reference-id",
        lambda c: lines("Name,ParentId,External_Id__c", f"A,not-an-id,{c.k(1)}", f"B,,{c.k(2)}"),
        2,
        bad={1: "ParentId"},
    ),
    CsvCase(
        "wrong-object-reference-id",
        lambda c: lines("Name,ParentId,External_Id__c", f"A,{c.contact_id},{c.k(1)}", f"B,,{c.k(2)}"),
        2,
        bad={1: "ParentId"},
    ),
    CsvCase(
        "missing-parent-by-external-id",
        lambda c: lines(
            "Name,Parent.External_Id__c,External_Id__c", f"A,NOPE-{c.p},{c.k(1)}", f"B,,{c.k(2)}"
        ),
        2,
        bad={1: "NOPE"},
    ),
    # -- operations other than insert ------------------------------------------------------------
    CsvCase(
        "update-malformed-id",
        lambda c: lines("Id,Phone", "notanid,1", f"{c.ids[1]},555"),
        2,
        bad={1: "Id"},
        operation="update",
        precreate=2,
        check=_updated("Phone", "555", [2]),
    ),
    CsvCase(
        "update-wrong-object-id",
        lambda c: lines("Id,Phone", f"{c.contact_id},1", f"{c.ids[1]},556"),
        2,
        bad={1: "Id"},
        operation="update",
        precreate=2,
        check=_updated("Phone", "556", [2]),
    ),
    CsvCase(
        "update-missing-id-cell",
        lambda c: lines("Id,Phone", ",1", f"{c.ids[1]},557"),
        2,
        bad={1: "Id"},
        operation="update",
        precreate=2,
        check=_updated("Phone", "557", [2]),
    ),
    CsvCase(
        "upsert-blank-external-id",
        lambda c: lines("Name,External_Id__c", "A,", f"B,{c.k(2)}"),
        2,
        bad={1: "External_Id__c"},
        operation="upsert",
    ),
    CsvCase(
        "delete-blank-id",
        lambda c: lines("Id", '""', c.ids[1]),
        2,
        bad={1: "Id"},
        operation="delete",
        precreate=2,
        check=_deleted([2]),
    ),
    CsvCase(
        "delete-missing-and-malformed-ids",
        lambda c: lines("Id", "001000000000000", "garbage", c.ids[2]),
        3,
        bad={1: "Id", 2: "Id"},
        operation="delete",
        precreate=3,
        check=_deleted([3]),
    ),
    # -- through the router (REST / Composite for small inputs) ----------------------------------
    CsvCase(
        "router-bad-date",
        lambda c: lines(
            "Name,Signed_On__c,External_Id__c", f"A,31/12/2020,{c.k(1)}", f"B,2020-12-31,{c.k(2)}"
        ),
        2,
        bad={1: "31/12/2020"},
        via="load",
    ),
    CsvCase(
        "router-composite-bad-picklist-and-missing-parent",
        lambda c: lines(
            "Name,Tier__c,Parent.External_Id__c,External_Id__c",
            f"A,Bronze,,{c.k(1)}",
            f"B,Gold,,{c.k(2)}",
            f"C,,NOPE-{c.p},{c.k(3)}",
        ),
        3,
        bad={1: "Tier__c", 3: "NOPE"},
        via="load-composite",
    ),
    CsvCase(
        "router-upsert-blank-external-id",
        lambda c: lines("Name,External_Id__c", "A,", f"B,{c.k(2)}"),
        2,
        bad={1: "External_Id__c"},
        operation="upsert",
        via="load",
    ),
    CsvCase(
        "router-unbalanced-quote",
        lambda c: lines("Name,External_Id__c", f"A,{c.k(1)}", f'"B,{c.k(2)}', f"C,{c.k(3)}"),
        3,
        bad={2: "quote"},
        via="load",
        refuse=r"(?i)(row|line|record)\s*#?\s*2\b.*quot|quot.*(row|line|record)\s*#?\s*2\b",
    ),
]


def _outcomes(result: Any) -> dict[int, tuple[str, str]]:
    """``row number -> (status, error text)`` of a BulkResult or a router LoadResult."""
    out: dict[int, tuple[str, str]] = {}
    if hasattr(result, "failed_rows"):
        rows = [*result.successful_rows(), *result.failed_rows(), *result.unprocessed_rows()]
        for r in rows:
            text = " ".join([r.error_code or "", r.error_message or "", ",".join(r.error_fields)])
            assert r.row_number not in out, f"row {r.row_number} reported twice"
            out[r.row_number] = (r.status.value, text)
        return out
    for o in result:
        text = " ".join([o.error_code or "", o.error_message or "", ",".join(o.error_fields)])
        assert o.row_number not in out, f"row {o.row_number} reported twice"
        out[o.row_number] = (o.status, text)
    return out


def _run(client: SalesforceClient, case: CsvCase, path: Path) -> Any:
    ext = {"external_id_field": "External_Id__c"} if case.operation == "upsert" else {}
    if case.via == "bulk":
        method = getattr(client.bulk, case.operation)
        return method("Account", path, **ext, **case.options)
    strategy = "composite" if case.via == "load-composite" else "auto"
    return client.load("Account", path, operation=case.operation, strategy=strategy, **ext, **case.options)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_csv(case: CsvCase, typed_org: LocalOrg, typed_client: SalesforceClient, tmp_path: Path) -> None:
    store = typed_org.org.store
    ctx = Ctx(p=f"bc-{case.id}")
    ctx.contact_id = store.insert("Contact", {"LastName": "Ref", "External_Id__c": f"{ctx.p}-contact"})
    for n in range(1, case.precreate + 1):
        ctx.ids.append(store.insert("Account", {"Name": f"Pre {n}", "External_Id__c": ctx.k(n)}))
    path = tmp_path / f"{case.id}.csv"
    path.write_bytes(case.body(ctx))
    refused: Exception | None = None
    try:
        result = _run(typed_client, case, path)
    except Exception as exc:  # the whole file refused: allowed only with a clear message, nothing sent
        refused = exc
    if refused is not None:
        what = f"{type(refused).__name__}: {refused}"
        assert case.refuse is not None, f"{case.id}: load raised {what}"
        assert isinstance(refused, KineticError | ValueError), what
        assert not isinstance(refused, csv.Error | UnicodeError), f"bare parser error: {what}"
        assert re.search(case.refuse, str(refused)), f"{case.id}: unclear error {what}"
        assert not store_keys(typed_org, "Account", prefix=ctx.p + "-").keys() - {
            ctx.k(n) for n in range(1, case.precreate + 1)
        }, "refused file, but rows were loaded"
        return
    with result if hasattr(result, "__enter__") else _nullcontext(result) as res:
        assert res.total == case.rows, f"{case.id}: total {res.total}, the file has {case.rows} data rows"
        assert res.successful + res.failed + res.unprocessed == res.total
        outcomes = _outcomes(res)
    assert sorted(outcomes) == list(range(1, case.rows + 1)), f"rows reported: {sorted(outcomes)}"
    if case.job_error is not None:
        for n, (status, text) in outcomes.items():
            assert status in ("failed", "unprocessed"), f"row {n}: {status}"
            assert re.search(case.job_error, text), f"row {n}: {text!r} does not name {case.job_error!r}"
    for n, token in case.bad.items():
        status, text = outcomes[n]
        assert status == "failed", f"{case.id}: row {n} is {status}, expected failed naming {token!r}"
        assert token.lower() in text.lower(), f"{case.id}: row {n} error {text!r} does not name {token!r}"
    for n in case.good:
        assert outcomes[n][0] == "success", f"{case.id}: good row {n}: {outcomes[n]}"
    if case.check is not None:
        case.check(typed_org, ctx)
    if case.operation in ("insert", "upsert"):
        stored = store_keys(typed_org, "Account", prefix=ctx.p + "-")
        for n in case.good:
            assert stored[ctx.k(n)] == 1, f"{case.id}: good row {n} stored {stored[ctx.k(n)]} times"
        assert set(stored) <= {ctx.k(n) for n in case.good}, f"{case.id}: unexpected rows stored {stored}"


class _nullcontext:
    def __init__(self, value: Any) -> None:
        self.value = value

    def __enter__(self) -> Any:
        return self.value

    def __exit__(self, *exc: object) -> None:
        return None
