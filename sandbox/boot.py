"""How the jail's own processes (the launcher, the zygote) are started: this interpreter, `-I`
(no environment variables, no user site), and this process's import path handed over
explicitly, so they import exactly what the gateway imports however it was started (a virtual
environment, PYTHONPATH, an interpreter the unprivileged user shares) — `-I` alone would drop
PYTHONPATH, and the environment is empty anyway.
"""

from __future__ import annotations

import os
import sys


def python_module(module: str) -> list[str]:
    """argv that runs `module` as `__main__`; its own arguments follow."""
    path = [os.path.abspath(entry) for entry in sys.path if entry]  # "" (the cwd) means nothing there
    boot = (
        f"import runpy, sys; sys.path[:] = {path!r}; runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
    )
    return [sys.executable, "-I", "-c", boot]
