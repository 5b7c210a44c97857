"""`[secrets]` in gateway.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_gateway.config import load_config
from mcp_gateway.errors import ConfigError
from mcp_gateway.secrets.config import key_file_path
from tests.support import write_config


def test_defaults_and_overrides(tmp_path: Path, state_dir: Path) -> None:
    config = load_config(write_config(tmp_path / "g.toml", state_dir), {})
    assert config.secrets.key_sources == ["keyring", "env", "file"] and config.secrets.create_key
    assert key_file_path(config.secrets, state_dir) == state_dir / "master.key"
    extra = f'\n[secrets]\nkey_sources = ["file"]\nkey_file = "{tmp_path / "k"}"\ncreate_key = false\n'
    config = load_config(write_config(tmp_path / "g.toml", state_dir, extra), {})
    assert config.secrets.key_sources == ["file"] and not config.secrets.create_key
    assert key_file_path(config.secrets, state_dir) == tmp_path / "k"
    overridden = load_config(tmp_path / "g.toml", {"MCP_GATEWAY_SECRETS__KEY_SOURCES": '["env"]'})
    assert overridden.secrets.key_sources == ["env"]


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('key_sources = ["vault"]', "secrets.key_sources[0]"),
        ('key_sources = ["env", "env"]', "secrets.key_sources"),
        ("key_sources = []", "secrets.key_sources"),
        ("master_key = 'x'", "secrets.master_key"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, state_dir: Path, extra: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path / "g.toml", state_dir, f"\n[secrets]\n{extra}\n"), {})
    assert caught.value.key == key
