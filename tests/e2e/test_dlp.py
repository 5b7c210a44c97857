"""DLP through the whole gateway: what a client sees, what a cell receives, what a span keeps.

Files with personal data and secrets are put in the fs cell's workspace and read back through
the gateway; arguments with data the policy blocks are refused before the cell sees them.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_gateway.config import load_config
from mcp_gateway.testing import gateway_client
from tests.support import stdio_params, write_config, write_policy

pytestmark = pytest.mark.anyio

PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    + "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7" * 2
    + "\n-----END PRIVATE KEY-----\n"
)
DOSSIER = (
    "Customer: Dana Smith\nEmail: dana.smith@example.org\nPhone: (415) 555-2671\n"
    "SSN: 536-90-4399\nNote: call back after 2024-11-25.\nAWS key AKIAIOSFODNN7EXAMPLE was rotated.\n"
)


def _workspace(state_dir: Path) -> Path:
    path = state_dir / "workspace"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _text(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


@pytest.mark.req("R-013")
async def test_results_are_rewritten_per_entity_over_stdio(
    config_file: Path, clean_env: dict[str, str], state_dir: Path
) -> None:
    (_workspace(state_dir) / "dossier.txt").write_text(DOSSIER)
    async with Client(stdio_params(config_file, clean_env), read_timeout_seconds=30) as client:
        read = await client.call_tool("fs__read_file", {"path": "dossier.txt"})
    assert not read.is_error, read.content
    content = read.structured_content["content"]  # type: ignore[index]
    assert "dana.smith@example.org" not in content and "<EMAIL_ADDRESS_" in content  # pseudonymised
    assert "(415) 555-2671" not in content and "2671" in content  # masked: the last four stay
    assert "536-90-4399" not in content and "<US_SSN>" in content  # redacted
    assert "AKIAIOSFODNN7EXAMPLE" not in content and "<AWS_ACCESS_KEY>" in content
    assert "2024-11-25" in content and "Dana Smith" in content  # no NER model: names are not looked for
    # The text block carries the same rewriting as structuredContent.
    assert "dana.smith@example.org" not in _text(read) and "536-90-4399" not in _text(read)


async def test_a_pseudonym_sent_back_reaches_the_cell_as_the_original(
    config_file: Path, clean_env: dict[str, str], state_dir: Path
) -> None:
    workspace = _workspace(state_dir)
    (workspace / "contact.txt").write_text("Write to dana.smith@example.org please.")
    async with Client(stdio_params(config_file, clean_env), read_timeout_seconds=30) as client:
        read = await client.call_tool("fs__read_file", {"path": "contact.txt"})
        content = read.structured_content["content"]  # type: ignore[index]
        placeholder = content.split("Write to ")[1].split(" please")[0]
        assert placeholder.startswith("<EMAIL_ADDRESS_")
        written = await client.call_tool("fs__write_file", {"path": "reply.txt", "content": f"To: {placeholder}"})
        assert not written.is_error, written.content
        # Read back through the gateway: the same principal sees the same placeholder.
        again = await client.call_tool("fs__read_file", {"path": "reply.txt"})
        assert again.structured_content["content"] == f"To: {placeholder}"  # type: ignore[index]
    assert (workspace / "reply.txt").read_text() == "To: dana.smith@example.org"


async def test_blocked_arguments_never_reach_the_cell(tmp_path: Path, state_dir: Path) -> None:
    config = load_config(write_config(tmp_path / "g.toml", state_dir), {})
    async with gateway_client(config) as (_, client):
        refused = await client.call_tool("notes__put", {"key": "card", "text": "my card is 4111 1111 1111 1111"})
        assert refused.is_error
        assert (
            _text(refused) == "Refused: the arguments contain CREDIT_CARD at $.text, which notes.put may not receive."
        )
        missing = await client.call_tool("notes__get", {"key": "card"})
        assert missing.is_error  # never stored
        # The same card may go to a tool the policy does not guard (and comes back masked).
        written = await client.call_tool("fs__write_file", {"path": "c.txt", "content": "4111 1111 1111 1111"})
        assert not written.is_error
        read = await client.call_tool("fs__read_file", {"path": "c.txt"})
        assert read.structured_content["content"] == "*" * 15 + "1111"  # type: ignore[index]


async def test_a_result_with_a_private_key_is_withheld(tmp_path: Path, state_dir: Path) -> None:
    (_workspace(state_dir) / "id.pem").write_text(PEM)
    config = load_config(write_config(tmp_path / "g.toml", state_dir), {})
    async with gateway_client(config) as (_, client):
        read = await client.call_tool("fs__read_file", {"path": "id.pem"})
    assert read.is_error and read.structured_content is None
    withheld = "The result of fs.read_file was withheld: it contained PRIVATE_KEY at content[0].text"
    assert _text(read) == withheld + ", PRIVATE_KEY at structuredContent.content."
    assert "MIIEvQ" not in _text(read)


@pytest.mark.req("R-015")
async def test_the_gateways_own_secrets_never_leave_in_any_encoding(
    tmp_path: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "upstream-Token-9f8e7d6c5b4a"
    monkeypatch.setenv("UPSTREAM_TOKEN", secret)
    encoded = base64.b64encode(secret.encode()).decode()
    (_workspace(state_dir) / "leak.txt").write_text(f"plain {secret}\nb64 {encoded}\nhex {secret.encode().hex()}\n")
    extra = '\n[dlp]\nknown_secret_env = ["UPSTREAM_TOKEN"]\n'
    config = load_config(write_config(tmp_path / "g.toml", state_dir, extra), {})
    async with gateway_client(config) as (_, client):
        read = await client.call_tool("fs__read_file", {"path": "leak.txt"})
    content = read.structured_content["content"]  # type: ignore[index]
    assert content == "plain <GATEWAY_SECRET>\nb64 <GATEWAY_SECRET>\nhex <GATEWAY_SECRET>\n"


async def test_disguised_data_is_still_found(tmp_path: Path, state_dir: Path) -> None:
    # A zero-width space inside the address, full-width digits in the number.
    (_workspace(state_dir) / "d.txt").write_text("mail dana\u200b@example.org, tel ４１５－５５５－２６７１")
    config = load_config(write_config(tmp_path / "g.toml", state_dir), {})
    async with gateway_client(config) as (_, client):
        read = await client.call_tool("fs__read_file", {"path": "d.txt"})
    content = read.structured_content["content"]  # type: ignore[index]
    assert "example.org" not in content and "<EMAIL_ADDRESS_" in content
    assert "４１５－５５５" not in content and content.endswith("２６７１")


RELAY = '\n[[cells]]\nmodule = "tests.relay_cell:RelayCell"\n'


async def test_payloads_past_the_scan_limits_are_refused_clearly(tmp_path: Path, state_dir: Path) -> None:
    policy = write_policy(tmp_path / "policy", "p, cell:relay, *, *, call, allow")
    extra = f'\n[authz]\npolicy_dir = "{policy}"\n{RELAY}\n[dlp]\nmax_depth = 8\nmax_leaves = 50\n'
    config = load_config(write_config(tmp_path / "g.toml", state_dir, extra), {})
    deep: Any = "x"
    for _ in range(20):
        deep = {"d": deep}
    async with gateway_client(config) as (_, client):
        refused = await client.call_tool("relay__call", {"tool": "gateway.version", "arguments": deep})
        assert refused.is_error and "nested deeper than 8 levels" in _text(refused)
        wide = {f"k{i}": "v" for i in range(60)}
        refused = await client.call_tool("relay__call", {"tool": "gateway.version", "arguments": wide})
        assert refused.is_error and "more than 50 strings" in _text(refused)
        fine = await client.call_tool("relay__call", {"tool": "gateway.version", "arguments": {}})
        assert not fine.is_error


async def test_findings_go_to_the_span_without_values(tmp_path: Path, state_dir: Path) -> None:
    (_workspace(state_dir) / "dossier.txt").write_text(DOSSIER)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    config = load_config(write_config(tmp_path / "g.toml", state_dir), {})
    async with gateway_client(config, tracer_provider=provider) as (_, client):
        await client.call_tool("fs__read_file", {"path": "dossier.txt"})
    stage = next(span for span in exporter.get_finished_spans() if span.name == "stage dlp")
    attributes = dict(stage.attributes or {})
    assert attributes["mcp_gateway.dlp.ingress.findings"] == 0
    assert set(attributes["mcp_gateway.dlp.egress.entities"]) >= {"EMAIL_ADDRESS", "PHONE_NUMBER", "US_SSN"}  # type: ignore[arg-type]
    events = [dict(event.attributes or {}) for event in stage.events if event.name == "dlp.finding"]
    assert {
        "direction": "egress",
        "entity": "US_SSN",
        "path": "structuredContent.content",
        "score": 0.5,
        "action": "redact",
    } in events
    dumped = json.dumps([attributes, events], default=str)
    for value in ("dana.smith@example.org", "536-90-4399", "AKIAIOSFODNN7EXAMPLE", "555-2671"):
        assert value not in dumped
