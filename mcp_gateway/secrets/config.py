"""The `[secrets]` section of gateway.toml.

    [secrets]
    key_sources = ["keyring", "env", "file"]   # where the master key is looked for, in this order
    # key_file = "/etc/mcp-gateway/master.key" # default: <state_dir>/master.key
    create_key = true                          # the first command that needs a key creates key_file

This module imports nothing of the gateway, because `mcp_gateway.config` imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

KeySourceName = Literal["keyring", "env", "file"]
KEY_FILE_NAME = "master.key"


def _default_sources() -> list[KeySourceName]:
    return ["keyring", "env", "file"]


class SecretsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key_sources: list[KeySourceName] = Field(default_factory=_default_sources, min_length=1)
    """The first source that holds a key supplies it; a source that is unusable here is skipped."""
    key_file: Path | None = None
    """The key file of the `file` source; default `<state_dir>/master.key`."""
    create_key: bool = True
    """When no earlier source has a key and the key file does not exist, create it (mode 0600)
    with a fresh random key, but only while the store is still empty."""

    @field_validator("key_sources")
    @classmethod
    def _no_repeats(cls, value: list[KeySourceName]) -> list[KeySourceName]:
        if len(set(value)) != len(value):
            raise ValueError("each source may be listed once")
        return value


def key_file_path(config: SecretsConfig, state_dir: Path) -> Path:
    return config.key_file if config.key_file is not None else state_dir / KEY_FILE_NAME
