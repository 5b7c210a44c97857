"""`mcp-gateway secrets set|list|delete|rotate-key`: the encrypted secret store.

A value is read from stdin, never from the command line, where `ps` and shell history would see
it: `printf %s "$TOKEN" | mcp-gateway secrets set github_token`. One trailing newline is
stripped, so `echo` and here-strings work too. From a terminal, `--prompt` asks without echo.
No command prints a value or a key; `list` shows names and metadata only.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from mcp_gateway.cli.common import add_config_option, config_from
from mcp_gateway.secrets.errors import SecretCorrupt, SecretNotFound, SecretStoreError
from mcp_gateway.secrets.store import SecretInfo, SecretStore
from mcp_gateway.secrets.wiring import open_store

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE = 0, 1, 2


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "secrets",
        help="store, list, delete secrets; rotate their master key",
        description="Secrets sealed at rest (AES-256-GCM) under a master key from the OS keyring, "
        "$MCP_GATEWAY_MASTER_KEY or a key file. Values are never printed.",
    )
    actions = parser.add_subparsers(dest="secrets_action", required=True, metavar="ACTION")

    store = actions.add_parser(
        "set",
        help="store a secret read from stdin",
        description="Store (or replace) a secret. The value is read from stdin, never from the command line; "
        "one trailing newline is stripped.",
    )
    add_config_option(store)
    store.add_argument("name", help="letters, digits, '_', '.', '-'; starts with a letter")
    store.add_argument("--description", metavar="TEXT", help="what it is for (shown by `list`)")
    store.add_argument("--prompt", action="store_true", help="ask for the value on the terminal, without echo")

    listing = actions.add_parser(
        "list", help="list secrets (never their values)", description="List secrets: names and metadata only."
    )
    add_config_option(listing)
    listing.add_argument("--json", action="store_true", help="machine-readable output")

    delete = actions.add_parser("delete", help="delete a secret", description="Delete a secret.")
    add_config_option(delete)
    delete.add_argument("name")

    rotate = actions.add_parser(
        "rotate-key",
        help="re-seal every secret under a new master key",
        description="Generate a new master key and re-seal every secret under it; safe to interrupt and run "
        "again. Refused when the key comes from $MCP_GATEWAY_MASTER_KEY (the message says what to do).",
    )
    add_config_option(rotate)

    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    store = open_store(config_from(args))
    try:
        if args.secrets_action == "set":
            return _set(store, args)
        if args.secrets_action == "list":
            return _list(store, args.json)
        if args.secrets_action == "delete":
            store.delete(args.name)
            print(f"deleted {args.name}")
            return EXIT_OK
        return _rotate(store)
    except (SecretNotFound, SecretCorrupt) as exc:
        print(f"mcp-gateway: {exc}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    except SecretStoreError as exc:
        print(f"mcp-gateway: {exc}", file=sys.stderr)
        return EXIT_USAGE


def read_value(stdin: TextIO | None, prompt: bool, name: str) -> str:
    """The value to store, from `stdin` (or the terminal with `prompt`); ValueError says why not."""
    if prompt:
        text = getpass.getpass(f"value of {name}: ")
    elif stdin is None or stdin.isatty():
        raise ValueError(
            'stdin is a terminal: pipe the value in (printf %s "$VALUE" | mcp-gateway secrets set NAME) or use --prompt'
        )
    else:
        try:
            text = stdin.buffer.read().decode()
        except UnicodeDecodeError:
            raise ValueError("the value on stdin is not UTF-8 text") from None
    text = text.removesuffix("\n")
    if not text:
        raise ValueError("the value is empty; nothing was stored")
    return text


def _set(store: SecretStore, args: argparse.Namespace) -> int:
    try:
        value = read_value(sys.stdin, args.prompt, args.name)
    except ValueError as exc:
        print(f"mcp-gateway: {exc}", file=sys.stderr)
        return EXIT_USAGE
    info = store.set(args.name, value, args.description)
    verb = "stored" if info.created_at == info.updated_at else "replaced"
    print(f"{verb} secret {info.name}")
    return EXIT_OK


def _list(store: SecretStore, as_json: bool) -> int:
    infos = store.list()
    if as_json:
        print(json.dumps([_as_json(info) for info in infos], indent=2))
        return EXIT_OK
    header = ("NAME", "UPDATED", "DESCRIPTION")
    rows = [header] + [(info.name, _when(info.updated_at), info.description or "-") for info in infos]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return EXIT_OK


def _rotate(store: SecretStore) -> int:
    result = store.rotate_key()
    what = "finished an interrupted rotation" if result.resumed else "rotated the master key"
    print(f"{what}: {result.resealed} entries re-sealed under key id {result.new_key_id} (was {result.old_key_id})")
    return EXIT_OK


def _as_json(info: SecretInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "description": info.description,
        "created_at": info.created_at.isoformat(),
        "updated_at": info.updated_at.isoformat(),
        "key_id": info.key_id,
    }


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
