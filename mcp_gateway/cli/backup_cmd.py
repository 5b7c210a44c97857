"""`mcp-gateway backup create|restore`: the state dir as one verified archive (backup.py)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcp_gateway import backup
from mcp_gateway.cli.common import add_config_option, config_from

EXIT_OK = 0


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "backup",
        help="back up the state dir, or restore it into a new one",
        description="Secrets, audit log and checkpoints, tokens, notes, pins and budgets, as one verified archive.",
    )
    sub = parser.add_subparsers(dest="backup_command", required=True, metavar="ACTION")
    create = sub.add_parser("create", help="write a backup archive (0600)")
    add_config_option(create)
    create.add_argument("--output", "-o", type=Path, help="the archive (default: ./mcp-gateway-<time>.tar.gz)")
    create.add_argument(
        "--include-master-key",
        action="store_true",
        help="also store the master key file (the archive then unlocks the secrets: keep it accordingly)",
    )
    create.set_defaults(run=run_create)
    restore = sub.add_parser("restore", help="restore an archive into an empty or new state dir")
    add_config_option(restore)
    restore.add_argument("archive", type=Path)
    restore.add_argument("--state-dir", type=Path, help="where to restore (default: the configuration's state dir)")
    restore.set_defaults(run=run_restore)


def run_create(args: argparse.Namespace) -> int:
    config = config_from(args)
    state_dir = config.server.state_dir
    sources = backup.Sources(state_dir, config.audit.log_dir(state_dir), config.audit.checkpoints_dir(state_dir))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    output = args.output or Path(f"mcp-gateway-{stamp}.tar.gz")
    manifest = backup.create(sources, output, include_key=args.include_master_key)
    note = "" if manifest["includes_master_key"] else " (without the master key)"
    print(f"wrote {output}: {len(manifest['files'])} files{note}")
    return EXIT_OK


def run_restore(args: argparse.Namespace) -> int:
    state_dir = args.state_dir or config_from(args).server.state_dir
    manifest = backup.restore(args.archive, state_dir)
    print(f"restored {len(manifest['files'])} files into {state_dir}")
    if not manifest.get("includes_master_key"):
        print("the master key was not in the backup: provide it (keyring, MCP_GATEWAY_MASTER_KEY or the key file)",
              file=sys.stderr)  # fmt: skip
    return EXIT_OK
