"""Query export streaming, the record iterator and the row counter (``kinetic_core.bulk.query``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from kinetic_core.auth import StaticTokenAuth
from kinetic_core.bulk import query
from kinetic_core.bulk.jobs import JobsApi
from kinetic_core.bulk.models import JobInfo
from kinetic_core.bulk.query import RowCounter, _page_records, export_to_file, iter_records
from kinetic_core.errors import QueryPagingError, TransportError
from kinetic_core.http import HttpSession

HEADER = b'"Id","Name","Note"\n'


class PagedHttp(HttpSession):
    """A real ``HttpSession`` whose transport serves query result pages as streamed chunks.

    A page may be cut off once (``cut_once``): its last chunk raises ``httpx.ReadError``, as a
    connection reset mid-body does. Waits between re-requests are recorded, never slept.
    """

    def __init__(
        self,
        pages: list[list[bytes]],
        *,
        with_counts: bool = True,
        cut_once: set[int] | None = None,
    ) -> None:
        self.pages = pages
        self.with_counts = with_counts
        self.cut_once = set(cut_once or ())
        self.requests: list[Mapping[str, Any] | None] = []
        self.waits: list[float] = []
        super().__init__(
            StaticTokenAuth("https://x.example.com", "00D!t"),
            transport=httpx.MockTransport(self.handle),
            sleep=self.waits.append,
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params) or None
        self.requests.append(params)
        return self.serve(params)

    def serve(self, params: Mapping[str, Any] | None) -> httpx.Response:
        index = int((params or {}).get("locator") or 0)
        chunks = self.pages[index]
        cut = index in self.cut_once
        self.cut_once.discard(index)

        def body() -> Iterator[bytes]:
            for number, chunk in enumerate(chunks):
                if cut and number == len(chunks) - 1:
                    raise httpx.ReadError("connection reset")
                yield chunk

        headers = {"Sforce-Locator": str(index + 1) if index + 1 < len(self.pages) else "null"}
        if self.with_counts:
            data = b"".join(chunks)
            headers["Sforce-NumberOfRecords"] = str(
                sum(1 for _ in csv.reader(io.StringIO(data.decode()))) - 1
            )
        return httpx.Response(200, headers=headers, content=body())


def job() -> JobInfo:
    return JobInfo.from_api(
        {"id": "750000000000001AAA", "state": "JobComplete", "object": "Account", "operation": "query"}
    )


def rows(start: int, n: int) -> bytes:
    return b"".join(b'"001%03d","Name %d","plain"\n' % (i, i) for i in range(start, start + n))


@pytest.mark.parametrize("with_counts", [True, False])
def test_export_streams_pages_and_strips_repeated_headers(tmp_path: Path, with_counts: bool) -> None:
    # the first page has a BOM; a later header arrives split across chunks; a value holds a newline
    pages = [
        [b"\xef\xbb", b"\xbf" + HEADER + rows(0, 3)],
        [HEADER[:5], HEADER[5:] + b'"001900","multi\nline","a ""quoted"" note"\n' + rows(3, 2)],
        [HEADER + rows(5, 4)[:-1]],  # the last record has no line ending
    ]
    http = PagedHttp(pages, with_counts=with_counts)
    export = export_to_file(JobsApi(http), job(), tmp_path / "sub" / "out.csv", None)
    data = (tmp_path / "sub" / "out.csv").read_bytes()
    assert data.startswith(HEADER)
    assert data.count(b'"Id"') == 1
    parsed = list(csv.reader(io.StringIO(data.decode())))
    assert len(parsed) == 1 + 3 + 1 + 2 + 4
    assert parsed[4] == ["001900", "multi\nline", 'a "quoted" note']
    assert (export.rows, export.pages, export.bytes) == (10, 3, len(data))


def test_export_requests_a_cut_off_page_again_without_duplicates(tmp_path: Path) -> None:
    pages = [[HEADER + rows(0, 2), rows(2, 2)], [HEADER, rows(4, 3), rows(7, 1)]]
    http = PagedHttp(pages, cut_once={0, 1})
    export = export_to_file(JobsApi(http), job(), tmp_path / "out.csv", 500)
    lines = (tmp_path / "out.csv").read_bytes().splitlines()
    assert len(lines) == 9
    assert [line.split(b",")[0] for line in lines[1:]] == [b'"001%03d"' % i for i in range(8)]
    assert export.rows == 8
    assert len(http.requests) == 4
    assert all(p is not None and p["maxRecords"] == "500" for p in http.requests)


def test_export_gives_up_after_the_retry_policy_with_its_backoff(tmp_path: Path) -> None:
    class AlwaysCut(PagedHttp):
        def serve(self, params: Mapping[str, Any] | None) -> httpx.Response:
            self.cut_once = {0}
            return super().serve(params)

    http = AlwaysCut([[HEADER, rows(0, 1)]])
    with pytest.raises(TransportError, match="cut off"):
        export_to_file(JobsApi(http), job(), tmp_path / "out.csv", None)
    assert len(http.requests) == http.retry_policy.max_attempts
    assert len(http.waits) == http.retry_policy.max_attempts - 1
    assert (tmp_path / "out.csv").read_bytes() == b""  # no row of a cut-off attempt is kept


def test_export_refuses_a_repeated_locator(tmp_path: Path) -> None:
    class Loop(PagedHttp):
        def serve(self, params: Mapping[str, Any] | None) -> httpx.Response:
            return httpx.Response(200, headers={"Sforce-Locator": "abc"}, content=HEADER + rows(0, 1))

    with pytest.raises(QueryPagingError, match="a second time"):
        export_to_file(JobsApi(Loop([[b""]])), job(), tmp_path / "out.csv", None)


def test_row_counter_follows_quotes_across_blocks() -> None:
    text = b'a,b\r\n"x\r\ny",2\r\n"he said ""hi""\n",3\r\n4,"5\n'
    for size in (1, 2, 3, 7, len(text)):
        counter = RowCounter()
        for start in range(0, len(text), size):
            counter.feed(text[start : start + size])
        counter.feed(b'"')
        assert counter.records() == 4, size
    empty = RowCounter()
    assert empty.records() == 0


def test_records_turn_empty_cells_into_none_and_skip_blank_lines(tmp_path: Path) -> None:
    page = tmp_path / "page.csv"
    page.write_bytes(b'\xef\xbb\xbfId|Name|Note\n1|A|\n\n2||"x|y"\n3|C|z\n')
    assert list(_page_records(page, "|")) == [
        {"Id": "1", "Name": "A", "Note": None},
        {"Id": "2", "Name": None, "Note": "x|y"},
        {"Id": "3", "Name": "C", "Note": "z"},
    ]


def test_records_read_a_field_over_the_csv_limit(tmp_path: Path) -> None:
    big = "x" * (csv.field_size_limit() + 10)
    page = tmp_path / "page.csv"
    page.write_text(f'Id,Note\n1,a\n2,"{big}"\n3,\n', encoding="utf-8")
    records = list(_page_records(page, ","))
    assert [r["Id"] for r in records] == ["1", "2", "3"]
    assert records[1]["Note"] == big
    assert records[2]["Note"] is None


def test_iter_records_reads_every_page_lazily() -> None:
    http = PagedHttp([[HEADER + rows(0, 2)], [HEADER + rows(2, 1)]])
    records = iter_records(JobsApi(http), job(), None)
    assert next(records) == {"Id": "001000", "Name": "Name 0", "Note": "plain"}
    assert len(http.requests) == 1
    assert [r["Id"] for r in records] == ["001001", "001002"]
    assert len(http.requests) == 2


def test_iter_records_requests_a_cut_off_page_again_without_duplicates() -> None:
    http = PagedHttp([[HEADER + rows(0, 2), rows(2, 2)], [HEADER + rows(4, 1), rows(5, 1)]], cut_once={0, 1})
    ids = [r["Id"] for r in iter_records(JobsApi(http), job(), None)]
    assert ids == [f"001{i:03d}" for i in range(6)]
    assert [p.get("locator") if p else None for p in http.requests] == [None, None, "1", "1"]


def test_iter_records_spills_a_large_page_to_a_temporary_file_and_removes_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(query, "PAGE_IN_MEMORY", 100)
    monkeypatch.setattr(query.tempfile, "tempdir", str(tmp_path))
    http = PagedHttp([[HEADER + rows(0, 3), rows(3, 3)], [HEADER + rows(6, 1)]])
    records = iter_records(JobsApi(http), job(), None)
    assert next(records)["Id"] == "001000"
    spilled = list(tmp_path.glob("kinetic-query-*/page-000001.csv"))
    assert len(spilled) == 1
    assert spilled[0].read_bytes() == HEADER + rows(0, 6)
    assert [r["Id"] for r in records] == [f"001{i:03d}" for i in range(1, 7)]
    assert list(tmp_path.iterdir()) == []


def test_iter_records_keeps_a_small_page_in_memory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(query.tempfile, "tempdir", str(tmp_path))
    http = PagedHttp([[HEADER + rows(0, 3)], [HEADER + rows(3, 1)]])
    records = iter_records(JobsApi(http), job(), None)
    assert next(records)["Id"] == "001000"
    assert list(tmp_path.iterdir()) == [], "no temporary directory for pages held in memory"
    assert len(list(records)) == 3
    assert list(tmp_path.iterdir()) == []


def test_records_of_a_page_held_in_memory() -> None:
    page = b'\xef\xbb\xbf"Id","Note"\n"1",""\n"2","a\nb"\n'
    assert list(_page_records(page, ",")) == [{"Id": "1", "Note": None}, {"Id": "2", "Note": "a\nb"}]
