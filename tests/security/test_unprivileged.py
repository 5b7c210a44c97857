"""The escape suite again, as an unprivileged user (where the host allows it).

The suite (test_escapes.py) runs in a child pytest as `nobody`, with an interpreter that user
may run — this one, or the system's Python of the same version when this one lives somewhere
`nobody` cannot enter (a home directory) — and the project and its virtual environment on the
import path. The jail then requires every layer the host grants `nobody`; the test fails if
that is less than user, network and PID namespaces, Landlock, seccomp and rlimits.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534
REQUIRED = ("rlimits", "userns", "netns", "pidns", "landlock", "seccomp")


def _as_nobody(argv: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, env=env, user=NOBODY, group=NOBODY, extra_groups=[], cwd="/tmp",
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def _environment() -> dict[str, str]:
    site = sysconfig.get_paths()["purelib"]
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "PYTHONPATH": f"{ROOT}:{site}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "JAIL_ESCAPE_LAYERS": "available",
    }


def _interpreter(env: dict[str, str]) -> str:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    probe = "import sandbox.runner, pytest, anyio, pyseccomp"
    for candidate in (sys.executable, f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        try:
            if _as_nobody([candidate, "-c", probe], env, 60).returncode == 0:
                return candidate
        except OSError:  # missing, or nobody may not run it
            continue
    pytest.skip(f"no {version} that user nobody can run and import the project with (it cannot enter {ROOT}?)")


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another user needs root")
@pytest.mark.req("R-018")
def test_the_escape_suite_holds_for_an_unprivileged_user() -> None:
    env = _environment()
    python = _interpreter(env)
    layers = _as_nobody([python, "-c", "from sandbox import host; print(host.available())"], env, 60)
    assert layers.returncode == 0, layers.stderr
    granted = ast.literal_eval(layers.stdout)
    refused = {layer: why for layer, why in granted.items() if why is not None and layer in REQUIRED}
    assert not refused, f"the host grants nobody fewer layers than the jail needs: {refused}"
    suite = [
        python,
        "-m",
        "pytest",
        "-q",
        "-n",
        "0",
        "-p",
        "no:cacheprovider",
        str(ROOT / "tests" / "security" / "test_escapes.py"),
    ]
    run = _as_nobody([*suite, "--rootdir", str(ROOT)], env, 600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout and "failed" not in run.stdout
