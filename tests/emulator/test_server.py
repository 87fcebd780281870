"""Running the emulator: LocalOrg in a thread, TLS, restarts, and `kinetic emulator start`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kinetic_core.emulator import LocalOrg
from kinetic_core.emulator.app import normalise_path
from kinetic_core.emulator.server import EmulatorRunningError
from kinetic_core.emulator.urls import url_table


def test_local_org_writes_and_removes_emulator_json(tmp_path: Path) -> None:
    data_dir = tmp_path / "org"
    with LocalOrg(data_dir=data_dir) as org:
        info = json.loads((data_dir / "emulator.json").read_text())
        assert info["instance_url"] == org.instance_url == org.login_url
        assert info["pid"] == os.getpid()
        assert info["username"] == org.username
        assert info["password"] == org.password
        assert info["client_id"] == org.client_id
        assert info["client_secret"] == org.client_secret
        assert Path(info["jwt_private_key"]) == org.jwt_private_key
        assert org.jwt_private_key.exists()
        assert info["ca_cert"] is None
        assert info["api_version"] == "62.0"
        assert org.instance_url.startswith("http://127.0.0.1:")
    assert not (data_dir / "emulator.json").exists()


def test_temporary_data_dir_is_removed() -> None:
    with LocalOrg() as org:
        data_dir = org.data_dir
        assert (data_dir / "org.sqlite").exists()
    assert not data_dir.exists()


def test_data_survives_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "org"
    with LocalOrg(data_dir=data_dir) as org:
        token = org.token()
        created = httpx.post(
            f"{org.instance_url}/services/data/v62.0/sobjects/Account",
            json={"Name": "Persistent"},
            headers={"Authorization": f"Bearer {token}"},
        )
        rid = created.json()["id"]
        key_before = org.jwt_private_key.read_bytes()
    with LocalOrg(data_dir=data_dir) as org:
        record = httpx.get(
            f"{org.instance_url}/services/data/v62.0/sobjects/Account/{rid}",
            headers={"Authorization": f"Bearer {org.token()}"},
        )
        assert record.json()["Name"] == "Persistent"
        assert org.jwt_private_key.read_bytes() == key_before


def test_tls(local_org_tls: LocalOrg) -> None:
    assert local_org_tls.instance_url.startswith("https://127.0.0.1:")
    assert local_org_tls.ca_cert is not None
    assert local_org_tls.ca_cert.exists()
    token = local_org_tls.token()
    with httpx.Client(verify=local_org_tls.verify()) as client:
        response = client.get(
            f"{local_org_tls.instance_url}/services/data/v62.0/limits",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200
        localhost = local_org_tls.instance_url.replace("127.0.0.1", "localhost")
        assert client.get(f"{localhost}/services/data").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{local_org_tls.instance_url}/services/data")  # untrusted without the CA


def test_two_orgs_in_one_process(tmp_path: Path) -> None:
    with LocalOrg(data_dir=tmp_path / "a") as a, LocalOrg(data_dir=tmp_path / "b") as b:
        assert a.instance_url != b.instance_url
        headers = {"Authorization": f"Bearer {a.token()}"}
        assert httpx.get(f"{b.instance_url}/services/data/v62.0/limits", headers=headers).status_code == 401


def test_path_helpers() -> None:
    assert normalise_path("//services///data/") == "/services/data"
    assert normalise_path("/") == "/"
    kind_of = url_table().kind_of
    assert kind_of("/services/data/v62.0/jobs/ingest/750") == "bulk_ingest"
    assert kind_of("/services/data/v62.0/queryAll") == "query"
    assert kind_of("/services/oauth2/token") == "oauth"
    assert kind_of("/_emulator/stats") == "admin"


def test_cli_start_foreground(tmp_path: Path) -> None:
    data_dir = tmp_path / "cli-org"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kinetic_core.cli",
            "emulator",
            "start",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        info = json.loads((data_dir / "emulator.json").read_text())
        assert info["instance_url"] == url
        assert info["pid"] == proc.pid
        deadline = time.monotonic() + 10
        while True:
            try:
                assert httpx.get(f"{url}/services/data").status_code == 200
                break
            except httpx.ConnectError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
        assert proc.returncode == 0
        assert not (data_dir / "emulator.json").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_a_second_org_on_one_data_dir_is_refused_and_the_first_keeps_working(tmp_path: Path) -> None:
    data_dir = tmp_path / "org"
    with LocalOrg(data_dir=data_dir) as first:
        second = LocalOrg(data_dir=data_dir)
        with pytest.raises(EmulatorRunningError) as refused:
            second.start()
        assert refused.value.pid == os.getpid()
        assert refused.value.url == first.instance_url
        assert f"already running on the data dir {data_dir} at {first.instance_url}" in str(refused.value)
        assert f"pid {os.getpid()} on {socket.gethostname()}" in str(refused.value)
        assert json.loads((data_dir / "emulator.json").read_text())["instance_url"] == first.instance_url
        token = first.token()
        created = httpx.post(
            f"{first.instance_url}/services/data/v62.0/sobjects/Account",
            json={"Name": "Still served"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201
    with LocalOrg(data_dir=data_dir) as again:  # free once the first one stopped
        assert again.token()


def _wait_until_it_answers(url: str) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            if httpx.get(f"{url}/services/data").status_code == 200:
                return
        except httpx.ConnectError:
            pass
        assert time.monotonic() < deadline, f"{url} never answered"
        time.sleep(0.05)


def _start_cli_emulator(data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kinetic_core.cli",
            "emulator",
            "start",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_cli_second_emulator_on_one_data_dir_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "cli-org"
    with _start_cli_emulator(data_dir) as first:
        try:
            assert first.stdout is not None
            url = first.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:")
            with _start_cli_emulator(data_dir) as second:
                out, err = second.communicate(timeout=60)
            assert second.returncode == 2, err
            assert out == ""
            assert f"an emulator is already running on the data dir {data_dir} at {url}" in err
            assert f"pid {first.pid} on {socket.gethostname()}" in err
            assert "Traceback" not in err
            info = json.loads((data_dir / "emulator.json").read_text())
            assert (info["pid"], info["instance_url"]) == (first.pid, url)  # the refused one wrote nothing
            assert httpx.get(f"{url}/services/data").status_code == 200
            first.send_signal(signal.SIGKILL)  # a killed emulator leaves its lock file behind...
            first.wait(timeout=15)
            assert (data_dir / "emulator.lock").exists()
            with _start_cli_emulator(data_dir) as third:  # ...and the next one takes it over
                try:
                    assert third.stdout is not None
                    third_url = third.stdout.readline().strip()
                    assert third_url.startswith("http://127.0.0.1:")
                    _wait_until_it_answers(third_url)  # SIGINT is handled once the server runs
                finally:
                    third.send_signal(signal.SIGINT)
                    third.communicate(timeout=15)
            assert third.returncode == 0
        finally:
            if first.poll() is None:
                first.kill()
            first.communicate(timeout=15)
