"""The `mcp-gateway` command. Exit codes: 0 ok, 1 a check failed, 2 a usage or configuration error."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from mcp_gateway import __version__
from mcp_gateway.cli import (
    audit_cmd,
    backup_cmd,
    doctor_cmd,
    migrate_cmd,
    policy_cmd,
    secrets_cmd,
    serve_cmd,
    surface_cmd,
    token_cmd,
    tools_cmd,
    worker_cmd,
)
from mcp_gateway.errors import ConfigError, GatewayError
from mcp_gateway.log_context import TEXT_FORMAT, install

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE = 0, 1, 2
LOG_FORMAT = TEXT_FORMAT


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcp-gateway",
        description="A hardened MCP gateway: one surface through which LLM clients reach namespaced tools.",
    )
    parser.add_argument("--version", action="version", version=f"mcp-gateway {__version__}")
    parser.add_argument(
        "--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log level on stderr"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve_cmd.register(commands)
    tools_cmd.register(commands)
    doctor_cmd.register(commands)
    token_cmd.register(commands)
    policy_cmd.register(commands)
    surface_cmd.register(commands)
    audit_cmd.register(commands)
    backup_cmd.register(commands)
    migrate_cmd.register(commands)
    secrets_cmd.register(commands)
    worker_cmd.register(commands)
    return parser


EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE, as a shell reports a tool killed by a closed pipe."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr, format=LOG_FORMAT)
    install()  # every line names its trace and span, when it has one
    try:
        code: int = args.run(args)
        sys.stdout.flush()  # here, where a closed pipe is handled, not at exit where it is not
    except ConfigError as exc:
        print(f"mcp-gateway: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except GatewayError as exc:
        # Cells that cannot start, unusable identity files: one line, never a traceback.
        print(f"mcp-gateway: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        # The reader of our output went away (`| head`, `| grep -q`): end as a shell tool killed
        # by SIGPIPE would, without a traceback, and with stdout gone so exiting cannot fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code
