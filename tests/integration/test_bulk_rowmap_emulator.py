"""Row numbers of bulk results against the emulator: merged without an index when the result rows
come back in input order, through the index when they are shuffled (``--shuffle-results``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kinetic_core.auth.flows import PasswordAuth
from kinetic_core.bulk import BulkClient, PollPolicy
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.http.session import HttpSession

NOTES = ['said "hi", then left', "line one\nline two", "", "Zürich, 東京 🚀", 'multi\r\nline, "quoted"']


def rows(n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(1, n + 1):
        name: str | None = f"Zoë {i}" if i % 7 else None  # every 7th row misses its required Name
        out.append({"Name": name, "Description": NOTES[i % len(NOTES)], "Phone": "" if i % 3 else None})
    out.append(dict(out[0]))  # two identical rows
    return out


@pytest.fixture(params=[False, True], ids=["in-order", "shuffled"])
def bulk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[BulkClient, bool]]:
    shuffled: bool = request.param
    with LocalOrg(data_dir=tmp_path / "org", shuffle_results=shuffled) as org:
        auth = PasswordAuth(org.login_url, org.client_id, org.client_secret, org.username, org.password)
        session = HttpSession(auth, api_version=org.api_version, sleep=lambda s: None)
        try:
            yield BulkClient(session, poll=PollPolicy(initial=0.02, maximum=0.1), state_dir=False), shuffled
        finally:
            session.close()


def test_every_row_comes_back_with_its_number(bulk: tuple[BulkClient, bool]) -> None:
    client, shuffled = bulk
    data = rows(120)
    with client.insert("Account", data, max_records_per_job=50) as result:
        assert len(result.job_ids) == 3
        seen = {}
        for row in result:
            assert row.row_number is not None
            assert row.row_number not in seen
            seen[row.row_number] = row
        assert sorted(seen) == list(range(1, len(data) + 1))
        for number, row in seen.items():
            sent = data[number - 1]
            assert row.record["Description"] == sent["Description"]
            assert row.record["Name"] == (sent["Name"] if sent["Name"] is not None else "#N/A")
            expected = "success" if sent["Name"] is not None else "failed"
            assert row.status.value == expected, number
        assert (result.successful, result.failed, result.unprocessed) == (104, 17, 0)
        # in input order: merged with the input, no index; shuffled: every job needs the index
        assert bool(result.indexed_jobs) == shuffled


def test_a_csv_file_with_crlf_and_multi_line_values(bulk: tuple[BulkClient, bool], tmp_path: Path) -> None:
    client, shuffled = bulk
    lines = ["Name,Description"]
    for i in range(1, 41):
        name = "" if i % 10 == 0 else f'"Ünïcødé, {i}"'
        lines.append(f'{name},"first\r\nsecond ""{i}"""')
    path = tmp_path / "in.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    with client.insert("Account", path) as result:
        failed = [r.row_number for r in result.failed_rows()]
        assert failed == [10, 20, 30, 40]
        ok = list(result.successful_rows())
        assert [r.row_number for r in ok] == [n for n in range(1, 41) if n % 10]
        assert all(r.record["Description"] == f'first\r\nsecond "{r.row_number}"' for r in ok)
        assert bool(result.indexed_jobs) == shuffled
