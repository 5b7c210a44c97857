"""The auditor page as an ASGI app, mounted by the HTTP transport at `/audit`.

Who may see it: a principal holding one of `[auditor] roles`, identified by a bearer token on
the request (scripts) or by a sign-in session (browsers, sessions.py). Nobody else: no anonymous
access, also when `[auth] require_auth = false` lets anonymous callers reach `/mcp`; an unknown
visitor is sent to the sign-in form, a principal without the role gets 403. The transport puts
the DNS-rebinding guard (Host and Origin) in front, so another site's page can neither read
these pages through a rebound name nor post the sign-in form (its Origin is refused).

Every response forbids framing and caching and carries a Content-Security-Policy that allows no
script at all and only the page's own nonce'd style element.

Who watches the watchers: every page an auditor reads (`audit_viewed`: the view, the names of
the filters used, the record opened) and every sign-in, refused ones included, is a record in the
audit log itself, durable before the page is served; a log that cannot take the record serves
no page (503).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_gateway.audit.errors import AuditUnavailable
from mcp_gateway.auditor import pages
from mcp_gateway.auditor.config import AuditorConfig
from mcp_gateway.auditor.listing import RecordReader, page_of, parse_query, record_by_seq
from mcp_gateway.auditor.sessions import COOKIE, Sessions
from mcp_gateway.auditor.trace_view import call_rows
from mcp_gateway.identity.verifier import principal_from_user
from mcp_gateway.sdk import Principal
from mcp_gateway.span_file import read_spans

logger = logging.getLogger(__name__)

Verify = Callable[[str], Awaitable[Principal | None]]
AccessLog = Callable[[str, dict[str, Any]], Awaitable[int]]
"""The audit log's `append(event, fields)`."""
"""A bearer token -> its principal, or None when the token is not valid (now)."""
MAX_FORM_BYTES: Final = 8192
_HEADERS: Final = {
    "x-frame-options": "DENY",
    "cache-control": "no-store",
    "pragma": "no-cache",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",  # not no-referrer: with it, a form post carries `Origin: null`
    "cross-origin-opener-policy": "same-origin",
}
_DEFAULT_CSP: Final = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"


def _csp(nonce: str) -> str:
    return f"default-src 'none'; style-src 'nonce-{nonce}'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"


def _html(text: str, nonce: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers={"content-security-policy": _csp(nonce)})


class AuditorView:
    def __init__(
        self,
        config: AuditorConfig,
        read: RecordReader,
        span_file: Path | None,
        verify: Verify,
        may_view: Callable[[Principal], bool],
        access_log: AccessLog | None = None,
    ) -> None:
        """`access_log` is the audit log's `append`: who read the log, and who signed in or was
        refused, goes into the log itself."""
        self._config, self._read, self._span_file = config, read, span_file
        self._verify, self._may_view = verify, may_view
        self._access_log = access_log
        self.sessions = Sessions(config.session_minutes * 60)

    def app(self) -> ASGIApp:
        routes = [
            Route("/", self.index, methods=["GET"]),
            Route("/call/{seq:int}", self.call, methods=["GET"]),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
        ]
        return _Hardened(Starlette(routes=routes))

    # --- who is asking ----------------------------------------------------------------------
    async def _principal(self, request: Request) -> Principal | None:
        bearer = principal_from_user(request.scope.get("user"))
        if bearer is not None:
            return bearer
        token = self.sessions.token_of(request.cookies.get(COOKIE))
        return await self._verify(token) if token is not None else None

    async def _auditor(self, request: Request, nonce: str) -> Principal | Response:
        principal = await self._principal(request)
        if principal is None:
            return RedirectResponse(f"{pages.BASE}/login", status_code=303)
        if not self._may_view(principal):
            message = "This page is for auditors; your token holds no auditor role."
            return _html(pages.refused_page(nonce, message, principal.name), nonce, 403)
        return principal

    async def _noted(self, who: Principal, nonce: str, fields: dict[str, Any]) -> Response | None:
        """Record that `who` reads the log; a 503 page when that cannot be recorded (fail closed:
        the log is not read unwatched)."""
        if self._access_log is None:
            return None
        try:
            await self._access_log("audit_viewed", {"principal": who.name, "roles": list(who.roles), **fields})
        except AuditUnavailable as exc:
            logger.error("auditor page refused to %s: its access cannot be audited (%s)", who.name, exc.message)
            message = "The audit log cannot be written now, so it cannot be read either. Try again later."
            return _html(pages.refused_page(nonce, message, who.name), nonce, 503)
        return None

    async def _note_sign_in(self, event: str, fields: dict[str, Any]) -> None:
        if self._access_log is None:
            return
        try:
            await self._access_log(event, fields)
        except AuditUnavailable as exc:
            logger.error("an auditor sign-in could not be audited: %s", exc.message)
            raise

    # --- pages ------------------------------------------------------------------------------
    async def index(self, request: Request) -> Response:
        nonce = secrets.token_urlsafe(16)
        who = await self._auditor(request, nonce)
        if isinstance(who, Response):
            return who
        query = parse_query(request.query_params)
        filters = sorted(name for name, value in query.values.items() if value)  # names only, not what was sought
        refused = await self._noted(who, nonce, {"view": "list", "filters": filters, "page": query.page})
        if refused is not None:
            return refused
        page = await anyio.to_thread.run_sync(page_of, self._read, query, self._config.page_size)
        return _html(pages.list_page(page, query, nonce, who.name), nonce)

    async def call(self, request: Request) -> Response:
        nonce = secrets.token_urlsafe(16)
        who = await self._auditor(request, nonce)
        if isinstance(who, Response):
            return who
        seq = int(request.path_params["seq"])
        refused = await self._noted(who, nonce, {"view": "call", "record": seq})
        if refused is not None:
            return refused
        record = await anyio.to_thread.run_sync(record_by_seq, self._read, seq)
        if record is None:
            return _html(pages.refused_page(nonce, f"No tool call with seq {seq}.", who.name), nonce, 404)
        trace_id = record.get("trace_id")
        rows, note = [], ""
        if self._span_file is None:
            note = "Spans are not written to a file ([telemetry] exporters has no jsonl): no trace to show."
        elif not isinstance(trace_id, str):
            note = "No trace id was recorded for this call (tracing was off)."
        else:
            spans = await anyio.to_thread.run_sync(read_spans, self._span_file, trace_id)
            rows = call_rows(spans, seq)
            if not rows:
                note = (
                    "No span of this trace is in the span file (spans arrive within a second; old files rotate away)."
                )
        return _html(pages.detail_page(record, rows, note, nonce, who.name), nonce)

    # --- signing in and out -----------------------------------------------------------------
    async def login_form(self, request: Request) -> Response:
        nonce = secrets.token_urlsafe(16)
        return _html(pages.login_page(nonce), nonce)

    async def login(self, request: Request) -> Response:
        nonce = secrets.token_urlsafe(16)
        body = await _bounded_body(request)
        if body is None:
            return _html(pages.login_page(nonce, "The form is too large."), nonce, 413)
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=4)
        token = (fields.get("token") or [""])[0].strip()
        principal = await self._verify(token) if token else None
        try:
            if principal is None:
                logger.warning("auditor sign-in refused: the token is not valid")
                await self._note_sign_in("auditor_sign_in_refused", {"principal": None, "reason": "invalid token"})
                return _html(pages.login_page(nonce, "That token is not valid."), nonce, 401)
            if not self._may_view(principal):
                logger.warning("auditor sign-in refused: %s holds no auditor role", principal.name)
                refusal = {"principal": principal.name, "roles": list(principal.roles), "reason": "no auditor role"}
                await self._note_sign_in("auditor_sign_in_refused", refusal)
                return _html(pages.login_page(nonce, "That token holds no auditor role."), nonce, 403)
            await self._note_sign_in("auditor_signed_in", {"principal": principal.name, "roles": list(principal.roles)})
        except AuditUnavailable:
            message = "The audit log cannot be written now, so nobody can sign in to read it. Try again later."
            return _html(pages.login_page(nonce, message), nonce, 503)
        self.sessions.close(request.cookies.get(COOKIE))  # never keep a session id from before sign-in
        session_id = self.sessions.open(token)
        logger.info("auditor %s signed in", principal.name)
        response = RedirectResponse(f"{pages.BASE}/", status_code=303)
        response.set_cookie(
            COOKIE,
            session_id,
            max_age=int(self.sessions.lifetime),
            path=pages.BASE,
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    async def logout(self, request: Request) -> Response:
        self.sessions.close(request.cookies.get(COOKIE))
        response = RedirectResponse(f"{pages.BASE}/login", status_code=303)
        response.delete_cookie(COOKIE, path=pages.BASE, httponly=True, samesite="strict")
        return response


async def _bounded_body(request: Request) -> bytes | None:
    """The request body, or None when it is longer than a sign-in form can be."""
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_FORM_BYTES:
            return None
    return data


class _Hardened:
    """Security headers on every response of the view, its 404s and 405s included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name.encode(), value.encode()) for name, value in _extra(present)]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_hardened)


def _extra(present: set[bytes]) -> Iterator[tuple[str, str]]:
    for name, value in _HEADERS.items():
        if name.encode() not in present:
            yield name, value
    if b"content-security-policy" not in present:
        yield "content-security-policy", _DEFAULT_CSP


def may_view_by_roles(roles: list[str]) -> Callable[[Principal], bool]:
    wanted = frozenset(roles)

    def may_view(principal: Principal) -> bool:
        return not wanted.isdisjoint(principal.roles)

    return may_view
