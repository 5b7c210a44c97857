"""Bad and tricky input through the DLP service, each with its documented outcome.

- too deep, too many strings, too many characters: the call is refused, naming the limit;
- a base64 blob that decodes to text is scanned as that text and re-encoded when rewritten;
  binary blobs (and image/audio data) pass unscanned;
- zero-width characters, full-width digits and homoglyphs are undone before scanning, in values
  and in object keys alike; the rewrite applies to the original characters;
- personal data split across two JSON strings is not reassembled: each string is scanned on its
  own, as Presidio would see it (joining neighbours would invent findings in every table).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import mcp.types as t
import pytest

from mcp_gateway.dlp.leaves import ScanLimitExceeded
from mcp_gateway.dlp.service import DlpService
from mcp_gateway.pipeline import ToolResult
from mcp_gateway.sdk import Principal
from tests.dlp import support

pytestmark = pytest.mark.anyio
ALICE = Principal("alice", roles=("user",))


@pytest.fixture
def service(tmp_path: Path) -> DlpService:
    return support.runtime(tmp_path, max_depth=8, max_leaves=100, max_chars=5_000).build()


def _nest(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


async def test_limits_refuse_with_the_limit_named(service: DlpService) -> None:
    with pytest.raises(ScanLimitExceeded, match="nested deeper than 8 levels"):
        await service.inbound("fs.write_file", ALICE, {"a": _nest(20)})
    with pytest.raises(ScanLimitExceeded, match="more than 100 strings"):
        await service.inbound("fs.write_file", ALICE, {f"k{i}": "v" for i in range(60)})
    with pytest.raises(ScanLimitExceeded, match="more than 5000 characters"):
        await service.inbound("fs.write_file", ALICE, {"a": "x" * 6_000})
    big = ToolResult(content=[t.TextContent(type="text", text="y" * 6_000)])
    with pytest.raises(ScanLimitExceeded):
        await service.outbound("fs.read_file", ALICE, big)


async def test_text_blobs_are_scanned_and_binary_blobs_pass(service: DlpService) -> None:
    text_blob = base64.b64encode(b"ssn 536-90-4399 on file").decode()
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe 536-90-4399").decode()
    result = ToolResult(
        content=[
            t.EmbeddedResource(
                type="resource",
                resource=t.BlobResourceContents(uri="file:///a.txt", mimeType="text/plain", blob=text_blob),
            ),
            t.EmbeddedResource(
                type="resource", resource=t.BlobResourceContents(uri="file:///a.png", mimeType="image/png", blob=png)
            ),
            t.ImageContent(type="image", data=png, mimeType="image/png"),
        ]
    )
    out, outcome = await service.outbound("fs.read_file", ALICE, result)
    first = out.content[0]
    assert isinstance(first, t.EmbeddedResource) and isinstance(first.resource, t.BlobResourceContents)
    assert base64.b64decode(first.resource.blob) == b"ssn <US_SSN> on file"
    assert first.resource.uri == "file:///a.txt" and first.resource.mime_type == "text/plain"
    assert out.content[1:] == result.content[1:]  # binary: unscanned, unchanged
    assert [(d.finding.entity, d.finding.path) for d in outcome.decided] == [("US_SSN", "content[0].resource.blob")]


async def test_disguises_are_undone_in_values_and_keys(service: DlpService) -> None:
    arguments = {
        "note": "card ４１１１ １１１１ １１１１ １１１１",  # full-width digits
        "bob@ex\u0430mple.com": "a Cyrillic а in the domain of a key",
        "to": "dana\u200b@exa\u200dmple.org",  # zero-width space and joiner
    }
    _, outcome = await service.inbound("fs.write_file", ALICE, arguments)
    found = {(d.finding.entity, d.finding.path) for d in outcome.decided}
    assert ("CREDIT_CARD", "$.note") in found
    assert ("EMAIL_ADDRESS", '$["bob@ex\\u0430mple.com"]#key') in found
    assert ("EMAIL_ADDRESS", "$.to") in found
    result = ToolResult(content=[t.TextContent(type="text", text="mail dana\u200b@exa\u200dmple.org now")])
    out, _ = await service.outbound("fs.read_file", ALICE, result)
    text = out.content[0].text  # type: ignore[union-attr]
    assert text.startswith("mail <EMAIL_ADDRESS_") and text.endswith("> now")  # the disguise went with it


async def test_personal_data_split_across_strings_is_not_reassembled(service: DlpService) -> None:
    _, outcome = await service.inbound(
        "notes.get", ALICE, {"a": "4111 1111", "b": "1111 1111", "c": "dana@", "d": "example.org"}
    )
    assert [d for d in outcome.decided if d.finding.entity in ("CREDIT_CARD", "EMAIL_ADDRESS")] == []
