"""The SDK's `TokenVerifier` for the gateway: API tokens first, then JWT access tokens.

The SDK's bearer middleware calls `verify_token` for every HTTP request and keeps the returned
`AccessToken` on `request.user`; `principal_from_user` turns it back into the `Principal` the
pipeline works with. The token carries the principal's name as `client_id` (and `subject`), its
roles as `scopes` and its domain in a field of its own, so nothing has to be looked up twice.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from pydantic import AnyHttpUrl

from mcp_gateway.identity.config import AuthConfig, resolve_tokens_file
from mcp_gateway.identity.errors import IdentityError
from mcp_gateway.identity.jwt import JwtVerifier
from mcp_gateway.identity.principals import DEFAULT_DOMAIN, make_principal
from mcp_gateway.identity.tokens import TOKEN_PREFIX, TokenStore
from mcp_gateway.sdk import Principal

logger = logging.getLogger(__name__)


class GatewayAccessToken(AccessToken):
    """An `AccessToken` that also knows the principal's domain (tenant)."""

    domain: str = DEFAULT_DOMAIN


class GatewayTokenVerifier:
    """`mcp.server.auth.provider.TokenVerifier` over the token store and, if configured, a JWT verifier.

    Never raises: a broken token store refuses every API token (fail closed) and is logged once
    per distinct problem, instead of turning each request into a 500.
    """

    def __init__(self, store: TokenStore, jwt: JwtVerifier | None = None) -> None:
        self.store = store
        self.jwt = jwt
        self._last_store_error = ""

    async def verify_token(self, token: str) -> AccessToken | None:
        if token.startswith(TOKEN_PREFIX):
            return self._verify_api_token(token)
        if self.jwt is None:
            return None
        principal = await self.jwt.verify(token)
        if principal is None:
            return None
        # `token` holds a fingerprint, not the credential: the access token travels with the
        # request (scope, contextvars, handlers) and the secret need not travel with it.
        fingerprint = "jwt:" + hashlib.sha256(token.encode()).hexdigest()[:16]
        return _access_token(principal, fingerprint, issuer=self.jwt.issuer)

    def _verify_api_token(self, token: str) -> AccessToken | None:
        # The store answers from memory unless the file changed: a stat per request, no thread.
        try:
            principal = self.store.verify(token)
        except IdentityError as exc:
            if str(exc) != self._last_store_error:
                self._last_store_error = str(exc)
                logger.error("API tokens refused: %s", exc)
            return None
        self._last_store_error = ""
        if principal is None:
            return None
        token_id = token[len(TOKEN_PREFIX) :].partition("_")[0]
        return _access_token(principal, f"{TOKEN_PREFIX}{token_id}", issuer=None)


def _access_token(principal: Principal, reference: str, *, issuer: str | None) -> GatewayAccessToken:
    return GatewayAccessToken(
        token=reference,
        client_id=principal.name,
        subject=principal.name,
        scopes=list(principal.roles),
        domain=principal.domain,
        # The SDK binds HTTP sessions to (client_id, iss, sub): the same name from another issuer
        # cannot take over a session.
        claims={"iss": issuer} if issuer is not None else None,
    )


def principal_from_user(user: object) -> Principal | None:
    """The principal behind Starlette's `request.user` (`scope["user"]`), or None if unauthenticated."""
    if not isinstance(user, AuthenticatedUser):
        return None
    token = user.access_token
    domain = token.domain if isinstance(token, GatewayAccessToken) else DEFAULT_DOMAIN
    try:
        return make_principal(token.client_id, token.scopes, domain)
    except ValueError:
        # Only a foreign verifier could produce such a name; it gets no identity from us.
        return None


def build_verifier(auth: AuthConfig, state_dir: Path) -> GatewayTokenVerifier:
    """The verifier for `auth`; raises `IdentityError` if the JWKS file is unusable."""
    store = TokenStore(resolve_tokens_file(auth, state_dir))
    return GatewayTokenVerifier(store, JwtVerifier(auth.jwt) if auth.jwt is not None else None)


def auth_settings(auth: AuthConfig) -> AuthSettings | None:
    """SDK settings for protected-resource metadata, when the gateway is an OAuth resource server."""
    if auth.jwt is None or auth.resource_server_url is None:
        return None
    return AuthSettings(
        issuer_url=AnyHttpUrl(auth.jwt.issuer),
        resource_server_url=AnyHttpUrl(auth.resource_server_url),
        # The JWT verifier checks `aud` itself, so the SDK's resource check is not needed.
        validate_token_resource=False,
    )
