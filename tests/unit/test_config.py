from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mcp_gateway.config import EMBEDDED, load_config
from mcp_gateway.errors import ConfigError


def test_embedded_default_needs_no_file(tmp_path: Path) -> None:
    config = load_config(environ={"XDG_CONFIG_HOME": str(tmp_path)})
    assert config.source == EMBEDDED
    assert config.http.host == "127.0.0.1"
    assert [cell.module for cell in config.cells] == ["cells.fs", "cells.notes", "cells.gateway"]
    assert config.telemetry.exporter == "none"


def test_file_then_environment_overrides(tmp_path: Path) -> None:
    file = tmp_path / "gateway.toml"
    file.write_text('[http]\nport = 9000\nhost = "127.0.0.1"\n')
    env = {"MCP_GATEWAY_HTTP__PORT": "9100", "MCP_GATEWAY_SERVER__PRINCIPAL": "carol", "MCP_GATEWAY_CONFIG": str(file)}
    config = load_config(environ=env)
    assert config.source == str(file)
    assert config.http.port == 9100
    assert config.server.principal == "carol"


@pytest.mark.req("R-032")
def test_bad_value_names_file_and_key(tmp_path: Path) -> None:
    file = tmp_path / "gateway.toml"
    file.write_text('[http]\nport = "many"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(file, environ={})
    assert caught.value.source == str(file) and caught.value.key == "http.port"


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    file = tmp_path / "gateway.toml"
    file.write_text("[server]\nstate_dri = '/tmp/x'\n")
    with pytest.raises(ConfigError) as caught:
        load_config(file, environ={})
    assert caught.value.key == "server.state_dri"


def test_bad_environment_override_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"MCP_GATEWAY_HTTP__PORT": "99999", "XDG_CONFIG_HOME": str(tmp_path)})
    assert caught.value.source == "MCP_GATEWAY_HTTP__PORT" and caught.value.key == "http.port"


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    file = tmp_path / "gateway.toml"
    file.write_text("[http\nport = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(file, environ={})
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.toml", environ={})


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[http]\nport = 'x'\n", "http.port"),
        ("[[cells]]\nmodule = 'cells.nonexistent'\n", "cells[0].module"),
        ("[[cells]]\nmodule = 'cells.fs'\n[cells.settings]\nroot = '/tmp/w'\nbogus = 1\n", "cells[0].settings.bogus"),
        ("[[cells]]\nmodule = 'cells.notes'\nnamespace = 'memo'\n", "cells[0].namespace"),
        ("[server]\nwire_separator = '.'\n", "server.wire_separator"),
        ("not toml at all ===", "not valid TOML"),
    ],
)
def test_cli_reports_bad_configuration_in_one_line_with_exit_2(tmp_path: Path, content: str, expected: str) -> None:
    file = tmp_path / "gateway.toml"
    file.write_text(content)
    done = subprocess.run(
        [sys.executable, "-m", "mcp_gateway", "tools", "--config", str(file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert str(file) in done.stderr and expected in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_a_cell_that_cannot_start_stops_serve_with_one_line_and_exit_2(tmp_path: Path, transport: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    file = tmp_path / "gateway.toml"
    file.write_text(
        f'[server]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[[cells]]\nmodule = "cells.fs"\n[cells.settings]\nroot = "{blocker}/workspace"\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "mcp_gateway", "serve", "--config", str(file), "--transport", transport, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "cell 'fs' failed to start" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_named_jail_profile_changes_only_what_it_states(tmp_path: Path) -> None:
    from mcp_gateway.jail_config import JailConfig

    jail = JailConfig.model_validate(
        {"read_only": ["/opt/all"], "profiles": {"big": {"address_space_mb": 4096, "read_only": ["/opt/big"]}}}
    )
    big = jail.profile("big")
    assert big.address_space_bytes == 4096 << 20 and big.wall_seconds == jail.wall_seconds
    assert "/opt/all" in big.read_only and "/opt/big" in big.read_only
    assert "/opt/big" not in jail.profile().read_only


def test_an_unknown_or_misnamed_jail_profile_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text('[[cells]]\nmodule = "cells.notes"\njail_profile = "nope"\n')
    with pytest.raises(ConfigError, match=r"cells\[0\]\.jail_profile: no \[jail\.profiles\.nope\]"):
        load_config(path, {})
    path.write_text('[jail.profiles."Bad Name"]\nprocesses = 4\n')
    with pytest.raises(ConfigError, match="profile name 'Bad Name'"):
        load_config(path, {})
