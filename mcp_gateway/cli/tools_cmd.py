"""`mcp-gateway tools`: the tool surface, as a client would see it."""

from __future__ import annotations

import argparse
import json
from typing import Any

from mcp_gateway.app import Gateway
from mcp_gateway.cli.common import add_config_option, config_from


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "tools", help="list the exposed tools", description="List the tools the gateway exposes."
    )
    add_config_option(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    gateway = Gateway(config_from(args))
    entries = gateway.visible_entries(gateway.stdio_principal)
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
        print(json.dumps(rows, indent=2))
    else:
        width = max((len(e.canonical) for e in entries), default=0)
        for e in entries:
            print(f"{e.canonical:<{width}}  {e.risk:<4}  {e.description.splitlines()[0] if e.description else ''}")
    return 0
