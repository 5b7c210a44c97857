"""Building the engine and the fast scanner: the one module of the DLP runtime that imports
Presidio (see runtime.py for why it is imported late)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp_gateway.dlp.engine import DlpEngine, EngineSettings, build_engine
from mcp_gateway.dlp.scanner import FastScanner

if TYPE_CHECKING:
    from mcp_gateway.dlp.runtime import DlpRuntime


def engine_and_scanner(runtime: DlpRuntime) -> tuple[DlpEngine, FastScanner]:
    settings = EngineSettings(
        registry=runtime.registry,
        registry_source=str(runtime.registry_path),
        entities=runtime.policy.entities,
        nlp_model=runtime.config.nlp_model,
    )
    engine = build_engine(settings, runtime.known_secrets())
    return engine, FastScanner(engine, cache_entries=runtime.config.cache_entries)
