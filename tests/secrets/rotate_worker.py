"""Runs a master key rotation in its own process, for the crash tests to kill.

    python rotate_worker.py STATE_DIR PAUSE_AT

Prints each step of the rotation on stdout as it completes. With PAUSE_AT > 0 it stops after
that many steps and waits (on stdin) to be killed; with 0 it prints `start`, waits for a line
on stdin, then runs straight through while the test reads its steps and kills it wherever it
has got to.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mcp_gateway.secrets.masterkey import MasterKeySources
from mcp_gateway.secrets.sources import FileKeySource
from mcp_gateway.secrets.store import SecretStore


def main() -> None:
    state_dir, pause_at = Path(sys.argv[1]), int(sys.argv[2])
    steps = 0

    def progress(step: str) -> None:
        nonlocal steps
        steps += 1
        print(step, flush=True)
        if steps == pause_at:
            print("paused", flush=True)
            sys.stdin.read()

    store = SecretStore(state_dir, MasterKeySources([FileKeySource(state_dir / "master.key")]))
    print("start", flush=True)
    if not pause_at:
        sys.stdin.readline()
    store.rotate_key(progress)
    print("done", flush=True)


if __name__ == "__main__":
    main()
