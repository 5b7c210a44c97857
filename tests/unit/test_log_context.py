"""Log lines name the trace and span they were written in, as text and as JSON."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from mcp_gateway.log_context import TEXT_FORMAT, JsonFormatter, TraceContextFilter


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, logging.Handler, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(TraceContextFilter())
    logger = logging.getLogger("tests.log_context")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, handler, stream
    logger.removeHandler(handler)


def test_text_lines_carry_the_current_trace(captured: tuple[logging.Logger, logging.Handler, io.StringIO]) -> None:
    logger, handler, stream = captured
    handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    tracer = TracerProvider().get_tracer("test")
    logger.info("outside")
    with tracer.start_as_current_span("call") as span:
        logger.warning("inside")
    context = span.get_span_context()
    outside, inside = stream.getvalue().splitlines()
    assert "trace_id" not in outside and outside.endswith("tests.log_context: outside")
    assert f"[trace_id={context.trace_id:032x} span_id={context.span_id:016x}]: inside" in inside


def test_json_lines_are_objects_with_trace_ids(captured: tuple[logging.Logger, logging.Handler, io.StringIO]) -> None:
    logger, handler, stream = captured
    handler.setFormatter(JsonFormatter())
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("call") as span:
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed %s", "here")
    logger.info("plain")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "failed here" and first["level"] == "ERROR" and first["logger"] == "tests.log_context"
    assert first["trace_id"] == f"{span.get_span_context().trace_id:032x}" and len(first["span_id"]) == 16
    assert "ValueError: boom" in first["exception"]
    assert second["message"] == "plain" and "trace_id" not in second
