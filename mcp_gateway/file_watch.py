"""Watching a directory of governed files and reloading them safely on every change.

Shared by the authorization policy and the DLP files: a change in the directory (editors and
ConfigMaps replace files by renames, so every change counts) triggers `reload()` on a worker
thread; `reload()` builds and tests the new state, swaps it in only if it passes, and returns
an event (or None when nothing changed). Events go to `on_event`, a plain function or a
coroutine function.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anyio
from anyio.abc import TaskStatus
from watchfiles import awatch
from watchfiles.main import FileChange

DEFAULT_DEBOUNCE_MS = 300


@dataclass(frozen=True, slots=True)
class ReloadEvent:
    kind: Literal["reloaded", "rejected"]
    digest: str = ""
    """The digest now in force ("reloaded"), or of the files that were refused ("rejected")."""
    reason: str = ""


EventHandler = Callable[[ReloadEvent], Any]


async def watch_directory(
    directory: Path,
    reload: Callable[[], ReloadEvent | None],
    on_event: EventHandler,
    *,
    debounce_ms: int = DEFAULT_DEBOUNCE_MS,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Watch until cancelled. Start it with `await task_group.start(...)`: it reports started once
    the watcher is armed, then catches up with any change made before that."""
    stop = anyio.Event()
    changes = awatch(directory, debounce=debounce_ms, watch_filter=None, recursive=False, stop_event=stop)
    async with anyio.create_task_group() as tg:
        tg.start_soon(_stop_when_cancelled, stop)
        armed = anyio.Event()
        tg.start_soon(_follow, changes, reload, on_event, armed)
        await armed.wait()
        task_status.started()
        await _reload_and_report(reload, on_event)


async def _follow(
    changes: AsyncGenerator[set[FileChange], None],
    reload: Callable[[], ReloadEvent | None],
    on_event: EventHandler,
    armed: anyio.Event,
) -> None:
    async with aclosing(changes):
        # awatch arms its watcher synchronously when first awaited, before it blocks in a
        # thread: the caller is told it is armed once this task has suspended in that first step.
        first = anext(changes, None)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_set_after_checkpoint, armed)
            batch = await first
        while batch is not None:
            await _reload_and_report(reload, on_event)
            batch = await anext(changes, None)


async def _reload_and_report(reload: Callable[[], ReloadEvent | None], on_event: EventHandler) -> None:
    # Loading parses and tests the files: off the event loop, so calls keep being decided by
    # what is in force meanwhile.
    event = await anyio.to_thread.run_sync(reload)
    if event is not None:
        outcome = on_event(event)
        if inspect.isawaitable(outcome):
            await outcome


async def _set_after_checkpoint(event: anyio.Event) -> None:
    await anyio.lowlevel.checkpoint()
    event.set()


async def _stop_when_cancelled(stop: anyio.Event) -> None:
    # awatch waits in a worker thread that a cancellation cannot interrupt; the stop event ends
    # that wait within one step, instead of at the watcher's 5 s timeout.
    try:
        await anyio.sleep_forever()
    finally:
        stop.set()
