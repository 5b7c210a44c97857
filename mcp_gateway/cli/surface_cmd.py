"""`mcp-gateway surface pending|approve`: upstream tool definitions that changed since pinned."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mcp_gateway.cli.common import add_config_option, config_from
from mcp_gateway.pins import PinStore


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "surface",
        help="review upstream tool definitions that changed (rug-pull protection)",
        description=(
            "An upstream tool whose description or schema changed since it was first pinned is "
            "quarantined (hidden and refused) until approved here; the gateway picks the approval "
            "up when it next starts the upstream."
        ),
    )
    sub = parser.add_subparsers(dest="surface_command", required=True, metavar="ACTION")
    pending = sub.add_parser("pending", help="list quarantined tool definitions")
    add_config_option(pending)
    pending.add_argument("--json", action="store_true", help="machine-readable output")
    pending.set_defaults(run=run_pending)
    approve = sub.add_parser("approve", help="pin the new definition of a quarantined tool")
    add_config_option(approve)
    approve.add_argument("tool", metavar="UPSTREAM.TOOL")
    approve.set_defaults(run=run_approve)


def run_pending(args: argparse.Namespace) -> int:
    pending = PinStore(config_from(args).server.state_dir).pending()
    if args.json:
        print(json.dumps(pending, indent=2, sort_keys=True))
    else:
        for tool, change in sorted(pending.items()):
            print(f"{tool}  changed, seen {change.get('seen_at')}")
        if not pending:
            print("no quarantined tool definitions")
    return 0


def run_approve(args: argparse.Namespace) -> int:
    store = PinStore(config_from(args).server.state_dir)
    try:
        store.approve(args.tool)
    except KeyError:
        print(f"mcp-gateway: {args.tool} has no pending change", file=sys.stderr)
        return 1
    print(f"approved: {args.tool} is pinned to its new definition")
    return 0
