"""`mcp-gateway token create|list|revoke`: API tokens for HTTP clients.

A token is printed once, alone on stdout (so `TOKEN=$(mcp-gateway token create ...)` works);
the notice that it cannot be shown again goes to stderr. Only its SHA-256 hash is stored.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from mcp_gateway.cli.common import add_config_option, config_from
from mcp_gateway.identity.config import tokens_path
from mcp_gateway.identity.errors import IdentityError
from mcp_gateway.identity.tokens import TokenInfo, TokenStore

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE = 0, 1, 2
# Secure by default: a token that leaks stops working on its own; an eternal one must be asked for.
DEFAULT_LIFETIME = "90d"
NEVER = "never"
_DURATION = re.compile(r"([1-9][0-9]{0,5})([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "token",
        help="create, list and revoke API tokens for HTTP clients",
        description="API tokens for HTTP clients (Authorization: Bearer). Only a hash of each token is kept.",
    )
    actions = parser.add_subparsers(dest="token_action", required=True, metavar="ACTION")

    create = actions.add_parser(
        "create", help="issue a token (printed once)", description="Issue a token; it is printed once and never again."
    )
    add_config_option(create)
    create.add_argument("--principal", required=True, help="who the token acts for")
    create.add_argument("--role", action="append", default=[], metavar="ROLE", help="a role (repeatable)")
    create.add_argument("--domain", default="default", help="the domain (tenant) it acts in (default: default)")
    create.add_argument(
        "--expires",
        metavar="WHEN",
        default=DEFAULT_LIFETIME,
        help="lifetime (30m, 12h, 30d, 4w) or a moment (2026-12-31, 2026-12-31T00:00:00Z; UTC unless an offset "
        f"is given), or 'never' (not advised); default: {DEFAULT_LIFETIME}",
    )
    create.add_argument("--json", action="store_true", help="machine-readable output")

    listing = actions.add_parser(
        "list", help="list tokens (never their secrets)", description="List tokens; secrets and hashes are never shown."
    )
    add_config_option(listing)
    listing.add_argument("--json", action="store_true", help="machine-readable output")

    revoke = actions.add_parser("revoke", help="revoke a token by id", description="Revoke a token; it stops at once.")
    add_config_option(revoke)
    revoke.add_argument("id", help="the token id, as `token list` shows it")

    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    store = TokenStore(tokens_path(config_from(args)))
    try:
        if args.token_action == "create":
            return _create(store, args)
        if args.token_action == "list":
            return _list(store, args.json)
        return _revoke(store, args.id)
    except IdentityError as exc:
        print(f"mcp-gateway: {exc}", file=sys.stderr)
        return EXIT_USAGE


def parse_expires(text: str, now: datetime) -> datetime:
    """A lifetime (`30d`) or an ISO 8601 moment, as an aware time after `now`; ValueError if neither."""
    if match := _DURATION.fullmatch(text):
        return now + timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--expires {text!r}: give a lifetime like 30d or 12h, or a date like 2026-12-31") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment <= now:
        raise ValueError(f"--expires {text!r} is in the past")
    return moment


def _create(store: TokenStore, args: argparse.Namespace) -> int:
    try:
        expires_at = None if args.expires == NEVER else parse_expires(args.expires, datetime.now(UTC))
        info, token = store.create(args.principal, args.role, expires_at, domain=args.domain)
    except ValueError as exc:
        print(f"mcp-gateway: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps({"token": token, **_as_json(info, info.created_at)}, indent=2))
    else:
        print(token)
    print(
        f"mcp-gateway: token {info.id} for {info.principal!r} ({_describe(info)}). "
        "Store it now: it cannot be shown again.",
        file=sys.stderr,
    )
    return EXIT_OK


def _list(store: TokenStore, as_json: bool) -> int:
    now = datetime.now(UTC)
    infos = store.list()
    if as_json:
        print(json.dumps([_as_json(info, now) for info in infos], indent=2))
        return EXIT_OK
    header = ("ID", "PRINCIPAL", "DOMAIN", "ROLES", "STATUS", "EXPIRES")
    rows = [header] + [
        (
            info.id,
            info.principal,
            info.domain,
            ",".join(info.roles) or "-",
            info.status(now),
            _when(info.expires_at) if info.expires_at else "never",
        )
        for info in infos
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return EXIT_OK


def _revoke(store: TokenStore, token_id: str) -> int:
    if not store.revoke(token_id):
        print(f"mcp-gateway: no token with id {token_id!r}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    print(f"revoked {token_id}")
    return EXIT_OK


def _as_json(info: TokenInfo, now: datetime) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment is not None else None

    return {
        "id": info.id,
        "principal": info.principal,
        "roles": list(info.roles),
        "domain": info.domain,
        "created_at": iso(info.created_at),
        "expires_at": iso(info.expires_at),
        "revoked_at": iso(info.revoked_at),
        "status": info.status(now),
    }


def _describe(info: TokenInfo) -> str:
    roles = ", ".join(info.roles) or "no roles"
    expires = f"expires {_when(info.expires_at)}" if info.expires_at else "never expires"
    return f"domain {info.domain}, {roles}, {expires}"


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
