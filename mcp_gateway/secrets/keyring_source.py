"""The OS keyring as a master key source, through the `keyring` package.

Service `mcp-gateway`, username `master-key`, the key in base64; during a rotation the new key
waits under `master-key-next`. The source is consulted only when a *usable* backend exists:
headless hosts have none (keyring then picks its `fail` backend, or a chainer of nothing), and
`keyrings.cryptfile` asks for a password on the terminal — without one it raises EOFError, and
each call costs ~360 ms of Argon2 — so it is treated as unusable too, as is any chainer that
would reach such a backend.
"""

from __future__ import annotations

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import KeyringError

from mcp_gateway.secrets.config import KeySourceName
from mcp_gateway.secrets.errors import MasterKeyError
from mcp_gateway.secrets.key import MasterKey
from mcp_gateway.secrets.sources import KeySource

SERVICE = "mcp-gateway"
CURRENT = "master-key"
PENDING = "master-key-next"


def backend_name(backend: KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def unusable_reason(backend: KeyringBackend) -> str | None:
    """Why `backend` cannot hold the master key unattended, or None if it can."""
    name = backend_name(backend)
    if isinstance(backend, fail.Keyring | null.Keyring):
        return f"no keyring backend is available here ({name})"
    if "cryptfile" in type(backend).__module__:
        return f"{name} asks for a password on a terminal, which a service does not have"
    if isinstance(backend, chainer.ChainerBackend):
        members = list(backend.backends)
        if not members:
            return f"no keyring backend is available here ({name} chains none)"
        for member in members:
            reason = unusable_reason(member)
            if reason is not None:
                return f"{name} would reach a backend that cannot be used: {reason}"
    return None


class KeyringKeySource(KeySource):
    """`backend` defaults to whatever `keyring.get_keyring()` returns when first needed (detecting
    it costs ~0.1 s, so it is not done before the source is actually consulted)."""

    name: KeySourceName = "keyring"

    def __init__(self, backend: KeyringBackend | None = None) -> None:
        self._explicit = backend

    @property
    def backend(self) -> KeyringBackend:
        return self._explicit if self._explicit is not None else keyring.get_keyring()

    def unusable(self) -> str | None:
        return unusable_reason(self.backend)

    def load(self) -> MasterKey | None:
        return self._get(CURRENT)

    def load_pending(self) -> MasterKey | None:
        return self._get(PENDING)

    def missing(self) -> str:
        return f"the {backend_name(self.backend)} keyring has no entry {SERVICE}/{CURRENT}"

    def stage_pending(self) -> MasterKey:
        key = MasterKey.generate("keyring", self._where(PENDING))
        self._set(PENDING, key)
        stored = self._get(PENDING)
        # Some backends accept a write they then drop; nothing may be sealed under such a key.
        if stored is None or not stored.same_as(key):
            raise MasterKeyError(f"{self._where(PENDING)} did not keep the key written to it; nothing was changed")
        return stored

    def promote(self) -> None:
        pending = self._get(PENDING)
        if pending is None:
            raise MasterKeyError(f"{self._where(PENDING)} is gone; cannot finish the rotation")
        # In this order a crash leaves either both entries (resumed as a rotation with nothing
        # left to re-seal) or the new key alone: never a store without its key.
        self._set(CURRENT, pending)
        try:
            self.backend.delete_password(SERVICE, PENDING)
        except (KeyringError, OSError, EOFError) as exc:
            raise MasterKeyError(f"{self._where(PENDING)} cannot be deleted ({type(exc).__name__})") from None

    def _get(self, username: str) -> MasterKey | None:
        try:
            text = self.backend.get_password(SERVICE, username)
        except (KeyringError, OSError, EOFError) as exc:
            raise MasterKeyError(f"{self._where(username)} cannot be read ({type(exc).__name__}: {exc})") from None
        return MasterKey.parse(text, "keyring", self._where(username)) if text else None

    def _set(self, username: str, key: MasterKey) -> None:
        try:
            self.backend.set_password(SERVICE, username, key.encode())
        except (KeyringError, OSError, EOFError) as exc:
            # The backend's message is not repeated: it might quote what it was asked to store.
            raise MasterKeyError(f"{self._where(username)} cannot be written ({type(exc).__name__})") from None

    def _where(self, username: str) -> str:
        return f"keyring entry {SERVICE}/{username} ({backend_name(self.backend)})"
