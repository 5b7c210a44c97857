"""Options and helpers shared by subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

from mcp_gateway.config import Config, load_config


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help="gateway.toml to use (default: $MCP_GATEWAY_CONFIG, the user config dir, else the embedded default)",
    )


def config_from(args: argparse.Namespace) -> Config:
    path: Path | None = args.config
    return load_config(path)
