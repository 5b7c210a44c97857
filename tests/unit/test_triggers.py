"""The distribution triggers weigh what the audit log recorded, and doctor reports them."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest

from mcp_gateway import triggers
from mcp_gateway.audit.writer import AuditWriter
from tests.support import GATEWAY, write_config


def _log(directory: Path, calls: list[tuple[datetime, float, str]]) -> None:
    async def write() -> None:
        async with AuditWriter(directory, b"k" * 32).serving() as writer:
            for end, duration_ms, principal in calls:
                await writer.append(
                    {"event": "tool_call", "time": end.isoformat(), "duration_ms": duration_ms, "principal": principal}
                )

    anyio.run(write)


def test_concurrency_is_counted_from_call_intervals(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    # 100 calls of 10 s all ending together overlap completely; 3 later ones do not.
    calls = [(now - timedelta(minutes=5), 10_000.0, f"p{i % 7}") for i in range(100)]
    calls += [(now - timedelta(minutes=m), 1.0, "solo") for m in (1, 2, 3)]
    _log(tmp_path / "audit", calls)
    peak, _ = triggers.concurrency(tmp_path / "audit")
    assert peak == 100
    assert triggers.principals(tmp_path / "audit", ["token-holder"]) == 9


def test_the_recommendation_names_what_fired() -> None:
    calm = [triggers.Trigger("concurrency", 3, 64, False, ""), triggers.Trigger("code size", 1, 2, False, "")]
    assert triggers.recommendation(calm).startswith("stay monolithic")
    busy = [triggers.Trigger("concurrency", 300, 64, True, ""), triggers.Trigger("code size", 1, 2, False, "")]
    advice = triggers.recommendation(busy)
    assert advice.startswith("distribute: concurrency") and "code size" not in advice


@pytest.mark.req("R-033")
def test_doctor_reports_formats_audit_and_the_distribution_advice(tmp_path: Path, clean_env: dict[str, str]) -> None:
    config = write_config(tmp_path / "g.toml", tmp_path / "state")
    done = subprocess.run(
        [*GATEWAY, "doctor", "--json", "--config", str(config)], capture_output=True, text=True, timeout=120,
        env=clean_env, check=False,
    )  # fmt: skip
    report = json.loads(done.stdout)
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["formats"]["status"] == "ok" and checks["audit"]["status"] == "ok"
    found = {t["name"]: t for t in checks["distribution"]["data"]["triggers"]}
    assert set(found) == {"concurrency", "cpu pressure", "principals", "untrusted tools", "code size"}
    # A fresh gateway fires none of its own triggers; CPU pressure is this host's (PSI over five
    # minutes: a busy CI machine may well be under pressure), and the advice follows what fired.
    fired = [name for name, trigger in found.items() if trigger["fired"]]
    assert set(fired) <= {"cpu pressure"}
    advice = checks["distribution"]["detail"]
    assert advice.startswith("distribute: cpu pressure") if fired else advice.startswith("stay monolithic")
    assert not (tmp_path / "state" / "master.key").exists()  # doctor creates nothing
