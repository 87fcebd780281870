"""The client against a hostile server on 127.0.0.1: the token stays home, answers are bounded.

A second server on another port plays the off-host attacker: it must never see a request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostile_server import API, INGEST_ID, HostileServer, MiB, gzip_bomb
from typer.testing import CliRunner

from kinetic_core import SalesforceClient
from kinetic_core.auth import StaticTokenAuth
from kinetic_core.bulk import BulkClient
from kinetic_core.bulk.poller import PollPolicy
from kinetic_core.cli import app
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.errors import (
    InvalidNameError,
    NotFoundError,
    QueryPagingError,
    ResponseLimitError,
    UnsafeUrlError,
)
from kinetic_core.http import HttpSession, ResponseBounds
from kinetic_core.http.paths import check_id, check_name, on_instance, path_value

TOKEN = "00DHOSTILE!token-that-must-stay-home"


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


@pytest.fixture
def catcher() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(1024)  # 1 GiB of zeros in about 1 MB


def client_for(server: HostileServer, **bounds: Any) -> SalesforceClient:
    session = HttpSession(
        StaticTokenAuth(server.url, TOKEN), bounds=ResponseBounds(**bounds), sleep=lambda _s: None
    )
    return SalesforceClient(session)


def bulk_for(client: SalesforceClient) -> BulkClient:
    return BulkClient(client, poll=PollPolicy(initial=0.01, maximum=0.01), state_dir=False)


def bulk_query(client: SalesforceClient, export_dir: Path | None) -> None:
    """A Bulk query read whole: exported to ``export_dir/out.csv``, or as records when None."""
    bulk = bulk_for(client)
    if export_dir is not None:
        bulk.query("SELECT Id FROM Account", out=export_dir / "out.csv")
    else:
        list(bulk.query("SELECT Id FROM Account"))


# ---------------------------------------------------------------------------------------- item 1
def _off_host_urls(hostile: HostileServer, catcher: HostileServer) -> list[str]:
    port = catcher.httpd.server_address[1]
    home = hostile.httpd.server_address[1]
    return [
        f"{catcher.url}{API}/query/01gX-2000",  # another origin (port)
        f"//127.0.0.1:{port}{API}/query/01gX-2000",  # scheme-relative: another host
        f"http://127.0.0.1:{home}@127.0.0.1:{port}{API}/query/01gX",  # userinfo trick
        f"https://127.0.0.1:{home}{API}/query/01gX-2000",  # another scheme
        f"{API}/../../_emulator/stats",  # dot segments
        f"{API}/../../../_emulator/stats",  # out of /services/ by dot segments
        f"{API}/%2e%2e/%2e%2e/%2e%2e/_emulator/stats",
        "/_emulator/stats",
    ]


def test_query_never_follows_a_next_records_url_off_the_instance(
    hostile: HostileServer, catcher: HostileServer
) -> None:
    hostile.mode = "offhost"
    for url in _off_host_urls(hostile, catcher):
        hostile.next_url = url
        with client_for(hostile) as client, pytest.raises(UnsafeUrlError) as info:
            list(client.query("SELECT Id FROM Account"))
        assert repr(url)[:60] in str(info.value) or url[:60] in str(info.value)
    assert catcher.seen == []
    assert all(path.startswith(f"{API}/query?") for _, path, _ in hostile.seen)


def test_job_list_never_follows_a_next_records_url_off_the_instance(
    hostile: HostileServer, catcher: HostileServer
) -> None:
    hostile.next_url = f"{catcher.url}{API}/jobs/ingest?queryLocator=01gX-1000"
    with client_for(hostile) as client, pytest.raises(UnsafeUrlError, match="refused to follow"):
        list(bulk_for(client).list_jobs())
    assert catcher.seen == []


def test_upload_goes_to_the_instance_whatever_content_url_says(
    hostile: HostileServer, catcher: HostileServer
) -> None:
    hostile.next_url = f"{catcher.url}{API}/jobs/ingest/{INGEST_ID}/batches"
    with client_for(hostile) as client:
        bulk = bulk_for(client)
        job = bulk.create_job("Account", "insert")
        assert job.content_url == hostile.next_url
        bulk.upload_data(job.id, b"Name\nAcme\n")
    assert catcher.seen == []
    assert ("PUT", f"{API}/jobs/ingest/{INGEST_ID}/batches", f"Bearer {TOKEN}") in hostile.seen


def test_answer_urls_resolve_against_the_instance() -> None:
    home = "https://x.my.salesforce.com"
    assert on_instance(home, "/services/data/v62.0/query/01g-2") == f"{home}/services/data/v62.0/query/01g-2"
    assert on_instance(home, "services/data/v62.0/jobs/ingest/750/batches").startswith(f"{home}/services/")
    assert on_instance(home + ":443", f"{home}/services/data") == f"{home}/services/data"
    for bad in (
        "https://x.my.salesforce.com.evil.io/services/data",
        "http://x.my.salesforce.com/services/data",
        "https://x.my.salesforce.com:8443/services/data",
        "/services\\..\\x",
        "/servicesX/data",
        "https://user@x.my.salesforce.com/services/data",
        "",
        "/services/data/v62.0/query/a b",
    ):
        with pytest.raises(UnsafeUrlError):
            on_instance(home, bad)


# ---------------------------------------------------------------------------------------- item 2
def test_a_job_id_cannot_reach_another_resource(tmp_path: Path) -> None:
    with LocalOrg(data_dir=tmp_path / "org") as org:
        client = SalesforceClient(HttpSession(StaticTokenAuth(org.instance_url, org.token())))
        account = client.create("Account", {"Name": "Keep me"})
        bulk = bulk_for(client)
        for call in (
            bulk.delete_job,
            bulk.get_job,
            bulk.abort_job,
            bulk.close_job,
            bulk.wait,
            bulk.get_results,
        ):
            with pytest.raises(InvalidNameError, match="not a valid job id"):
                call(f"../../sobjects/Account/{account}")
        assert client.get("Account", account)["Name"] == "Keep me"
        client.close()


def test_cli_refuses_a_path_as_a_job_id(
    hostile: HostileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"KINETIC_HOME": str(tmp_path / "home"), "SF_INSTANCE_URL": hostile.url, "SF_ACCESS_TOKEN": TOKEN}
    result = CliRunner().invoke(app, ["jobs", "show", "../../../../../_emulator/stats"], env=env)
    assert result.exit_code == 2, result.output
    assert "not a valid job id: '../../../../../_emulator/stats'" in result.stderr
    assert "Traceback" not in result.output
    assert hostile.seen == []


@pytest.mark.parametrize("name", ["Account", "ns__Invoice_Line__c", "Loc__Latitude__s", "Setting__mdt", "Id"])
def test_api_names_that_pass(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["../Account", "Account/x", "Foo_", "Foo___c", "_Foo", "1Foo", "Foo Bar", "Foo__", "a__b__c__d__e", ""],
)
def test_api_names_that_are_refused(name: str) -> None:
    with pytest.raises(InvalidNameError):
        check_name(name, "field")


def test_ids_and_data_values() -> None:
    assert check_id("001000000000001") == "001000000000001"
    for bad in ("001", "001000000000001AAA/..", "001000000000001A", "../../x", "001000000000001AA%"):
        with pytest.raises(InvalidNameError, match="record id"):
            check_id(bad)
    assert path_value("..") == "%2E%2E"
    assert path_value("a/b?c#d e") == "a%2Fb%3Fc%23d%20e"


def test_an_external_id_is_data_quoted_not_refused(hostile: HostileServer) -> None:
    with client_for(hostile) as client:
        for value in ("..", "a/../b"):
            with pytest.raises(NotFoundError):
                client.upsert("Account", "Ext__c", value, {"Name": "x"})
    paths = [path for method, path, _ in hostile.seen if method == "PATCH"]
    assert paths == [f"{API}/sobjects/Account/Ext__c/%2E%2E", f"{API}/sobjects/Account/Ext__c/a%2F..%2Fb"]


# ---------------------------------------------------------------------------------------- item 4
def test_a_huge_json_answer_stops_at_the_bound(hostile: HostileServer) -> None:
    hostile.mode, hostile.size = "huge", 64 * MiB
    with (
        client_for(hostile, max_response_bytes=8 * MiB) as client,
        pytest.raises(ResponseLimitError, match="max_response_bytes=8388608") as info,
    ):
        client.query("SELECT Id FROM Account")
    assert info.value.limit == "max_response_bytes"
    assert "ResponseBounds(max_response_bytes=...)" in str(info.value)
    assert hostile.requests_to("/query") == 1  # a bound broken is never retried


def test_a_gzip_bomb_in_a_json_answer_stops_at_the_ratio(hostile: HostileServer, bomb: bytes) -> None:
    hostile.mode, hostile.bomb = "bomb", bomb
    started = time.monotonic()
    with client_for(hostile) as client, pytest.raises(ResponseLimitError, match="max_inflation=100"):
        client.query("SELECT Id FROM Account")
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("export", [False, True])
def test_a_gzip_bomb_in_a_bulk_page_stops_at_the_ratio(
    hostile: HostileServer, bomb: bytes, tmp_path: Path, export: bool
) -> None:
    hostile.mode, hostile.bomb = "bulk_bomb", bomb
    spill_dir = tmp_path / "spill"
    with client_for(hostile) as client, pytest.raises(ResponseLimitError, match="max_inflation"):
        bulk_query(client, tmp_path if export else None)
    assert not spill_dir.exists()
    if export:
        assert (tmp_path / "out.csv").stat().st_size < 20 * MiB


@pytest.mark.parametrize("declared", [True, False])
@pytest.mark.parametrize("export", [False, True])
def test_a_huge_bulk_page_stops_at_the_download_bound(
    hostile: HostileServer, tmp_path: Path, export: bool, declared: bool
) -> None:
    hostile.mode, hostile.size, hostile.declare_length = "bulk_huge", 64 * MiB, declared
    with (
        client_for(hostile, max_download_bytes=24 * MiB) as client,
        pytest.raises(ResponseLimitError, match="max_download_bytes") as info,
    ):
        bulk_query(client, tmp_path if export else None)
    # with a Content-Length the page is refused unread; without one, at the bound
    assert ("declares 67108864 bytes" in str(info.value)) is declared
    assert hostile.requests_to("/results") == 1
    assert not list(tmp_path.glob("**/page-*.csv"))
    if export:
        assert (tmp_path / "out.csv").stat().st_size <= 24 * MiB


@pytest.mark.parametrize("declared", [True, False])
def test_a_huge_json_answer_is_refused_by_its_length_or_at_the_bound(
    hostile: HostileServer, declared: bool
) -> None:
    hostile.mode, hostile.size, hostile.declare_length = "huge", 16 * MiB, declared
    with (
        client_for(hostile, max_response_bytes=4 * MiB) as client,
        pytest.raises(ResponseLimitError, match="max_response_bytes=4194304") as info,
    ):
        client.query("SELECT Id FROM Account")
    assert ("declares 16777216 bytes" in str(info.value)) is declared


@pytest.mark.parametrize("export", [False, True])
@pytest.mark.parametrize("mode", ["endless_locators", "empty_locators"])
def test_bulk_locators_must_lead_to_an_end(
    hostile: HostileServer, tmp_path: Path, export: bool, mode: str
) -> None:
    hostile.mode, hostile.declared = mode, 10
    with client_for(hostile) as client, pytest.raises(QueryPagingError) as info:
        bulk_query(client, tmp_path if export else None)
    if mode == "endless_locators":
        assert "11 records so far, more than the 10 it declared" in str(info.value)
        assert hostile.requests_to("/results") == 11
    else:
        assert "holds no records" in str(info.value)
        assert hostile.requests_to("/results") == 1


@pytest.mark.parametrize(
    ("mode", "message", "requests"),
    [
        ("empty_pages", "holds no records but a next page is offered", 1),
        ("repeat", "a second time", 2),
        ("over_total", "4 records so far, more than the 3 it declared", 4),
    ],
)
def test_rest_query_pages_must_lead_to_an_end(
    hostile: HostileServer, mode: str, message: str, requests: int
) -> None:
    hostile.mode, hostile.declared = mode, 3
    with client_for(hostile) as client, pytest.raises(QueryPagingError, match=message):
        list(client.query("SELECT Id FROM Account"))
    assert hostile.requests_to("/query") == requests


def test_job_list_pages_must_lead_to_an_end(hostile: HostileServer) -> None:
    hostile.mode = "empty_pages"
    with client_for(hostile) as client, pytest.raises(QueryPagingError, match="holds no records"):
        list(bulk_for(client).list_jobs())
    assert hostile.requests_to("/jobs/ingest") == 1


def test_a_trickled_json_answer_ends_at_the_deadline(hostile: HostileServer) -> None:
    hostile.mode, hostile.trickle_delay = "trickle", 0.05
    started = time.monotonic()
    with (
        client_for(hostile, request_deadline=1.0) as client,
        pytest.raises(ResponseLimitError, match=r"request_deadline=1\.0"),
    ):
        client.query("SELECT Id FROM Account")
    assert time.monotonic() - started < 3


def test_a_trickled_download_breaks_the_progress_rule(hostile: HostileServer, tmp_path: Path) -> None:
    hostile.mode, hostile.trickle_delay = "bulk_trickle", 0.05
    started = time.monotonic()
    with (
        client_for(hostile, progress_window=0.5, min_download_rate=1000) as client,
        pytest.raises(ResponseLimitError, match="min_download_rate"),
    ):
        bulk_query(client, tmp_path)
    assert time.monotonic() - started < 3


def test_the_bounds_are_settable_through_connect(hostile: HostileServer, tmp_path: Path) -> None:
    hostile.mode, hostile.size = "huge", 4 * MiB
    bounds = ResponseBounds(max_response_bytes=MiB)
    environ = {"SF_INSTANCE_URL": hostile.url, "SF_ACCESS_TOKEN": TOKEN}
    with SalesforceClient.connect(environ=environ, cwd=tmp_path, home=tmp_path, bounds=bounds) as client:
        assert client.http.bounds is bounds
        with pytest.raises(ResponseLimitError, match="max_response_bytes=1048576"):
            client.query("SELECT Id FROM Account")


@pytest.mark.slow
def test_memory_and_time_against_every_hostile_answer_at_the_default_bounds(bomb: bytes) -> None:
    """Each scenario in a fresh client process: a Kinetic error, bounded memory and time."""
    from hostile_measure import SCENARIOS, measure

    for scenario in SCENARIOS:
        figures = measure(scenario, bomb)
        print(figures)
        error = str(figures["error"])
        assert error.startswith(("ResponseLimitError", "QueryPagingError")), figures
        assert figures["peak_rss_mb"] < 400, figures
        assert figures["seconds"] < 90, figures
