"""Stands in for `keyrings.cryptfile` (whose module name the gateway recognises): without a
terminal the real one raises EOFError on every call, after ~360 ms of key derivation."""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.compat import properties


class CryptFileKeyring(KeyringBackend):
    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("a test backend, only used when set explicitly")

    def get_password(self, service: str, username: str) -> str | None:
        raise EOFError("EOF when reading a line")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise EOFError("EOF when reading a line")
