"""The `[auth]` section of gateway.toml.

    [auth]
    require_auth = true                       # HTTP refuses requests without a valid bearer token
    # tokens_file = "/var/lib/mcp-gateway/tokens.json"   default: <state_dir>/tokens.json
    # resource_server_url = "https://gw.example.com/mcp" serves RFC 9728 metadata (needs [auth.jwt])

    [auth.jwt]                                # optional: accept OAuth 2.1 access tokens (JWT)
    issuer = "https://idp.example.com/realms/main"
    audience = "https://gw.example.com/mcp"
    jwks_url = "https://idp.example.com/realms/main/protocol/openid-connect/certs"   # or jwks_file
    roles_claim = "realm_access.roles"

This module imports nothing of the gateway but the name rules, because `mcp_gateway.config`
imports it.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from mcp_gateway.config import Config

TOKENS_FILE_NAME = "tokens.json"

# Asymmetric algorithms only: `none` accepts anything, and an HS* algorithm verified with a key
# from a JWKS would let anyone who holds the public key sign tokens.
SAFE_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _https_url(value: str) -> str:
    """An http(s) URL; plain http only on loopback, where nothing on the path can tamper with it."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError("must use https (plain http is allowed for loopback addresses only)")
    if parts.fragment:
        raise ValueError("must not have a fragment")
    return value


HttpsUrl = Annotated[str, AfterValidator(_https_url)]
Claim = Annotated[str, Field(min_length=1, max_length=200)]


class JwtSettings(_Strict):
    """An OAuth 2.1 resource server: access tokens are JWTs signed by the issuer's keys."""

    issuer: str = Field(min_length=1)
    """Compared exactly with the token's `iss`."""
    audience: str = Field(min_length=1)
    """Must appear in the token's `aud`: normally this gateway's resource URL."""
    jwks_file: Path | None = None
    jwks_url: HttpsUrl | None = None
    algorithms: tuple[str, ...] = ("RS256", "ES256", "EdDSA")
    principal_claim: Claim = "sub"
    roles_claim: Claim = "roles"
    """A list or a space-separated string; a dotted path reaches into objects (`realm_access.roles`)."""
    domain_claim: Claim | None = None
    """Where the tenant comes from; tokens without it act in the `default` domain."""
    leeway_seconds: float = Field(default=30.0, ge=0, le=300)
    """Clock skew tolerated on `exp`, `nbf` and `iat`."""
    jwks_cache_seconds: float = Field(default=300.0, gt=0, le=86400)
    """How long keys fetched from `jwks_url` are trusted before they are fetched again."""

    @field_validator("algorithms")
    @classmethod
    def _safe_algorithms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one algorithm is needed")
        unsafe = sorted(set(value) - SAFE_ALGORITHMS)
        if unsafe:
            raise ValueError(f"{', '.join(unsafe)} not allowed; choose from {', '.join(sorted(SAFE_ALGORITHMS))}")
        return value

    @model_validator(mode="after")
    def _one_key_source(self) -> JwtSettings:
        if (self.jwks_file is None) == (self.jwks_url is None):
            raise ValueError("set exactly one of jwks_file and jwks_url")
        return self


class AuthConfig(_Strict):
    require_auth: bool = True
    """Over HTTP, refuse every MCP request without a valid bearer token (secure by default).
    When false, requests without credentials act as the anonymous principal; a credential that
    is present but wrong is still refused."""
    tokens_file: Path | None = None
    """Where API tokens are kept; default `<state_dir>/tokens.json`."""
    jwt: JwtSettings | None = None
    resource_server_url: HttpsUrl | None = None
    """This gateway's public MCP URL; with `jwt`, serves `/.well-known/oauth-protected-resource/...`."""

    @model_validator(mode="after")
    def _metadata_needs_jwt(self) -> AuthConfig:
        if self.resource_server_url is None:
            return self
        if self.jwt is None:
            raise ValueError("resource_server_url names an authorization server, so it needs [auth.jwt]")
        try:
            _https_url(self.jwt.issuer)
        except ValueError as exc:
            raise ValueError(f"with resource_server_url, jwt.issuer is advertised and {exc}") from None
        return self


def resolve_tokens_file(auth: AuthConfig | None, state_dir: Path) -> Path:
    """The token store's path: as configured, else `<state_dir>/tokens.json`."""
    if auth is not None and auth.tokens_file is not None:
        return auth.tokens_file
    return state_dir / TOKENS_FILE_NAME


def tokens_path(config: Config) -> Path:
    """The one place the CLI and the server learn where tokens live."""
    return resolve_tokens_file(config.auth, config.server.state_dir)
