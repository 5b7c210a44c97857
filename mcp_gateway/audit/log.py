"""The audit log as the gateway uses it: open it with its keys, append records, close it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import TaskStatus

from mcp_gateway.audit.checkpoints import Checkpointer, signing_key
from mcp_gateway.audit.config import AuditConfig
from mcp_gateway.audit.errors import AuditLogError, AuditUnavailable
from mcp_gateway.audit.keys import AuditKeys
from mcp_gateway.audit.verify import Report, verify
from mcp_gateway.audit.writer import AuditWriter


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class AuditLog:
    """The keys come from `keys()`, called when the log opens (deriving them may create the
    master key and the store's root key: nothing of that happens while merely configuring)."""

    def __init__(self, config: AuditConfig, state_dir: Path, keys: Callable[[], AuditKeys]) -> None:
        self._config, self._keys = config, keys
        self.directory = config.log_dir(state_dir)
        self.checkpoint_dir = config.checkpoints_dir(state_dir)
        self._writer: AuditWriter | None = None
        self._opened_keys: AuditKeys | None = None

    @property
    def keys(self) -> AuditKeys:
        if self._opened_keys is None:
            raise AuditUnavailable("the audit log is not open")
        return self._opened_keys

    def open(self) -> None:
        """Open the log (a gateway whose audit log cannot be opened does not start)."""
        keys = self._opened_keys = self._keys()
        config = self._config
        points = Checkpointer(
            self.checkpoint_dir, signing_key(keys.checkpoint_seed), config.checkpoint_every, config.checkpoint_seconds
        )
        self._writer = AuditWriter(
            self.directory,
            keys.chain,
            checkpointer=points,
            max_file_bytes=config.max_file_mb << 20,
            max_file_seconds=config.max_file_hours * 3600,
        )
        try:
            self._writer.open()
        except OSError as exc:
            raise AuditLogError(
                f"the audit log in {self.directory} (checkpoints in {self.checkpoint_dir}) cannot be opened: "
                f"{exc.strerror or exc}"
            ) from None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The flusher; run it in the gateway's task group between `open` and `close`."""
        await self._open_writer().run(task_status=task_status)

    def _open_writer(self) -> AuditWriter:
        if self._writer is None:
            raise AuditUnavailable("the audit log is not open")
        return self._writer

    async def append(self, event: str, fields: dict[str, Any]) -> int:
        """Make a record durable before returning its seq (`AuditUnavailable` if it cannot be)."""
        return await self._open_writer().append({"event": event, "time": now_text(), **fields})

    @property
    def healthy(self) -> bool:
        return self._writer is not None and self._writer.healthy

    @property
    def last_seq(self) -> int:
        return self._writer.seq if self._writer is not None else 0

    def verify(self) -> Report:
        return verify(self.directory, self.keys.chain, self.checkpoint_dir, self.keys.public_key)
