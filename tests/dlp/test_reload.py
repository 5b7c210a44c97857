"""Live reload of the DLP files: swapped in only when they load and pass their own tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio
import mcp.types as t
import pytest

from mcp_gateway.config import load_config
from mcp_gateway.dlp.config import DEFAULT_DLP_DIR, DlpConfig
from mcp_gateway.dlp.runtime import DlpRuntime
from mcp_gateway.pipeline import ToolResult
from mcp_gateway.sdk import Principal
from mcp_gateway.testing import gateway_client
from tests.support import write_config, write_policy

pytestmark = pytest.mark.anyio
ALICE = Principal("alice", roles=("user",))
MAIL = ToolResult(content=[t.TextContent(type="text", text="mail dana.smith@example.org")])


def _copy_dlp(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("dlp.yaml", "presidio.yaml", "dlp_tests.yaml"):
        shutil.copyfile(DEFAULT_DLP_DIR / name, directory / name)
    return directory


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


async def _mail(runtime: DlpRuntime) -> str:
    out, _ = await (await runtime.service()).outbound("fs.read_file", ALICE, MAIL)
    return out.content[0].text  # type: ignore[union-attr]


@pytest.fixture
async def runtime(tmp_path: Path) -> DlpRuntime:
    directory = _copy_dlp(tmp_path / "policies")
    runtime = DlpRuntime(DlpConfig(), policy_dir=directory, state_dir=tmp_path)
    await runtime.load()
    return runtime


@pytest.mark.req("R-016")
async def test_a_change_that_passes_its_tests_goes_live(runtime: DlpRuntime) -> None:
    assert runtime.watchable
    assert runtime.reload() is None  # nothing changed
    placeholder = (await _mail(runtime)).removeprefix("mail ")
    assert placeholder.startswith("<EMAIL_ADDRESS_")
    directory = runtime.policy_path.parent
    _edit(directory / "dlp.yaml", "EMAIL_ADDRESS: {egress: pseudonymize}", "EMAIL_ADDRESS: {egress: redact}")
    _edit(
        directory / "dlp_tests.yaml",
        "{EMAIL_ADDRESS: pseudonymize, PHONE_NUMBER: mask}",
        "{EMAIL_ADDRESS: redact, PHONE_NUMBER: mask}",
    )
    event = runtime.reload()
    assert event is not None and event.kind == "reloaded" and event.digest == runtime.status()["digest"]
    assert await _mail(runtime) == "mail <EMAIL_ADDRESS>"
    # Pseudonyms handed out before the reload still come back as the original.
    restored, _ = await (await runtime.service()).inbound("fs.write_file", ALICE, {"content": placeholder})
    assert restored == {"content": "dana.smith@example.org"}


async def test_a_change_that_fails_its_tests_or_does_not_load_is_refused(runtime: DlpRuntime) -> None:
    directory = runtime.policy_path.parent
    before = runtime.status()["digest"]
    _edit(directory / "dlp.yaml", "EMAIL_ADDRESS: {egress: pseudonymize}", "EMAIL_ADDRESS: {egress: allow}")
    event = runtime.reload()
    assert event is not None and event.kind == "rejected" and "DLP test(s) failed" in event.reason
    assert "case 0 (egress fs.read_file)" in event.reason
    assert runtime.reload() is None  # the same refused files: no second event
    assert (await _mail(runtime)).startswith("mail <EMAIL_ADDRESS_")  # the last good policy holds
    (directory / "dlp.yaml").write_text("entities: [\n")
    event = runtime.reload()
    assert event is not None and event.kind == "rejected" and "not valid YAML" in event.reason
    status = runtime.status()
    assert status["digest"] == before and status["last_error"] == event.reason and status["last_error_at"]
    shutil.copyfile(DEFAULT_DLP_DIR / "dlp.yaml", directory / "dlp.yaml")  # put it back
    assert runtime.reload() is None and runtime.status()["last_error"] is None


async def test_a_recognizer_change_rebuilds_the_engine(runtime: DlpRuntime) -> None:
    directory = runtime.policy_path.parent
    engine = runtime.engine
    _edit(directory / "presidio.yaml", "  - name: EmailRecognizer\n    type: predefined\n", "")
    _edit(directory / "dlp_tests.yaml", "{EMAIL_ADDRESS: pseudonymize, PHONE_NUMBER: mask}", "{PHONE_NUMBER: mask}")
    _edit(directory / "dlp_tests.yaml", "  expect: {EMAIL_ADDRESS: allow}", "  expect: {}")
    event = runtime.reload()
    assert event is not None and event.kind == "reloaded", event
    assert runtime.engine is not engine
    assert "EMAIL_ADDRESS" in runtime.status()["inactive"]
    assert await _mail(runtime) == "mail dana.smith@example.org"


async def test_the_running_gateway_follows_its_files(tmp_path: Path, state_dir: Path) -> None:
    directory = _copy_dlp(write_policy(tmp_path / "policies"))
    (state_dir / "workspace").mkdir()
    (state_dir / "workspace" / "m.txt").write_text("mail dana.smith@example.org")
    config = load_config(write_config(tmp_path / "g.toml", state_dir, f'\n[authz]\npolicy_dir = "{directory}"\n'), {})
    async with gateway_client(config) as (gateway, client):
        first = await client.call_tool("fs__read_file", {"path": "m.txt"})
        assert "<EMAIL_ADDRESS_" in first.structured_content["content"]  # type: ignore[index]
        _edit(directory / "dlp.yaml", "EMAIL_ADDRESS: {egress: pseudonymize}", "EMAIL_ADDRESS: {egress: redact}")
        _edit(
            directory / "dlp_tests.yaml",
            "{EMAIL_ADDRESS: pseudonymize, PHONE_NUMBER: mask}",
            "{EMAIL_ADDRESS: redact, PHONE_NUMBER: mask}",
        )
        assert gateway.dlp is not None
        with anyio.fail_after(20):  # the watcher debounces, then reloads on a worker thread
            while gateway.dlp.policy.document.entities["EMAIL_ADDRESS"].egress != "redact":
                await anyio.sleep(0.05)
        second = await client.call_tool("fs__read_file", {"path": "m.txt"})
        assert second.structured_content["content"] == "mail <EMAIL_ADDRESS>"  # type: ignore[index]


async def test_a_gateway_whose_dlp_tests_fail_refuses_calls_and_says_why(tmp_path: Path, state_dir: Path) -> None:
    directory = _copy_dlp(write_policy(tmp_path / "policies"))
    _edit(directory / "dlp.yaml", "EMAIL_ADDRESS: {egress: pseudonymize}", "EMAIL_ADDRESS: {egress: allow}")
    config = load_config(write_config(tmp_path / "g.toml", state_dir, f'\n[authz]\npolicy_dir = "{directory}"\n'), {})
    async with gateway_client(config) as (gateway, client):
        refused = await client.call_tool("gateway__version", {})
        assert refused.is_error
        assert "data-loss-prevention engine is unavailable" in refused.content[0].text  # type: ignore[union-attr]
        assert "(it failed to load)" in refused.content[0].text  # type: ignore[union-attr]
        assert "expected" not in refused.content[0].text  # type: ignore[union-attr]  # the why is for the operator
        assert gateway.dlp is not None and "DLP test(s) failed" in gateway.dlp.status()["last_error"]
    recorded = (state_dir / "status" / "dlp.json").read_text()
    assert "DLP test(s) failed" in recorded
