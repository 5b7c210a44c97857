"""Stage spans on the fast path export exactly what the SDK's tracer would (stage_spans.py)."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind

from mcp_gateway.errors import InvalidArguments
from mcp_gateway.pipeline import Next, ToolCall, ToolResult, compose
from mcp_gateway.sdk import Principal
from mcp_gateway.stage_spans import FastStageSpans, SdkStageSpans, StageSpans, span_source
from mcp_gateway.telemetry import TRACER_NAME
from tests.unit.test_pipeline import _entry

pytestmark = pytest.mark.anyio


class CallSpan:
    """Stands for the trace stage: opens the call's own span (through the SDK's tracer)."""

    name = "trace"

    def __init__(self, provider: TracerProvider, sampled: bool = True) -> None:
        self._tracer = provider.get_tracer(TRACER_NAME)
        self._sampled = sampled

    async def __call__(self, call: ToolCall, call_next: Next) -> ToolResult:
        if not self._sampled:
            unsampled = trace.NonRecordingSpan(
                trace.SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=trace.TraceFlags(0))
            )
            with trace.use_span(unsampled):
                return await call_next(call)
        with self._tracer.start_as_current_span("tools/call t.echo", kind=SpanKind.SERVER):
            return await call_next(call)


class Annotating:
    """Annotates its span as the authz and DLP stages do."""

    name = "annotating"

    async def __call__(self, call: ToolCall, call_next: Next) -> ToolResult:
        span = trace.get_current_span()
        span.set_attribute("mcp_gateway.decision", "allow")
        span.set_attribute("mcp_gateway.dlp.ingress.entities", ["EMAIL_ADDRESS", "PHONE_NUMBER"])
        span.set_attributes({"mcp_gateway.count": 2})
        span.add_event("dlp.finding", {"direction": "ingress", "path": "$.arguments.text", "entities": ["A"]})
        return await call_next(call)


class Refusing:
    name = "refusing"

    async def __call__(self, call: ToolCall, call_next: Next) -> ToolResult:
        if call.arguments.get("refuse"):
            raise InvalidArguments("no", stage=self.name)
        return await call_next(call)


class Dispatch:
    """Stands for a cell or a jail run: a span of its own under the current (stage) span."""

    name = "dispatch"

    def __init__(self, provider: TracerProvider) -> None:
        self._tracer = provider.get_tracer("cell")

    async def __call__(self, call: ToolCall, call_next: Next) -> ToolResult:
        with self._tracer.start_as_current_span("cell t.echo"):
            return ToolResult(content=[])


def _provider(sampler: Any = None) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "test"}), sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _shape(spans: tuple[ReadableSpan, ...]) -> list[dict[str, Any]]:
    """Everything but ids and times, with parents named instead of numbered."""
    names = {span.context.span_id: span.name for span in spans if span.context is not None}
    return [
        {
            "name": span.name,
            "parent": names.get(span.parent.span_id) if span.parent is not None else None,
            "same_trace": span.parent is None or span.parent.trace_id == span.context.trace_id,  # type: ignore[union-attr]
            "kind": span.kind,
            "status": (span.status.status_code, span.status.description),
            "attributes": dict(span.attributes or {}),
            "events": [(event.name, dict(event.attributes or {})) for event in span.events],
            # (each provider names its own instance)
            "resource": {k: v for k, v in span.resource.attributes.items() if k != "service.instance.id"},
            "scope": (span.instrumentation_scope.name, span.instrumentation_scope.version)
            if span.instrumentation_scope
            else None,
            "ordered": span.start_time is not None and span.end_time is not None and span.start_time <= span.end_time,
        }
        for span in spans
    ]


async def _run(spans_of: type[StageSpans], sampled: bool = True) -> list[dict[str, Any]]:
    provider, exporter = _provider()
    spans = (
        FastStageSpans(provider, provider._active_span_processor)
        if spans_of is FastStageSpans
        else SdkStageSpans(provider.get_tracer(TRACER_NAME))
    )
    chain = compose([CallSpan(provider, sampled), Annotating(), Refusing()], Dispatch(provider), spans)
    principal = Principal("alice")
    await chain(ToolCall(_entry(), {}, principal, "stdio"))
    with pytest.raises(InvalidArguments):
        await chain(ToolCall(_entry(), {"refuse": True}, principal, "stdio"))
    return _shape(exporter.get_finished_spans())


async def test_the_fast_path_exports_what_the_sdk_would() -> None:
    fast, sdk = await _run(FastStageSpans), await _run(SdkStageSpans)
    assert fast == sdk
    names = [span["name"] for span in fast]
    assert names[:5] == ["cell t.echo", "stage dispatch", "stage refusing", "stage annotating", "tools/call t.echo"]
    refused = next(span for span in fast[5:] if span["name"] == "stage refusing")
    assert refused["status"][1] == "invalid_arguments"
    annotated = next(span for span in fast if span["name"] == "stage annotating")
    assert annotated["attributes"]["mcp_gateway.dlp.ingress.entities"] == ("EMAIL_ADDRESS", "PHONE_NUMBER")
    assert annotated["events"] == [
        ("dlp.finding", {"direction": "ingress", "path": "$.arguments.text", "entities": ("A",)})
    ]


async def test_an_unsampled_call_records_no_stage_span_on_either_path() -> None:
    assert await _run(FastStageSpans, sampled=False) == await _run(SdkStageSpans, sampled=False) == []


def test_the_fast_path_is_taken_only_for_a_parent_based_sdk_provider() -> None:
    assert isinstance(span_source(_provider()[0]), FastStageSpans)  # the SDK's default sampler
    assert isinstance(span_source(_provider(ParentBased(ALWAYS_ON))[0]), FastStageSpans)
    assert isinstance(span_source(_provider(TraceIdRatioBased(0.5))[0]), SdkStageSpans)
    assert isinstance(span_source(trace.NoOpTracerProvider()), SdkStageSpans)
