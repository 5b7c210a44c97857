"""Finding the master key: sources tried in a configured order, first key wins.

`MasterKeySources` walks `[secrets] key_sources` (default keyring, env, file). A source that is
unusable on this host is skipped; one that holds a key supplies it, together with the pending
key of a rotation that has not finished. A source that holds a *malformed* key, or refuses to
be read, is an error rather than a reason to try the next one: falling through would make the
gateway seal new secrets under a different key than the one the operator configured.

Only the key file is ever created, and only when `create_key` is on, no earlier source had a
key and the caller says creating is right (the store asks only while it holds no secret: a
store whose key is missing needs that key restored, not a new one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mcp_gateway.secrets.config import KeySourceName, SecretsConfig, key_file_path
from mcp_gateway.secrets.errors import MasterKeyError
from mcp_gateway.secrets.key import MasterKey
from mcp_gateway.secrets.keyring_source import KeyringKeySource
from mcp_gateway.secrets.sources import EnvKeySource, FileKeySource, KeySource

__all__ = ["KeyProvider", "KeySet", "MasterKey", "MasterKeySources", "MasterKeyUnavailable"]


class MasterKeyUnavailable(MasterKeyError):
    """No configured source holds a master key (each one's reason is in the message)."""


@dataclass(frozen=True, slots=True)
class KeySet:
    """The key in force, the pending key of an unfinished rotation, and the source of both."""

    current: MasterKey
    pending: MasterKey | None
    source: KeySource


class KeyProvider(Protocol):
    """What the secret store needs from wherever master keys live."""

    def load(self, *, create: bool = False) -> KeySet:
        """The keys in force; raises `MasterKeyUnavailable` if there are none (after creating
        one, where `create` is true and a source may)."""
        ...


class MasterKeySources:
    """A `KeyProvider` over an ordered list of sources."""

    def __init__(self, sources: Sequence[KeySource]) -> None:
        self.sources = tuple(sources)

    @classmethod
    def from_config(cls, config: SecretsConfig, state_dir: Path, environ: Mapping[str, str]) -> MasterKeySources:
        builders: dict[KeySourceName, Callable[[], KeySource]] = {
            "keyring": KeyringKeySource,
            "env": lambda: EnvKeySource(environ),
            "file": lambda: FileKeySource(key_file_path(config, state_dir), can_create=config.create_key),
        }
        return cls([builders[name]() for name in config.key_sources])

    def load(self, *, create: bool = False) -> KeySet:
        tried: list[str] = []
        for source in self.sources:
            reason = source.unusable()
            if reason is not None:
                tried.append(f"{source.name}: {reason}")
                continue
            key = source.load()
            if key is None:
                if source.load_pending() is not None:
                    raise MasterKeyError(
                        f"{source.name} holds the pending key of a rotation but no current key; "
                        "restore the current key (from a backup) before going on"
                    )
                key = source.create() if create else None
            if key is None:
                tried.append(f"{source.name}: {source.missing()}")
                continue
            return KeySet(key, source.load_pending(), source)
        raise MasterKeyUnavailable("no master key: " + "; ".join(tried))
