"""JWT access tokens: signature, algorithm, issuer, audience and time all hold, or no principal."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcp_gateway.identity.config import JwtSettings
from mcp_gateway.identity.errors import IdentityError
from mcp_gateway.identity.jwt import JwtVerifier, claim_at, roles_from
from mcp_gateway.sdk import Principal
from tests.identity.helpers import (
    AUDIENCE,
    ISSUER,
    claims,
    ed25519_key,
    hmac_signed,
    rsa_key,
    serve,
    unsigned,
    write_jwks,
)

pytestmark = pytest.mark.anyio

RSA = rsa_key()
ED = ed25519_key()
STRANGER = rsa_key("rsa-1")  # same kid as RSA, different key


def settings(jwks: Path | None = None, url: str | None = None, **overrides: Any) -> JwtSettings:
    return JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks_file=jwks, jwks_url=url, **overrides)


@pytest.fixture
def jwks(tmp_path: Path) -> Path:
    return write_jwks(tmp_path / "jwks.json", RSA, ED)


@pytest.fixture
def verifier(jwks: Path) -> JwtVerifier:
    return JwtVerifier(settings(jwks))


@pytest.mark.req("R-007")
async def test_valid_rsa_and_ed25519_tokens_give_the_principal(verifier: JwtVerifier) -> None:
    for key in (RSA, ED):
        token = key.mint(claims(roles=["reader", "writer"]))
        assert await verifier.verify(token) == Principal("alice", ("reader", "writer"))
    listed_audience = RSA.mint(claims(aud=["other", AUDIENCE]))
    assert await verifier.verify(listed_audience) == Principal("alice")


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("wrong audience", {"aud": "https://elsewhere.example.test/mcp"}),
        ("wrong issuer", {"iss": "https://evil.example.test"}),
        ("expired", {"exp": int(time.time()) - 3600}),
        ("not yet valid", {"nbf": int(time.time()) + 3600}),
        ("issued in the future", {"iat": int(time.time()) + 3600}),
        ("reserved cell principal", {"sub": "cell:fs"}),
        ("control characters in the principal", {"sub": "alice\u0000"}),
        ("principal not a string", {"sub": 42}),
        ("bad role", {"roles": ["ok", "not ok,really"]}),
        ("roles of the wrong shape", {"roles": {"admin": True}}),
    ],
)
async def test_bad_claims_are_refused(verifier: JwtVerifier, name: str, overrides: dict[str, Any]) -> None:
    assert await verifier.verify(RSA.mint(claims(**overrides))) is None, name


@pytest.mark.parametrize("missing", ["exp", "iss", "aud"])
async def test_required_claims(verifier: JwtVerifier, missing: str) -> None:
    payload = claims()
    del payload[missing]
    assert await verifier.verify(RSA.mint(payload)) is None


async def test_alg_none_is_refused(verifier: JwtVerifier) -> None:
    for header in ({"alg": "none"}, {"alg": "none", "kid": RSA.kid}, {"alg": "None", "typ": "JWT"}):
        assert await verifier.verify(unsigned(claims(), header)) is None


async def test_hs256_signed_with_the_public_key_is_refused(verifier: JwtVerifier) -> None:
    for secret in (RSA.public_pem(), json.dumps(RSA.jwk()).encode()):
        assert await verifier.verify(hmac_signed(claims(), secret, RSA.kid)) is None


async def test_unknown_kid_wrong_key_and_key_algorithm_mismatch_are_refused(verifier: JwtVerifier) -> None:
    assert await verifier.verify(rsa_key("someone-else").mint(claims())) is None
    assert await verifier.verify(STRANGER.mint(claims())) is None  # right kid, wrong key
    assert await verifier.verify(RSA.mint(claims(), kid=ED.kid)) is None  # RS256 under the EdDSA key
    assert await verifier.verify(RSA.mint(claims(), kid=None)) is None  # two keys: which one?


async def test_garbage_never_raises(verifier: JwtVerifier) -> None:
    for token in ("", "a", "a.b", "a.b.c", "....", "x" * 20_000, "eyJhbGciOiJSUzI1NiJ9.e30.", "\u00e9.\u00e9.\u00e9"):
        assert await verifier.verify(token) is None


async def test_a_single_key_set_accepts_tokens_without_kid(tmp_path: Path) -> None:
    verifier = JwtVerifier(settings(write_jwks(tmp_path / "one.json", ED)))
    assert await verifier.verify(ED.mint(claims(), kid=None)) == Principal("alice")


async def test_claims_are_configurable(jwks: Path) -> None:
    verifier = JwtVerifier(
        settings(jwks, principal_claim="email", roles_claim="realm_access.roles", domain_claim="tenant")
    )
    token = RSA.mint(claims(email="alice@example.test", realm_access={"roles": ["admin"]}, tenant="acme"))
    assert await verifier.verify(token) == Principal("alice@example.test", ("admin",), "acme")
    no_tenant = RSA.mint(claims(email="bob@example.test"))
    assert await verifier.verify(no_tenant) == Principal("bob@example.test", (), "default")
    bad_tenant = RSA.mint(claims(email="bob@example.test", tenant="a b"))
    assert await verifier.verify(bad_tenant) is None


async def test_space_separated_roles(jwks: Path) -> None:
    verifier = JwtVerifier(settings(jwks, roles_claim="scope"))
    assert await verifier.verify(RSA.mint(claims(scope="tools.read  tools.write"))) == Principal(
        "alice", ("tools.read", "tools.write")
    )


async def test_only_configured_algorithms_are_accepted(jwks: Path) -> None:
    verifier = JwtVerifier(settings(jwks, algorithms=("EdDSA",)))
    assert await verifier.verify(RSA.mint(claims())) is None
    assert await verifier.verify(ED.mint(claims())) == Principal("alice")


async def test_keys_from_a_jwks_url(tmp_path: Path) -> None:
    fetched: list[int] = []

    async def keys(request: object) -> JSONResponse:
        fetched.append(1)
        return JSONResponse({"keys": [RSA.jwk(), ED.jwk()]})

    async with serve(Starlette(routes=[Route("/certs", keys)])) as base:
        verifier = JwtVerifier(settings(url=f"{base}/certs"))
        assert await verifier.verify(RSA.mint(claims())) == Principal("alice")
        assert await verifier.verify(ED.mint(claims())) == Principal("alice")
        assert await verifier.verify(STRANGER.mint(claims())) is None
        assert await verifier.verify(rsa_key("rotated-away").mint(claims())) is None
        assert await verifier.verify(RSA.mint(claims(), kid=None)) is None
        assert await verifier.verify(unsigned(claims(), {"alg": "none", "kid": RSA.kid})) is None
        assert len(fetched) == 1  # cached; an unknown kid refetches at most once per cooldown

    unreachable = JwtVerifier(settings(url="http://127.0.0.1:9/certs"))
    assert await unreachable.verify(RSA.mint(claims())) is None


def test_unsafe_settings_are_refused(jwks: Path) -> None:
    for algorithms in (("none",), ("HS256",), ("RS256", "HS512"), ()):
        with pytest.raises(ValidationError):
            settings(jwks, algorithms=algorithms)
    with pytest.raises(ValidationError, match="exactly one"):
        settings(jwks, url="https://idp.example.test/certs")
    with pytest.raises(ValidationError, match="exactly one"):
        settings()
    with pytest.raises(ValidationError, match="https"):
        settings(url="http://idp.example.test/certs")


def test_an_unusable_jwks_file_fails_at_start(tmp_path: Path) -> None:
    for content in ("{", "[]", '{"keys": []}', '{"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}'):
        path = tmp_path / "bad.json"
        path.write_text(content)
        with pytest.raises(IdentityError, match="bad.json"):
            JwtVerifier(settings(path))
    with pytest.raises(IdentityError, match="cannot be read"):
        JwtVerifier(settings(tmp_path / "missing.json"))


def test_claim_paths_and_role_shapes() -> None:
    data = {"https://example.test/roles": ["a"], "realm_access": {"roles": ["b"]}, "flat": "x"}
    assert claim_at(data, "https://example.test/roles") == ["a"]
    assert claim_at(data, "realm_access.roles") == ["b"]
    assert claim_at(data, "flat.deeper") is None
    assert roles_from(None) == [] and roles_from("a b") == ["a", "b"] and roles_from([1]) is None
