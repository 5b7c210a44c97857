"""Sign-in sessions for the auditor page.

A browser cannot send a bearer header when it follows a link, so the auditor signs in once with
the token (a form POST) and gets a cookie holding an opaque random id; the id maps, in memory
only, to the token and an expiry. The token is checked again on every page, so a revoked or
expired token, or a role taken away, ends the session at once; a restart ends every session.
The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it),
Secure when the page was served over https, and scoped to `/audit`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

COOKIE: Final = "mgw_audit_session"
MAX_SESSIONS: Final = 1024


@dataclass(frozen=True, slots=True, repr=False)
class Session:
    token: str
    expires: float

    def __repr__(self) -> str:
        return "Session(<hidden>)"


class Sessions:
    def __init__(self, lifetime_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.lifetime = lifetime_seconds
        self._clock = clock
        self._by_id: dict[str, Session] = {}

    def open(self, token: str) -> str:
        """A new session for `token`; its id is what the cookie carries."""
        self._make_room()
        session_id = secrets.token_urlsafe(32)
        self._by_id[session_id] = Session(token, self._clock() + self.lifetime)
        return session_id

    def token_of(self, session_id: str | None) -> str | None:
        """The token behind a live session, else None (an expired one is forgotten)."""
        if not session_id:
            return None
        session = self._by_id.get(session_id)
        if session is None:
            return None
        if session.expires <= self._clock():
            del self._by_id[session_id]
            return None
        return session.token

    def close(self, session_id: str | None) -> None:
        if session_id:
            self._by_id.pop(session_id, None)

    def _make_room(self) -> None:
        if len(self._by_id) < MAX_SESSIONS:
            return
        now = self._clock()
        self._by_id = {key: value for key, value in self._by_id.items() if value.expires > now}
        while len(self._by_id) >= MAX_SESSIONS:  # all live: the oldest sign-in goes first
            del self._by_id[next(iter(self._by_id))]

    def __len__(self) -> int:
        return len(self._by_id)
