"""API tokens for HTTP clients: `mgw_<id>_<secret>`, shown once, stored only as a SHA-256 hash.

The store is one JSON file (mode 0600), rewritten atomically (temp file, fsync, rename) under
an exclusive lock, so a crash or two concurrent `token` commands never leave it half written.
The serving gateway re-reads it whenever it changes on disk: a token created or revoked from
the CLI takes effect on the next request, without a restart. A file that cannot be parsed is
an error naming the file; it is never reset, because resetting would silently revive nothing
and lose every revocation the operator made.
"""

from __future__ import annotations

import builtins
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from mcp_gateway.identity.errors import IdentityError
from mcp_gateway.identity.principals import (
    DEFAULT_DOMAIN,
    check_domain,
    check_principal_name,
    check_role,
    make_principal,
)
from mcp_gateway.sdk import Principal

TOKEN_PREFIX = "mgw_"
# Far longer than any token this store issues; refusing early keeps hashing bounded.
_MAX_TOKEN_LENGTH = 256
_FORMAT_VERSION = 1
_ID_BYTES = 6  # 12 hex digits: ids are public handles (list, revoke), uniqueness is checked


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(token: str) -> str:
    # SHA-256, not a slow password hash: the secret is 256 random bits, so a stolen file cannot be
    # brute-forced at any hash speed, while bcrypt/argon2 would cost milliseconds on every request.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What may be shown about a token: everything but its secret and its hash."""

    id: str
    principal: str
    roles: tuple[str, ...]
    domain: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"


class _Stored(BaseModel):
    """One token as it is kept on disk."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[0-9a-f]{12}$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    principal: Annotated[str, AfterValidator(check_principal_name)]
    roles: tuple[Annotated[str, AfterValidator(check_role)], ...] = ()
    domain: Annotated[str, AfterValidator(check_domain)] = DEFAULT_DOMAIN
    created_at: AwareDatetime
    expires_at: AwareDatetime | None = None
    revoked_at: AwareDatetime | None = None

    def info(self) -> TokenInfo:
        return TokenInfo(
            self.id, self.principal, self.roles, self.domain, self.created_at, self.expires_at, self.revoked_at
        )


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=_FORMAT_VERSION, le=_FORMAT_VERSION)
    tokens: list[_Stored]


_Signature = tuple[int, int, int, int]


class TokenStore:
    """API tokens kept in `path`. `clock` returns the current aware time (tests pass their own)."""

    def __init__(self, path: Path, clock: Callable[[], datetime] = _now) -> None:
        self.path = path
        self._clock = clock
        self._signature: _Signature | None = None
        self._tokens: dict[str, _Stored] = {}

    # --- reading ---------------------------------------------------------------------------
    def verify(self, token: str) -> Principal | None:
        """The principal `token` acts for, or None if it is unknown, wrong, expired or revoked.
        Raises `IdentityError` only when the store itself is unreadable or corrupt."""
        if len(token) > _MAX_TOKEN_LENGTH or not token.startswith(TOKEN_PREFIX):
            return None
        token_id, _, secret = token[len(TOKEN_PREFIX) :].partition("_")
        if not secret:
            return None
        # Looking the id up first is not a timing leak worth hiding: ids are public handles, and
        # knowing one brings an attacker no closer to a 256-bit secret.
        stored = self._current().get(token_id)
        if stored is None or not hmac.compare_digest(stored.sha256, _digest(token)):
            return None
        if stored.info().status(self._clock()) != "active":
            return None
        return Principal(stored.principal, stored.roles, stored.domain)

    def list(self) -> builtins.list[TokenInfo]:
        return sorted((stored.info() for stored in self._current().values()), key=lambda info: info.created_at)

    def _current(self) -> dict[str, _Stored]:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            self._signature, self._tokens = None, {}
            return self._tokens
        except OSError as exc:
            raise IdentityError(f"token store {self.path} cannot be read ({exc.strerror})") from None
        if _signature(stat) != self._signature:
            self._load()
        return self._tokens

    def _load(self) -> None:
        try:
            with self.path.open("rb") as handle:
                stat = os.fstat(handle.fileno())
                raw = handle.read()
        except FileNotFoundError:
            self._signature, self._tokens = None, {}
            return
        except OSError as exc:
            raise IdentityError(f"token store {self.path} cannot be read ({exc.strerror})") from None
        if stat.st_mode & 0o022:
            # Whoever can write this file can mint tokens for any principal.
            raise IdentityError(f"token store {self.path} is writable by group or others; run: chmod 600 {self.path}")
        tokens = _parse(self.path, raw)
        # Remember the stat of the very file read, so a concurrent replace is noticed next time.
        self._signature, self._tokens = _signature(stat), tokens

    # --- writing ---------------------------------------------------------------------------
    def create(
        self,
        principal: str,
        roles: Sequence[str],
        expires_at: datetime | None,
        domain: str = DEFAULT_DOMAIN,
    ) -> tuple[TokenInfo, str]:
        """A new token: its metadata, and the token itself (which is never stored or shown again).
        Raises ValueError for a bad name, role, domain or expiry."""
        checked = make_principal(principal, roles, domain)
        now = self._clock()
        if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
            raise ValueError("expires_at must be a timezone-aware moment in the future")
        with self._locked() as tokens:
            token_id = secrets.token_hex(_ID_BYTES)
            while token_id in tokens:
                token_id = secrets.token_hex(_ID_BYTES)
            token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
            stored = _Stored(
                id=token_id,
                sha256=_digest(token),
                principal=checked.name,
                roles=checked.roles,
                domain=checked.domain,
                created_at=now,
                expires_at=expires_at,
            )
            tokens[token_id] = stored
        return stored.info(), token

    def revoke(self, token_id: str) -> bool:
        """Revoke a token by id; False if there is no such token. Revoking twice keeps the first time."""
        with self._locked() as tokens:
            stored = tokens.get(token_id)
            if stored is None:
                return False
            if stored.revoked_at is None:
                tokens[token_id] = stored.model_copy(update={"revoked_at": self._clock()})
        return True

    @contextmanager
    def _locked(self) -> Iterator[dict[str, _Stored]]:
        """The tokens, read under an exclusive lock and written back atomically on success."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_path = self.path.with_name(self.path.name + ".lock")
        lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            self._load()
            tokens = dict(self._tokens)
            yield tokens
            self._write(tokens)
        finally:
            os.close(lock_fd)  # closing releases the lock

    def _write(self, tokens: dict[str, _Stored]) -> None:
        document = {
            "version": _FORMAT_VERSION,
            "tokens": [stored.model_dump(mode="json") for stored in tokens.values()],
        }
        data = json.dumps(document, indent=2).encode() + b"\n"
        # mkstemp creates the file 0600 in the same directory, so the rename below is atomic.
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a power cut only once the directory is synced
        finally:
            os.close(dir_fd)
        self._load()


def _signature(stat: os.stat_result) -> _Signature:
    return (stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size)


def _parse(path: Path, raw: bytes) -> dict[str, _Stored]:
    hint = "fix or restore it; it is never reset automatically"
    try:
        document = _File.model_validate_json(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "file"
        raise IdentityError(f"token store {path} is corrupt at {where}: {error['msg']} ({hint})") from None
    tokens: dict[str, _Stored] = {}
    for stored in document.tokens:
        if stored.id in tokens:
            raise IdentityError(f"token store {path} is corrupt: token id {stored.id} appears twice ({hint})")
        tokens[stored.id] = stored
    return tokens
