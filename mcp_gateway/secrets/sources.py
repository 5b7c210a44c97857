"""Where a master key can come from: the environment and a key file (the OS keyring is in
`keyring_source.py`). Each source says whether it can be used here, reads its key, and, when
the gateway may rewrite it, keeps a *pending* key during a rotation and promotes it at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mcp_gateway.secrets import files
from mcp_gateway.secrets.config import KeySourceName
from mcp_gateway.secrets.errors import MasterKeyError, RotationRefused, SecretStoreError
from mcp_gateway.secrets.key import MasterKey

ENV_VAR = "MCP_GATEWAY_MASTER_KEY"
PENDING_SUFFIX = ".next"
_KEY_FILE_LIMIT = 1024  # base64 of 32 bytes is 44 characters; anything longer is not a key file


class KeySource:
    """One place a master key may be kept. The defaults describe a source that the gateway only
    reads; the writable ones override the rotation steps. `stage_pending`, `promote` and
    `create` are called only under the secret store's write lock."""

    name: KeySourceName

    def unusable(self) -> str | None:
        """Why this source cannot be consulted on this host, or None if it can."""
        return None

    def load(self) -> MasterKey | None:
        raise NotImplementedError

    def load_pending(self) -> MasterKey | None:
        return None

    def missing(self) -> str:
        """Why `load()` found no key, for the message listing what was tried."""
        raise NotImplementedError

    def create(self) -> MasterKey | None:
        """A fresh key stored here as the current one; None if this source never creates keys."""
        return None

    def check_rotatable(self) -> None:
        """Raise `RotationRefused` if the gateway cannot rewrite this source."""

    def stage_pending(self) -> MasterKey:
        raise RotationRefused(f"the master key in {self.name} cannot be rotated by the gateway")

    def promote(self) -> None:
        raise RotationRefused(f"the master key in {self.name} cannot be rotated by the gateway")


class EnvKeySource(KeySource):
    """`MCP_GATEWAY_MASTER_KEY`: for containers and service managers that inject secrets."""

    name: KeySourceName = "env"

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def load(self) -> MasterKey | None:
        text = self._environ.get(ENV_VAR, "")
        return MasterKey.parse(text, "env", f"${ENV_VAR}") if text else None

    def missing(self) -> str:
        return f"{ENV_VAR} is not set"

    def check_rotatable(self) -> None:
        raise RotationRefused(
            f"the master key comes from ${ENV_VAR}, which the gateway cannot change; rotate it yourself: "
            f"(1) put the current key in a key file: (umask 077; printenv {ENV_VAR} > KEYFILE) where KEYFILE is "
            "[secrets] key_file (default <state_dir>/master.key) and 'file' is in [secrets] key_sources; "
            f"(2) run `mcp-gateway secrets rotate-key` with {ENV_VAR} unset; (3) set {ENV_VAR} to the new content of "
            "KEYFILE and delete the file (or keep using the file and leave the variable unset)"
        )


class FileKeySource(KeySource):
    """A key file (base64, one line, mode 0600, owned by the gateway's user). During a rotation
    the new key waits in `<key file>.next`; promoting it is one atomic rename over the old."""

    name: KeySourceName = "file"

    def __init__(self, path: Path, *, can_create: bool = True) -> None:
        self.path = path
        self.pending_path = path.with_name(path.name + PENDING_SUFFIX)
        self._can_create = can_create

    def load(self) -> MasterKey | None:
        return self._read(self.path, f"key file {self.path}")

    def load_pending(self) -> MasterKey | None:
        return self._read(self.pending_path, f"pending key file {self.pending_path}")

    def missing(self) -> str:
        if self._can_create:
            return f"{self.path} does not exist (it is created by the first command that stores a secret)"
        return f"{self.path} does not exist and [secrets] create_key = false"

    def create(self) -> MasterKey | None:
        if not self._can_create:
            return None
        self._write_new(self.path)
        return self.load()

    def stage_pending(self) -> MasterKey:
        self._write_new(self.pending_path)
        pending = self.load_pending()
        if pending is None:
            raise MasterKeyError(f"{self.pending_path} vanished as it was written")
        return pending

    def promote(self) -> None:
        files.replace(self.pending_path, self.path)
        for path in (self.path, self.pending_path):  # what a writer killed before its rename left
            files.remove_stale_temps(path.parent, files.temp_prefix(path))

    def _write_new(self, path: Path) -> None:
        files.make_private_dir(path.parent)
        files.remove_stale_temps(path.parent, files.temp_prefix(path))
        key = MasterKey.generate("file", str(path))
        # Exclusive: a key that exists may already seal secrets, so it is never overwritten.
        files.create_exclusive(path, key.encode().encode() + b"\n")

    @staticmethod
    def _read(path: Path, location: str) -> MasterKey | None:
        try:
            data = files.read_private(path, _KEY_FILE_LIMIT)
        except SecretStoreError as exc:
            raise MasterKeyError(f"key file {exc}") from None
        if data is None:
            return None
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            text = ""
        return MasterKey.parse(text, "file", location)
