"""Secrets never leak: canary password, client secret, security token and access token are searched for in
DEBUG logs, exception texts and reprs, bulk result files and failure rows, and (when those commands exist)
the CLI's ``--json`` output and the pipeline journal."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from security_helpers import CANARIES

from kinetic_core import SalesforceClient
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.errors import AuthenticationError, KineticError


def _connect(org: LocalOrg, tmp_path: Path, **extra: Any) -> SalesforceClient:
    settings: dict[str, Any] = {
        "login_url": org.login_url,
        "client_id": org.client_id,
        "client_secret": org.client_secret,
        "username": org.username,
        "password": org.password,
        "security_token": org.security_token,
    }
    settings.update(extra)
    return SalesforceClient.connect(
        environ={}, cwd=tmp_path, home=tmp_path / "home", sleep=lambda s: None, **settings
    )


def _files_text(root: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in root.rglob("*") if p.is_file())


def test_no_secret_in_logs_errors_results_or_failure_files(
    canary_org: LocalOrg, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    results_dir = tmp_path / "results"
    with _connect(canary_org, tmp_path) as client:
        client.bulk.poll = type(client.bulk.poll)(initial=0.01, maximum=0.05)
        access_token = client.http.token.access_token
        texts += [repr(client), repr(client.http), repr(client.http.auth), str(client.http.token)]
        client.create("Account", {"Name": "canary ok"})
        canary_org.admin("faults", {"session_ttl_seconds": 0.05})
        import time

        time.sleep(0.1)  # a real server thread: let the session age past its ttl
        list(client.query("SELECT Id, Name FROM Account"))  # renews the session (logged at INFO/DEBUG)
        canary_org.admin("faults", {})
        rows = [{"Name": "good"}, {"Name": None}, {"Name": "bad", "Tier__x": "1"}]
        try:
            client.bulk.insert("Account", rows, results_dir=results_dir)
        except KineticError as exc:
            texts += [str(exc), repr(exc)]
        result = client.bulk.insert("Account", rows[:2], results_dir=results_dir)
        with result:
            texts += [repr(result), str(result.summary())]
            texts += [repr(r) for r in result]
        loaded = client.load("Account", [{"Name": None}], strategy="composite")
        texts += [repr(o) for o in loaded]
        for bad in ("SELECT Nope FROM Account", "SELEC"):
            try:
                list(client.query(bad))
            except KineticError as exc:
                texts += [str(exc), repr(exc), str(exc.__dict__)]
    for wrong in ({"password": "CANARY-wrong-pw"}, {"client_secret": "CANARY-wrong-secret"}):
        try:
            with _connect(canary_org, tmp_path, **wrong) as client:
                client.limits()
        except AuthenticationError as exc:
            texts += [str(exc), repr(exc), str(exc.__dict__)]
    haystack = "\n".join([caplog.text, *texts, _files_text(results_dir)])
    assert "canary ok" in caplog.text or caplog.records, "DEBUG logging produced nothing to search"
    for secret in [*CANARIES, "CANARY-wrong-pw", "CANARY-wrong-secret", access_token]:
        assert secret not in haystack, f"secret {secret[:12]}... leaked"
    assert "good" in _files_text(results_dir), "result files were written and searched"


def test_cli_json_output_has_no_secret(canary_org: LocalOrg, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from kinetic_core.cli import app

    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    if "query" not in names:
        pytest.skip("the CLI has no `kinetic query` command yet")
    env = {
        "SF_LOGIN_URL": canary_org.login_url,
        "SF_CLIENT_ID": canary_org.client_id,
        "SF_CLIENT_SECRET": canary_org.client_secret,
        "SF_USERNAME": canary_org.username,
        "SF_PASSWORD": canary_org.password,
        "KINETIC_HOME": str(tmp_path / "home"),
    }
    runner = CliRunner()
    outputs = []
    for args in (["query", "SELECT Id FROM Account", "--json"], ["limits", "--json"], ["doctor", "--json"]):
        if args[0] in names:
            outputs.append(runner.invoke(app, args, env=env).output)
    env["SF_PASSWORD"] = "CANARY-wrong-pw"
    outputs.append(runner.invoke(app, ["query", "SELECT Id FROM Account", "--json"], env=env).output)
    text = "\n".join(outputs)
    assert "attributes" in text or "Id" in text, f"the CLI printed no query result: {text[:300]}"
    for secret in [*CANARIES, "CANARY-wrong-pw"]:
        assert secret not in text


def test_pipeline_journal_and_failure_files_have_no_secret(canary_org: LocalOrg, tmp_path: Path) -> None:
    import kinetic_core

    pipeline_cls = getattr(kinetic_core, "SyncPipeline", None)
    assert pipeline_cls is not None
    source = tmp_path / "src.csv"
    source.write_text('name,tier\ngood,\n"",\nbad,Platinum\n', encoding="utf-8")
    spec = tmp_path / "p.yaml"
    spec.write_text(
        "object: Account\noperation: insert\nsource: {path: src.csv}\n"
        "mapping: {fields: {Name: name, Tier__x: tier}}\nfailures: {dir: failures}\n",
        encoding="utf-8",
    )
    with _connect(canary_org, tmp_path) as client:
        report = pipeline_cls.from_yaml(spec, client).run()
    assert report is not None
    assert list((tmp_path / "failures").rglob("*.csv")), "the run wrote no failure file to search"
    text = _files_text(tmp_path / "failures") + "\n".join(
        p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*.sqlite")
    )
    for secret in CANARIES:
        assert secret not in text
