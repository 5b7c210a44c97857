"""A real gateway over loopback HTTP with metrics and the span file on: the real mcp client makes
calls, then `/metrics` is scraped and parsed, and the span file is read as an auditor would."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from mcp.shared.exceptions import MCPError
from prometheus_client.parser import text_string_to_metric_families

from mcp_gateway.audit.query import Filter, records
from tests.support import start_http_gateway, write_config, write_policy

pytestmark = pytest.mark.anyio

CANARY = "canary-value-5f1d3c9e"
RELAY = '\n[[cells]]\nmodule = "tests.relay_cell:RelayCell"\n'


def _config(tmp_path: Path, state_dir: Path) -> Path:
    policy = write_policy(
        tmp_path / "policy", "p, role:user, *, relay.*, call, allow", "p, cell:relay, *, *, call, allow"
    )
    extra = f'{RELAY}\n[authz]\npolicy_dir = "{policy}"\n\n[telemetry]\nexporters = ["jsonl"]\n'
    return write_config(tmp_path / "g.toml", state_dir, extra)


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Sample name -> (labels, value) for every sample in a Prometheus text exposition."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return found


def _value(samples: list[tuple[dict[str, str], float]], **labels: str) -> float:
    return sum(value for found, value in samples if all(found.get(key) == want for key, want in labels.items()))


@pytest.mark.req("R-030")
async def test_metrics_and_the_span_file_over_real_http(
    tmp_path: Path, state_dir: Path, clean_env: dict[str, str]
) -> None:
    file = _config(tmp_path, state_dir)
    async with start_http_gateway(file, clean_env) as gateway:
        async with gateway.client() as client:
            put = await client.call_tool("notes__put", {"key": "k", "text": f"mail dana.smith@example.org {CANARY}"})
            assert not put.is_error, put.content
            assert not (await client.call_tool("gateway__version", {})).is_error
            assert (await client.call_tool("fs__read_file", {"path": "no-such-file.txt"})).is_error
            assert (await client.call_tool("fs__read_file", {"path": ["not", "a", "string"]})).is_error
            # An email as an object key, passed on by a cell to a tool that refuses the extra key.
            keyed = {"tool": "gateway.version", "arguments": {"dana.smith@example.org": CANARY}}
            assert not (await client.call_tool("relay__call", keyed)).is_error
            with pytest.raises(MCPError):
                await client.call_tool("fs__probed_name", {})  # traced as asked for, never a metric label
        async with httpx.AsyncClient() as http:
            scraped = await http.get(f"{gateway.base_url}/metrics")
            rebound = await http.get(f"{gateway.base_url}/metrics", headers={"Host": "evil.example"})
    assert scraped.status_code == 200, scraped.text
    assert rebound.status_code == 421
    assert scraped.headers["content-type"].startswith("text/plain")
    samples = _samples(scraped.text)

    duration = samples["mcp_server_operation_duration_seconds_count"]
    assert _value(duration, mcp_method_name="tools/call", gen_ai_tool_name="notes.put") == 1
    assert _value(duration, mcp_method_name="tools/call", error_type="invalid_arguments") == 1
    assert _value(duration, mcp_method_name="tools/call", error_type="tool_error") == 1
    assert _value(duration, mcp_method_name="tools/list") >= 1  # the client lists before calling
    assert _value(duration, mcp_method_name="tools/call", error_type="-32602") == 1
    assert not any("probed_name" in json.dumps(labels) for labels, _ in duration)
    buckets = samples["mcp_server_operation_duration_seconds_bucket"]
    assert _value(buckets, gen_ai_tool_name="notes.put", le="+Inf") == 1
    total = samples["mcp_server_operation_duration_seconds_sum"]
    assert 0 < _value(total, gen_ai_tool_name="notes.put") < 10

    calls = samples["mcp_gateway_calls_total"]
    assert _value(calls, gen_ai_tool_name="gateway.version", mcp_gateway_outcome="ok", network_transport="http") == 1
    assert _value(calls, gen_ai_tool_name="gateway.version", network_transport="cell") == 1  # the relayed one
    assert _value(calls, mcp_gateway_outcome="tool_error") == 1
    refusals = samples["mcp_gateway_refusals_total"]
    assert _value(refusals, error_type="invalid_arguments", mcp_gateway_stage="validate") == 2
    findings = samples["mcp_gateway_dlp_findings_total"]
    assert _value(findings, mcp_gateway_dlp_entity="EMAIL_ADDRESS", mcp_gateway_dlp_direction="ingress") >= 2
    audit = samples["mcp_gateway_audit_write_duration_seconds_count"]
    assert _value(audit) == 6  # every pipeline call (the relayed one too; not the unknown tool)

    # The span file, flushed when the gateway stopped.
    span_file = state_dir / "telemetry" / "spans.jsonl"
    assert stat.S_IMODE(span_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(span_file.parent.stat().st_mode) == 0o700
    text = span_file.read_text()
    for value in (CANARY, "dana.smith@example.org", "dana.smith", "Traceback"):
        assert value not in text, value
    spans = [json.loads(line) for line in text.splitlines()]
    by_id = {span["span_id"]: span for span in spans}
    put_span = next(span for span in spans if span["name"] == "tools/call notes.put")
    attributes: dict[str, Any] = put_span["attributes"]
    assert put_span["kind"] == "SERVER" and attributes["mcp_gateway.decision"] == "allow"
    assert attributes["mcp_gateway.dlp.ingress.findings"] == 1
    assert attributes["mcp_gateway.rule"] == "p, role:user, *, notes.*, call, allow"
    stages = {span["name"] for span in spans if span["trace_id"] == put_span["trace_id"]}
    assert {"stage audit", "stage budget", "stage authz", "stage validate", "stage dlp", "stage dispatch"} <= stages
    dispatch = next(s for s in spans if s["name"] == "stage dispatch" and s["trace_id"] == put_span["trace_id"])
    assert by_id[dispatch["parent_id"]]["name"] == "stage dlp"
    # The audit record and the call's span point at each other.
    (record,) = records(state_dir / "audit", Filter(event="tool_call", tool="notes.put"))
    assert record["trace_id"] == put_span["trace_id"] and record["seq"] == attributes["mcp_gateway.audit.seq"]
    # The email used as a key is found, and its path on the span is elided.
    relay = next(span for span in spans if span["name"] == "tools/call relay.call")
    dlp = next(s for s in spans if s["name"] == "stage dlp" and s["trace_id"] == relay["trace_id"])
    paths = [event["attributes"]["path"] for event in dlp["events"] if event["name"] == "dlp.finding"]
    assert "$.arguments[…]#key" in paths
    invalid = [span for span in spans if span["attributes"].get("error.type") == "invalid_arguments"]
    assert invalid and all(span["status"]["description"] == "invalid_arguments" for span in invalid)
