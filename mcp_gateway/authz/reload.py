"""Safe live reload: the store of the current policy snapshot, and the watcher that replaces it.

A change to the policy directory is loaded into a brand-new snapshot (new enforcer, new index,
new cache), tested, and swapped in with a single attribute assignment; a decision in progress
keeps the snapshot it started with. A policy that fails to load (corrupt CSV, bad pattern,
failing policy test) is never swapped in: the last good snapshot stays, the reason is logged,
reported to `on_event` and kept for `status()` (`mcp-gateway doctor`).

Casbin's own `start_auto_load_policy` is not used: it loads a corrupt CSV into the live enforcer.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

import anyio
from anyio.abc import TaskStatus

from mcp_gateway.authz.errors import PolicyError
from mcp_gateway.authz.policy_files import read_policy_files
from mcp_gateway.authz.snapshot import PolicySnapshot, build_snapshot
from mcp_gateway.file_watch import DEFAULT_DEBOUNCE_MS, EventHandler, ReloadEvent, watch_directory

log = logging.getLogger(__name__)

PolicyEvent = ReloadEvent
"""A policy reload's outcome (the shared reload event type)."""


class PolicyStore:
    """Holds the current snapshot. Built from `policy_dir`, it raises `PolicyError` if the policy
    is unusable: the gateway must not start without a good policy (fail closed)."""

    def __init__(self, policy_dir: Path) -> None:
        self.policy_dir = policy_dir
        self._current = build_snapshot(read_policy_files(policy_dir))
        self._last_error: str | None = None
        self._last_error_at: datetime | None = None
        self._rejected_digest: str | None = None
        self._reloading = threading.Lock()

    @property
    def current(self) -> PolicySnapshot:
        return self._current

    def load(self) -> PolicySnapshot:
        """Build and test a new snapshot from the files, without swapping it in."""
        return build_snapshot(read_policy_files(self.policy_dir))

    def reload(self) -> PolicyEvent | None:
        """Load the files and swap them in if they pass; None when they are what is already in force
        (or what was already refused), so a touched-but-unchanged file makes no noise."""
        with self._reloading:  # one reload at a time, so an older load never replaces a newer one
            try:
                files = read_policy_files(self.policy_dir)
            except PolicyError as exc:
                return self._reject(str(exc), "")
            if files.digest == self._current.digest:
                self._last_error = self._last_error_at = self._rejected_digest = None
                return None
            if files.digest == self._rejected_digest:
                return None
            try:
                snapshot = build_snapshot(files)
            except PolicyError as exc:
                return self._reject(str(exc), files.digest)
            self._current = snapshot  # the swap: one assignment, atomic for every reader
            self._last_error = self._last_error_at = self._rejected_digest = None
        log.info("policy reloaded from %s (digest %s)", self.policy_dir, snapshot.digest[:12])
        return PolicyEvent("reloaded", digest=snapshot.digest)

    def _reject(self, reason: str, digest: str) -> PolicyEvent:
        self._last_error, self._last_error_at = reason, datetime.now(UTC)
        self._rejected_digest = digest or None
        log.warning("policy change rejected, keeping digest %s: %s", self._current.digest[:12], reason)
        return PolicyEvent("rejected", digest=digest, reason=reason)

    def status(self) -> dict[str, object]:
        """For `mcp-gateway doctor`: what is in force, and why the last change was refused."""
        return {
            **self._current.summary(),
            "last_error": self._last_error,
            "last_error_at": self._last_error_at.isoformat(timespec="seconds") if self._last_error_at else None,
        }

    async def watch(
        self,
        on_event: EventHandler,
        *,
        debounce_ms: int = DEFAULT_DEBOUNCE_MS,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Watch the policy directory until cancelled, reloading on every (debounced) change.

        Start it with `await task_group.start(store.watch, on_event)`: it reports started once the
        watcher is armed, then catches up with any change made since the store was built. An
        attempt on files whose digest is already in force does nothing.
        """
        await watch_directory(self.policy_dir, self.reload, on_event, debounce_ms=debounce_ms, task_status=task_status)
