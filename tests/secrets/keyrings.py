"""Keyring backends for tests: real implementations of keyring's `KeyringBackend` interface.

Their priority raises, as keyring's own unsuitable backends do, so keyring's detection never
picks one for another test: they are used only where a test hands one to `keyring.set_keyring`.
"""

from __future__ import annotations

from typing import ClassVar

from keyring.backend import KeyringBackend
from keyring.backends import chainer
from keyring.compat import properties
from keyring.errors import KeyringLocked, PasswordDeleteError

from tests.secrets import cryptfile_standin


class MemoryKeyring(KeyringBackend):
    """A keyring held in a dict, as an unlocked desktop keyring behaves."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("a test backend, only used when set explicitly")

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError(f"no {service}/{username}")


class LockedKeyring(MemoryKeyring):
    """A keyring the user did not unlock."""

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("the collection is locked")


class UndeletableKeyring(MemoryKeyring):
    """A keyring that refuses to delete entries."""

    def delete_password(self, service: str, username: str) -> None:
        raise PasswordDeleteError("deleting is not allowed here")


class EmptyChainer(chainer.ChainerBackend):
    """keyring's chainer on a host where no backend is viable."""

    backends: ClassVar[list[KeyringBackend]] = []


class CryptfileChainer(chainer.ChainerBackend):
    """keyring's chainer on a host where only keyrings.cryptfile is installed."""

    backends: ClassVar[list[KeyringBackend]] = [cryptfile_standin.CryptFileKeyring()]


class MemoryChainer(chainer.ChainerBackend):
    backends: ClassVar[list[KeyringBackend]] = [MemoryKeyring()]
