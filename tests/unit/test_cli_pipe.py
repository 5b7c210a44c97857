"""A reader that closes the CLI's output early (`| head`, `| grep -q`) gets no traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support import GATEWAY


def test_a_closed_pipe_ends_the_command_quietly_with_the_sigpipe_status(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*GATEWAY, "surface", "export"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)},
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the first byte
    with process.stderr:
        errors = process.stderr.read().decode()
    assert process.wait(60) == 141
    assert "Traceback" not in errors and "BrokenPipe" not in errors
