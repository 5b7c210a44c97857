"""Key material, token minting and an in-process HTTP server for the identity tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm
from starlette.types import ASGIApp

ISSUER = "https://idp.example.test/realms/main"
AUDIENCE = "https://gateway.example.test/mcp"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            data = json.loads(RSAAlgorithm.to_jwk(public))
        else:
            data = json.loads(OKPAlgorithm.to_jwk(public))
        return {**data, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def mint(self, claims: dict[str, Any], *, kid: str | None = "same", **overrides: Any) -> str:
        headers = {"kid": self.kid if kid == "same" else kid} if kid is not None else {}
        return jwt.encode({**claims, **overrides}, self.private, algorithm=self.alg, headers=headers)


def rsa_key(kid: str = "rsa-1") -> SigningKey:
    return SigningKey(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


def ed25519_key(kid: str = "ed-1") -> SigningKey:
    return SigningKey(kid, "EdDSA", ed25519.Ed25519PrivateKey.generate())


def write_jwks(path: Path, *keys: SigningKey) -> Path:
    path.write_text(json.dumps({"keys": [key.jwk() for key in keys]}))
    return path


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 600, **overrides}


def unsigned(payload: dict[str, Any], header: dict[str, Any]) -> str:
    """A token with `alg: none` and an empty signature, built by hand (PyJWT will not help)."""
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}."


def hmac_signed(payload: dict[str, Any], secret: bytes, kid: str) -> str:
    """HS256 with the issuer's *public* key as the secret: the classic key-confusion forgery."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64url(json.dumps(payload).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64url(signature)}"


@asynccontextmanager
async def serve(app: ASGIApp) -> AsyncIterator[str]:
    """`app` served by uvicorn on a free loopback port, in this event loop; yields its base URL.

    The socket is bound and listening before uvicorn starts, so a client may connect at once:
    it waits in the backlog until uvicorn has run the lifespan and accepts.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False, ws="none")
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.should_exit = True
    sock.close()
