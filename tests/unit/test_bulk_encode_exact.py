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
import subprocess
import sys
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


# ------------------------------------------------------------------- the writer's quoting or ours
AWKWARD = ['say "hi"', "a,b", "semi;colon", "pipe|", "tab\tx", "caret^", "back`q", "line\nbreak", "cr\ronly"]
AWKWARD += ["crlf\r\nx", "Zoë 東京 😀", "#N/A", " padded "]


def awkward_frame(rows: int, empty: bool, decimal: bool) -> Any:
    """Text needing quotes under every delimiter, floats like 1e-7 and 1e20, ints past 2**53,
    booleans, zoned and naive datetimes, nulls; optionally an empty text cell and a decimal."""
    n = len(AWKWARD)
    data: dict[str, Any] = {
        "Text": [AWKWARD[i % n] if i % 5 else None for i in range(rows)],
        "Plain": [f"p{i}" for i in range(rows)],
        "Float": [
            [1e-7, 1e20, 0.1, -2.5e-5, float("nan"), None, 123456789012345.6][i % 7] for i in range(rows)
        ],
        "Int": [2**53 + i if i % 3 else -(2**62) for i in range(rows)],
        "Bool": [[True, False, None][i % 3] for i in range(rows)],
        "When": [dt.datetime(1969, 12, 31, 23, 59, 59, 999_999) + dt.timedelta(hours=i) for i in range(rows)],
    }
    frame = pl.DataFrame(data, strict=False).with_columns(
        pl.col("When").dt.replace_time_zone("America/New_York").alias("Zoned"),
        pl.col("When").dt.cast_time_unit("ms").dt.replace_time_zone("Asia/Kolkata").alias("Kolkata"),
    )
    if empty:
        frame = frame.with_columns(
            pl.when(pl.int_range(rows) == rows - 1).then(pl.lit("")).otherwise("Plain")
        )
    if decimal:
        frame = frame.with_columns(pl.col("Int").cast(pl.Decimal(38, 2)).alias("Dec"))
    return frame


@pytest.mark.parametrize(
    ("empty", "decimal", "quoting"),
    [(False, False, "necessary"), (True, False, "never"), (False, True, "never")],
)
@pytest.mark.parametrize("encoder", [RowEncoder(d, e) for d in ColumnDelimiter for e in LineEnding])
def test_both_quoting_paths_write_the_reference_bytes(
    tmp_path: Path, empty: bool, decimal: bool, quoting: str, encoder: RowEncoder
) -> None:
    from kinetic_core.bulk.framecsv import _cells

    frame = awkward_frame(40, empty, decimal)
    assert _cells(pl, frame, encoder, None)[1] == quoting
    assert fast(frame, "polars", tmp_path / "f.csv", encoder) == reference(frame, tmp_path / "r.csv", encoder)
    pandas_frame = frame.drop("Dec", strict=False).to_pandas()
    assert fast(pandas_frame, "pandas", tmp_path / "p.csv", encoder) == reference(
        frame.drop("Dec", strict=False), tmp_path / "r2.csv", encoder
    )


def test_what_decides_is_found_in_any_block_of_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kinetic_core.bulk import framecsv

    monkeypatch.setattr(framecsv, "PROBE_ROWS", 7)
    rows = 50
    frame = pl.DataFrame(
        {
            "Text": ["x"] * (rows - 1) + ["late, quoted"],
            "Other": ["y"] * (rows - 2) + ["", "z"],
            "Float": [1.0] * (rows - 1) + [1e-7],
        }
    )
    encoder = RowEncoder(ColumnDelimiter.COMMA, LineEnding.LF)
    assert framecsv._cells(pl, frame, encoder, None)[1] == "never"
    out = fast(frame, "polars", tmp_path / "f.csv", encoder)
    assert out == reference(frame, tmp_path / "r.csv", encoder)
    assert out.endswith(b'x,,1.0\n"late, quoted",z,1e-07\n')
    with pytest.raises(NonFiniteValueError, match=r"row 45, column Float"):
        fast(
            frame.with_columns(
                pl.when(pl.int_range(rows) == 44).then(float("inf")).otherwise("Float").alias("Float")
            ),
            "polars",
            tmp_path / "i.csv",
            encoder,
        )


def test_a_frame_of_one_text_column_quotes_its_empty_cells_under_either_path(tmp_path: Path) -> None:
    frame = pl.DataFrame({"Name": ["a", "", None, "b,c"]})
    encoder = RowEncoder(ColumnDelimiter.COMMA, LineEnding.LF)
    assert fast(frame, "polars", tmp_path / "f.csv", encoder) == b'a\n""\n#N/A\n"b,c"\n'
    assert reference(frame, tmp_path / "r.csv", encoder) == b'a\n""\n#N/A\n"b,c"\n'


def test_a_polars_frame_is_encoded_without_importing_pyarrow(tmp_path: Path) -> None:
    code = (
        "import sys, pathlib, polars as pl\n"
        "from kinetic_core.bulk.sources import prepare_input\n"
        "frame = pl.DataFrame({'a': ['x', 'y,z', ''], 'b': [1.5, None, 1e-7]})\n"
        f"prepare_input(frame, pathlib.Path({str(tmp_path)!r}))\n"
        "assert 'pyarrow' not in sys.modules and 'pandas' not in sys.modules, 'imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------- dates and datetimes from tables
NEAR_DATETIMES = st.builds(
    lambda base, offset: base + dt.timedelta(microseconds=offset),
    st.datetimes(min_value=dt.datetime(1678, 1, 1), max_value=dt.datetime(2261, 12, 1)),
    st.integers(min_value=0, max_value=3 * 86_400_000_000),
)


@SETTINGS
@given(
    st.lists(st.one_of(st.none(), NEAR_DATETIMES), min_size=1, max_size=40),
    st.sampled_from(["ms", "us", "ns"]),
    st.sampled_from([None, "UTC", "Asia/Kolkata", "America/New_York"]),
    frames(),
    ENCODERS,
)
def test_dates_and_datetimes_from_tables_encode_exactly_as_the_reference(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    moments: list[dt.datetime | None],
    unit: str,
    zone: str | None,
    spec: tuple[dict[str, Any], dict[str, Any]],
    encoder: RowEncoder,
) -> None:
    from kinetic_core.bulk import framecsv

    monkeypatch.setattr(framecsv, "TABLE_ROWS", 1)
    near = pl.Series("near", moments, dtype=pl.Datetime(unit)).dt.replace_time_zone(zone)
    frame = pl.DataFrame({"near": near, "day": near.dt.date()})
    assert fast(frame, "polars", tmp_path / "f.csv", encoder) == reference(frame, tmp_path / "r.csv", encoder)
    data, schema = spec  # other frames: a column of a single day, or of more days than rows (no table)
    other = pl.DataFrame(data, schema=schema)
    assert fast(other, "polars", tmp_path / "g.csv", encoder) == reference(other, tmp_path / "s.csv", encoder)
    pandas_frame = frame.drop("day").to_pandas()
    assert fast(pandas_frame, "pandas", tmp_path / "p.csv", encoder) == reference(
        pandas_frame, tmp_path / "q.csv", encoder
    )


def test_a_big_frame_writes_dates_and_datetimes_from_tables(tmp_path: Path) -> None:
    from kinetic_core.bulk import framecsv

    rows = framecsv.TABLE_ROWS
    start = dt.datetime(1969, 12, 31, 23, 59, 46, 998_800, tzinfo=dt.UTC)
    frame = pl.DataFrame(
        {"When": [None if i % 97 == 0 else start + dt.timedelta(seconds=i * 13.0007) for i in range(rows)]}
    ).with_columns(pl.col("When").dt.date().alias("Day"), pl.col("When").dt.cast_time_unit("ns").alias("Ns"))
    assert set(framecsv._day_spans(pl, frame)) == {"When", "Day", "Ns"}
    encoder = RowEncoder(ColumnDelimiter.SEMICOLON, LineEnding.CRLF)
    out = fast(frame, "polars", tmp_path / "f.csv", encoder)
    assert out == reference(frame, tmp_path / "r.csv", encoder)
    assert out.split(b"\r\n")[1] == b"1969-12-31T23:59:59.999Z;1969-12-31;1969-12-31T23:59:59.999Z"
