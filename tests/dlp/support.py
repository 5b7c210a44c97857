"""One DLP engine for the whole test session (building it costs seconds), from the bundled files."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from mcp_gateway.dlp.config import DlpConfig
from mcp_gateway.dlp.engine import DlpEngine, EngineSettings, build_engine
from mcp_gateway.dlp.policy import load_policy, load_registry_yaml
from mcp_gateway.dlp.runtime import DlpRuntime
from mcp_gateway.dlp.scanner import FastScanner, FullScanner

ROOT = Path(__file__).resolve().parents[2]
KNOWN_SECRET = "s3cr3t-Gateway-Value-42"


@cache
def engine() -> DlpEngine:
    directory = ROOT / "policies"
    policy = load_policy(directory / "dlp.yaml")
    settings = EngineSettings(
        registry=load_registry_yaml(directory / "presidio.yaml"),
        registry_source=str(directory / "presidio.yaml"),
        entities=policy.entities,
    )
    return build_engine(settings, [KNOWN_SECRET])


def full() -> FullScanner:
    return FullScanner(engine())


def fast(cache_entries: int = 0) -> FastScanner:
    return FastScanner(engine(), cache_entries=cache_entries)


def runtime(state_dir: Path, **settings: object) -> DlpRuntime:
    return DlpRuntime(DlpConfig.model_validate(settings), policy_dir=ROOT / "policies", state_dir=state_dir)
