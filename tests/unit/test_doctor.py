from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_gateway.config import load_config
from mcp_gateway.doctor import run_checks
from mcp_gateway.pins import PinStore, definition_hashes
from tests.support import write_config


def test_doctor_reports_cells_and_a_loose_state_dir(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    state.chmod(0o755)
    checks = {check.name: check for check in run_checks(load_config(write_config(tmp_path / "g.toml", state), {}))}
    assert checks["cells"].status == "ok" and checks["cells"].data == {"tools": 13}
    assert checks["state dir"].status == "warn"


@pytest.mark.req("R-033")
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


def test_doctor_says_which_dlp_entities_are_active(tmp_path: Path) -> None:
    policy = tmp_path / "dlp.yaml"
    policy.write_text("entities: {EMAIL_ADDRESS: {}, PERSON: {}, MADE_UP: {}}\n")
    (tmp_path / "presidio.yaml").write_text(
        "supported_languages: [en]\nrecognizers:\n  - {name: EmailRecognizer, type: predefined}\n"
    )
    extra = f'\n[dlp]\npolicy_file = "{policy}"\nknown_secret_env = ["MCP_GATEWAY_TEST_UNSET_SECRET"]\n'
    config = load_config(write_config(tmp_path / "g.toml", tmp_path / "state", extra), {})
    checks = [check for check in run_checks(config) if check.name.startswith("dlp")]
    assert checks[0].status == "ok" and checks[0].data is not None
    assert checks[0].data["active"] == ["EMAIL_ADDRESS"] and checks[0].data["nlp"] == "no_op"
    warnings = {check.detail for check in checks[1:]}
    assert "PERSON is listed in dlp.yaml but inactive: needs a spaCy NER model (dlp.nlp_model)" in warnings
    assert "MADE_UP is listed in dlp.yaml but inactive: no recognizer is loaded for it" in warnings
    assert "known_secret_env names unset variables: MCP_GATEWAY_TEST_UNSET_SECRET" in warnings


def test_doctor_fails_on_a_broken_dlp_file_or_a_missing_model(tmp_path: Path) -> None:
    broken = tmp_path / "dlp.yaml"
    broken.write_text("entities: [\n")
    config = load_config(
        write_config(tmp_path / "g.toml", tmp_path / "state", f'\n[dlp]\npolicy_file = "{broken}"\n'), {}
    )
    (check,) = [check for check in run_checks(config) if check.name == "dlp"]
    assert check.status == "fail" and "not valid YAML" in check.detail
    extra = '\n[dlp]\nnlp_model = "en_core_web_nonexistent"\n'
    config = load_config(write_config(tmp_path / "g2.toml", tmp_path / "state", extra), {})
    (check,) = [check for check in run_checks(config) if check.name == "dlp"]
    assert check.status == "fail" and "is not installed (it is never downloaded)" in check.detail


def test_doctor_reports_the_jail_layers(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path / "g.toml", tmp_path / "state"), {})
    (check,) = [check for check in run_checks(config) if check.name == "jail"]
    assert check.data is not None and check.data["landlock_abi"] >= 1
    assert set(check.data["layers"]) == {"rlimits", "pids", "userns", "netns", "pidns", "landlock", "seccomp"}
    assert check.status == ("ok" if all(v is None for v in check.data["layers"].values()) else "warn")


def test_doctor_lists_quarantined_upstream_tools(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = PinStore(state)
    store.check("up.tool", definition_hashes("old", {}, None))
    store.check("up.tool", definition_hashes("new", {}, None))
    extra = '\n[[upstreams]]\nname = "up"\ncommand = ["/bin/true"]\n'
    config = load_config(write_config(tmp_path / "g.toml", state, extra), {})
    (check,) = [check for check in run_checks(config) if check.name == "upstream pins"]
    assert check.status == "warn" and "up.tool" in check.detail
