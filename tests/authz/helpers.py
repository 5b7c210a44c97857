"""Policy directories for tests: the bundled default, or a given policy.csv and tests file."""

from __future__ import annotations

import shutil
from pathlib import Path

from mcp_gateway.authz.config import DEFAULT_POLICY_DIR
from mcp_gateway.authz.engine import Engine
from mcp_gateway.authz.snapshot import load_snapshot

MODEL = (DEFAULT_POLICY_DIR / "model.conf").read_text()


def copy_default_policy(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("model.conf", "policy.csv", "policy_tests.yaml"):
        shutil.copyfile(DEFAULT_POLICY_DIR / name, directory / name)
    return directory


def write_policy(directory: Path, policy: str, tests: str = "[]\n", model: str = MODEL) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.conf").write_text(model)
    (directory / "policy.csv").write_text(policy)
    (directory / "policy_tests.yaml").write_text(tests)
    return directory


def engine_for(directory: Path, policy: str) -> Engine:
    return load_snapshot(write_policy(directory, policy)).engine
