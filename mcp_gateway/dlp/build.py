"""Building the engine and the fast scanner: the one module of the DLP runtime that imports
Presidio (see runtime.py for why it is imported late)."""

from __future__ import annotations

from collections.abc import Iterable

from mcp_gateway.dlp.config import DlpConfig
from mcp_gateway.dlp.engine import DlpEngine, EngineSettings, build_engine
from mcp_gateway.dlp.files import DlpFiles
from mcp_gateway.dlp.scanner import FastScanner


def engine_and_scanner(
    config: DlpConfig, files: DlpFiles, known_secrets: Iterable[str]
) -> tuple[DlpEngine, FastScanner]:
    settings = EngineSettings(
        registry=files.registry,
        registry_source=str(files.registry_path),
        entities=files.policy.entities,
        nlp_model=config.nlp_model,
    )
    engine = build_engine(settings, known_secrets)
    return engine, FastScanner(engine, cache_entries=config.cache_entries)
