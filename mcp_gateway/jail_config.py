"""The `[jail]` section of gateway.toml: the layers and limits of the jail for high-risk tools,
and named profiles that a cell or an upstream can pick instead (`jail_profile = "NAME"`).

A named profile (`[jail.profiles.NAME]`) states only what differs from `[jail]`; everything it
leaves out is `[jail]`'s. Each profile that some cell uses gets a zygote pool of its own.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

import mcp_gateway
from mcp_gateway.names import NAMESPACE_PATTERN
from sandbox.profile import ALL_LAYERS, SYSTEM_READ_ONLY, Layer, Profile


class ProfileOverrides(BaseModel):
    """One named profile: the settings it changes from `[jail]`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    layers: tuple[Layer, ...] | None = None
    pool_size: int | None = Field(default=None, ge=1, le=16)
    wall_seconds: float | None = Field(default=None, gt=0, le=600)
    cpu_seconds: int | None = Field(default=None, ge=1, le=600)
    address_space_mb: int | None = Field(default=None, ge=64)
    processes: int | None = Field(default=None, ge=2)
    output_bytes: int | None = Field(default=None, ge=1024)
    read_only: list[str] = Field(default_factory=list)
    """Extra paths this profile's jails may read."""


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
    read_only: list[str] = Field(default_factory=list)
    """Extra paths every jail may read."""
    profiles: dict[str, ProfileOverrides] = Field(default_factory=dict)
    """Named profiles, keyed by a name like a namespace (`[jail.profiles.compute]`)."""

    @field_validator("profiles")
    @classmethod
    def _profile_names(cls, value: dict[str, ProfileOverrides]) -> dict[str, ProfileOverrides]:
        for name in value:
            if not re.fullmatch(NAMESPACE_PATTERN, name):
                raise ValueError(f"profile name {name!r} must match {NAMESPACE_PATTERN}")
        return value

    def settings(self, name: str | None = None) -> JailConfig:
        """`[jail]` with the named profile's changes applied (`[jail]` itself for None)."""
        if name is None:
            return self
        if name not in self.profiles:
            raise KeyError(name)
        own = self.profiles[name]
        changes = own.model_dump(exclude_none=True, exclude={"read_only"})
        changes["read_only"] = [*self.read_only, *own.read_only]
        return self.model_copy(update=changes)

    def profile(self, name: str | None = None) -> Profile:
        settings = self.settings(name)
        # Code is not secret: the interpreter, the virtualenv and this project are readable, so
        # that what a tool imports late still loads. State, home and secrets are not.
        project = str(Path(mcp_gateway.__file__).resolve().parents[1])
        return Profile(
            layers=settings.layers,
            address_space_bytes=settings.address_space_mb << 20,
            cpu_seconds=settings.cpu_seconds,
            processes=settings.processes,
            wall_seconds=settings.wall_seconds,
            output_bytes=settings.output_bytes,
            read_only=(*SYSTEM_READ_ONLY, sys.base_prefix, sys.prefix, project, *settings.read_only),
        )
