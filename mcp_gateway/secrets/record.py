"""One secret as it lies on disk, and the AES-256-GCM cipher that seals and opens it.

    {"version": 1, "name": "github_token", "key_id": "9f2c...", "nonce": "<base64, 12 bytes>",
     "ciphertext": "<base64>", "created_at": "...", "updated_at": "...", "description": "..."}

The associated data binds the format version and the secret's name to its ciphertext, so a file
renamed to another secret's name, or edited to claim another name or version, fails to open
instead of yielding another secret's value. Every seal draws a fresh random 96-bit nonce: a
store holds far fewer than the 2^32 messages one key may seal that way. The metadata
(description, times) is not authenticated; it is shown to operators and never trusted.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import datetime
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from mcp_gateway.secrets.errors import SecretCorrupt
from mcp_gateway.secrets.key import MasterKey

FORMAT_VERSION = 1
# Exactly what a policy line can name as `secret:NAME` (authz/patterns.py): no dots.
NAME_PATTERN = r"[A-Za-z][A-Za-z0-9_-]{0,127}"
ROOT_ENTRY = "_root"
"""The store's own root key: no secret name can start with `_`, so none can reach it."""

SEAL_LABEL = b"mcp-gateway/secrets/aes-256-gcm/v1"
_NONCE_BYTES = 12


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=FORMAT_VERSION, le=FORMAT_VERSION)
    name: str = Field(pattern=f"^(?:{NAME_PATTERN}|{ROOT_ENTRY})$")
    key_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    """Which master key sealed it (a fingerprint, never the key)."""
    nonce: str
    ciphertext: str
    created_at: AwareDatetime
    updated_at: AwareDatetime
    description: str | None = None


class Sealed(NamedTuple):
    """The fields of a record that one sealing produces."""

    key_id: str
    nonce: str
    ciphertext: str

    def record(self, name: str, created_at: datetime, updated_at: datetime, description: str | None) -> Record:
        return Record(
            version=FORMAT_VERSION,
            name=name,
            key_id=self.key_id,
            nonce=self.nonce,
            ciphertext=self.ciphertext,
            created_at=created_at,
            updated_at=updated_at,
            description=description,
        )


def associated_data(version: int, name: str) -> bytes:
    return f"mcp-gateway secret\0v{version}\0{name}".encode()


class Cipher:
    """AES-256-GCM under a key derived from one master key; built once per key and kept, so a
    read costs one decryption and no key derivation."""

    __slots__ = ("_aead", "key_id")

    def __init__(self, master: MasterKey) -> None:
        self.key_id = master.key_id
        self._aead = AESGCM(master.derive(SEAL_LABEL))

    def seal(self, name: str, plaintext: bytes) -> Sealed:
        """`plaintext` sealed for the secret `name`."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, associated_data(FORMAT_VERSION, name))
        return Sealed(self.key_id, base64.b64encode(nonce).decode(), base64.b64encode(sealed).decode())

    def open(self, record: Record, name: str, where: str) -> bytes:
        """The plaintext of `record`, read as the secret `name`; `SecretCorrupt` if any bit of it,
        its nonce, name or version was changed, or it was sealed for another name (or under
        another key, with this key's id written over it)."""
        try:
            nonce = base64.b64decode(record.nonce, validate=True)
            sealed = base64.b64decode(record.ciphertext, validate=True)
        except (binascii.Error, ValueError):
            raise SecretCorrupt(f"{where} is corrupt: its nonce or ciphertext is not base64") from None
        if len(nonce) != _NONCE_BYTES:
            raise SecretCorrupt(f"{where} is corrupt: its nonce is not {_NONCE_BYTES} bytes")
        try:
            return self._aead.decrypt(nonce, sealed, associated_data(record.version, name))
        except InvalidTag:
            raise SecretCorrupt(
                f"{where} fails its integrity check: it was altered or renamed; restore it from a backup"
            ) from None
