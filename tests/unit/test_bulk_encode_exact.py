"""The fast encoders write exactly the bytes of the per-value reference encoder.

DataFrames (:mod:`kinetic_core.bulk.framecsv`, polars' ``write_csv``) and batches of plain dicts
(:mod:`kinetic_core.bulk.recordcsv`, a column at a time) are compared byte for byte with the
reference: every value through :func:`kinetic_core.inputs.normalise.salesforce_text`, every row
through ``csv.writer`` (:class:`kinetic_core.bulk.sources._SpoolWriter`), on generated input with
awkward values: nulls, NaN, quotes, delimiters, CR and LF, non-ASCII, empty text, zoned datetimes,
big integers, tiny and huge floats, decimals.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinetic_core.bulk.codec import RowEncoder, encode_value
from kinetic_core.bulk.framecsv import NonFiniteValueError, write_frame
from kinetic_core.bulk.models import ColumnDelimiter, LineEnding
from kinetic_core.bulk.recordcsv import RecordValueError
from kinetic_core.bulk.sources import FLUSH_ROWS, _SpoolWriter, _write_frame, prepare_input

pl = pytest.importorskip("polars")
pd = pytest.importorskip("pandas")

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
TEXT = st.text(alphabet=st.sampled_from(list("ab ,;|^`\t\"\r\n'#/Zéß東😀")), max_size=8)
ZONES = [dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)), dt.timezone(dt.timedelta(hours=-8))]
DATETIMES = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30))
FLOATS = st.one_of(
    st.floats(allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1e-4, 9.99e-5, 1e-5, -2.5e-7, 1e15, 1e16, 1e20, 123456789012345.6]),
)
BIG_INTS = st.integers(min_value=-(2**63), max_value=2**63 - 1)

# (polars dtype, values) per kind of column
COLUMN_KINDS: dict[str, tuple[Any, st.SearchStrategy[Any]]] = {
    "text": (pl.String, TEXT),
    "float": (pl.Float64, FLOATS),
    "int": (pl.Int64, BIG_INTS),
    "bool": (pl.Boolean, st.booleans()),
    "date": (pl.Date, st.dates(min_value=dt.date(1, 1, 1))),
    "naive": (pl.Datetime("us"), DATETIMES),
    "zoned": (pl.Datetime("us", "UTC"), DATETIMES.map(lambda d: d.replace(tzinfo=dt.UTC))),
    "decimal": (
        pl.Decimal(18, 3),
        st.decimals(min_value=-(10**14), max_value=10**14, places=3, allow_nan=False, allow_infinity=False),
    ),
    "time": (pl.Time, st.times()),
    "category": (pl.Categorical, st.sampled_from(["x", "y,z", 'q"', ""])),
}


@st.composite
def frames(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    kinds = draw(st.lists(st.sampled_from(sorted(COLUMN_KINDS)), min_size=1, max_size=5))
    rows = draw(st.integers(min_value=1, max_value=12))
    data: dict[str, Any] = {}
    schema: dict[str, Any] = {}
    for n, kind in enumerate(kinds):
        dtype, values = COLUMN_KINDS[kind]
        data[f"{kind}{n}"] = draw(st.lists(st.one_of(st.none(), values), min_size=rows, max_size=rows))
        schema[f"{kind}{n}"] = dtype
    return data, schema


ENCODERS = st.builds(RowEncoder, st.sampled_from(list(ColumnDelimiter)), st.sampled_from(list(LineEnding)))


def reference(frame: Any, path: Path, encoder: RowEncoder) -> bytes:
    writer = _SpoolWriter(path, encoder)
    try:
        _write_frame(frame, writer)
    finally:
        writer.close()
    return path.read_bytes()


def fast(frame: Any, kind: str, path: Path, encoder: RowEncoder) -> bytes:
    names = [str(c) for c in frame.columns]
    assert write_frame(frame, kind, names, path, encoder) is not None
    return path.read_bytes()


@SETTINGS
@given(frames(), ENCODERS)
def test_polars_frames_encode_exactly_as_the_reference(
    tmp_path: Path, spec: tuple[dict[str, Any], dict[str, Any]], encoder: RowEncoder
) -> None:
    data, schema = spec
    frame = pl.DataFrame(data, schema=schema)
    frame = frame.with_columns(  # a zone other than UTC: converted, not just relabelled
        pl.col(name).dt.convert_time_zone("Asia/Kolkata") for name in data if name.startswith("zoned")
    )
    assert fast(frame, "polars", tmp_path / "f.csv", encoder) == reference(frame, tmp_path / "r.csv", encoder)


@SETTINGS
@given(frames(), ENCODERS)
def test_pandas_frames_encode_exactly_as_the_reference(
    tmp_path: Path, spec: tuple[dict[str, Any], dict[str, Any]], encoder: RowEncoder
) -> None:
    data, _ = spec
    data = {k: v for k, v in data.items() if not k.startswith(("time", "decimal", "date", "category"))}
    if not data:
        return
    frame = pd.DataFrame(data)
    for name in data:
        if name.startswith(("naive", "zoned")):
            frame[name] = pd.to_datetime(frame[name], utc=name.startswith("zoned")).astype(
                "datetime64[us, UTC]" if name.startswith("zoned") else "datetime64[us]"
            )
    assert fast(frame, "pandas", tmp_path / "f.csv", encoder) == reference(frame, tmp_path / "r.csv", encoder)


def test_awkward_frame_bytes() -> None:
    frame = pl.DataFrame(
        {
            "Name": ['say "hi"', "a,b", "line\nbreak", "cr\ronly", "", None, "Zoë 東京"],
            "Amount": [1.0, float("nan"), 1e-05, 1e20, -0.0, None, 0.1],
            "When": [dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)] * 7,
        }
    )
    out = io.BytesIO()
    path = Path(__import__("tempfile").mkdtemp()) / "x.csv"
    write_frame(frame, "polars", list(frame.columns), path, RowEncoder(ColumnDelimiter.COMMA, LineEnding.LF))
    out.write(path.read_bytes())
    assert out.getvalue().decode().splitlines(keepends=True)[:1] == [
        '"say ""hi""",1.0,1969-12-31T23:59:59.999Z\n'
    ]
    rows = list(csv.reader(io.StringIO(out.getvalue().decode(), newline="")))
    assert [r[0] for r in rows] == ['say "hi"', "a,b", "line\nbreak", "cr\ronly", "", "#N/A", "Zoë 東京"]
    assert [r[1] for r in rows] == ["1.0", "#N/A", "1e-05", "1e+20", "-0.0", "#N/A", "0.1"]


def test_a_one_column_frame_never_writes_a_blank_line(tmp_path: Path) -> None:
    frame = pl.DataFrame({"Name": ["a", "", None]})
    prepared = prepare_input(frame, tmp_path)
    assert prepared.layout.path.read_bytes() == b'a\n""\n#N/A\n'


@pytest.mark.parametrize("flavour", ["pandas", "polars"])
def test_an_infinity_is_refused_naming_row_and_column(tmp_path: Path, flavour: str) -> None:
    values = [1.0] * 300_000
    values[270_001] = float("-inf")
    frame = pd.DataFrame({"Name": ["x"] * len(values), "Amount": values})
    if flavour == "polars":
        frame = pl.from_pandas(frame)
    with pytest.raises(NonFiniteValueError, match=r"row 270002, column Amount: .*-inf") as caught:
        prepare_input(frame, tmp_path)
    assert (caught.value.row, caught.value.column) == (270_002, "Amount")


def test_an_infinity_names_the_index_label_of_a_pandas_frame(tmp_path: Path) -> None:
    frame = pd.DataFrame({"Amount": [1.0, float("inf")]}, index=["a1", "b2"])
    with pytest.raises(NonFiniteValueError, match=r"row 2 \(index 'b2'\), column Amount"):
        prepare_input(frame, tmp_path)


# ----------------------------------------------------------------------------------------- dicts
VALUES = st.one_of(
    st.none(),
    TEXT,
    BIG_INTS,
    FLOATS,
    st.booleans(),
    DATETIMES.map(lambda d: d.replace(tzinfo=ZONES[d.second % 3])),
    st.dates(),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
)
KEYS = ["Name", "Phone", "Amount", "When"]


def dict_reference(records: list[dict[str, Any]], cols: list[str], encoder: RowEncoder) -> bytes:
    return b"".join(encoder.encode([encode_value(r[c]) if c in r else "" for c in cols]) for r in records)


@SETTINGS
@given(
    st.lists(st.dictionaries(st.sampled_from(KEYS), VALUES, min_size=1), min_size=1, max_size=30),
    ENCODERS,
    st.booleans(),
)
def test_dicts_encode_exactly_as_the_reference(
    tmp_path: Path, records: list[dict[str, Any]], encoder: RowEncoder, uniform: bool
) -> None:
    if uniform:  # the same keys in every record: the itemgetter path
        records = [{k: r.get(k) for k in KEYS} for r in records]
    cols = list(dict.fromkeys(k for r in records for k in r))
    prepared = prepare_input(records, tmp_path, delimiter=encoder.delimiter, line_ending=encoder.line_ending)
    assert list(prepared.columns) == cols
    assert prepared.layout.path.read_bytes() == dict_reference(records, cols, encoder)


def test_many_plain_dicts_match_csv_writer(tmp_path: Path) -> None:
    records = [
        {"Name": f"n{i}" if i % 7 else f'n "{i}", x', "N": i * 10**12, "Note": "é\nb" if i % 5 == 0 else ""}
        for i in range(3 * FLUSH_ROWS + 5)
    ]
    prepared = prepare_input(iter(records), tmp_path)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([r["Name"], r["N"], r["Note"]] for r in records)
    assert prepared.layout.path.read_bytes() == buffer.getvalue().encode()
    assert prepared.records == len(records)


@pytest.mark.parametrize("uniform", [True, False])
def test_a_bad_value_names_record_and_field(tmp_path: Path, uniform: bool) -> None:
    records: list[dict[str, Any]] = [{"Name": "a", "Amount": 1.5} for _ in range(FLUSH_ROWS + 10)]
    records[FLUSH_ROWS + 3]["Amount"] = float("inf")
    if not uniform:
        records[FLUSH_ROWS + 1] = {"Name": "b"}
    with pytest.raises(RecordValueError, match=rf"record {FLUSH_ROWS + 4}, field Amount: .*inf") as caught:
        prepare_input(records, tmp_path)
    assert (caught.value.record, caught.value.field) == (FLUSH_ROWS + 4, "Amount")


def test_a_bad_nested_value_names_record_and_dotted_field(tmp_path: Path) -> None:
    records = [{"Name": "a", "Account": {"Ext__c": b"raw"}}]
    with pytest.raises(RecordValueError, match=r"record 1, field Account.Ext__c: binary"):
        prepare_input(records, tmp_path)


def test_a_one_column_dict_input_never_writes_a_blank_line(tmp_path: Path) -> None:
    prepared = prepare_input([{"Name": "a"}, {"Name": ""}, {"Name": None}], tmp_path)
    assert prepared.layout.path.read_bytes() == b'a\n""\n#N/A\n'


def test_without_polars_a_frame_goes_through_pyarrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kinetic_core.bulk import framecsv

    monkeypatch.setattr(framecsv, "polars_frame", lambda frame, kind: None)
    frame = pd.DataFrame({"Name": ["a", "b,c"], "N": [1, 2]})
    prepared = prepare_input(frame, tmp_path)
    rows = list(csv.reader(io.StringIO(prepared.layout.path.read_text(), newline="")))
    assert rows == [["a", "1"], ["b,c", "2"]]
