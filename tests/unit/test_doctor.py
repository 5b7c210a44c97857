from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mcp_gateway.config import load_config
from mcp_gateway.doctor import run_checks
from tests.support import write_config


def test_doctor_reports_cells_and_a_loose_state_dir(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    state.chmod(0o755)
    checks = {check.name: check for check in run_checks(load_config(write_config(tmp_path / "g.toml", state), {}))}
    assert checks["cells"].status == "ok" and checks["cells"].data == {"tools": 13}
    assert checks["state dir"].status == "warn"


def test_doctor_cli_json_and_exit_code(tmp_path: Path) -> None:
    file = write_config(tmp_path / "g.toml", tmp_path / "state")
    done = subprocess.run(
        [sys.executable, "-m", "mcp_gateway", "doctor", "--config", str(file), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True
    assert {check["name"] for check in report["checks"]} >= {"config", "state dir", "cells"}
