"""Pinned upstream tool definitions: first sight pins, a match is trusted, a change waits for approval."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_gateway.errors import GatewayError
from mcp_gateway.jail_config import JailConfig
from mcp_gateway.pins import PinStore, definition_hashes
from mcp_gateway.upstream import Upstream
from mcp_gateway.upstream_config import UpstreamConfig

SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}}


def test_pin_trust_quarantine_approve(tmp_path: Path) -> None:
    store = PinStore(tmp_path)
    first = definition_hashes("Do a thing.", SCHEMA, None)
    assert store.check("up.tool", first) == "pinned"
    assert PinStore(tmp_path).check("up.tool", first) == "trusted"  # kept on disk
    # Key order in a schema is not a change; a wider schema or another description is.
    assert store.check("up.tool", definition_hashes("Do a thing.", dict(reversed(SCHEMA.items())), None)) == "trusted"
    wider = {**SCHEMA, "required": ["a"]}
    assert store.check("up.tool", definition_hashes("Do a thing.", wider, None)) == "quarantined"
    assert list(PinStore(tmp_path).pending()) == ["up.tool"]
    PinStore(tmp_path).approve("up.tool")
    assert PinStore(tmp_path).check("up.tool", definition_hashes("Do a thing.", wider, None)) == "trusted"
    with pytest.raises(KeyError):
        PinStore(tmp_path).approve("up.tool")


def test_a_corrupt_pin_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "upstream_pins.json").write_text("{not json")
    with pytest.raises(GatewayError, match="cannot be read as a pin file"):
        PinStore(tmp_path)
    (tmp_path / "upstream_pins.json").write_text("[]")
    with pytest.raises(GatewayError, match="is not a pin file"):
        PinStore(tmp_path)


def test_an_upstream_profile_takes_its_own_overrides(tmp_path: Path) -> None:
    config = UpstreamConfig(
        name="up", command=["/bin/true"], env={"TZ": "UTC"}, read_only=["/opt/up"], layers=("seccomp",), processes=4
    )
    profile = Upstream(config, JailConfig(), "__", PinStore(tmp_path)).profile()
    assert profile.layers == ("seccomp",) and profile.processes == 4
    assert "/opt/up" in profile.read_only and ("TZ", "UTC") in profile.env
    default = Upstream(UpstreamConfig(name="up", command=["/bin/true"]), JailConfig(), "__", PinStore(tmp_path))
    assert default.profile().layers == JailConfig().layers


def test_an_upstream_starts_from_its_named_profile(tmp_path: Path) -> None:
    jail = JailConfig.model_validate({"profiles": {"big": {"address_space_mb": 4096, "processes": 64}}})
    config = UpstreamConfig(name="up", command=["/bin/true"], jail_profile="big", processes=8)
    profile = Upstream(config, jail, "__", PinStore(tmp_path)).profile()
    assert profile.address_space_bytes == 4096 << 20 and profile.processes == 8  # its own setting wins
