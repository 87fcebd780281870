"""A job's files in the data dir: uploaded parts, per-batch results, final result CSVs, query pages.

Layout under ``<data_dir>/jobs/<job id>/``::

    upload-<n>.tmp          an upload being received
    part-0001.csv ...       committed uploads, in order
    b000001.ok / .fail      per-batch result records: a line naming the line ending and giving every
                            record's length, then the records, each followed by that line ending
    b000001.ok.tmp          written before the batch commits, renamed after
    successfulResults.csv   final files (header + records), written when the job ends
    failedResults.csv
    unprocessedrecords.csv
    query.csv / query.idx   query results (records only) and the byte offset of every record
"""

from __future__ import annotations

import json
import os
import random
import shutil
import uuid
import zlib
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TextIO

from kinetic_core.emulator.bulk.models import ResultKind
from kinetic_core.emulator.private import private_dir, private_opener

BATCH_KINDS = ("ok", "fail")


class JobFiles:
    """Paths and file operations of one job.

    Example:
        >>> files = JobFiles(Path("/tmp/bulk"), "7508c0000000001AAA")  # doctest: +SKIP
        >>> files.parts(2)  # doctest: +SKIP
    """

    def __init__(self, root: Path, job_id: str) -> None:
        self.dir = root / "jobs" / job_id

    def ensure(self) -> None:
        private_dir(self.dir)

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    # uploads -----------------------------------------------------------------------------------

    def new_upload(self) -> Path:
        self.ensure()
        return self.dir / f"upload-{uuid.uuid4().hex}.tmp"

    def part(self, number: int) -> Path:
        return self.dir / f"part-{number:04d}.csv"

    def parts(self, count: int) -> list[Path]:
        return [self.part(n) for n in range(1, count + 1) if self.part(n).exists()]

    def drop_uploads(self) -> None:
        for path in self.dir.glob("upload-*.tmp"):
            path.unlink(missing_ok=True)

    def drop_parts(self) -> None:
        for path in self.dir.glob("part-*.csv"):
            path.unlink(missing_ok=True)

    # batches -----------------------------------------------------------------------------------

    def batch(self, number: int, kind: str, *, temp: bool = False) -> Path:
        return self.dir / f"b{number:06d}.{kind}{'.tmp' if temp else ''}"

    def write_batch(self, number: int, ok: list[str], fail: list[str], line_ending: str = "\n") -> None:
        """Write a batch's result records to temp files (committed later by :meth:`commit_batch`).

        The records are stored as the final result file holds them (each followed by ``line_ending``),
        so merging batches is a copy; the first line keeps each record's length for a shuffled merge.
        """
        self.ensure()
        name = _ENDING_NAMES[line_ending]
        for kind, records in (("ok", ok), ("fail", fail)):
            path = self.batch(number, kind, temp=True)
            with open(path, "w", encoding="utf-8", newline="", opener=private_opener) as fh:
                fh.write(" ".join([name, *map(str, map(len, records))]) + "\n")
                if records:
                    fh.write(line_ending.join(records))
                    fh.write(line_ending)

    def commit_batch(self, number: int) -> None:
        for kind in BATCH_KINDS:
            tmp = self.batch(number, kind, temp=True)
            if tmp.exists():
                os.replace(tmp, self.batch(number, kind))

    def recover(self, batches_done: int) -> None:
        """After a restart: keep committed batches (numbers < ``batches_done``), drop the rest."""
        for tmp in self.dir.glob("b*.tmp"):
            number = int(tmp.name[1:7])
            if number < batches_done:
                os.replace(tmp, tmp.with_suffix(""))
            else:
                tmp.unlink(missing_ok=True)
        for path in self.dir.glob("b*.ok"):
            if int(path.name[1:7]) >= batches_done:
                path.unlink(missing_ok=True)
        for path in self.dir.glob("b*.fail"):
            if int(path.name[1:7]) >= batches_done:
                path.unlink(missing_ok=True)
        self.drop_uploads()

    def drop_batches(self) -> None:
        for path in self.dir.glob("b[0-9]*"):
            path.unlink(missing_ok=True)

    # final results -----------------------------------------------------------------------------

    def result(self, kind: ResultKind) -> Path:
        return self.dir / f"{kind.value}.csv"

    def write_result(
        self,
        kind: ResultKind,
        header: str | None,
        batch_kind: str | None,
        batches: int,
        line_ending: str,
        rng: random.Random | None,
        extra: Iterable[str] = (),
    ) -> None:
        """Merge batch records (shuffled when ``rng`` is given) plus ``extra`` into the final CSV."""
        self.ensure()
        target = self.result(kind)
        tmp = target.with_suffix(".csv.tmp")
        with open(tmp, "w", encoding="utf-8", newline="", opener=private_opener) as out:
            if header is not None:
                out.write(header + line_ending)
            if batch_kind is not None:
                sources = [self.batch(n, batch_kind) for n in range(batches)]
                if rng is None:
                    for path in sources:
                        _copy_records(path, out, line_ending)
                else:
                    self._shuffled(sources, out, line_ending, rng)
            for record in extra:
                out.write(record + line_ending)
        os.replace(tmp, target)

    def _shuffled(self, sources: list[Path], out: IO[str], line_ending: str, rng: random.Random) -> None:
        buckets = [self.dir / f"shuffle-{i}.tmp" for i in range(max(1, len(sources)))]
        handles = [open(p, "w", encoding="utf-8", opener=private_opener) for p in buckets]  # noqa: SIM115
        try:
            for path in sources:
                for record in _load_records(path):
                    handles[rng.randrange(len(handles))].write(json.dumps(record) + "\n")
        finally:
            for h in handles:
                h.close()
        for bucket in buckets:
            with bucket.open("r", encoding="utf-8") as fh:
                lines = fh.readlines()
            rng.shuffle(lines)
            for line in lines:
                out.write(json.loads(line) + line_ending)
            bucket.unlink(missing_ok=True)

    # query results -----------------------------------------------------------------------------

    @property
    def query_data(self) -> Path:
        return self.dir / "query.csv"

    @property
    def query_index(self) -> Path:
        return self.dir / "query.idx"

    def record_offsets(self, start: int, stop: int | None) -> tuple[int, int | None]:
        """Byte offsets of query record ``start`` and ``stop`` (None = end of data)."""
        with self.query_index.open("rb") as fh:
            fh.seek(start * 8)
            first = array("Q")
            first.frombytes(fh.read(8))
            end: int | None = None
            if stop is not None:
                fh.seek(stop * 8)
                raw = fh.read(8)
                if len(raw) == 8:
                    last = array("Q")
                    last.frombytes(raw)
                    end = last[0]
        return first[0], end


_ENDING_NAMES = {"\n": "LF", "\r\n": "CRLF"}
_ENDINGS = {name: chars for chars, name in _ENDING_NAMES.items()}


def _split_records(head: str, body: str) -> list[str]:
    """The records of a batch file's body, cut by the lengths on its first line."""
    name, *lengths = head.split()
    step = len(_ENDINGS[name])
    records, pos = [], 0
    for n in map(int, lengths):
        records.append(body[pos : pos + n])
        pos += n + step
    return records


def _load_records(path: Path) -> list[str]:
    """The encoded records of one batch file (at most one batch: bounded memory)."""
    if not path.exists():
        return []
    with path.open("r", encoding="utf-8", newline="") as fh:
        head = fh.readline()
        if head.startswith("["):  # a JSON array, as earlier versions wrote batch files
            fh.seek(0)
            records: list[str] = json.load(fh)
            return records
        return _split_records(head, fh.read()) if head else []


def _copy_records(path: Path, out: TextIO, line_ending: str) -> None:
    if not path.exists():
        return
    with path.open("rb") as fh:
        head = fh.readline().decode("utf-8")
        if head and not head.startswith("[") and _ENDINGS[head.split()[0]] == line_ending:
            out.flush()
            shutil.copyfileobj(fh, out.buffer, 1 << 20)  # the bytes as they are: no decoding, no encoding
            return
    records = _load_records(path)
    if records:
        out.write(line_ending.join(records))
        out.write(line_ending)


def iter_file(
    path: Path, chunk: int, start: int = 0, end: int | None = None, prefix: bytes = b""
) -> Iterator[bytes]:
    """Yield a byte range of a file in chunks, after an optional prefix; opens the file lazily."""
    if prefix:
        yield prefix
    with path.open("rb") as fh:
        fh.seek(start)
        remaining = None if end is None else end - start
        while remaining is None or remaining > 0:
            size = chunk if remaining is None else min(chunk, remaining)
            data = fh.read(size)
            if not data:
                return
            if remaining is not None:
                remaining -= len(data)
            yield data


def gzip_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Compress a byte stream as one gzip member, chunk by chunk.

    Example:
        >>> import gzip
        >>> gzip.decompress(b"".join(gzip_chunks([b"a,b\\n", b"1,2\\n"])))
        b'a,b\\n1,2\\n'
    """
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    for chunk in chunks:
        data = comp.compress(chunk)
        if data:
            yield data
    yield comp.flush()
