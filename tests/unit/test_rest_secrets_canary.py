"""Canary: secrets never reach logs, reprs, error messages or files, across a session with failures."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from test_http_fakes import SECRETS, FakeSalesforce, Fault, fake_client, sf_error

from kinetic_core import SalesforceClient
from kinetic_core.config import resolve_org, save_profile
from kinetic_core.errors import AuthenticationError, KineticError


def assert_clean(text: str, tokens: list[str]) -> None:
    for secret in [*SECRETS.values(), *tokens]:
        assert secret not in text, f"secret leaked: {secret[:4]}..."


def test_no_secret_in_logs_reprs_errors_or_files(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeSalesforce()
    texts: list[str] = []
    with fake_client(fake) as client:
        texts += [
            repr(client),
            repr(client.http),
            repr(client.http.auth),
            repr(client.http.token),
            str(client.http),
        ]
        rid = client.create("Account", {"Name": "A"})
        client.get("Account", rid)
        list(client.query("SELECT Id FROM Account"))
        fake.expire_tokens()
        client.update("Account", rid, {"Name": "B"})  # 401 -> renewal
        fake.faults.append(Fault(sf_error(503, "SERVER_UNAVAILABLE", "busy"), path="limits", times=9))
        fake.faults.append(Fault(httpx.ReadTimeout("lost"), when="after", method="POST", path="sobjects"))
        for call in (
            lambda: client.limits(),
            lambda: client.create("Account", {"Name": "C"}),
            lambda: client.create("Account", {"Phone": "no name"}),
        ):
            with pytest.raises(KineticError) as info:
                call()
            texts += [str(info.value), repr(info.value)]
        client.create_batch("Account", [{"Name": "x"}, {"Phone": "y"}])
        texts.append(repr(client.http.token))
    bad = SalesforceClient.connect(
        username="me@acme.com",
        password="wrong-" + SECRETS["password"],
        client_id="cid",
        client_secret=SECRETS["client_secret"],
        transport=fake.transport(),
        environ={},
        cwd=tmp_path,
        home=tmp_path,
        sleep=lambda s: None,
    )
    with bad, pytest.raises(AuthenticationError) as auth_info:
        bad.limits()
    texts += [str(auth_info.value), repr(bad), repr(bad.http.auth)]
    cfg = resolve_org(
        None,
        {
            "username": "u",
            "password": SECRETS["password"],
            "client_id": "c",
            "client_secret": SECRETS["client_secret"],
            "security_token": SECRETS["security_token"],
        },
        environ={},
        cwd=tmp_path,
        home=tmp_path,
    )
    texts.append(repr(cfg))
    save_profile("canary", {"username": "u", "password_env": "CANARY_PW"}, tmp_path)
    texts.append((tmp_path / "orgs.toml").read_text())
    tokens = sorted(fake.valid_tokens | {f"00Dfake!token-{n}" for n in range(1, fake.tokens_issued + 1)})
    log_text = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert caplog.records, "expected debug logging from the send path"
    assert_clean(log_text, tokens)
    assert_clean("\n".join(texts), tokens)
    assert_clean("\n".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file()), tokens)
