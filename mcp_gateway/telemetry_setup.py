"""Builds what `[telemetry]` asks for: a tracer provider with its span exporters, a meter provider
with its readers, and the gateway's `Metrics` on it.

Off is the default and costs nothing: no provider, no trace stage, `NoMetrics`. Exporters that
pull in protobuf and requests (OTLP) are imported only when configured. Spans leave through
batch processors, so exporting runs on their worker threads and never on the event loop.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from prometheus_client import CollectorRegistry

from mcp_gateway import __version__
from mcp_gateway.config import TelemetryConfig
from mcp_gateway.metrics import NO_METRICS, Metrics, OtelMetrics
from mcp_gateway.span_file import JsonlSpanExporter

logger = logging.getLogger(__name__)
# Auditors open a call's trace right after the call: the file gets its spans within a second.
SPAN_FILE_DELAY_MS: Final = 1000


def resource_of(config: TelemetryConfig) -> Resource:
    return Resource.create({"service.name": config.service_name, "service.version": __version__})


def build_tracer_provider(config: TelemetryConfig, state_dir: Path) -> TracerProvider | None:
    """The provider for the configured span exporters, or None when there are none (no cost).
    Raises `SpanFileError` when the span file cannot be opened."""
    names = config.span_exporters
    if not names:
        return None
    provider = TracerProvider(resource=resource_of(config))
    for name in names:
        delay = SPAN_FILE_DELAY_MS if name == "jsonl" else None
        provider.add_span_processor(
            BatchSpanProcessor(_span_exporter(name, config, state_dir), schedule_delay_millis=delay)
        )
    return provider


def _span_exporter(name: str, config: TelemetryConfig, state_dir: Path) -> SpanExporter:
    if name == "console":
        # stderr, never stdout: on stdio, stdout is the protocol's wire.
        return ConsoleSpanExporter(out=sys.stderr)
    if name == "jsonl":
        return JsonlSpanExporter(
            config.span_file(state_dir), max_bytes=config.jsonl_max_mb << 20, keep=config.jsonl_keep
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=config.otlp_endpoint) if config.otlp_endpoint else OTLPSpanExporter()


def _metrics_endpoint(config: TelemetryConfig) -> str | None:
    if config.otlp_metrics_endpoint:
        return config.otlp_metrics_endpoint
    traces = config.otlp_endpoint
    if traces and traces.rstrip("/").endswith("/v1/traces"):
        return traces.rstrip("/")[: -len("traces")] + "metrics"
    return None


@dataclass
class Telemetry:
    """The providers in force; `shutdown()` flushes what is buffered (spans, metrics)."""

    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    prometheus: CollectorRegistry | None = None
    """The registry `/metrics` serves; None when metrics are off or HTTP is not served."""
    metrics: Metrics = field(default=NO_METRICS)

    @classmethod
    def from_config(cls, config: TelemetryConfig, state_dir: Path, *, serving_http: bool) -> Telemetry:
        tracer_provider = build_tracer_provider(config, state_dir)
        if not config.metrics_on(serving_http):
            return cls(tracer_provider)
        readers: list[MetricReader] = []
        registry = None
        if serving_http:
            registry = CollectorRegistry(auto_describe=True)
            readers.append(PrometheusMetricReader(registry=registry))
        if "otlp" in config.span_exporters:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

            endpoint = _metrics_endpoint(config)
            exporter = OTLPMetricExporter(endpoint=endpoint) if endpoint else OTLPMetricExporter()
            readers.append(PeriodicExportingMetricReader(exporter))
        if not readers:
            logger.warning("[telemetry] metrics are on but nothing reads them: serve HTTP (/metrics) or add otlp")
            return cls(tracer_provider)
        meter_provider = MeterProvider(metric_readers=readers, resource=resource_of(config))
        return cls(tracer_provider, meter_provider, registry, OtelMetrics(meter_provider))

    def shutdown(self) -> None:
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()
        if self.meter_provider is not None:
            self.meter_provider.shutdown()
