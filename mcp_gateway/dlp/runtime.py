"""The DLP runtime: the files now, the engine a little later, changes live.

dlp.yaml and presidio.yaml are read when the gateway is built, so a bad file stops start-up
with a clear message. Presidio itself takes one to three seconds to import (it brings spaCy),
so the engine is built on a worker thread once the gateway runs: `initialize` and `tools/list`
never wait for it, and the first `tools/call` waits at most `ready_timeout` seconds. Until the
engine is ready no call passes unscanned (fail closed); if it cannot be built, every call is
refused with the reason, which `doctor` also shows.

Changes to dlp.yaml, presidio.yaml or dlp_tests.yaml are watched like the authorization policy:
the new files are read, the engine is rebuilt if presidio.yaml or the entity list changed, the
files' own tests run, and only then is the new service swapped in; a bad change keeps the last
good one and says why (log, `on_event`, status for `doctor`). Pseudonyms survive a reload.
"""

from __future__ import annotations

import importlib
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import TaskStatus

from mcp_gateway.dlp.background import run_on_daemon_thread
from mcp_gateway.dlp.config import DEFAULT_DLP_DIR, DlpConfig, resolve_dlp_files
from mcp_gateway.dlp.files import DlpFiles, files_digest, read_dlp_files
from mcp_gateway.dlp.leaves import Limits
from mcp_gateway.dlp.policy import DlpPolicy
from mcp_gateway.dlp.policytests import failures
from mcp_gateway.dlp.pseudonyms import PseudonymVault
from mcp_gateway.dlp.service import DlpService
from mcp_gateway.errors import GatewayError, ToolUnavailable
from mcp_gateway.file_watch import EventHandler, ReloadEvent, watch_directory

logger = logging.getLogger(__name__)
KEY_BYTES = 32


def load_or_create_key(path: Path) -> bytes:
    """The key for keyed hashes and pseudonyms when no key source is set: 32 random bytes in a
    0600 file, made once. The gateway sets a source (the secret store) instead."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) != KEY_BYTES:
            raise GatewayError(f"{path}: expected a {KEY_BYTES}-byte key, found {len(key)} bytes") from None
        return key
    key = secrets.token_bytes(KEY_BYTES)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
        handle.flush()
        os.fsync(handle.fileno())
    return key


class DlpRuntime:
    def __init__(self, config: DlpConfig, *, policy_dir: Path | None, state_dir: Path) -> None:
        self.config = config
        self.policy_path, self.registry_path = resolve_dlp_files(config, policy_dir)
        self.files = read_dlp_files(self.policy_path, self.registry_path)
        self.state_dir = state_dir
        self.limits = Limits(config.max_depth, config.max_leaves, config.max_chars)
        self._service: DlpService | None = None
        self._engine: Any = None
        self._scanner: Any = None
        self._vault: PseudonymVault | None = None
        self._key = b""
        self._error: str | None = None
        self._error_at: datetime | None = None
        self._rejected_digest: str | None = None
        self._ready: anyio.Event | None = None
        self._reloading = threading.Lock()
        self._secret_source: Callable[[], Iterable[str]] = list
        self._key_source: Callable[[], bytes] | None = None
        self._released: set[str] = set()

    @property
    def policy(self) -> DlpPolicy:
        return self.files.policy

    @property
    def watchable(self) -> bool:
        """The bundled default files are part of the installed package: nothing to watch."""
        return self.policy_path.parent != DEFAULT_DLP_DIR

    def known_secrets_present(self) -> list[str]:
        """Names of the configured secret variables that are set (never their values)."""
        return [name for name in self.config.known_secret_env if os.environ.get(name)]

    def known_secrets(self) -> list[str]:
        """What GATEWAY_SECRET matches: the env values named by `known_secret_env`, every value
        in the secret store (read when the engine is built), and every value released since."""
        values = [os.environ[name] for name in self.known_secrets_present()]
        return list(dict.fromkeys([*values, *self._secret_source(), *self._released]))

    def set_key_source(self, source: Callable[[], bytes]) -> None:
        """Where the key for keyed hashes and pseudonyms comes from (the gateway derives it from
        the secret store's root key); without one, a 0600 `dlp.key` in the state dir."""
        self._key_source = source

    def set_secret_source(self, source: Callable[[], Iterable[str]]) -> None:
        """The secret store's values, read whenever the engine is (re)built."""
        self._secret_source = source

    def know_secret(self, value: str) -> None:
        """A value released to a cell: from now on DLP finds it in every payload. Cached scan
        results are dropped, since they were made without it."""
        if value in self._released:
            return
        self._released.add(value)
        if self._engine is not None:
            self._engine.set_known_secrets(self.known_secrets())
        if self._service is not None:
            self._service.forget_cached()

    def _engine_for(self, files: DlpFiles) -> tuple[Any, Any]:
        # Imported here, not at the top: importing Presidio costs seconds, and this runs on a
        # worker thread after start-up (or in `doctor`), never on the gateway's start-up path.
        build = importlib.import_module("mcp_gateway.dlp.build")
        engine, scanner = build.engine_and_scanner(self.config, files, self.known_secrets())
        return engine, scanner

    def build_engine(self) -> Any:
        """Build the Presidio engine and the fast scanner (blocking: seconds on first import)."""
        self._engine, self._scanner = self._engine_for(self.files)
        return self._scanner

    def check(self) -> None:
        """Build the engine and run the files' own tests, without keys or a service (doctor, CLI)."""
        self._check(self.files, self.build_engine())

    def build(self) -> DlpService:
        """Build the engine, check the files' own tests, and the service (blocking)."""
        scanner = self.build_engine()
        self._check(self.files, scanner)
        self._key = self._key_source() if self._key_source else load_or_create_key(self.state_dir / "dlp.key")
        self._vault = PseudonymVault(self._key)
        return self._service_for(self.files, scanner)

    def _service_for(self, files: DlpFiles, scanner: Any) -> DlpService:
        if self._vault is None:
            raise GatewayError("the DLP runtime must be built before it serves")
        editor = importlib.import_module("mcp_gateway.dlp.editor").Editor(
            self._key, self._vault, files.policy.document.mask
        )
        return DlpService(files.policy, scanner, editor, self._vault, self.limits)

    @staticmethod
    def _check(files: DlpFiles, scanner: Any) -> None:
        failed = failures(files.cases, files.policy, scanner)
        if failed:
            raise GatewayError(f"{files.tests_path}: {len(failed)} DLP test(s) failed: " + "; ".join(failed[:3]))

    def reload(self) -> ReloadEvent | None:
        """Read the files again and swap them in if they load and pass their tests; None when they
        are what is in force, or what was already refused."""
        with self._reloading:  # one reload at a time, so an older load never replaces a newer one
            if self._service is None:
                return None  # still starting (or failed to): the files are read when it starts
            try:
                digest = files_digest(self.policy_path, self.registry_path)
            except OSError as exc:
                return self._reject(f"cannot be read: {exc}", "")
            if digest == self.files.digest:
                self._error = self._error_at = self._rejected_digest = None
                return None
            if digest == self._rejected_digest:
                return None
            try:
                files = read_dlp_files(self.policy_path, self.registry_path)
                engine, scanner = self._engine, self._scanner
                if files.registry_digest != self.files.registry_digest:
                    engine, scanner = self._engine_for(files)
                self._check(files, scanner)
            except GatewayError as exc:
                return self._reject(str(exc), digest)
            service = self._service_for(files, scanner)
            # The swap: each a single assignment; a call in progress keeps the service it started with.
            self.files, self._engine, self._scanner, self._service = files, engine, scanner, service
            self._error = self._error_at = self._rejected_digest = None
        logger.info("DLP files reloaded from %s (digest %s)", self.policy_path.parent, files.digest[:12])
        return ReloadEvent("reloaded", digest=files.digest)

    def _reject(self, reason: str, digest: str) -> ReloadEvent:
        self._error, self._error_at = reason, datetime.now(UTC)
        self._rejected_digest = digest or None
        logger.warning("DLP change rejected, keeping digest %s: %s", self.files.digest[:12], reason)
        return ReloadEvent("rejected", digest=digest, reason=reason)

    async def watch(self, on_event: EventHandler, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        await watch_directory(self.policy_path.parent, self.reload, on_event, task_status=task_status)

    async def load(self) -> None:
        self._ready = self._ready or anyio.Event()
        try:
            self._service = await run_on_daemon_thread(self.build, name="dlp-engine-load")
            logger.info("DLP engine ready: %s", ", ".join(self._engine.active))
        except Exception as exc:  # the outermost handler of the loader: anything is reported, fail closed
            self._error, self._error_at = f"{type(exc).__name__}: {exc}", datetime.now(UTC)
            logger.error("DLP engine failed to load; every tool call will be refused: %s", self._error)
        finally:
            self._ready.set()

    async def service(self) -> DlpService:
        if self._service is not None:
            return self._service
        self._ready = self._ready or anyio.Event()
        with anyio.move_on_after(self.config.ready_timeout):
            await self._ready.wait()
        if self._service is None:
            # The reason is the operator's business (log, doctor), not the caller's.
            detail = "it failed to load" if self._error else f"it is not ready after {self.config.ready_timeout:.0f} s"
            raise ToolUnavailable(
                f"The data-loss-prevention engine is unavailable ({detail}); no call can pass unscanned."
            )
        return self._service

    @property
    def engine(self) -> Any:
        """The built `DlpEngine` (None until `build` has run)."""
        return self._engine

    def status(self) -> dict[str, Any]:
        engine = self._engine
        return {
            "policy": str(self.policy_path),
            "recognizers": str(self.registry_path),
            "digest": self.files.digest,
            "ready": self._service is not None,
            "last_error": self._error,
            "last_error_at": self._error_at.isoformat(timespec="seconds") if self._error_at else None,
            "nlp": getattr(engine, "nlp", None),
            "active": list(getattr(engine, "active", ())),
            "inactive": dict(getattr(engine, "inactive", {})),
        }
