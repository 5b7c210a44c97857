"""`SecretStore`: named secrets sealed at rest under the master key, one file each.

Reading a secret is one file read and one AES-GCM decryption: the cipher of each master key is
built once and kept (key material, never values). A file sealed under a key id the store does
not know makes it ask its key provider again, which is how a long-running gateway follows a
rotation done by `mcp-gateway secrets rotate-key` in another process.

The store also keeps a *root key*, an internal entry that no name can reach, generated once and
sealed like a secret. `derive_key(purpose)` derives keys from it (HKDF-SHA256), so keys held by
other parts of the gateway (the audit log's HMAC chain, its checkpoint signing seed) outlive a
rotation of the master key, which only re-seals the root key.
"""

from __future__ import annotations

import builtins
import re
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mcp_gateway.secrets.directory import SecretDir
from mcp_gateway.secrets.errors import InvalidSecret, MasterKeyError, SecretCorrupt, SecretNotFound
from mcp_gateway.secrets.key import KEY_BYTES, hkdf
from mcp_gateway.secrets.masterkey import KeyProvider, KeySet, MasterKeyUnavailable
from mcp_gateway.secrets.record import NAME_PATTERN, ROOT_ENTRY, Cipher, Record
from mcp_gateway.secrets.rotation import Progress, RotationResult, rotate

SECRETS_DIR = "secrets"
MAX_VALUE_BYTES = 64 * 1024
MAX_DESCRIPTION = 500
_NAME = re.compile(NAME_PATTERN)
_DERIVE_LABEL = b"mcp-gateway/derived-key/v1\0"


@dataclass(frozen=True, slots=True)
class SecretInfo:
    """What may be shown about a secret: everything but its value."""

    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    key_id: str


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidSecret(f"{name!r} is not a secret name: a letter, then up to 127 letters, digits, '_' or '-'")
    return name


def _quiet(_: str) -> None:
    """A rotation's progress, when nobody watches it."""


class SecretStore:
    """Secrets under `<state_dir>/secrets/`, sealed under keys from `key_provider`."""

    def __init__(self, state_dir: Path, key_provider: KeyProvider) -> None:
        self.directory = SecretDir(state_dir / SECRETS_DIR)
        self._provider = key_provider
        self._ciphers: dict[str, Cipher] = {}
        self._root: bytes | None = None

    # --- reading -------------------------------------------------------------------------
    def get(self, name: str) -> str:
        """The value of `name`. Raises `SecretNotFound`, `SecretCorrupt` (never wrong data) or
        `MasterKeyError` (no key, or not the one it was sealed under)."""
        return self._unseal(check_name(name)).decode()

    def values(self) -> builtins.list[str]:
        """Every secret's value: what DLP must never let through."""
        return [self.get(name) for name in self.names()]

    def names(self) -> builtins.list[str]:
        return [entry for entry in self.directory.entries() if entry != ROOT_ENTRY]

    def metadata(self, name: str) -> SecretInfo:
        return _info(self._read(check_name(name)))

    def list(self) -> builtins.list[SecretInfo]:
        """Names and metadata, sorted by name; no value is decrypted."""
        records = (self.directory.read(name) for name in self.names())
        return [_info(record) for record in records if record is not None]

    def key_ids(self) -> Counter[str]:
        """How many entries (the root key included) are sealed under each master key id."""
        records = (self.directory.read(entry) for entry in self.directory.entries())
        return Counter(record.key_id for record in records if record is not None)

    def derive_key(self, purpose: str) -> bytes:
        """A 32-byte key for `purpose`, the same for the life of the store (rotations included)."""
        if not purpose or len(purpose) > 200 or not purpose.isprintable():
            raise InvalidSecret("a key purpose is 1 to 200 printable characters")
        if self._root is None:
            self._root = self._load_root()
        return hkdf(self._root, _DERIVE_LABEL + purpose.encode())

    # --- writing -------------------------------------------------------------------------
    def set(self, name: str, value: str, description: str | None = None) -> SecretInfo:
        """Store `value` under `name`, replacing any value it had. A description of None keeps
        the one the secret had."""
        check_name(name)
        try:
            data = value.encode()
        except UnicodeEncodeError:
            raise InvalidSecret("a secret's value must be valid Unicode text") from None
        if not data:
            raise InvalidSecret("a secret's value cannot be empty")
        if len(data) > MAX_VALUE_BYTES:
            raise InvalidSecret(f"a secret's value is at most {MAX_VALUE_BYTES} bytes")
        if description is not None and (len(description) > MAX_DESCRIPTION or not description.isprintable()):
            raise InvalidSecret(f"a description is at most {MAX_DESCRIPTION} printable characters")
        with self.directory.locked():
            cipher = self._writer(create=True)
            try:
                old = self.directory.read(name)
            except SecretCorrupt:
                old = None  # overwriting a damaged secret with a good value is how it is repaired
            now = datetime.now(UTC)
            created_at = now if old is None else old.created_at
            if description is None and old is not None:
                description = old.description
            record = cipher.seal(name, data).record(name, created_at, now, description)
            self.directory.write(record)
        return _info(record)

    def delete(self, name: str) -> None:
        check_name(name)
        with self.directory.locked():
            if not self.directory.remove(name):
                raise SecretNotFound(name)

    def rotate_key(self, progress: Progress | None = None) -> RotationResult:
        """Re-seal everything under a new master key (or finish an interrupted rotation).
        Raises `RotationRefused` when the key's source cannot be rewritten (the environment)."""
        with self.directory.locked():
            result = rotate(self.directory, self._provider.load(), progress or _quiet)
            self._install(self._provider.load())
        return result

    # --- keys ----------------------------------------------------------------------------
    def _unseal(self, entry: str) -> bytes:
        """The plaintext of `entry`: one file read and one decryption, unless its key is new to
        this store (see `_refresh`), after which the file is read again, since finishing an
        interrupted rotation re-seals it."""
        record = self._read(entry)
        if record.key_id not in self._ciphers:
            self._refresh()
            record = self._read(entry)
        where = self.directory.where(entry)
        cipher = self._ciphers.get(record.key_id)
        if cipher is None:
            raise MasterKeyError(
                f"{where} is sealed under master key id {record.key_id}, but the key in use has id "
                f"{', '.join(self._ciphers)}: restore the key it was sealed under"
            )
        return cipher.open(record, entry, where)

    def _read(self, entry: str) -> Record:
        record = self.directory.read(entry)
        if record is None:
            raise SecretNotFound(entry)
        return record

    def _refresh(self) -> None:
        keys = self._provider.load()
        if keys.pending is not None:
            # An interrupted rotation: finish it, unless another process holds the lock (most
            # likely rotating right now), in which case both keys serve for reading meanwhile.
            with self.directory.locked(wait=False) as mine:
                if mine:
                    keys = self._finish(self._provider.load())
        self._install(keys)

    def _writer(self, *, create: bool) -> Cipher:
        """The cipher to seal with, under the writers' lock: the current key, after finishing any
        interrupted rotation. A key is created only while the store is empty: one whose key is
        missing needs that key restored, not a new one."""
        existing = self.directory.entries()
        try:
            keys = self._provider.load(create=create and not existing)
        except MasterKeyUnavailable as exc:
            if not existing:
                raise
            raise MasterKeyUnavailable(
                f"{exc}; {self.directory.path} holds {len(existing)} sealed entries: restore the master key "
                "they were sealed under"
            ) from None
        return self._install(self._finish(keys))

    def _finish(self, keys: KeySet) -> KeySet:
        if keys.pending is None:
            return keys
        rotate(self.directory, keys, _quiet)
        return self._provider.load()

    def _install(self, keys: KeySet) -> Cipher:
        """Keep the ciphers of `keys` (and drop any older ones); the current key's cipher."""
        current = Cipher(keys.current)
        self._ciphers = {current.key_id: current}
        if keys.pending is not None:
            self._ciphers.setdefault(keys.pending.key_id, Cipher(keys.pending))
        return current

    def _load_root(self) -> bytes:
        if self.directory.read(ROOT_ENTRY) is None:
            with self.directory.locked():
                if self.directory.read(ROOT_ENTRY) is None:
                    now = datetime.now(UTC)
                    sealed = self._writer(create=True).seal(ROOT_ENTRY, secrets.token_bytes(KEY_BYTES))
                    self.directory.write(sealed.record(ROOT_ENTRY, now, now, None))
        root = self._unseal(ROOT_ENTRY)
        if len(root) != KEY_BYTES:
            raise SecretCorrupt(f"{self.directory.file(ROOT_ENTRY)} is corrupt: the root key is not {KEY_BYTES} bytes")
        return root


def _info(record: Record) -> SecretInfo:
    return SecretInfo(record.name, record.description, record.created_at, record.updated_at, record.key_id)
