"""The one input adapter: every kind of input reaches Salesforce alike through Bulk, the router and pipelines.

The same three Contacts are given as a CSV path, a text file object, a binary file object, a list of
dicts, a generator, a pandas DataFrame, a polars DataFrame and a pyarrow Table, and loaded through
each API into the emulator; the stored records and the per-row outcomes must be the same.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from kinetic_core.auth.flows import PasswordAuth
from kinetic_core.bulk import PollPolicy
from kinetic_core.bulk.sources import prepare_input
from kinetic_core.client import SalesforceClient
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.http.session import HttpSession
from kinetic_core.inputs import (
    InputKind,
    frame_column_names,
    frame_columns,
    frame_kind,
    frame_length,
    frame_records,
    frame_rows,
    input_kind,
    nest,
)
from kinetic_core.load import Strategy, load
from kinetic_core.pipeline.sources import DataFrameSource, open_source

FAST = PollPolicy(initial=0.02, maximum=0.1)
CSV_TEXT = 'LastName,Email,Title\nNg,ng@example.com,"Head, ""Ops"""\nOkafor,,#N/A\nLi,li@example.com,Ça va\n'
COLUMNS = {
    "LastName": ["Ng", "Okafor", "Li"],
    "Email": ["ng@example.com", "", "li@example.com"],
    "Title": ['Head, "Ops"', None, "Ça va"],
}
DICTS = [
    {"LastName": "Ng", "Email": "ng@example.com", "Title": 'Head, "Ops"'},
    {"LastName": "Okafor", "Email": "", "Title": None},
    {"LastName": "Li", "Email": "li@example.com", "Title": "Ça va"},
]


def _csv_path(tmp: Path) -> Any:
    path = tmp / "contacts.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")
    return path


def _gen() -> Iterator[dict[str, Any]]:
    yield from (dict(d) for d in DICTS)


INPUTS: dict[str, Callable[[Path], Any]] = {
    "csv-path": _csv_path,
    "text-file": lambda tmp: io.StringIO(CSV_TEXT),
    "binary-file": lambda tmp: io.BytesIO(CSV_TEXT.encode("utf-8")),
    "dicts": lambda tmp: [dict(d) for d in DICTS],
    "generator": lambda tmp: _gen(),
    "pandas": lambda tmp: pd.DataFrame(COLUMNS),
    "polars": lambda tmp: pl.DataFrame(COLUMNS),
    "arrow": lambda tmp: pa.table(COLUMNS),
}
KINDS = {
    "csv-path": InputKind.CSV_PATH,
    "text-file": InputKind.FILE_OBJECT,
    "binary-file": InputKind.FILE_OBJECT,
    "dicts": InputKind.RECORDS,
    "generator": InputKind.RECORDS,
    "pandas": InputKind.FRAME,
    "polars": InputKind.FRAME,
    "arrow": InputKind.FRAME,
}


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrg]:
    with LocalOrg(data_dir=tmp_path_factory.mktemp("org"), shuffle_results=True) as running:
        yield running


@pytest.fixture
def client(org: LocalOrg) -> Iterator[SalesforceClient]:
    auth = PasswordAuth(org.login_url, org.client_id, org.client_secret, org.username, org.password)
    sf = SalesforceClient(HttpSession(auth, api_version=org.api_version, sleep=lambda s: None))
    try:
        yield sf
    finally:
        sf.close()


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_input_kind(name: str, tmp_path: Path) -> None:
    assert input_kind(INPUTS[name](tmp_path)) is KINDS[name]


def test_one_detector_for_every_frame_library() -> None:
    assert [frame_kind(INPUTS[n](Path())) for n in ("pandas", "polars", "arrow")] == [
        "pandas",
        "polars",
        "arrow",
    ]
    assert frame_kind(DICTS) is None
    assert frame_kind("x.csv") is None
    for name in ("pandas", "polars", "arrow"):
        frame = INPUTS[name](Path())
        assert frame_length(frame) == 3
        assert frame_column_names(frame) == ["LastName", "Email", "Title"]
        assert [row[0] for row in frame_rows(frame)] == ["Ng", "Okafor", "Li"]
        # the empty string means "leave unchanged" (absent), None means null
        assert list(frame_records(frame))[1] == {"LastName": "Okafor", "Title": None}


def test_a_single_dict_or_a_number_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="not a single dict"):
        input_kind({"LastName": "Ng"})
    with pytest.raises(TypeError, match="cannot read records from int"):
        input_kind(3)


def test_frame_columns_drop_result_columns_for_every_library() -> None:
    for make in (pd.DataFrame, pl.DataFrame, pa.table):
        frame = frame_columns(make({" LastName ": ["a"], "sf__Id": ["x"]}))
        assert frame_column_names(frame) == ["LastName"]


def test_nest_keeps_a_dotted_key_whose_parent_is_a_value() -> None:
    assert nest({"Account.Ext__c": "A1", "Owner.Manager.Ext__c": "U1"}) == {
        "Account": {"Ext__c": "A1"},
        "Owner": {"Manager": {"Ext__c": "U1"}},
    }
    assert nest({"Account": "001", "Account.Ext__c": "A1"}) == {"Account": "001", "Account.Ext__c": "A1"}


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_bulk_prepares_every_kind_to_the_same_rows(name: str, tmp_path: Path) -> None:
    prep = prepare_input(INPUTS[name](tmp_path), tmp_path)
    try:
        data = prep.layout.path.read_bytes()[prep.layout.data_offset :].decode("utf-8")
    finally:
        prep.close()
    assert prep.columns == ("LastName", "Email", "Title")
    rows = list(csv.reader(io.StringIO(data, newline="")))
    assert rows == [
        ["Ng", "ng@example.com", 'Head, "Ops"'],
        ["Okafor", "", "#N/A"],
        ["Li", "li@example.com", "Ça va"],
    ]


def _outcomes(client: SalesforceClient, name: str, tmp: Path, strategy: Strategy) -> list[tuple[Any, ...]]:
    result = load(client, "Contact", INPUTS[name](tmp), strategy=strategy, poll=FAST)
    try:
        assert (result.total, result.successful) == (3, 3), result.reason
        rows = []
        for outcome in result:
            record = client.get("Contact", str(outcome.id))
            rows.append((outcome.row_number, record["LastName"], record.get("Email"), record.get("Title")))
        return rows
    finally:
        result.close()


@pytest.mark.parametrize("strategy", [Strategy.REST, Strategy.COMPOSITE, Strategy.BULK])
def test_router_gives_every_kind_the_same_outcome(
    client: SalesforceClient, strategy: Strategy, tmp_path: Path
) -> None:
    expected = [
        (1, "Ng", "ng@example.com", 'Head, "Ops"'),
        (2, "Okafor", None, None),
        (3, "Li", "li@example.com", "Ça va"),
    ]
    for name in sorted(INPUTS):
        assert _outcomes(client, name, tmp_path, strategy) == expected, name


@pytest.mark.parametrize("name", ["csv-path", "dicts", "pandas", "polars", "arrow"])
def test_pipeline_reads_every_kind_alike(name: str, tmp_path: Path) -> None:
    source = open_source(INPUTS[name](tmp_path))
    rows = [raw.cells for raw in source.rows()]
    assert [r["LastName"] for r in rows if r is not None] == ["Ng", "Okafor", "Li"]
    if name in ("pandas", "polars", "arrow"):
        assert isinstance(source, DataFrameSource)
        assert source.flavour == frame_kind(INPUTS[name](tmp_path))


def test_pipeline_refuses_an_open_file_by_name() -> None:
    with pytest.raises(TypeError, match="pass the file's path"):
        open_source(io.StringIO(CSV_TEXT))
