"""`mcp-gateway tools`: the tool surface, as a given principal would see it."""

from __future__ import annotations

import argparse
import json
from typing import Any

from mcp_gateway.app import Gateway
from mcp_gateway.cli.common import add_config_option, config_from
from mcp_gateway.sdk import Principal


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "tools",
        help="list the tools a principal sees",
        description=(
            "List the tools the gateway exposes to a principal, filtered by the policy in force: "
            "exactly what that principal's tools/list would show. Default: the stdio principal."
        ),
    )
    add_config_option(parser)
    parser.add_argument("--principal", help="whose view (default: the configured stdio principal)")
    parser.add_argument("--role", action="append", default=[], help="a role the principal holds (repeatable)")
    parser.add_argument("--domain", default="default", help="the principal's domain (default: default)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    gateway = Gateway(config_from(args))
    if args.principal is None:
        principal = gateway.stdio_principal
    else:
        principal = Principal(args.principal, tuple(args.role), args.domain)
    entries = gateway.visible_entries(principal)
    if args.json:
        rows = [
            {
                "name": e.canonical,
                "wire_name": e.wire,
                "risk": e.risk,
                "cost": e.cost,
                "version": e.version,
                "description": e.description,
            }
            for e in entries
        ]
        print(json.dumps({"principal": principal.name, "roles": list(principal.roles), "tools": rows}, indent=2))
    else:
        width = max((len(e.canonical) for e in entries), default=0)
        for e in entries:
            print(f"{e.canonical:<{width}}  {e.risk:<4}  {e.description.splitlines()[0] if e.description else ''}")
    return 0
