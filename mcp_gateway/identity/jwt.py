"""OAuth 2.1 access tokens (JWT) checked against the issuer's published keys (JWKS).

A token is accepted only when its signature verifies with a key of the configured set under an
allowed asymmetric algorithm bound to that key, and its `iss`, `aud`, `exp` (required) and
`nbf`/`iat` (when present) hold. Everything that is wrong with a token yields None and a debug
log line that never contains the token: a caller learns nothing but "401".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio.to_thread
import jwt
from jwt import PyJWK, PyJWKClient, PyJWKClientConnectionError, PyJWKSet, PyJWTError

from mcp_gateway.identity.config import JwtSettings
from mcp_gateway.identity.errors import IdentityError
from mcp_gateway.identity.principals import DEFAULT_DOMAIN, make_principal
from mcp_gateway.sdk import Principal

logger = logging.getLogger(__name__)

# Real access tokens are a few KiB; parsing megabytes of base64 for a stranger is a cheap DoS.
MAX_JWT_LENGTH = 16 * 1024
_JWKS_TIMEOUT_SECONDS = 5.0


class JwtVerifier:
    """Verifies JWT access tokens; `verify` returns the principal or None and never raises."""

    def __init__(self, settings: JwtSettings) -> None:
        self.settings = settings
        self._client: PyJWKClient | None = None
        self._keys: dict[str | None, PyJWK] = {}
        if settings.jwks_url is not None:
            # Keys are fetched lazily and cached; an unknown kid triggers at most one refetch per
            # cooldown, so a flood of forged kids cannot turn the gateway against the issuer.
            self._client = PyJWKClient(
                settings.jwks_url,
                cache_jwk_set=True,
                lifespan=settings.jwks_cache_seconds,
                timeout=_JWKS_TIMEOUT_SECONDS,
            )
        else:
            assert settings.jwks_file is not None  # JwtSettings holds exactly one source
            self._keys = _index(self._usable(_read_jwks_file(settings.jwks_file)))
            if not self._keys:
                raise IdentityError(
                    f"JWKS file {settings.jwks_file} has no signing key for {', '.join(settings.algorithms)}"
                )

    @property
    def issuer(self) -> str:
        return self.settings.issuer

    async def verify(self, token: str) -> Principal | None:
        try:
            return await self._verify(token)
        except PyJWKClientConnectionError as exc:
            logger.warning("JWT refused: the issuer's keys cannot be fetched: %s", exc)
            return None
        except (PyJWTError, ValueError, TypeError) as exc:
            # PyJWTError covers bad signatures, claims and keys; ValueError/TypeError cover
            # malformed headers and claims of the wrong shape. The message names no secret.
            logger.debug("JWT refused: %s", exc)
            return None

    async def _verify(self, token: str) -> Principal | None:
        if len(token) > MAX_JWT_LENGTH:
            return None
        header = jwt.get_unverified_header(token)
        algorithm = header.get("alg")
        if algorithm not in self.settings.algorithms:
            logger.debug("JWT refused: algorithm %r is not allowed", algorithm)
            return None
        key = await self._key_for(header.get("kid"))
        if key is None or key.algorithm_name != algorithm:
            logger.debug("JWT refused: no key for kid %r and algorithm %r", header.get("kid"), algorithm)
            return None
        claims = jwt.decode(
            token,
            key,
            algorithms=list(self.settings.algorithms),
            audience=self.settings.audience,
            issuer=self.settings.issuer,
            leeway=self.settings.leeway_seconds,
            options={"require": ["exp", "iss", "aud"]},
        )
        return self._principal(claims)

    async def _key_for(self, kid: Any) -> PyJWK | None:
        if kid is not None and not isinstance(kid, str):
            return None
        if self._client is None:
            return self._keys.get(kid) if kid is not None else _only(self._keys)
        client = self._client
        if kid is not None:
            # PyJWKClient does blocking I/O (urllib) behind a lock: keep it off the event loop.
            return await anyio.to_thread.run_sync(client.get_signing_key, kid)
        keys = await anyio.to_thread.run_sync(client.get_jwk_set)
        return _only(_index(self._usable(keys)))

    def _usable(self, keys: PyJWKSet) -> list[PyJWK]:
        """Signing keys whose algorithm is allowed; an `oct` (HMAC) key never is."""
        return [
            key
            for key in keys
            if key.public_key_use in ("sig", None) and key.algorithm_name in self.settings.algorithms
        ]

    def _principal(self, claims: Mapping[str, Any]) -> Principal | None:
        settings = self.settings
        name = claim_at(claims, settings.principal_claim)
        roles = roles_from(claim_at(claims, settings.roles_claim))
        domain = claim_at(claims, settings.domain_claim) if settings.domain_claim else None
        if not isinstance(name, str) or roles is None or not isinstance(domain, str | None):
            logger.warning("JWT refused: principal, roles or domain claim has the wrong type")
            return None
        try:
            return make_principal(name, roles, domain or DEFAULT_DOMAIN)
        except ValueError as exc:
            # Refuse rather than drop what does not fit: dropping a role could also drop a deny
            # rule aimed at it, and `cell:` names belong to the gateway's own cells.
            logger.warning("JWT refused: %s", exc)
            return None


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The claim named `path`, else the value at its dotted path (`realm_access.roles`).

    The exact name is tried first because namespaced claims are URLs full of dots
    (`https://example.com/roles`).
    """
    if path in claims:
        return claims[path]
    node: Any = claims
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def roles_from(value: Any) -> list[str] | None:
    """Roles from a list of strings or a space-separated string (the `scope` style); None if neither."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    return None


def _read_jwks_file(path: Path) -> PyJWKSet:
    try:
        return PyJWKSet.from_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise IdentityError(f"JWKS file {path} cannot be read ({exc.strerror})") from None
    except (PyJWTError, ValueError, AttributeError) as exc:
        raise IdentityError(f"JWKS file {path} is not a usable key set: {exc}") from None


def _index(keys: list[PyJWK]) -> dict[str | None, PyJWK]:
    return {key.key_id: key for key in keys}


def _only(keys: Mapping[str | None, PyJWK]) -> PyJWK | None:
    """A token without `kid` is accepted only when there is no doubt which key signs it."""
    return next(iter(keys.values())) if len(keys) == 1 else None
