"""The gateway's instruments: names, units and labels as the MCP conventions and our docs say."""

from __future__ import annotations

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint

from mcp_gateway.metrics import NO_METRICS, OtelMetrics
from tests.telemetry_support import points


def units(reader: InMemoryMetricReader) -> dict[str, str]:
    data = reader.get_metrics_data()
    assert data is not None
    return {m.name: m.unit or "" for r in data.resource_metrics for s in r.scope_metrics for m in s.metrics}


def test_every_instrument_records_with_bounded_labels() -> None:
    reader = InMemoryMetricReader()
    metrics = OtelMetrics(MeterProvider(metric_readers=[reader]))
    metrics.operation("tools/call", 0.0012, transport="tcp", tool="fs.read_file")
    metrics.operation("tools/call", 0.003, transport="tcp", tool="fs.read_file", error_type="forbidden")
    metrics.call("fs.read_file", "http", "ok")
    metrics.call("fs.read_file", "http", "refused")
    metrics.refusal("fs.read_file", "forbidden", "authz")
    metrics.dlp_findings("egress", [{"entity": "EMAIL_ADDRESS", "path": "$.x", "score": 1.0, "action": "pseudonymize"}])
    metrics.jail_run("exec.python", None)
    metrics.jail_run("exec.python", "timeout")
    metrics.audit_write(0.0002)
    found = points(reader)

    durations = {frozenset((p.attributes or {}).items()): p for p in found["mcp.server.operation.duration"]}
    labels = {"mcp.method.name": "tools/call", "network.transport": "tcp", "gen_ai.tool.name": "fs.read_file"}
    ok = durations[frozenset(labels.items())]
    assert isinstance(ok, HistogramDataPoint) and ok.count == 1 and abs(ok.sum - 0.0012) < 1e-9
    assert ok.explicit_bounds[0] == 0.0005  # finer than the conventions' 10 ms first bucket
    assert any((p.attributes or {}).get("error.type") == "forbidden" for p in durations.values())

    calls = {(p.attributes or {})["mcp_gateway.outcome"]: p.value for p in found["mcp_gateway.calls"]}
    assert calls == {"ok": 1, "refused": 1}
    (refusal,) = found["mcp_gateway.refusals"]
    assert isinstance(refusal, NumberDataPoint)
    assert dict(refusal.attributes or {}) == {
        "gen_ai.tool.name": "fs.read_file",
        "error.type": "forbidden",
        "mcp_gateway.stage": "authz",
    }
    (finding,) = found["mcp_gateway.dlp.findings"]
    assert dict(finding.attributes or {}) == {
        "mcp_gateway.dlp.direction": "egress",
        "mcp_gateway.dlp.entity": "EMAIL_ADDRESS",
        "mcp_gateway.dlp.action": "pseudonymize",
    }
    (runs,) = found["mcp_gateway.jail.runs"]
    assert runs.value == 2
    (failures,) = found["mcp_gateway.jail.failures"]
    assert failures.value == 1 and dict(failures.attributes or {})["error.type"] == "timeout"
    (audit,) = found["mcp_gateway.audit.write.duration"]
    assert audit.count == 1
    assert units(reader)["mcp.server.operation.duration"] == "s"
    assert units(reader)["mcp_gateway.audit.write.duration"] == "s"


def test_no_metrics_accepts_everything_and_records_nothing() -> None:
    NO_METRICS.operation("tools/list", 0.1, transport="pipe")
    NO_METRICS.call("a.b", "stdio", "ok")
    NO_METRICS.refusal("a.b", "forbidden", "authz")
    NO_METRICS.dlp_findings("ingress", [{"entity": "X"}])
    NO_METRICS.jail_run("a.b", "exit")
    NO_METRICS.audit_write(0.1)
