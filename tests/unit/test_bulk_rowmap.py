"""Row numbers for result rows: the merge (results in input order, no index) and its fallback.

Result files are written here as Salesforce writes them (``"<id>","true",<original columns>``,
``"<id>","<error>",...``, unprocessed rows under the original header), in input order or
shuffled, echoed as uploaded or re-quoted; every input row must come back exactly once, with
its own number, whichever path mapped it.
"""

from __future__ import annotations

import csv
import random
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinetic_core.bulk.csvfile import sniff
from kinetic_core.bulk.models import JobInfo, JobState, Operation
from kinetic_core.bulk.results import BulkResult
from kinetic_core.bulk.rowmap import JobPart, RowMap

COLUMNS = ["Name", "Note", "City"]
ERROR = "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"


@dataclass
class Case:
    rows: list[list[str]]
    outcome: list[str]  # per row: ok, fail, skip (unprocessed file), lost (in no file)
    shuffle: bool = False
    requote: bool = False
    eol: str = "\n"
    parts: int = 1


def _line(cells: list[str], eol: str, quote_all: bool = False) -> str:
    """One CSV line: cells quoted when they hold a comma, quote, CR or LF (or always)."""
    special = (",", '"', "\r", "\n")
    quoted = [
        '"' + c.replace('"', '""') + '"' if quote_all or any(x in c for x in special) else c for c in cells
    ]
    return ",".join(quoted) + eol


def build(tmp: Path, case: Case) -> tuple[BulkResult, dict[int, tuple[str, list[str], str | None]]]:
    """Write the input and one job's result files per part; return the result and the expected rows."""
    eol = case.eol
    data = (_line(COLUMNS, eol) + "".join(_line(r, eol) for r in case.rows)).encode()
    source = tmp / "input.csv"
    source.write_bytes(data)
    layout = sniff(source)
    offsets = [layout.data_offset]
    for r in case.rows:
        offsets.append(offsets[-1] + len(_line(r, eol).encode()))
    per = max(1, -(-len(case.rows) // case.parts))
    parts: list[JobPart] = []
    expected: dict[int, tuple[str, list[str], str | None]] = {}
    rng = random.Random(len(case.rows))
    for p, first in enumerate(range(0, len(case.rows), per), start=1):
        numbers = range(first, min(len(case.rows), first + per))
        ok, fail, skip = [], [], []
        for i in numbers:
            cells, what = case.rows[i], case.outcome[i]
            tail = _line(cells, eol, case.requote)
            if what == "ok":
                sf_id = f"001{p:03d}{i:012d}"
                ok.append(f'"{sf_id}","true",' + tail)
                expected[i + 1] = ("success", cells, sf_id)
            elif what == "fail":
                fail.append('"",' + _line([ERROR], "", True) + "," + tail)
                expected[i + 1] = ("failed", cells, None)
            elif what == "skip":
                skip.append(tail)
                expected[i + 1] = ("unprocessed", cells, None)
            else:  # in no result file: NOT_IN_RESULTS, with no cells to echo
                expected[i + 1] = ("unprocessed", [], None)
        if case.shuffle:
            for rows in (ok, fail, skip):
                rng.shuffle(rows)
        header = ",".join(COLUMNS) + eol
        files = {
            "success": ('"sf__Id","sf__Created",' + header, ok),
            "failed": ('"sf__Id","sf__Error",' + header, fail),
            "unprocessed": (header, skip),
        }
        paths = {}
        for label, (head, rows) in files.items():
            path = tmp / f"part-{p}-{label}.csv"
            path.write_bytes((head + "".join(rows)).encode())
            paths[label] = path
        info = JobInfo(
            f"750{p:015d}",
            Operation.INSERT,
            "Account",
            JobState.JOB_COMPLETE,
            records_processed=len(ok) + len(fail),
            records_failed=len(fail),
        )
        parts.append(
            JobPart(p, info, paths, first + 1, len(numbers), offsets[first], offsets[numbers[-1] + 1])
        )
    source_map = RowMap(tmp, layout, parts, COLUMNS)
    result = BulkResult(
        workdir=tmp / "work", totals={}, jobs=[p.info for p in parts], columns=COLUMNS, rows=source_map
    )
    return result, expected


def check_files(result: BulkResult) -> None:
    """The CLI's result files (the success file copied from the result bytes when the successes
    came back in input order, else written row by row) hold what the rows list."""
    directory = Path(tempfile.mkdtemp(prefix="rowmap-files-"))
    try:
        paths = result.write_files(directory, "load")
        with paths["success"].open(encoding="utf-8", newline="") as handle:
            written = list(csv.reader(handle))
        assert written[0] == ["sf__Id", "sf__Created", *COLUMNS, "kc__RowNumber"]
        listed = [
            [r.id or "", "true", *(r.record.get(c, "") for c in COLUMNS), str(r.row_number)]
            for r in result.successful_rows()
        ]
        assert written[1:] == listed
        for label, rows in (("failed", result.failed_rows()), ("unprocessed", result.unprocessed_rows())):
            with paths[label].open(encoding="utf-8", newline="") as handle:
                numbers = [line[-1] for line in list(csv.reader(handle))[1:]]
            assert numbers == [str(r.row_number) for r in rows]
    finally:
        shutil.rmtree(directory)


def check(result: BulkResult, expected: dict[int, tuple[str, list[str], str | None]], case: Case) -> None:
    seen: dict[int, tuple[str, list[str], str | None]] = {}
    for rows in (result.successful_rows(), result.failed_rows(), result.unprocessed_rows()):
        numbers = []
        for r in rows:
            assert r.row_number is not None
            assert r.row_number not in seen, f"row {r.row_number} listed twice"
            cells = [r.record[c] for c in COLUMNS] if r.record else []
            assert bool(cells) == (r.error_code != "NOT_IN_RESULTS")
            seen[r.row_number] = (r.status.value, cells, r.id)
            numbers.append(r.row_number)
        assert numbers == sorted(numbers)  # each kind in input order
    assert sorted(seen) == sorted(expected)
    # every row keeps its own cells (rows in no result file have none to echo); rows with the
    # same cells cannot be told apart, so among them only the outcomes (and ids) as a whole count
    assert all(seen[n][1] in ([], case.rows[n - 1]) for n in expected)
    groups: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for n, (status, _, sf_id) in expected.items():
        groups.setdefault(tuple(case.rows[n - 1]), []).append((status, sf_id or ""))
    for key, want in groups.items():
        got = [(s, i or "") for n, (s, _, i) in seen.items() if tuple(case.rows[n - 1]) == key]
        assert sorted(got) == sorted(want), key
    check_files(result)
    counts = [s for s, _, _ in expected.values()]
    assert (result.total, result.successful, result.failed, result.unprocessed) == (
        len(expected),
        counts.count("success"),
        counts.count("failed"),
        counts.count("unprocessed"),
    )


REALISTIC = [
    ["Zoë Ångström", 'said "hi", then left', "Zürich"],
    ["Li Wei", "line one\nline two", ""],
    ["", "", ""],
    ["O'Brien, Pat", "#N/A", "Cork"],
    ["Dup", "same", "row"],
    ["Dup", "same", "row"],
    ["Ünïcødé 🚀", 'multi\r\nline, with "quotes"', "東京"],
    ["Plain", "text", "Austin"],
]


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_results_in_input_order_are_merged_without_an_index(tmp_path: Path, eol: str) -> None:
    outcome = ["ok", "fail", "ok", "skip", "ok", "fail", "ok", "ok"]
    case = Case(REALISTIC * 3, outcome * 3, eol=eol, parts=2)
    result, expected = build(tmp_path, case)
    check(result, expected, case)
    assert result.indexed_jobs == ()
    assert not list(tmp_path.glob("index-*.sqlite"))


def test_listing_only_the_failures_never_parses_the_successes(tmp_path: Path) -> None:
    outcome = ["ok", "fail", "ok", "ok", "ok", "ok", "ok", "ok"]
    result, _ = build(tmp_path, Case(REALISTIC * 50, outcome * 50))
    result.verify()  # the build counts the successes' rows (bytes) and locates the failures
    (tmp_path / "part-1-success.csv").unlink()  # from here the successes cannot be read at all
    failed = list(result.failed_rows())
    assert [r.row_number for r in failed] == [2 + 8 * k for k in range(50)]
    assert all(r.record["Note"] == "line one\nline two" for r in failed)
    assert failed[0].error_code == "REQUIRED_FIELD_MISSING"
    assert (result.total, result.successful, result.failed) == (400, 350, 50)
    assert result.indexed_jobs == ()


@pytest.mark.parametrize(
    "case",
    [
        Case(REALISTIC * 3, ["ok", "fail", "ok", "skip", "ok", "fail", "ok", "ok"] * 3, shuffle=True),
        Case(REALISTIC * 2, ["ok", "fail", "ok", "skip", "ok", "ok", "ok", "ok"] * 2, requote=True),
        Case(REALISTIC * 2, ["ok", "lost", "ok", "ok", "fail", "ok", "lost", "ok"] * 2, parts=2),
    ],
    ids=["shuffled", "re-quoted", "rows-in-no-file"],
)
def test_the_fallback_index_maps_every_row(tmp_path: Path, case: Case) -> None:
    result, expected = build(tmp_path, case)
    check(result, expected, case)
    assert result.indexed_jobs  # these needed the index


def test_shuffled_successes_keep_the_located_failures(tmp_path: Path) -> None:
    """Failures found in order keep their numbers; only the successes go through the index."""
    outcome = ["ok", "fail", "ok", "ok", "ok", "fail", "ok", "ok"]
    case = Case(REALISTIC * 4, outcome * 4)
    result, expected = build(tmp_path, case)
    success = tmp_path / "part-1-success.csv"
    head, *rows = success.read_bytes().removesuffix(b"\n").split(b'\n"')
    random.Random(3).shuffle(rows)
    success.write_bytes(b'\n"'.join([head, *rows]) + b"\n")
    failed_first = [r.row_number for r in result.failed_rows()]
    assert len(failed_first) == 8
    check(result, expected, case)  # lists the successes: they need the index
    assert result.indexed_jobs == ("750000000000000001",)
    assert [r.row_number for r in result.failed_rows()] == failed_first


cells = st.text(alphabet=st.sampled_from(list('ab ,"\n\r\tÅé🚀;')), max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(cells, min_size=3, max_size=3), min_size=1, max_size=25),
    seed=st.integers(0, 10_000),
    shuffle=st.booleans(),
    eol=st.sampled_from(["\n", "\r\n"]),
    parts=st.integers(1, 3),
)
def test_every_row_gets_its_own_outcome_and_number(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[list[str]],
    seed: int,
    shuffle: bool,
    eol: str,
    parts: int,
) -> None:
    rng = random.Random(seed)
    outcome = [rng.choice(["ok", "ok", "ok", "fail", "skip", "lost"]) for _ in rows]
    tmp = tmp_path_factory.mktemp("rowmap")
    case = Case(rows, outcome, shuffle=shuffle, eol=eol, parts=parts)
    result, expected = build(tmp, case)
    check(result, expected, case)
    result.close()


_CELL = st.text(alphabet=st.sampled_from(list('ab,"\n\r é')), max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(_CELL, min_size=3, max_size=3), min_size=1, max_size=25),
    eol=st.sampled_from(["\n", "\r\n"]),
    final_eol=st.booleans(),
    taken_seed=st.integers(0, 1000),
)
def test_row_starts_and_cut_ranges_agree_with_the_scanned_rows(
    tmp_path: Path, rows: list[list[str]], eol: str, final_eol: bool, taken_seed: int
) -> None:
    from kinetic_core.bulk.csvfile import RowRun, iter_row_runs
    from kinetic_core.bulk.rowmerge import _cut, _kept

    text = _line(COLUMNS, eol) + "".join(_line(r, eol, quote_all=not any(r)) for r in rows)
    if not final_eol:
        text = text[: -len(eol)]
    source = tmp_path / f"rows-{taken_seed}.csv"
    source.write_bytes(text.encode())
    layout = sniff(source)
    end = source.stat().st_size
    spans: dict[int, tuple[int, int]] = {}
    number = 1
    for run in iter_row_runs(layout, start=layout.data_offset, end=end):
        # a fresh run answers row_index by counting line feeds; compare with the listed ends
        fresh = RowRun(run.data, run.begin, run.stop, run.rows, run.offset, inside=run._inside)
        counted = run._ends is None  # runs given their ends (blank lines, the last row) use them
        ends = run.ends
        starts = {run.begin: 0, **{e: i + 1 for i, e in enumerate(ends[:-1])}}
        if counted:
            for pos in range(run.begin, run.stop):
                assert fresh.row_index(pos) == starts.get(pos), (pos, run.data)
        for i, stop in enumerate(ends):
            start = ends[i - 1] if i else run.begin
            spans[number] = (run.offset + start, run.offset + min(stop, len(run.data)))
            number += 1
    assert number - 1 == len(rows)
    taken = sorted(random.Random(taken_seed).sample(range(1, len(rows) + 1), k=len(rows) // 3))
    cut = b"".join(_cut(layout, layout.data_offset, end, [spans[n] for n in taken]))
    assert cut == b"".join(_kept(layout, layout.data_offset, end, 1, taken))


@pytest.mark.parametrize("parts", [1, 3])
def test_success_file_written_first_falls_back_when_found_out_of_order(tmp_path: Path, parts: int) -> None:
    """The order of the successes is checked while their file is written (one pass): found out of
    order half way, the file is begun again from the listed rows, numbered through the index."""
    distinct = [r for r in REALISTIC if r[0] != "Dup"]  # equal rows may be located out of order
    outcome = ["ok", "fail", "ok", "ok", "skip", "ok"]
    case = Case(distinct * 40, outcome * 40, parts=parts)
    result, expected = build(tmp_path, case)
    success = tmp_path / f"part-{parts}-success.csv"
    head, *rows = success.read_bytes().removesuffix(b"\n").split(b'\n"')
    rows[-5:] = reversed(rows[-5:])  # the last job's last rows come back in another order
    success.write_bytes(b'\n"'.join([head, *rows]) + b"\n")
    directory = tmp_path / "files"
    paths = result.write_files(directory, "load")  # before any row was listed
    assert result.indexed_jobs == (f"750{parts:015d}",)
    with paths["success"].open(encoding="utf-8", newline="") as handle:
        written = list(csv.reader(handle))[1:]
    assert len(written) == sum(1 for v in expected.values() if v[0] == "success")
    assert [int(r[-1]) for r in written] == sorted(int(r[-1]) for r in written)
    for line in written:
        status, cells, sf_id = expected[int(line[-1])]
        assert (status, line[0]) == ("success", sf_id) or cells == case.rows[int(line[-1]) - 1]
    check(result, expected, case)


def _rewrite_successes(path: Path, rewrite: dict[int, tuple[str, str]]) -> None:
    """Give the success rows at the given positions another ``sf__Id`` and ``sf__Created``."""
    head, *rows = path.read_bytes().removesuffix(b"\n").split(b'\n"')
    for at, (sf_id, flag) in rewrite.items():
        tail = rows[at].split(b'","', 1)[1].split(b'",', 1)[1]
        rows[at] = f'{sf_id}","{flag}",'.encode() + tail
    path.write_bytes(b'\n"'.join([head, *rows]) + b"\n")


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_successes_in_order_keep_their_own_ids_and_created_flags(tmp_path: Path, eol: str) -> None:
    """Rows listed from the success file's bytes: ids of several lengths, both sf__Created values,
    and their echoed cells parsed only when ``record`` is read, as the file holds them."""
    outcome = ["ok", "fail", "ok", "skip", "ok", "fail", "ok", "ok"]
    unique = [[f"{name} {k}", note, city] for k, (name, note, city) in enumerate(REALISTIC * 3)]
    case = Case(unique, outcome * 3, eol=eol)
    result, expected = build(tmp_path, case)
    rewrite = {1: ("001SHORT", "false"), 4: ("001" + "x" * 20, "true"), 7: ("003AAA", "FALSE")}
    _rewrite_successes(tmp_path / "part-1-success.csv", rewrite)
    rows = list(result.successful_rows())
    assert result.indexed_jobs == ()  # still merged in order: only the prefixes changed
    want = [n for n in sorted(expected) if expected[n][0] == "success"]
    assert [r.row_number for r in rows] == want
    for at, row in enumerate(rows):
        sf_id, flag = rewrite.get(at, (expected[row.row_number][2], "true"))
        assert (row.id, row.created) == (sf_id, flag == "true")
        assert [row.record[c] for c in COLUMNS] == case.rows[row.row_number - 1]


@pytest.mark.parametrize(
    ("rows", "flags", "one_by_one"),
    [
        # one id length, one flag: one cut for the whole block
        ([b'"001A","true",x', b'"001B","true","a\nq ""z""",', b'"001C","true",,'], [True] * 3, False),
        # prefixes of one length split otherwise (a shorter id with "false"); the block still
        # holds '","true",' once per row (in an echoed cell): the quote left in an id shows it
        (
            [b'"001AAAAAAAAAAAAAAA","true",x', b'"001AAAAAAAAAAAAAA","false","a","true",b'],
            [True, False],
            True,
        ),
        # an id holding a line feed, its prefix as long as the others: the ids would split apart
        ([b'"001AAAAAAAAAAAAAAA","true",x', b'"001\nAAAAAAAAAAAAAA","true",y'], [True, True], True),
    ],
    ids=["one-cut", "quote-in-cut-id", "line-feed-in-id"],
)
def test_success_cuts_take_each_row_apart_when_one_cut_does_not_fit(
    tmp_path: Path, rows: list[bytes], flags: list[bool], one_by_one: bool
) -> None:
    from kinetic_core.bulk.resultfiles import echoed_cells
    from kinetic_core.bulk.rowmerge import success_cuts

    path = tmp_path / "success.csv"
    last = b'"001ZZZZZZZZZZZZZZZ","true",z'  # a file's last row comes as a block of its own
    path.write_bytes(b'"sf__Id","sf__Created",A,B\n' + b"\n".join([*rows, last]) + b"\n")
    first, rest = list(success_cuts(sniff(path)))
    assert isinstance(first[1], list) == one_by_one
    assert first[0] == [r[1:].split(b'","', 1)[0].decode() for r in rows]
    assert (first[1] if one_by_one else [first[1]] * len(rows)) == flags
    parsed = [next(csv.reader([r.decode()])) for r in rows]
    assert [echoed_cells(t, ",", 2) for t in first[2]] == [p[2:] + [""] * (4 - len(p)) for p in parsed]
    assert rest == (["001ZZZZZZZZZZZZZZZ"], True, [b"z\n"])


def test_a_row_read_later_equals_one_built_at_once(tmp_path: Path) -> None:
    import copy
    import pickle
    from dataclasses import fields

    from kinetic_core.bulk.results import RowResult

    result, _ = build(tmp_path, Case(REALISTIC, ["ok"] * 8))
    lazy = list(result.successful_rows())
    eager = [RowResult(**{f.name: getattr(r, f.name) for f in fields(r)}) for r in result.successful_rows()]
    assert lazy == eager
    again = list(result.successful_rows())
    assert [pickle.loads(pickle.dumps(r)) for r in again] == eager
    assert [copy.deepcopy(r) for r in list(result.successful_rows())] == eager
    listed = list(result.successful_rows())
    assert "Zoë Ångström" in repr(listed[0])
    with pytest.raises(AttributeError, match="recrod"):
        lazy[0].recrod  # type: ignore[attr-defined]  # noqa: B018


def test_echoed_cells_parse_big_and_multi_line_cells_and_pad_short_rows() -> None:
    from kinetic_core.bulk.resultfiles import echoed_cells

    big = "x" * 300_000  # over the csv module's field size limit
    assert echoed_cells(f'"{big}",b\r\n'.encode(), ",", 2) == [big, "b"]
    assert echoed_cells('"a\r\nb ""c""";Zoë\n'.encode(), ";", 3) == ['a\r\nb "c"', "Zoë", ""]
    assert echoed_cells(b"", ",", 2) == ["", ""]
