"""The import-linter contracts name gateway modules one by one; keep the lists complete."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import pytest

import mcp_gateway

ROOT = Path(__file__).resolve().parents[2]
ALLOWED_TO_CELLS = {"mcp_gateway.sdk", "mcp_gateway.__main__"}


@pytest.mark.req("R-034")
def test_cells_are_forbidden_every_gateway_module_but_the_sdk() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}
    modules = {f"mcp_gateway.{info.name}" for info in pkgutil.iter_modules(mcp_gateway.__path__)}
    expected = modules - ALLOWED_TO_CELLS
    for name in (
        "cells import only mcp_gateway.sdk from the gateway",
        "the cell contract depends on nothing else of the gateway",
    ):
        assert set(contracts[name]["forbidden_modules"]) == expected, name
