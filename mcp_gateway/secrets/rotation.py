"""Master key rotation that a crash at any point cannot make lose a secret.

1. The new key is stored first, as the *pending* key of the writable source (`master.key.next`,
   or the keyring entry `master-key-next`); an existing pending key is reused, never replaced,
   since secrets may already be sealed under it.
2. Every entry (the root key included) still sealed under the current key is opened and sealed
   again under the pending one, each file replaced atomically. Each file names its key id, so a
   store stopped half way is readable with the two keys, and running this again picks up where
   it stopped.
3. The pending key is promoted to current (for the key file one atomic rename over the old one).

A store found with a pending key therefore only ever needs steps 2 and 3 run again; the store
does that on its own the next time it opens with the writers' lock free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mcp_gateway.secrets.directory import SecretDir
from mcp_gateway.secrets.errors import MasterKeyError
from mcp_gateway.secrets.masterkey import KeySet
from mcp_gateway.secrets.record import Cipher

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class RotationResult:
    old_key_id: str
    new_key_id: str
    resealed: int
    """Entries sealed again by this run (the root key included)."""
    resumed: bool
    """True when an interrupted rotation was finished rather than a new one started."""


def rotate(directory: SecretDir, keys: KeySet, progress: Progress) -> RotationResult:
    """Run (or finish) a rotation. The caller holds the writers' lock."""
    keys.source.check_rotatable()
    resumed = keys.pending is not None
    pending = keys.pending if keys.pending is not None else keys.source.stage_pending()
    progress("pending key stored")
    count = reseal(directory, Cipher(keys.current), Cipher(pending), progress)
    keys.source.promote()
    progress("pending key promoted")
    return RotationResult(keys.current.key_id, pending.key_id, count, resumed)


def reseal(directory: SecretDir, old: Cipher, new: Cipher, progress: Progress) -> int:
    count = 0
    for entry in directory.entries():
        record = directory.read(entry)
        if record is None or record.key_id == new.key_id:
            continue
        where = directory.where(entry)
        if record.key_id != old.key_id:
            raise MasterKeyError(
                f"{where} is sealed under key id {record.key_id}, neither the current key ({old.key_id}) nor the "
                f"new one ({new.key_id}); the rotation stopped and lost nothing: restore that file or its key"
            )
        plaintext = old.open(record, entry, where)
        directory.write(record.model_copy(update=new.seal(entry, plaintext)._asdict()))
        count += 1
        progress(f"resealed {entry}")
    return count
