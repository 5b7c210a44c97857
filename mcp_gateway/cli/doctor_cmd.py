"""`mcp-gateway doctor`: check the configuration, state and policy this gateway would run with."""

from __future__ import annotations

import argparse
from typing import Any

from mcp_gateway.cli.common import add_config_option, config_from
from mcp_gateway.doctor import render, run_checks


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "doctor",
        help="check configuration, state and policy",
        description="Check what this gateway would run with; exit 1 when a check fails.",
    )
    add_config_option(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    checks = run_checks(config_from(args))
    print(render(checks, args.json))
    return 1 if any(check.status == "fail" for check in checks) else 0
