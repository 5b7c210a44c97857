"""The DLP runtime: the policy now, the engine a little later.

dlp.yaml and presidio.yaml are read when the gateway is built, so a bad file stops start-up
with a clear message. Presidio itself takes one to three seconds to import (it brings spaCy),
so the engine is built on a worker thread once the gateway runs: `initialize` and `tools/list`
never wait for it, and the first `tools/call` waits at most `ready_timeout` seconds. Until the
engine is ready no call passes unscanned (fail closed); if it cannot be built, every call is
refused with the reason, which `doctor` also shows.
"""

from __future__ import annotations

import importlib
import logging
import os
import secrets
from pathlib import Path
from typing import Any

import anyio

from mcp_gateway.dlp.actions import Editor
from mcp_gateway.dlp.config import DlpConfig, resolve_dlp_files
from mcp_gateway.dlp.leaves import Limits
from mcp_gateway.dlp.policy import load_policy, load_registry_yaml
from mcp_gateway.dlp.pseudonyms import PseudonymVault
from mcp_gateway.dlp.service import DlpService
from mcp_gateway.errors import GatewayError, ToolUnavailable

logger = logging.getLogger(__name__)
KEY_BYTES = 32


def load_or_create_key(path: Path) -> bytes:
    """The key for keyed hashes and pseudonyms: 32 random bytes in a 0600 file, made once.
    (When the secret store exists, this key will be derived from its master key instead.)"""
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
        self.policy = load_policy(self.policy_path)
        self.registry = load_registry_yaml(self.registry_path)
        self.state_dir = state_dir
        self.limits = Limits(config.max_depth, config.max_leaves, config.max_chars)
        self._service: DlpService | None = None
        self._engine: Any = None
        self._error: str | None = None
        self._ready: anyio.Event | None = None

    def known_secrets_present(self) -> list[str]:
        """Names of the configured secret variables that are set (never their values)."""
        return [name for name in self.config.known_secret_env if os.environ.get(name)]

    def known_secrets(self) -> list[str]:
        return [os.environ[name] for name in self.known_secrets_present()]

    def build_engine(self) -> Any:
        """Build the Presidio engine and the fast scanner (blocking: seconds on first import)."""
        # Imported here, not at the top: importing Presidio costs seconds, and this runs on a
        # worker thread after start-up (or in `doctor`), never on the gateway's start-up path.
        build = importlib.import_module("mcp_gateway.dlp.build")
        engine, scanner = build.engine_and_scanner(self)
        self._engine = engine
        return scanner

    def build(self) -> DlpService:
        """Build the engine and the service."""
        scanner = self.build_engine()
        key = load_or_create_key(self.state_dir / "dlp.key")
        vault = PseudonymVault(key)
        editor = Editor(key, vault, self.policy.document.mask)
        return DlpService(self.policy, scanner, editor, vault, self.limits)

    async def load(self) -> None:
        self._ready = self._ready or anyio.Event()
        try:
            self._service = await anyio.to_thread.run_sync(self.build)
            logger.info("DLP engine ready: %s", ", ".join(self._engine.active))
        except Exception as exc:  # the outermost handler of the loader: anything is reported, fail closed
            self._error = f"{type(exc).__name__}: {exc}"
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
            reason = self._error or f"not ready after {self.config.ready_timeout:.0f} s"
            raise ToolUnavailable(
                f"The data-loss-prevention engine is unavailable ({reason}); no call can pass unscanned."
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
            "ready": self._service is not None,
            "error": self._error,
            "nlp": getattr(engine, "nlp", None),
            "active": list(getattr(engine, "active", ())),
            "inactive": dict(getattr(engine, "inactive", {})),
        }
