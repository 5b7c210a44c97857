"""Errors of the secrets manager, a branch of the tree in `mcp_gateway.errors`:

    GatewayError
    └── SecretStoreError         the secrets manager refused an operation or cannot work
        ├── SecretNotFound       no secret of that name
        ├── InvalidSecret        a bad name, an empty or oversized value, a bad description
        ├── SecretCorrupt        a file that was altered, renamed, truncated or is not a secret
        │                        file: it fails loudly and never yields wrong data
        └── MasterKeyError       no usable master key, a malformed one, a key file anyone else
            │                    could read, or a secret sealed under a key that is not at hand
            └── RotationRefused  the key's source cannot be rewritten by the gateway (the env)

Every message is safe to print: it names files, sources and key ids, never a key or a value.
Errors of `cryptography`, `keyring` and the file system are translated where they happen.
"""

from __future__ import annotations

from mcp_gateway.errors import GatewayError


class SecretStoreError(GatewayError):
    """Base of every error of the secrets manager."""


class SecretNotFound(SecretStoreError):
    """No secret of that name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no secret named {name!r}")
        self.name = name


class InvalidSecret(SecretStoreError):
    """A name, value or description the store does not accept."""


class SecretCorrupt(SecretStoreError):
    """A secret file failed its integrity check or cannot be parsed."""


class MasterKeyError(SecretStoreError):
    """No usable master key, or not the one a secret was sealed under."""


class RotationRefused(MasterKeyError):
    """The master key's source cannot be rewritten by the gateway."""
