"""The `[jail]` section of gateway.toml: the layers and limits of the jail for high-risk tools."""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

import mcp_gateway
from sandbox.profile import ALL_LAYERS, SYSTEM_READ_ONLY, Layer, Profile


class JailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    """Off, a cell with high-risk tools refuses to load (there is no in-process fallback)."""
    layers: tuple[Layer, ...] = ALL_LAYERS
    pool_size: int = Field(default=1, ge=1, le=16)
    wall_seconds: float = Field(default=30.0, gt=0, le=600)
    cpu_seconds: int = Field(default=30, ge=1, le=600)
    address_space_mb: int = Field(default=1024, ge=64)
    processes: int = Field(default=32, ge=2)
    output_bytes: int = Field(default=1 << 20, ge=1024)

    def profile(self) -> Profile:
        # Code is not secret: the interpreter, the virtualenv and this project are readable, so
        # that what a tool imports late still loads. State, home and secrets are not.
        project = str(Path(mcp_gateway.__file__).resolve().parents[1])
        return Profile(
            layers=self.layers,
            address_space_bytes=self.address_space_mb << 20,
            cpu_seconds=self.cpu_seconds,
            processes=self.processes,
            wall_seconds=self.wall_seconds,
            output_bytes=self.output_bytes,
            read_only=(*SYSTEM_READ_ONLY, sys.base_prefix, sys.prefix, project),
        )
