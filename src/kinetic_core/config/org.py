"""``OrgConfig``: everything needed to reach one org, the OAuth flow its settings select, and what
an incomplete one lacks. The settings' names in the environment (``SF_*``) are here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from kinetic_core.auth import (
    Authenticator,
    AuthFlow,
    ClientCredentialsAuth,
    JwtBearerAuth,
    PasswordAuth,
    RefreshTokenAuth,
    SeededAuth,
    StaticTokenAuth,
    Token,
)
from kinetic_core.errors import ConfigError

DEFAULT_API_VERSION = "62.0"
DEFAULT_LOGIN_URL = "https://login.salesforce.com"
LOCAL_ORG = "local"

ENV_VARS: Mapping[str, str] = {
    "SF_LOGIN_URL": "login_url",
    "SF_CLIENT_ID": "client_id",
    "SF_CLIENT_SECRET": "client_secret",
    "SF_USERNAME": "username",
    "SF_PASSWORD": "password",
    "SF_SECURITY_TOKEN": "security_token",
    "SF_PRIVATE_KEY_PATH": "private_key_path",
    "SF_PRIVATE_KEY": "private_key",
    "SF_REFRESH_TOKEN": "refresh_token",
    "SF_INSTANCE_URL": "instance_url",
    "SF_ACCESS_TOKEN": "access_token",
    "SF_API_VERSION": "api_version",
    "SF_CA_BUNDLE": "ca_bundle",
    "SF_VERIFY_TLS": "verify_tls",
}
"""Environment variable -> ``OrgConfig`` field."""

SECRET_FIELDS = frozenset(
    {"client_secret", "password", "security_token", "private_key", "refresh_token", "access_token"}
)
TUNING_FIELDS = frozenset({"api_version", "ca_bundle", "verify_tls"})
ORG_FIELDS = frozenset(ENV_VARS.values()) - TUNING_FIELDS
"""Settings that say which org and who: any of them makes a source the org's one source."""
ENV_NAME: Mapping[str, str] = {field_name: var for var, field_name in ENV_VARS.items()}
"""``OrgConfig`` field -> environment variable."""


@dataclass(frozen=True)
class OrgConfig:
    """Everything needed to reach one org. Secret fields never show in ``repr``.

    Example:
        >>> cfg = OrgConfig(username="me@x.com", password="pw", client_id="id", client_secret="s")
        >>> cfg.flow, "pw" in repr(cfg)
        (<AuthFlow.PASSWORD: 'password'>, False)
    """

    name: str = "env"
    login_url: str = DEFAULT_LOGIN_URL
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    private_key_path: str | None = None
    private_key: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    instance_url: str | None = None
    access_token: str | None = field(default=None, repr=False)
    api_version: str = DEFAULT_API_VERSION
    ca_bundle: str | None = None
    verify_tls: bool = True
    source: str = ""
    local: bool = False

    @property
    def flow(self) -> AuthFlow | None:
        """The OAuth flow the settings select; None for ``local`` or when nothing usable is set."""
        if self.local:
            return None
        if self.private_key or self.private_key_path:
            return AuthFlow.JWT
        if self.username and self.password:
            return AuthFlow.PASSWORD
        if self.refresh_token:
            return AuthFlow.REFRESH_TOKEN
        if self.client_id and self.client_secret:
            return AuthFlow.CLIENT_CREDENTIALS
        if self.instance_url and self.access_token:
            return AuthFlow.STATIC
        return None

    def missing(self) -> list[str]:
        """The settings this configuration lacks (field names); empty when complete or local.

        Example:
            >>> OrgConfig(username="me@x.com", client_id="id").missing()
            ['password']
        """
        if self.local:
            return []
        flow = self.flow
        lacking = _lacking_login(self) + _lacking_session(self, flow) + _lacking_client(self, flow)
        if flow is AuthFlow.JWT and not self.username:
            lacking.append("username")
        needed = list(dict.fromkeys(lacking))
        if flow is None and not needed:
            needed.append("credentials")
        return needed

    @property
    def verify(self) -> bool | str:
        """The TLS verification setting: a CA bundle path, or True/False."""
        if not self.verify_tls:
            return False
        return self.ca_bundle or True

    def authenticator(self) -> Authenticator:
        """The OAuth flow object for these settings.

        Raises:
            ConfigError: nothing usable is configured, or the chosen flow lacks a value.
        """
        flow = self.flow
        if flow is None:
            raise ConfigError(
                f"org {self.name!r} ({self.source or 'no source'}) has no usable credentials: set a "
                "private key, username + password, a refresh token, client id + secret, or instance URL + "
                "access token"
            )

        def need(*names: str) -> None:
            missing = [n for n in names if not getattr(self, n)]
            if missing:
                env = {v: k for k, v in ENV_VARS.items()}
                raise ConfigError(
                    f"the {flow} flow of org {self.name!r} needs "
                    + ", ".join(f"{n} ({env.get(n, n)})" for n in missing)
                )

        auth: Authenticator
        if flow is AuthFlow.STATIC:
            assert self.instance_url is not None
            assert self.access_token is not None
            return StaticTokenAuth(self.instance_url, self.access_token)
        if flow is AuthFlow.JWT:
            need("client_id", "username")
            auth = JwtBearerAuth(
                self.login_url,
                str(self.client_id),
                str(self.username),
                private_key=self.private_key.replace("\\n", "\n") if self.private_key else None,
                private_key_path=self.private_key_path,
            )
        elif flow is AuthFlow.PASSWORD:
            need("client_id")
            auth = PasswordAuth(
                self.login_url,
                str(self.client_id),
                self.client_secret,
                str(self.username),
                str(self.password),
                self.security_token,
            )
        elif flow is AuthFlow.REFRESH_TOKEN:
            need("client_id")
            auth = RefreshTokenAuth(
                self.login_url, str(self.client_id), str(self.refresh_token), client_secret=self.client_secret
            )
        else:
            auth = ClientCredentialsAuth(self.login_url, str(self.client_id), str(self.client_secret))
        if self.instance_url and self.access_token:
            return SeededAuth(auth, Token(self.access_token, self.instance_url.rstrip("/")))
        return auth


FIELD_NAMES = frozenset(f.name for f in fields(OrgConfig)) - {"name", "source", "local"}
"""The settings a profile, ``.env`` or the arguments may give."""


def _lacking_login(config: OrgConfig) -> list[str]:
    """Half a login: a password without a user, a token without a password, a user with no secret."""
    keyed = bool(config.private_key or config.private_key_path)
    lacking = []
    if config.password and not config.username:
        lacking.append("username")
    if config.security_token and not config.password:
        lacking.append("password")
    if config.username and not (config.password or keyed or config.refresh_token or config.access_token):
        lacking.append("password")
    return lacking


def _lacking_session(config: OrgConfig, flow: AuthFlow | None) -> list[str]:
    """Half a session: an access token without its instance URL, or the URL alone."""
    lacking = []
    if config.access_token and not config.instance_url:
        lacking.append("instance_url")
    if config.instance_url and not config.access_token and flow is None:
        lacking.append("access_token")
    return lacking


def _lacking_client(config: OrgConfig, flow: AuthFlow | None) -> list[str]:
    """The connected app's id, which every flow but a static session needs."""
    if config.client_id:
        return []
    uses_app = flow in (AuthFlow.JWT, AuthFlow.PASSWORD, AuthFlow.REFRESH_TOKEN)
    if config.client_secret or uses_app or (flow is None and bool(config.username or config.password)):
        return ["client_id"]
    return []
