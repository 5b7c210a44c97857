"""Pinned tool definitions of upstream servers: rug-pull protection.

The first time an upstream lists a tool, its description and schemas are pinned (their SHA-256
hashes) in `<state_dir>/upstream_pins.json`. When the upstream later lists that tool with a
different description or schema, the tool is quarantined: it is neither listed nor callable,
the change is logged and recorded as pending, until an admin approves it with
`mcp-gateway surface approve UPSTREAM.TOOL`, which pins the new definition.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from mcp_gateway.errors import GatewayError

Verdict = Literal["pinned", "trusted", "quarantined"]
PINS_FILE = "upstream_pins.json"
FORMAT_VERSION = 1


def definition_hashes(description: str, input_schema: Mapping[str, Any], output_schema: Any) -> dict[str, str]:
    def digest(value: Any) -> str:
        return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    return {
        "description": digest(description),
        "input_schema": digest(input_schema),
        "output_schema": digest(output_schema),
    }


class PinStore:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / PINS_FILE
        self._data: dict[str, Any] = self._read()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {"version": FORMAT_VERSION, "pinned": {}, "pending": {}}
        except (OSError, ValueError) as exc:
            raise GatewayError(f"{self.path} cannot be read as a pin file ({exc}); fix or restore it") from None
        if not isinstance(data, dict) or not isinstance(data.get("pinned"), dict):
            raise GatewayError(f"{self.path} is not a pin file; fix or restore it")
        data.setdefault("pending", {})
        return data

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".pins-")
        with os.fdopen(fd, "w") as handle:
            json.dump(self._data, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)

    def check(self, tool: str, hashes: dict[str, str]) -> Verdict:
        """Pin on first sight; trust what matches; quarantine (and record as pending) a change."""
        pinned = self._data["pinned"].get(tool)
        if pinned is None:
            self._data["pinned"][tool] = {**hashes, "pinned_at": _now()}
            self._write()
            return "pinned"
        if all(pinned.get(key) == value for key, value in hashes.items()):
            return "trusted"
        self._data["pending"][tool] = {**hashes, "seen_at": _now()}
        self._write()
        return "quarantined"

    def pinned(self) -> dict[str, Any]:
        """Every pinned definition's hashes (without the time it was pinned)."""
        return {tool: {k: v for k, v in pin.items() if k != "pinned_at"} for tool, pin in self._data["pinned"].items()}

    def pending(self) -> dict[str, Any]:
        return dict(self._data["pending"])

    def approve(self, tool: str) -> None:
        change = self._data["pending"].pop(tool, None)
        if change is None:
            raise KeyError(tool)
        change.pop("seen_at", None)
        self._data["pinned"][tool] = {**change, "pinned_at": _now()}
        self._write()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
