"""The secrets manager as gateway.toml configures it: the one place the CLI, `doctor` and the
gateway learn where secrets and their master key live."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from mcp_gateway.secrets.masterkey import MasterKeySources
from mcp_gateway.secrets.store import SecretStore

if TYPE_CHECKING:
    from mcp_gateway.config import Config


def key_sources(config: Config, environ: Mapping[str, str] | None = None) -> MasterKeySources:
    return MasterKeySources.from_config(
        config.secrets, config.server.state_dir, os.environ if environ is None else environ
    )


def open_store(config: Config, environ: Mapping[str, str] | None = None) -> SecretStore:
    """The store of `config`. Nothing is read or created until it is used."""
    return SecretStore(config.server.state_dir, key_sources(config, environ))
