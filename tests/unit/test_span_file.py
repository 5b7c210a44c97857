"""The JSONL span exporter: one object per span, a private file, rotation, and reading a trace back."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from mcp_gateway.span_file import JsonlSpanExporter, SpanFileError, read_spans, span_files


def _provider(exporter: JsonlSpanExporter) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "test-gateway"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.mark.req("R-030")
def test_each_finished_span_is_one_json_line_with_its_tree_and_timing(tmp_path: Path) -> None:
    path = tmp_path / "telemetry" / "spans.jsonl"
    exporter = JsonlSpanExporter(path)
    tracer = _provider(exporter).get_tracer("test")
    with tracer.start_as_current_span("tools/call fs.read_file", kind=SpanKind.SERVER) as call:
        call.set_attribute("mcp_gateway.decision", "allow")
        with tracer.start_as_current_span("stage authz") as stage:
            stage.add_event("dlp.finding", {"entity": "EMAIL_ADDRESS", "path": "$.to"})
            stage.set_status(StatusCode.ERROR, "forbidden")
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    child, parent = (json.loads(line) for line in lines)
    assert parent["name"] == "tools/call fs.read_file" and parent["kind"] == "SERVER"
    assert parent["parent_id"] is None and child["parent_id"] == parent["span_id"]
    assert child["trace_id"] == parent["trace_id"] and len(parent["trace_id"]) == 32
    assert parent["attributes"] == {"mcp_gateway.decision": "allow"}
    assert child["status"] == {"code": "ERROR", "description": "forbidden"}
    assert child["events"][0]["name"] == "dlp.finding"
    assert child["events"][0]["attributes"] == {"entity": "EMAIL_ADDRESS", "path": "$.to"}
    assert parent["start"].endswith("Z") and parent["start"] <= child["start"] <= child["end"] <= parent["end"]
    assert parent["duration_ms"] >= child["duration_ms"] >= 0
    assert parent["service"] == "test-gateway"


def test_the_file_is_private_and_appended_to(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "spans.jsonl"
    for _ in range(2):
        exporter = JsonlSpanExporter(path)
        with _provider(exporter).get_tracer("test").start_as_current_span("one"):
            pass
        exporter.shutdown()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    assert len(path.read_text().splitlines()) == 2


def test_a_symlink_in_place_of_the_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("")
    (tmp_path / "spans.jsonl").symlink_to(target)
    with pytest.raises(SpanFileError, match="cannot be opened"):
        JsonlSpanExporter(tmp_path / "spans.jsonl")


def test_rotation_by_size_keeps_the_newest_files(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    exporter = JsonlSpanExporter(path, max_bytes=600, keep=2)
    tracer = _provider(exporter).get_tracer("test")
    for index in range(12):
        with tracer.start_as_current_span(f"span {index}"):
            pass
    files = span_files(path)
    assert [file.name for file in files] == ["spans.jsonl.2", "spans.jsonl.1", "spans.jsonl"]
    names = [json.loads(line)["name"] for file in files for line in file.read_text().splitlines()]
    assert names == sorted(names, key=lambda name: int(name.split()[1]))  # oldest first, in order
    assert names[-1] == "span 11" and "span 0" not in names
    assert all(stat.S_IMODE(file.stat().st_mode) == 0o600 for file in files)


def test_read_spans_returns_one_trace_across_rotated_files(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    exporter = JsonlSpanExporter(path, max_bytes=700, keep=5)
    tracer = _provider(exporter).get_tracer("test")
    with tracer.start_as_current_span("first") as first:
        for index in range(4):
            with tracer.start_as_current_span(f"child {index}"):
                pass
    with tracer.start_as_current_span("other"):
        pass
    trace_id = f"{first.get_span_context().trace_id:032x}"
    with path.open("a") as handle:
        handle.write('{"trace_id":"' + trace_id + '", "torn')  # a line being written
    spans = read_spans(path, trace_id)
    assert len(span_files(path)) > 1
    assert [span["name"] for span in spans] == ["first", "child 0", "child 1", "child 2", "child 3"]
    assert read_spans(path, "0" * 32) == []
