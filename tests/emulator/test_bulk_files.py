"""Per-batch result files: stored as the final result file holds them, merged by copy or shuffled whole."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from kinetic_core.emulator.bulk.files import JobFiles
from kinetic_core.emulator.bulk.models import ResultKind

RECORDS = [
    '"001000000000001AAA","true",Zoë,"12 Rue de l\'Église\r\nBâtiment 3"',
    '"001000000000002AAA","true",Łukasz,"Line one\nLine two"',
    '"001000000000003AAA","true",,',
]


def merged(files: JobFiles, ending: str, rng: random.Random | None = None) -> str:
    files.write_result(ResultKind.SUCCESSFUL, "H", "ok", 2, ending, rng)
    return files.result(ResultKind.SUCCESSFUL).read_bytes().decode()


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_batches_merge_in_order_with_the_jobs_line_ending(tmp_path: Path, ending: str) -> None:
    files = JobFiles(tmp_path, "750000000000001AAA")
    files.write_batch(0, RECORDS[:2], [], ending)
    files.write_batch(1, RECORDS[2:], ["fail"], ending)
    for n in (0, 1):
        files.commit_batch(n)
    assert merged(files, ending) == "H" + ending + "".join(r + ending for r in RECORDS)


def test_a_batch_written_with_another_line_ending_is_re_joined(tmp_path: Path) -> None:
    files = JobFiles(tmp_path, "750000000000001AAA")
    files.write_batch(0, RECORDS[:2], [], "\n")
    files.write_batch(1, [], [], "\n")
    for n in (0, 1):
        files.commit_batch(n)
    assert merged(files, "\r\n") == "H\r\n" + "".join(r + "\r\n" for r in RECORDS[:2])


def test_shuffled_merge_keeps_multi_line_records_whole(tmp_path: Path) -> None:
    files = JobFiles(tmp_path, "750000000000001AAA")
    files.write_batch(0, RECORDS, [], "\r\n")
    files.write_batch(1, [], [], "\r\n")
    for n in (0, 1):
        files.commit_batch(n)
    text = merged(files, "\r\n", random.Random(5))
    body = text.removeprefix("H\r\n")
    found = [r for r in RECORDS if r + "\r\n" in body]
    assert found == RECORDS
    assert len(body) == sum(len(r) + 2 for r in RECORDS)


def test_batch_files_of_earlier_versions_still_merge(tmp_path: Path) -> None:
    """A job left half done by a version that stored each batch as a JSON array."""
    files = JobFiles(tmp_path, "750000000000001AAA")
    files.ensure()
    files.batch(0, "ok").write_text(json.dumps(RECORDS[:2], ensure_ascii=False), encoding="utf-8")
    files.write_batch(1, RECORDS[2:], [], "\n")
    files.commit_batch(1)
    assert merged(files, "\n") == "H\n" + "".join(r + "\n" for r in RECORDS)
