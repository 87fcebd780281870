"""Configuration: env vars, .env (strict parser), orgs.toml profiles, KINETIC_HOME, flow selection."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kinetic_core.auth import AuthFlow, JwtBearerAuth, PasswordAuth, SeededAuth, StaticTokenAuth
from kinetic_core.config import (
    OrgConfig,
    kinetic_home,
    list_profiles,
    load_dotenv,
    parse_dotenv,
    remove_profile,
    resolve_org,
    save_profile,
)
from kinetic_core.errors import ConfigError


def resolve(tmp_path: Path, env: dict[str, str], org: str | None = None, **overrides: object) -> OrgConfig:
    return resolve_org(org, overrides, environ=env, cwd=tmp_path, home=tmp_path / "home")


def test_dotenv_parser_accepts_the_usual_forms() -> None:
    text = (
        "# comment\n\n"
        "export SF_USERNAME=me@acme.com   # trailing comment\n"
        "SF_PASSWORD='p#ss w0rd'\n"
        'SF_PRIVATE_KEY="-----BEGIN-----\\nabc\\n-----END-----"\n'
        "EMPTY=\n"
        "HASH=a#b\n"
    )
    assert parse_dotenv(text) == {
        "SF_USERNAME": "me@acme.com",
        "SF_PASSWORD": "p#ss w0rd",
        "SF_PRIVATE_KEY": "-----BEGIN-----\nabc\n-----END-----",
        "EMPTY": "",
        "HASH": "a#b",
    }


@pytest.mark.parametrize("line", ["JUST_A_WORD", "1BAD=x", "SF_X='unterminated", 'SF_X="a" junk', "= value"])
def test_dotenv_parser_is_strict_and_never_echoes_values(line: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_dotenv("OK=1\n" + line + "\n", Path("/p/.env"))
    assert "/p/.env:2" in str(info.value)
    assert "unterminated" not in str(info.value) or "SF_X" not in str(info.value)


def test_load_dotenv_strips_bom_and_absent_is_empty(tmp_path: Path) -> None:
    assert load_dotenv(tmp_path) == {}
    (tmp_path / ".env").write_text("\ufeffSF_USERNAME=a\n", encoding="utf-8")
    assert load_dotenv(tmp_path) == {"SF_USERNAME": "a"}


def test_the_environment_is_one_source_and_a_dotenv_never_completes_it(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "SF_USERNAME=from-file\nSF_PASSWORD=pw\nSF_CLIENT_ID=cid\nSF_API_VERSION=v60.0\n"
    )
    with pytest.raises(ConfigError) as info:
        resolve(tmp_path, {"SF_USERNAME": "from-env"})
    message = str(info.value)
    assert "environment" in message
    assert "SF_PASSWORD" in message
    assert "SF_CLIENT_ID" in message
    full = {"SF_USERNAME": "from-env", "SF_PASSWORD": "pw2", "SF_CLIENT_ID": "c2"}
    cfg = resolve(tmp_path, full)
    assert (cfg.username, cfg.password, cfg.client_id, cfg.api_version) == ("from-env", "pw2", "c2", "62.0")
    assert cfg.source == "the environment (SF_* variables)"
    assert isinstance(cfg.authenticator(), PasswordAuth)


def test_a_dotenv_is_used_alone_when_the_environment_names_no_org(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "SF_USERNAME=from-file\nSF_PASSWORD=pw\nSF_CLIENT_ID=cid\nSF_API_VERSION=v60.0\n"
    )
    cfg = resolve(tmp_path, {"SF_VERIFY_TLS": "false", "SF_API_VERSION": "59.0"})
    assert (cfg.username, cfg.api_version, cfg.verify) == ("from-file", "60.0", True)
    assert cfg.source == str(tmp_path / ".env")
    assert cfg.flow is AuthFlow.PASSWORD


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"SF_USERNAME": "u"}, ["SF_PASSWORD"]),
        ({"SF_PASSWORD": "p", "SF_CLIENT_ID": "c"}, ["SF_USERNAME"]),
        ({"SF_LOGIN_URL": "https://evil.example.com"}, ["SF_USERNAME + SF_PASSWORD"]),
        ({"SF_CLIENT_ID": "c"}, ["SF_USERNAME + SF_PASSWORD"]),
        ({"SF_CLIENT_SECRET": "s"}, ["SF_CLIENT_ID"]),
        ({"SF_ACCESS_TOKEN": "t"}, ["SF_INSTANCE_URL"]),
        ({"SF_INSTANCE_URL": "https://a.my.salesforce.com"}, ["SF_ACCESS_TOKEN"]),
        ({"SF_PRIVATE_KEY_PATH": "/k.pem", "SF_USERNAME": "u"}, ["SF_CLIENT_ID"]),
        ({"SF_USERNAME": "u", "SF_CLIENT_ID": "c", "SF_CLIENT_SECRET": "s"}, ["SF_PASSWORD"]),
        ({"SF_SECURITY_TOKEN": "t", "SF_USERNAME": "u", "SF_CLIENT_ID": "c"}, ["SF_PASSWORD"]),
    ],
)
def test_partial_configuration_is_an_error_never_the_local_org(
    tmp_path: Path, env: dict[str, str], missing: list[str]
) -> None:
    with pytest.raises(ConfigError) as info:
        resolve(tmp_path, env)
    for name in missing:
        assert name in str(info.value)
    assert "environment" in str(info.value)


@pytest.mark.parametrize(
    "env",
    [
        {"SF_USERNAM": "u", "SF_PASSWORD": "p", "SF_CLIENT_ID": "c"},
        {"SF_USERNAM": "u", "SF_PASSWROD": "p"},
        {"SF_CLIENTID": "c", "SF_CLIENT_SECRET": "s"},
    ],
)
def test_misspelled_variables_are_named(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        resolve(tmp_path, env)
    assert "did you mean" in str(info.value)


def test_other_tools_sf_variables_are_not_misspellings(tmp_path: Path) -> None:
    env = {"SF_ORG_INSTANCE_URL": "https://x", "SF_ORG_API_VERSION": "60.0", "SF_LOG_LEVEL": "debug"}
    assert resolve(tmp_path, env).local


def test_falling_back_to_the_local_org_is_logged_with_its_data_dir(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kinetic_core.config")
    assert resolve(tmp_path, {}).local
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(str(tmp_path / "home" / "local") in m for m in said), said


def test_arguments_that_name_an_org_are_its_only_source(tmp_path: Path) -> None:
    env = {"SF_USERNAME": "env-user", "SF_PASSWORD": "env-pw", "SF_CLIENT_ID": "c", "SF_VERIFY_TLS": "false"}
    cfg = resolve(
        tmp_path, env, login_url="https://login.salesforce.com", access_token="t", instance_url="https://a"
    )
    assert cfg.flow is AuthFlow.STATIC
    assert (cfg.username, cfg.password, cfg.verify) == (None, None, True)
    with pytest.raises(ConfigError, match="arguments"):
        resolve(tmp_path, env, login_url="https://evil.example.com")


@pytest.mark.parametrize(
    ("env", "flow"),
    [
        (
            {"SF_PRIVATE_KEY_PATH": "/k.pem", "SF_CLIENT_ID": "c", "SF_USERNAME": "u", "SF_PASSWORD": "p"},
            AuthFlow.JWT,
        ),
        ({"SF_PRIVATE_KEY": "---", "SF_CLIENT_ID": "c", "SF_USERNAME": "u"}, AuthFlow.JWT),
        ({"SF_USERNAME": "u", "SF_PASSWORD": "p", "SF_CLIENT_ID": "c"}, AuthFlow.PASSWORD),
        ({"SF_REFRESH_TOKEN": "r", "SF_CLIENT_ID": "c"}, AuthFlow.REFRESH_TOKEN),
        (
            {"SF_CLIENT_ID": "c", "SF_CLIENT_SECRET": "s", "SF_LOGIN_URL": "https://a.my.salesforce.com"},
            AuthFlow.CLIENT_CREDENTIALS,
        ),
        ({"SF_INSTANCE_URL": "https://a.my.salesforce.com", "SF_ACCESS_TOKEN": "t"}, AuthFlow.STATIC),
    ],
)
def test_flow_follows_what_is_set(tmp_path: Path, env: dict[str, str], flow: AuthFlow) -> None:
    cfg = resolve(tmp_path, env)
    assert cfg.flow is flow
    assert cfg.authenticator().flow is flow


def test_session_plus_credentials_starts_with_the_session(tmp_path: Path) -> None:
    cfg = resolve(
        tmp_path,
        {
            "SF_INSTANCE_URL": "https://a.my.salesforce.com/",
            "SF_ACCESS_TOKEN": "t",
            "SF_REFRESH_TOKEN": "r",
            "SF_CLIENT_ID": "c",
        },
    )
    auth = cfg.authenticator()
    assert isinstance(auth, SeededAuth)
    token = auth.initial_token()
    assert token is not None
    assert token.instance_url == "https://a.my.salesforce.com"
    assert isinstance(StaticTokenAuth("https://a", "t"), StaticTokenAuth)


def test_missing_pieces_name_the_variables(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SF_CLIENT_ID"):
        resolve(tmp_path, {"SF_USERNAME": "u", "SF_PASSWORD": "p"})
    with pytest.raises(ConfigError, match="no usable credentials"):
        OrgConfig(username="u").authenticator()


def test_tls_settings(tmp_path: Path) -> None:
    cfg = resolve(
        tmp_path, {"SF_INSTANCE_URL": "https://a", "SF_ACCESS_TOKEN": "t", "SF_CA_BUNDLE": "/ca.pem"}
    )
    assert cfg.verify == "/ca.pem"
    cfg = resolve(
        tmp_path, {"SF_INSTANCE_URL": "https://a", "SF_ACCESS_TOKEN": "t", "SF_VERIFY_TLS": "false"}
    )
    assert cfg.verify is False
    with pytest.raises(ConfigError, match="verify_tls"):
        resolve(tmp_path, {"SF_INSTANCE_URL": "https://a", "SF_ACCESS_TOKEN": "t", "SF_VERIFY_TLS": "maybe"})


def test_nothing_configured_means_local(tmp_path: Path) -> None:
    cfg = resolve(tmp_path, {"SF_API_VERSION": "61.0"})
    assert cfg.local
    assert cfg.name == "local"
    assert cfg.api_version == "61.0"
    assert cfg.flow is None
    assert resolve(tmp_path, {"SF_USERNAME": "u"}, org="local").local


def test_profiles_roundtrip_with_secret_references(tmp_path: Path) -> None:
    home = tmp_path / "home"
    save_profile(
        "prod",
        {
            "login_url": "https://login.salesforce.com",
            "client_id": "cid",
            "username": "me@acme.com",
            "private_key_path": "/keys/prod.key",
        },
        home,
        default=True,
    )
    save_profile(
        "uat",
        {
            "login_url": "https://test.salesforce.com",
            "client_id": "cid2",
            "username": "u",
            "password_env": "UAT_PW",
        },
        home,
    )
    assert list_profiles(home) == ["prod", "uat"]
    assert (home / "orgs.toml").stat().st_mode & 0o777 == 0o600
    assert not list(home.glob(".orgs.toml.*"))
    prod = resolve(tmp_path, {"SF_USERNAME": "ignored-by-profiles"}, org="prod")
    assert prod.flow is AuthFlow.JWT
    assert prod.username == "me@acme.com"
    assert isinstance(prod.authenticator(), JwtBearerAuth)
    uat = resolve(tmp_path, {"UAT_PW": "secret!"}, org="uat", api_version="59.0")
    assert uat.password == "secret!"
    assert uat.api_version == "59.0"
    with pytest.raises(ConfigError, match="UAT_PW"):
        resolve(tmp_path, {}, org="uat")
    # the default profile is used when the environment names no credentials
    assert resolve(tmp_path, {}).name == "prod"
    assert remove_profile("prod", home)
    assert not remove_profile("prod", home)
    assert resolve(tmp_path, {}).local
    assert "secret!" not in (home / "orgs.toml").read_text()


def test_profile_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="refusing"):
        save_profile("p", {"password": "x"}, tmp_path)
    with pytest.raises(ConfigError, match="no org profile 'nope'"):
        resolve(tmp_path, {}, org="nope")
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "orgs.toml").write_text("[orgs.bad]\nbogus = 1\n")
    with pytest.raises(ConfigError, match="bogus"):
        resolve(tmp_path, {}, org="bad")
    (tmp_path / "home" / "orgs.toml").write_text("[orgs\n")
    with pytest.raises(ConfigError):
        resolve(tmp_path, {}, org="bad")
    with pytest.raises(ConfigError, match="unknown setting"):
        resolve(tmp_path, {}, org="local", colour="blue")


def test_kinetic_home_is_injectable(tmp_path: Path) -> None:
    assert kinetic_home({"KINETIC_HOME": str(tmp_path)}) == tmp_path
    assert kinetic_home({}).name == ".kinetic"


def test_repr_hides_every_secret() -> None:
    cfg = OrgConfig(
        client_secret="S1",
        password="S2",
        security_token="S3",
        private_key="S4",
        refresh_token="S5",
        access_token="S6",
        username="visible",
    )
    text = repr(cfg)
    assert "visible" in text
    for secret in ("S1", "S2", "S3", "S4", "S5", "S6"):
        assert secret not in text


def test_a_profile_reads_a_secret_kept_in_its_own_file(tmp_path: Path) -> None:
    from kinetic_core.config import resolve_org, save_profile

    token_file = tmp_path / "web.refresh_token"
    token_file.write_text("5AepSecret\n", encoding="utf-8")
    values = {
        "login_url": "https://login.salesforce.com",
        "client_id": "cid",
        "refresh_token_file": str(token_file),
    }
    save_profile("web", values, tmp_path)
    assert "5AepSecret" not in (tmp_path / "orgs.toml").read_text(encoding="utf-8")
    config = resolve_org("web", environ={}, home=tmp_path, cwd=tmp_path)
    assert config.refresh_token == "5AepSecret"
    assert config.flow is AuthFlow.REFRESH_TOKEN
    token_file.unlink()
    with pytest.raises(ConfigError, match=r"refresh_token_file: cannot read .*web\.refresh_token"):
        resolve_org("web", environ={}, home=tmp_path, cwd=tmp_path)
    with pytest.raises(ConfigError, match="refusing to write the secret 'refresh_token'"):
        save_profile("web", {**values, "refresh_token": "5AepSecret"}, tmp_path)
