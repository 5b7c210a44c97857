"""Work that must not hold the process open: a slow build run on a daemon thread.

anyio's worker threads are not daemons, so the interpreter joins them at exit: a gateway told
to stop (end of stdin, SIGTERM) while Presidio is still loading would wait for spaCy to finish
(2.5 s on an idle machine, past 10 s on a busy one) before it could exit. A daemon thread is
abandoned instead; what it was building is never used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from typing import TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel

T = TypeVar("T")


async def run_on_daemon_thread(func: Callable[[], T], *, name: str) -> T:
    """`func()` on a new daemon thread; its result or its exception, as `to_thread.run_sync`
    gives them. Cancelling the caller abandons the thread."""
    token = anyio.lowlevel.current_token()
    done = anyio.Event()
    outcome: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(func())
        except BaseException as exc:  # handed to the awaiting task, which re-raises it
            failure.append(exc)
        finally:
            with suppress(RuntimeError):  # the event loop has ended: nobody is waiting
                anyio.from_thread.run_sync(done.set, token=token)

    threading.Thread(target=target, name=name, daemon=True).start()
    await done.wait()
    if failure:
        raise failure[0]
    return outcome[0]
