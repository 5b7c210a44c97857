"""The GenOps gate: the project's own surface lock matches the live surface of the embedded
default configuration, and `surface check` fails on an unreviewed change."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support import GATEWAY

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GATEWAY, "surface", *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


@pytest.mark.req("R-031")
def test_the_committed_lock_matches_and_a_change_fails_the_check(tmp_path: Path, clean_env: dict[str, str]) -> None:
    env = {**clean_env, "XDG_CONFIG_HOME": str(tmp_path / "no-config")}
    ok = _run("check", "--lock", str(ROOT / "surface.lock.json"), env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    lock = json.loads((ROOT / "surface.lock.json").read_text())
    lock["tools"]["fs.read_file"]["input_schema"]["properties"]["legacy"] = {"type": "string"}
    lock["tools"]["notes.put"]["allowed"].append("role:ghost")
    edited = tmp_path / "edited.lock.json"
    edited.write_text(json.dumps(lock))
    failed = _run("check", "--lock", str(edited), "--json", env=env)
    assert failed.returncode == 1
    report = json.loads(failed.stdout)
    assert report["breaking"] is True
    assert {"kind": "breaking", "tool": "notes.put", "change": "permission removed for role:ghost"} in report["changes"]
    # The live surface lacks a field the lock has: callers that send it would be refused.
    assert {"kind": "breaking", "tool": "fs.read_file", "change": "input: field 'legacy' removed"} in report["changes"]
    diffed = _run("diff", str(edited), str(ROOT / "surface.lock.json"), "--json", env=env)
    assert diffed.returncode == 0 and json.loads(diffed.stdout)["breaking"] is True
