"""Signed checkpoints, kept in a second place: what a chain alone cannot show is a cut tail.

Every N records or T seconds (and when the log closes) the writer appends to
`<checkpoint_dir>/checkpoints.jsonl` a line naming the last durable record (its seq, its MAC,
its file) and the time, signed with Ed25519 (a key derived from the master key; the public key
is kept beside the checkpoints as `audit-checkpoint.pub`). `audit verify` then knows how far the
log reached at each checkpoint: a log that ends before the last checkpoint was truncated, and a
record whose MAC differs from its checkpoint's was rewritten with the whole chain after it.
What the last checkpoint cannot vouch for is the records after it, so the interval bounds that
window.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mcp_gateway.audit.errors import AuditLogError

CHECKPOINTS: Final = "checkpoints.jsonl"
PUBLIC_KEY: Final = "audit-checkpoint.pub"


def signing_key(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed[:32])


def public_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def _signed_bytes(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    mac: str
    segment: str
    time: str


class Checkpointer:
    """Writes checkpoints from the audit writer's thread (so never concurrently)."""

    def __init__(self, directory: Path, key: Ed25519PrivateKey, every_records: int, every_seconds: float) -> None:
        self.directory, self._key = directory, key
        self._every_records, self._every_seconds = every_records, every_seconds
        self._last_seq, self._last_time = 0, time.monotonic()
        self._pending: tuple[int, bytes, str] | None = None

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        stored = self.directory / PUBLIC_KEY
        mine = public_hex(self._key)
        if stored.exists():
            if stored.read_text().strip() != mine:
                raise AuditLogError(
                    f"{stored} holds another public key than this master key's: the checkpoints were made "
                    "under another key, or the file was replaced"
                )
        else:
            stored.write_text(mine + "\n")
        last = read_checkpoints(self.directory)
        if last:
            self._last_seq = last[-1][0].seq

    def committed(self, seq: int, mac: bytes, segment: str) -> None:
        """After each durable batch: checkpoint when N records have passed since the last one."""
        self._pending = (seq, mac, segment)
        if seq - self._last_seq >= self._every_records:
            self.write()

    def tick(self) -> None:
        """When the writer is idle: checkpoint if T seconds passed with records unchecked."""
        if time.monotonic() - self._last_time >= self._every_seconds:
            self.write()

    def write(self) -> None:
        if self._pending is None or self._pending[0] <= self._last_seq:
            return
        seq, mac, segment = self._pending
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        fields = {"seq": seq, "mac": mac.hex(), "segment": segment, "time": stamp}
        signature = self._key.sign(_signed_bytes(fields)).hex()
        line = json.dumps({**fields, "sig": signature}, separators=(",", ":")) + "\n"
        fd = os.open(self.directory / CHECKPOINTS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        self._last_seq, self._last_time = seq, time.monotonic()


def read_checkpoints(directory: Path, public_key: str | None = None) -> list[tuple[Checkpoint, str | None]]:
    """Every checkpoint with None when its signature holds (or is not checked), else why not."""
    path = directory / CHECKPOINTS
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return []
    verifier = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)) if public_key else None
    out: list[tuple[Checkpoint, str | None]] = []
    for number, raw in enumerate(lines, 1):
        try:
            data = json.loads(raw)
            signature = bytes.fromhex(data.pop("sig"))
            point = Checkpoint(int(data["seq"]), str(data["mac"]), str(data["segment"]), str(data["time"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            out.append((Checkpoint(0, "", "", ""), f"checkpoint line {number} is malformed"))
            continue
        problem = None
        if verifier is not None:
            try:
                verifier.verify(signature, _signed_bytes(data))
            except InvalidSignature:
                problem = f"checkpoint line {number} (seq {point.seq}) has a bad signature"
        out.append((point, problem))
    return out
