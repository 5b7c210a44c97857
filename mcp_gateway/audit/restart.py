"""Recovering from a broken chain: set the damaged log aside, start a new one that says so.

Nothing is deleted: the log and its checkpoints move to `<state_dir>/audit-archive/<time>/`
for investigation, and the new log's first record (`log_restarted`) names where they went, what
`verify` found, and the operator's reason. The new chain is sealed and checkpointed at once.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from mcp_gateway.audit.checkpoints import Checkpointer, signing_key
from mcp_gateway.audit.keys import AuditKeys
from mcp_gateway.audit.log import now_text
from mcp_gateway.audit.verify import verify
from mcp_gateway.audit.writer import AuditWriter


def restart(log_dir: Path, checkpoint_dir: Path, archive_root: Path, keys: AuditKeys, reason: str) -> dict[str, Any]:
    report = verify(log_dir, keys.chain, checkpoint_dir, keys.public_key)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    archive = archive_root / stamp
    archive.mkdir(parents=True, mode=0o700)
    for source, name in ((log_dir, "audit"), (checkpoint_dir, "audit-checkpoints")):
        if source.exists():
            shutil.move(str(source), str(archive / name))
    record = {
        "event": "log_restarted",
        "time": now_text(),
        "reason": reason,
        "archived_to": str(archive),
        "previous": report.as_dict(),
    }

    async def write_first() -> int:
        points = Checkpointer(checkpoint_dir, signing_key(keys.checkpoint_seed), 1, 60)
        async with AuditWriter(log_dir, keys.chain, checkpointer=points).serving() as writer:
            return await writer.append(record)

    anyio.run(write_first)
    return record
