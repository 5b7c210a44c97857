"""The DLP engine loads on a daemon thread, so that a gateway told to stop is not held open by it."""

from __future__ import annotations

import threading

import anyio
import pytest

from mcp_gateway.dlp.background import run_on_daemon_thread

pytestmark = pytest.mark.anyio


async def test_the_result_and_the_exception_come_back_to_the_caller() -> None:
    assert await run_on_daemon_thread(lambda: threading.current_thread().daemon, name="t") is True

    def broken() -> None:
        raise ValueError("no model")

    with pytest.raises(ValueError, match="no model"):
        await run_on_daemon_thread(broken, name="t")


async def test_a_cancelled_caller_abandons_the_thread_instead_of_waiting_for_it() -> None:
    release = threading.Event()
    with anyio.CancelScope() as scope:
        scope.cancel()
        await run_on_daemon_thread(release.wait, name="slow-load")
    worker = next(thread for thread in threading.enumerate() if thread.name == "slow-load")
    assert worker.is_alive() and worker.daemon  # still running, and the interpreter will not join it
    release.set()
    worker.join(5)
