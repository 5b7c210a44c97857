"""Stores over real files and real crypto, keyed by a key file in the test's state dir."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

from mcp_gateway.secrets.masterkey import MasterKeySources
from mcp_gateway.secrets.sources import FileKeySource
from mcp_gateway.secrets.store import SecretStore


def file_keys(state_dir: Path) -> MasterKeySources:
    return MasterKeySources([FileKeySource(state_dir / "master.key")])


def file_store(state_dir: Path) -> SecretStore:
    return SecretStore(state_dir, file_keys(state_dir))


def key_spellings(key_file: Path) -> list[bytes]:
    """Every way the key in `key_file` could leak: base64 as stored, hex, and raw bytes."""
    raw = base64.b64decode(key_file.read_text().strip())
    return [base64.b64encode(raw), raw.hex().encode(), raw.hex().upper().encode(), raw]


def files_under(root: Path) -> Iterator[Path]:
    return (path for path in root.rglob("*") if path.is_file())
