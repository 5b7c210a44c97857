"""The `[audit]` section of gateway.toml."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class AuditConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    directory: Path | None = None
    """Where the log's files live (default: `<state_dir>/audit`)."""
    checkpoint_dir: Path | None = None
    """The second location for signed checkpoints (default: `<state_dir>/audit-checkpoints`);
    put it on another disk or a mount the gateway can only append to."""
    checkpoint_every: int = Field(default=1000, ge=1)
    """Records between checkpoints."""
    checkpoint_seconds: float = Field(default=60.0, gt=0)
    """Seconds after which records not yet checkpointed get one."""
    max_file_mb: int = Field(default=64, ge=1)
    max_file_hours: float = Field(default=24.0, gt=0)

    def log_dir(self, state_dir: Path) -> Path:
        return self.directory or state_dir / "audit"

    def checkpoints_dir(self, state_dir: Path) -> Path:
        return self.checkpoint_dir or state_dir / "audit-checkpoints"
