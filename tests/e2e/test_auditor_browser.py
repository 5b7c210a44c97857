"""The auditor page in a real browser: headless Chromium (Debian's package, driven by Playwright)
against a real gateway serving HTTP on loopback, after real calls from the real mcp client."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import anyio
import pytest
from playwright.async_api import Page, async_playwright

from tests.support import create_token, start_http_gateway, write_config

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        CHROMIUM is None, reason="no chromium binary on PATH (apt-get install chromium; .ci/run installs it)"
    ),
]


async def _spans_written(span_file: Path, name: str) -> None:
    """The span file is written by the gateway's batch processor within a second of a call."""
    with anyio.fail_after(15):
        while not (span_file.exists() and f'"name":"{name}"' in span_file.read_text()):
            await anyio.sleep(0.1)


async def _sign_in(page: Page, token: str) -> None:
    await page.fill("#token", token)
    async with page.expect_navigation():
        await page.click("#sign-in")


async def test_an_auditor_signs_in_filters_calls_and_reads_a_calls_trace(
    tmp_path: Path, state_dir: Path, clean_env: dict[str, str]
) -> None:
    file = write_config(tmp_path / "g.toml", state_dir, '\n[telemetry]\nexporters = ["jsonl"]\n')
    auditor_token = await create_token(file, clean_env, "audrey", "auditor")
    async with start_http_gateway(file, clean_env) as gateway:
        async with gateway.client() as client:
            assert not (await client.call_tool("notes__put", {"key": "k", "text": "mail dana@example.org"})).is_error
            assert not (await client.call_tool("gateway__version", {})).is_error
            assert (await client.call_tool("fs__read_file", {"path": ["not", "a", "string"]})).is_error
        await _spans_written(state_dir / "telemetry" / "spans.jsonl", "tools/call notes.put")

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                context = await browser.new_context()
                page = await context.new_page()
                blocked: list[str] = []
                page.on("console", lambda message: blocked.append(message.text))

                # Not signed in: the sign-in form.
                first = await page.goto(f"{gateway.base_url}/audit/")
                assert first is not None and page.url.endswith("/audit/login")
                headers = await first.all_headers()
                assert (
                    headers["x-frame-options"] == "DENY" and "default-src 'none'" in headers["content-security-policy"]
                )

                # A token without the auditor role is refused and gets no session.
                await _sign_in(page, gateway.token)
                assert "no auditor role" in await page.inner_text("#problem")
                assert await context.cookies() == []

                # The auditor: every call, newest first.
                await _sign_in(page, auditor_token)
                assert page.url.endswith("/audit/")
                tools = await page.locator("#calls td.tool").all_inner_texts()
                assert tools == ["fs.read_file", "gateway.version", "notes.put"]
                (cookie,) = await context.cookies()
                assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/audit"
                assert cookie["value"] != auditor_token

                # Filters: a tool glob, then refused calls only.
                await page.fill("#f-tool", "notes.*")
                async with page.expect_navigation():
                    await page.click("#apply")
                assert await page.locator("#calls td.tool").all_inner_texts() == ["notes.put"]
                await page.fill("#f-tool", "")
                await page.select_option("#f-decision", "deny")
                async with page.expect_navigation():
                    await page.click("#apply")
                assert await page.locator("#calls td.tool").all_inner_texts() == ["fs.read_file"]
                await page.select_option("#f-decision", "")
                await page.fill("#f-tool", "notes.put")
                async with page.expect_navigation():
                    await page.click("#apply")

                # One call: the record, its findings and its trace with each stage's timing.
                async with page.expect_navigation():
                    await page.click("#calls tbody tr a")
                record = await page.inner_text("#record")
                assert "notes.put" in record and "allow" in record and "p, role:user, *, notes.*, call, allow" in record
                findings = await page.inner_text("#findings")
                assert "EMAIL_ADDRESS" in findings and "dana@example.org" not in findings
                spans = await page.locator("#trace tr.span td:first-child").all_inner_texts()
                assert spans[0].strip() == "tools/call notes.put"
                names = {name.strip() for name in spans}
                assert {"stage audit", "stage budget", "stage authz", "stage validate", "stage dlp"} <= names
                assert "stage dispatch" in names
                timings = [float(text) for text in await page.locator("#trace td.span-ms").all_inner_texts()]
                assert timings[0] > 0 and all(0 <= timing <= timings[0] for timing in timings)
                attributes = await page.inner_text("#call-attributes")
                assert "mcp_gateway.decision" in attributes and "mcp_gateway.audit.seq" in attributes
                assert await page.locator("#trace svg rect").count() == len(spans)

                # Signing out ends the session.
                async with page.expect_navigation():
                    await page.click("header button")
                assert page.url.endswith("/audit/login")
                await page.goto(f"{gateway.base_url}/audit/")
                assert page.url.endswith("/audit/login")
                assert not [text for text in blocked if "Content Security Policy" in text], blocked
            finally:
                await browser.close()
    # The auditor's token never reached a log line.
    assert auditor_token not in "".join(gateway.stderr)
    assert json.dumps(auditor_token) not in (state_dir / "telemetry" / "spans.jsonl").read_text()
