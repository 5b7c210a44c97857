"""Where a configuration's audit log lives, and its keys (from the secret store's root key)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mcp_gateway.audit.keys import AuditKeys
from mcp_gateway.secrets.wiring import open_store

if TYPE_CHECKING:
    from mcp_gateway.config import Config


def audit_paths(config: Config) -> tuple[Path, Path]:
    """(the log's directory, the checkpoints' directory)."""
    state_dir = config.server.state_dir
    return config.audit.log_dir(state_dir), config.audit.checkpoints_dir(state_dir)


def open_keys(config: Config) -> AuditKeys:
    """The audit keys; raises the secret store's error when no master key is usable."""
    return AuditKeys.derive(open_store(config).derive_key)
