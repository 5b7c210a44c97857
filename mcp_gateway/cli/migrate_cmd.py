"""`mcp-gateway migrate [--dry-run]`: upgrade the state dir's files to this gateway's formats."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcp_gateway import backup, migrate
from mcp_gateway.cli.common import add_config_option, config_from
from mcp_gateway.config import Config
from mcp_gateway.formats import Kept, kept_files

EXIT_OK = 0


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "migrate",
        help="upgrade kept files to the formats this gateway runs",
        description=(
            "Upgrade the state dir's files (tokens, pins, budgets, audit log, secrets, cells' databases) to this "
            "gateway's formats. --dry-run upgrades copies and checks them without touching the originals; a real "
            "run backs the state dir up first. Stop the gateway before a real run."
        ),
    )
    add_config_option(parser)
    parser.add_argument("--dry-run", action="store_true", help="show and check the upgrade; change nothing")
    parser.add_argument("--backup", type=Path, help="where the backup goes (default: next to the state dir)")
    parser.set_defaults(run=run)


def kept_of(config: Config) -> list[Kept]:
    from mcp_gateway.registry import load_cells

    return kept_files(config, [item.cell.stored_files() for item in load_cells(config)])


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    kept = kept_of(config)
    steps = migrate.dry_run(kept) if args.dry_run else migrate.plan(kept)
    if not steps:
        print("every kept file is in the current format: nothing to do")
        return EXIT_OK
    for step in steps:
        print(f"{step.name} ({step.path}): format {step.found} -> {step.target}: {'; '.join(step.changes)}")
    if args.dry_run:
        print("dry run: the upgraded copies were checked; nothing was changed")
        return EXIT_OK
    state = config.server.state_dir
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = args.backup or state.with_name(f"{state.name}.pre-migrate-{stamp}.tar.gz")
    sources = backup.Sources(state, config.audit.log_dir(state), config.audit.checkpoints_dir(state))
    backup.create(sources, target)
    print(f"backup written to {target}")
    migrate.apply(kept)
    print(f"upgraded {len(steps)} file(s)")
    return EXIT_OK
