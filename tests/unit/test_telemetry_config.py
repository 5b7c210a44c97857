"""`[telemetry]`: several exporters, the older single key, metrics on by transport, and what gets built."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_gateway.config import TelemetryConfig, load_config
from mcp_gateway.errors import ConfigError
from mcp_gateway.metrics import NO_METRICS, OtelMetrics
from mcp_gateway.telemetry_setup import Telemetry


def _load(tmp_path: Path, text: str) -> TelemetryConfig:
    file = tmp_path / "gateway.toml"
    file.write_text(text)
    return load_config(file, {}).telemetry


def test_the_older_key_still_works_and_the_list_takes_several(tmp_path: Path) -> None:
    assert _load(tmp_path, "").span_exporters == []
    assert _load(tmp_path, '[telemetry]\nexporter = "otlp"\n').span_exporters == ["otlp"]
    listed = _load(tmp_path, '[telemetry]\nexporters = ["jsonl", "console", "jsonl"]\n')
    assert listed.span_exporters == ["jsonl", "console"]


def test_both_keys_at_once_or_an_unknown_exporter_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="either"):
        _load(tmp_path, '[telemetry]\nexporter = "otlp"\nexporters = ["jsonl"]\n')
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, '[telemetry]\nexporters = ["zipkin"]\n')
    assert caught.value.key.startswith("telemetry.exporters")


def test_the_environment_can_list_exporters(tmp_path: Path) -> None:
    config = load_config(environ={"XDG_CONFIG_HOME": str(tmp_path), "MCP_GATEWAY_TELEMETRY__EXPORTERS": '["jsonl"]'})
    assert config.telemetry.span_exporters == ["jsonl"]
    assert config.telemetry.span_file(Path("/s")) == Path("/s/telemetry/spans.jsonl")


def test_metrics_default_to_the_http_transport() -> None:
    assert TelemetryConfig().metrics_on(serving_http=True)
    assert not TelemetryConfig().metrics_on(serving_http=False)
    assert not TelemetryConfig(metrics=False).metrics_on(serving_http=True)


def test_off_builds_nothing(tmp_path: Path) -> None:
    telemetry = Telemetry.from_config(TelemetryConfig(), tmp_path, serving_http=False)
    assert telemetry.tracer_provider is None and telemetry.meter_provider is None
    assert telemetry.metrics is NO_METRICS and telemetry.prometheus is None


def test_http_with_a_span_file_builds_both(tmp_path: Path) -> None:
    config = TelemetryConfig(exporters=["jsonl"])
    telemetry = Telemetry.from_config(config, tmp_path, serving_http=True)
    try:
        assert telemetry.tracer_provider is not None and telemetry.prometheus is not None
        assert isinstance(telemetry.metrics, OtelMetrics)
        assert (tmp_path / "telemetry" / "spans.jsonl").exists()
    finally:
        telemetry.shutdown()
