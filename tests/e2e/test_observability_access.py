"""Who may read `/metrics` and `/audit`: the HTTP app in-process, with the real token verifier,
the real metrics endpoint and the real auditor view, and callers from here and from elsewhere."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2 as httpx
import pytest
from mcp.server import Server
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import CollectorRegistry

from mcp_gateway.audit.config import AuditConfig
from mcp_gateway.audit.keys import AuditKeys
from mcp_gateway.audit.log import AuditLog
from mcp_gateway.audit.query import Filter, records
from mcp_gateway.auditor.config import AuditorConfig
from mcp_gateway.auditor.routes import AccessLog, AuditorView, may_view_by_roles
from mcp_gateway.config import HttpConfig
from mcp_gateway.identity.tokens import TokenStore
from mcp_gateway.identity.verifier import GatewayTokenVerifier, principal_from_user
from mcp_gateway.metrics import OtelMetrics
from mcp_gateway.metrics_endpoint import metrics_app
from mcp_gateway.sdk import Principal
from mcp_gateway.transports.http import build_http_app

pytestmark = pytest.mark.anyio

LOOPBACK = ("127.0.0.1", 40000)
ELSEWHERE = ("203.0.113.7", 40000)
RECORDS = [
    {"seq": 1, "event": "tool_call", "time": "2026-12-01T10:00:00+00:00", "principal": "alice", "tool": "fs.read_file",
     "decision": "allow", "outcome": "ok", "trace_id": None},
    {"seq": 2, "event": "tool_call", "time": "2026-12-01T11:00:00+00:00", "principal": "bob", "tool": "notes.put",
     "decision": "deny", "outcome": "forbidden", "trace_id": None},
]  # fmt: skip


@dataclass
class Site:
    app: Any
    tokens: dict[str, str]
    store: TokenStore

    @asynccontextmanager
    async def client(self, address: tuple[str, int] = LOOPBACK) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=self.app, client=address)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as client:
            yield client

    def bearer(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def _read(where: Filter) -> Iterator[dict[str, Any]]:
    return (record for record in RECORDS if where.matches(record))


def _site(tmp_path: Path, *, from_loopback: bool = True, access_log: AccessLog | None = None) -> Site:
    store = TokenStore(tmp_path / "tokens.json")
    tokens = {
        name: store.create(name, [role], None)[1]
        for name, role in (("alice", "user"), ("audrey", "auditor"), ("ada", "admin"))
    }
    verifier = GatewayTokenVerifier(store)
    registry = CollectorRegistry(auto_describe=True)
    OtelMetrics(MeterProvider(metric_readers=[PrometheusMetricReader(registry=registry)])).call(
        "fs.read_file", "http", "ok"
    )

    async def verify(token: str) -> Principal | None:
        access = await verifier.verify_token(token)
        return principal_from_user(AuthenticatedUser(access)) if access is not None else None

    view = AuditorView(AuditorConfig(), _read, None, verify, may_view_by_roles(["auditor"]), access_log)
    app = build_http_app(
        Server("test"),
        HttpConfig(),
        65536,
        lambda: {"status": "ok"},
        token_verifier=verifier,
        metrics_app=metrics_app(registry, from_loopback=from_loopback, roles=["admin", "auditor"]),
        auditor_app=view.app(),
    )
    return Site(app, tokens, store)


async def test_metrics_are_for_local_scrapers_and_metrics_roles(tmp_path: Path) -> None:
    site = _site(tmp_path)
    async with site.client(LOOPBACK) as local:
        scraped = await local.get("/metrics")
        assert scraped.status_code == 200 and "mcp_gateway_calls_total" in scraped.text
        assert scraped.headers["cache-control"] == "no-store"
        rebound = await local.get("/metrics", headers={"Host": "evil.example"})
        assert rebound.status_code == 421
    async with site.client(ELSEWHERE) as remote:
        assert (await remote.get("/metrics")).status_code == 401
        assert (await remote.get("/metrics", headers=site.bearer("alice"))).status_code == 403
        assert (await remote.get("/metrics", headers=site.bearer("ada"))).status_code == 200
        assert (await remote.get("/metrics", headers=site.bearer("audrey"))).status_code == 200
        wrong = {"Authorization": "Bearer mgw_000000000000_wrong"}
        assert (await remote.get("/metrics", headers=wrong)).status_code == 401


async def test_loopback_scraping_can_be_switched_off(tmp_path: Path) -> None:
    site = _site(tmp_path, from_loopback=False)
    async with site.client(LOOPBACK) as local:
        assert (await local.get("/metrics")).status_code == 401
        assert (await local.get("/metrics", headers=site.bearer("ada"))).status_code == 200


async def test_the_audit_page_is_for_auditors_only(tmp_path: Path) -> None:
    site = _site(tmp_path)
    async with site.client(LOOPBACK) as local:
        anonymous = await local.get("/audit/")
        assert anonymous.status_code == 303 and anonymous.headers["location"] == "/audit/login"
        user = await local.get("/audit/", headers=site.bearer("alice"))
        assert user.status_code == 403 and 'class="tool"' not in user.text
        auditor = await local.get("/audit/", headers=site.bearer("audrey"))
        assert auditor.status_code == 200
        assert (
            '<td class="tool">notes.put</td>' in auditor.text and '<td class="tool">fs.read_file</td>' in auditor.text
        )
        csp = auditor.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp
        assert auditor.headers["x-frame-options"] == "DENY" and auditor.headers["cache-control"] == "no-store"
        filtered = await local.get("/audit/?decision=deny", headers=site.bearer("audrey"))
        assert '<td class="tool">notes.put</td>' in filtered.text
        assert '<td class="tool">fs.read_file</td>' not in filtered.text
        missing = await local.get("/audit/nothing-here", headers=site.bearer("audrey"))
        assert missing.status_code == 404 and missing.headers["x-frame-options"] == "DENY"
        rebound = await local.get("/audit/", headers={**site.bearer("audrey"), "Host": "evil.example"})
        assert rebound.status_code == 421


async def test_signing_in_sets_a_strict_session_cookie_that_ends_with_the_token(tmp_path: Path) -> None:
    site = _site(tmp_path)
    async with site.client(LOOPBACK) as browser:
        cross_site = await browser.post(
            "/audit/login", data={"token": site.tokens["audrey"]}, headers={"Origin": "http://evil.example"}
        )
        assert cross_site.status_code == 403 and "set-cookie" not in cross_site.headers
        refused = await browser.post("/audit/login", data={"token": site.tokens["alice"]})
        assert refused.status_code == 403 and "set-cookie" not in refused.headers
        bad = await browser.post("/audit/login", data={"token": "mgw_nope"})
        assert bad.status_code == 401
        huge = await browser.post("/audit/login", data={"token": "x" * 20000})
        assert huge.status_code == 413
        signed_in = await browser.post("/audit/login", data={"token": site.tokens["audrey"]})
        assert signed_in.status_code == 303
        cookie = signed_in.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/audit" in cookie
        assert "secure" not in cookie  # plain http on loopback; https gets Secure
        assert site.tokens["audrey"].lower() not in cookie
        assert (await browser.get("/audit/")).status_code == 200
        # Revoking the token ends the session at once.
        token_id = site.tokens["audrey"].split("_")[1]
        assert site.store.revoke(token_id)
        assert (await browser.get("/audit/")).status_code == 303


@asynccontextmanager
async def _real_audit_log(directory: Path) -> AsyncIterator[AuditLog]:
    log = AuditLog(AuditConfig(), directory, lambda: AuditKeys.derive(lambda purpose: (purpose * 8).encode()[:32]))
    log.open()
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(log.run)
            yield log
            tg.cancel_scope.cancel()
    finally:
        log.close()


@pytest.mark.req("R-045")
async def test_reading_the_audit_page_and_signing_in_are_audited(tmp_path: Path) -> None:
    async with _real_audit_log(tmp_path / "state") as log:
        site = _site(tmp_path, access_log=log.append)
        async with site.client(LOOPBACK) as browser:
            assert (await browser.post("/audit/login", data={"token": "mgw_nope"})).status_code == 401
            assert (await browser.post("/audit/login", data={"token": site.tokens["alice"]})).status_code == 403
            assert (await browser.post("/audit/login", data={"token": site.tokens["audrey"]})).status_code == 303
            assert (await browser.get("/audit/?decision=deny&principal=bob")).status_code == 200
            assert (await browser.get("/audit/call/2")).status_code == 200
    logged = [
        {key: value for key, value in record.items() if key not in ("seq", "time", "mac")}
        for record in records(log.directory)
    ]
    assert logged == [
        {"event": "auditor_sign_in_refused", "principal": None, "reason": "invalid token"},
        {"event": "auditor_sign_in_refused", "principal": "alice", "roles": ["user"], "reason": "no auditor role"},
        {"event": "auditor_signed_in", "principal": "audrey", "roles": ["auditor"]},
        # The names of the filters, never what was looked for.
        {"event": "audit_viewed", "principal": "audrey", "roles": ["auditor"], "view": "list",
         "filters": ["decision", "principal"], "page": 1},
        {"event": "audit_viewed", "principal": "audrey", "roles": ["auditor"], "view": "call", "record": 2},
    ]  # fmt: skip


@pytest.mark.req("R-045")
async def test_an_audit_log_that_cannot_take_the_access_record_serves_no_page(tmp_path: Path) -> None:
    async with _real_audit_log(tmp_path / "state") as log:
        site = _site(tmp_path, access_log=log.append)
        async with site.client(LOOPBACK) as browser:
            assert (await browser.get("/audit/", headers=site.bearer("audrey"))).status_code == 200
    # Closed now: appends fail, as on a full disk (tests/e2e/test_audit.py fills a real one).
    refused = await _site(tmp_path, access_log=log.append).client(LOOPBACK).__aenter__()
    page = await refused.get("/audit/", headers=site.bearer("audrey"))
    assert page.status_code == 503 and "cannot be read either" in page.text and "notes.put" not in page.text
    await refused.aclose()


async def test_signing_out_ends_the_session(tmp_path: Path) -> None:
    site = _site(tmp_path)
    async with site.client(LOOPBACK) as browser:
        await browser.post("/audit/login", data={"token": site.tokens["audrey"]})
        assert (await browser.get("/audit/")).status_code == 200
        session = browser.cookies.get("mgw_audit_session")
        out = await browser.post("/audit/logout")
        assert out.status_code == 303 and out.headers["location"] == "/audit/login"
        assert (await browser.get("/audit/")).status_code == 303
        browser.cookies.set("mgw_audit_session", session or "", path="/audit")
        assert (await browser.get("/audit/")).status_code == 303  # the old id is dead on the server too


async def test_without_a_token_verifier_the_extra_routes_still_check_host(tmp_path: Path) -> None:
    registry = CollectorRegistry(auto_describe=True)
    app = build_http_app(
        Server("test"),
        HttpConfig(),
        65536,
        lambda: {"status": "ok"},
        metrics_app=metrics_app(registry, from_loopback=True, roles=["admin"]),
    )
    transport = httpx.ASGITransport(app=app, client=LOOPBACK)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as local:
        assert (await local.get("/metrics")).status_code == 200
        assert (await local.get("/metrics", headers={"Host": "evil.example"})).status_code == 421
