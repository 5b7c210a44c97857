"""`MasterKey`: 32 bytes that never show themselves.

The key is never used as is: every use derives its own key with HKDF-SHA256 under a distinct
label (the AES-GCM key that seals secrets, the key id), so that knowing one derived key tells
nothing of the master key or of the others. The key id is such a derivation too: a fingerprint
that may be printed, stored beside each secret and compared, and that reveals nothing.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
from typing import NoReturn

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mcp_gateway.secrets.config import KeySourceName
from mcp_gateway.secrets.errors import MasterKeyError

KEY_BYTES = 32

_KEY_ID_LABEL = b"mcp-gateway/master-key-id/v1"
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")
KEY_FORMATS = "base64 of 32 random bytes (openssl rand -base64 32) or 64 hex digits (openssl rand -hex 32)"


def hkdf(material: bytes, label: bytes, length: int = KEY_BYTES) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label).derive(material)


class MasterKey:
    """A master key and where it came from. `repr`, `str` and `describe()` show the source and
    the key id, never the key; pickling is refused so that it cannot leak through a queue."""

    __slots__ = ("_material", "key_id", "location", "source")

    def __init__(self, material: bytes, source: KeySourceName, location: str) -> None:
        if len(material) != KEY_BYTES:
            raise MasterKeyError(f"{location}: a master key is {KEY_BYTES} bytes, not {len(material)}")
        self._material = material
        self.source: KeySourceName = source
        self.location = location
        """Where the key is kept, for people: `key file /path`, `$MCP_GATEWAY_MASTER_KEY`, ..."""
        self.key_id = hkdf(material, _KEY_ID_LABEL, 8).hex()

    @classmethod
    def generate(cls, source: KeySourceName, location: str) -> MasterKey:
        return cls(secrets.token_bytes(KEY_BYTES), source, location)

    @classmethod
    def parse(cls, text: str, source: KeySourceName, location: str) -> MasterKey:
        """A key written as base64 or hex. A malformed one is an error naming `location` only:
        the text itself is never echoed, since it may be a real key with a typo in it."""
        text = text.strip()
        try:
            material = bytes.fromhex(text) if _HEX_KEY.fullmatch(text) else base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            material = b""
        if len(material) != KEY_BYTES:
            raise MasterKeyError(f"{location} does not hold a master key: expected {KEY_FORMATS}")
        return cls(material, source, location)

    def derive(self, label: bytes, length: int = KEY_BYTES) -> bytes:
        """A key for one purpose, named by `label`."""
        return hkdf(self._material, label, length)

    def encode(self) -> str:
        """The key as base64, for the sources that keep it (a key file, a keyring entry)."""
        return base64.b64encode(self._material).decode()

    def same_as(self, other: MasterKey) -> bool:
        return hmac.compare_digest(self._material, other._material)

    def describe(self) -> str:
        return f"{self.location} (key id {self.key_id})"

    def __repr__(self) -> str:
        return f"MasterKey(source={self.source!r}, key_id={self.key_id!r})"

    __str__ = describe

    def __reduce__(self) -> NoReturn:
        raise TypeError("a MasterKey cannot be pickled")
