"""The SDK TokenVerifier: API tokens and JWTs become AccessTokens that give the principal back."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from pydantic import ValidationError
from starlette.authentication import UnauthenticatedUser

from mcp_gateway.config import load_config
from mcp_gateway.identity.config import AuthConfig, JwtSettings, resolve_tokens_file, tokens_path
from mcp_gateway.identity.verifier import (
    GatewayAccessToken,
    GatewayTokenVerifier,
    auth_settings,
    build_verifier,
    principal_from_user,
)
from mcp_gateway.sdk import Principal
from tests.identity.helpers import AUDIENCE, ISSUER, claims, ed25519_key, write_jwks
from tests.support import write_config

pytestmark = pytest.mark.anyio

KEY = ed25519_key()


@pytest.fixture
def auth(tmp_path: Path) -> AuthConfig:
    jwt = JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks_file=write_jwks(tmp_path / "jwks.json", KEY))
    return AuthConfig(jwt=jwt, resource_server_url=AUDIENCE)


@pytest.fixture
def verifier(auth: AuthConfig, tmp_path: Path) -> GatewayTokenVerifier:
    return build_verifier(auth, tmp_path / "state")


async def test_api_token_round_trip(verifier: GatewayTokenVerifier) -> None:
    info, token = verifier.store.create("alice", ["reader"], None, domain="acme")
    access = await verifier.verify_token(token)
    assert isinstance(access, GatewayAccessToken)
    assert (access.client_id, access.scopes, access.domain) == ("alice", ["reader"], "acme")
    assert access.token == f"mgw_{info.id}"  # a reference, never the secret
    assert principal_from_user(AuthenticatedUser(access)) == Principal("alice", ("reader",), "acme")


async def test_jwt_round_trip(verifier: GatewayTokenVerifier) -> None:
    token = KEY.mint(claims(sub="carol", roles=["ops"]))
    access = await verifier.verify_token(token)
    assert access is not None and token not in access.model_dump_json()
    assert access.claims == {"iss": ISSUER}
    assert principal_from_user(AuthenticatedUser(access)) == Principal("carol", ("ops",))


async def test_bad_credentials_give_none(verifier: GatewayTokenVerifier, tmp_path: Path) -> None:
    assert await verifier.verify_token("mgw_000000000000_nope") is None
    assert await verifier.verify_token(KEY.mint(claims(aud="other"))) is None
    assert await verifier.verify_token("not-a-token") is None
    tokens_only = GatewayTokenVerifier(verifier.store)
    assert await tokens_only.verify_token(KEY.mint(claims())) is None


async def test_a_corrupt_store_refuses_api_tokens_without_raising(
    verifier: GatewayTokenVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    _, token = verifier.store.create("alice", [], None)
    verifier.store.path.write_text("{broken")
    for _ in range(3):
        assert await verifier.verify_token(token) is None
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert len(errors) == 1 and str(verifier.store.path) in errors[0].getMessage()
    assert token not in caplog.text
    assert await verifier.verify_token(KEY.mint(claims())) is not None  # JWTs are unaffected


def test_principal_from_other_users() -> None:
    assert principal_from_user(None) is None
    assert principal_from_user(UnauthenticatedUser()) is None
    foreign = AccessToken(token="t", client_id="dave", scopes=["x"])
    assert principal_from_user(AuthenticatedUser(foreign)) == Principal("dave", ("x",))
    impostor = AccessToken(token="t", client_id="cell:fs", scopes=[])
    assert principal_from_user(AuthenticatedUser(impostor)) is None


def test_auth_settings_only_for_a_resource_server(auth: AuthConfig) -> None:
    settings = auth_settings(auth)
    assert settings is not None
    assert str(settings.resource_server_url) == AUDIENCE and str(settings.issuer_url) == ISSUER
    assert auth_settings(AuthConfig()) is None


def test_auth_config_defaults_and_rules(tmp_path: Path, auth: AuthConfig) -> None:
    assert AuthConfig().require_auth is True
    assert resolve_tokens_file(AuthConfig(), tmp_path) == tmp_path / "tokens.json"
    assert resolve_tokens_file(AuthConfig(tokens_file=tmp_path / "t.json"), tmp_path) == tmp_path / "t.json"
    with pytest.raises(ValidationError, match="needs"):
        AuthConfig(resource_server_url=AUDIENCE)
    with pytest.raises(ValidationError):
        AuthConfig(unknown=True)  # type: ignore[call-arg]
    assert auth.jwt is not None
    not_a_url = JwtSettings(issuer="main-realm", audience=AUDIENCE, jwks_file=auth.jwt.jwks_file)
    assert AuthConfig(jwt=not_a_url).jwt == not_a_url  # fine until it has to be advertised
    with pytest.raises(ValidationError, match="issuer"):
        AuthConfig(jwt=not_a_url, resource_server_url=AUDIENCE)


def test_tokens_path_follows_the_state_dir(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path / "g.toml", tmp_path / "state"), {})
    assert tokens_path(config) == tmp_path / "state" / "tokens.json"
