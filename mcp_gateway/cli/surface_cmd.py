"""`mcp-gateway surface export|diff|check|pending|approve`: the tool surface as a reviewed artifact.

`export` writes the surface (surface.py); `diff A B` classifies each change as breaking or
compatible; `check` compares the live surface with a committed lock and exits 1 on any change
not yet reviewed (re-export the lock to accept it). `pending` and `approve` review upstream tool
definitions that changed since they were pinned (rug-pull protection).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mcp_gateway import surface
from mcp_gateway.cli.common import add_config_option, config_from
from mcp_gateway.config import Config
from mcp_gateway.errors import GatewayError
from mcp_gateway.pins import PinStore

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_LOCK = Path("surface.lock.json")


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
    export = sub.add_parser("export", help="write the exposed tool surface as JSON")
    add_config_option(export)
    export.add_argument("--output", "-o", type=Path, help="write here instead of stdout (e.g. surface.lock.json)")
    export.set_defaults(run=run_export)
    compare = sub.add_parser("diff", help="classify the changes between two exports (breaking or compatible)")
    compare.add_argument("old", type=Path)
    compare.add_argument("new", type=Path)
    compare.add_argument("--json", action="store_true", help="machine-readable output")
    compare.set_defaults(run=run_diff)
    check = sub.add_parser("check", help="exit 1 when the live surface differs from the committed lock")
    add_config_option(check)
    check.add_argument("--lock", type=Path, default=DEFAULT_LOCK, help="the lock file (default: ./surface.lock.json)")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(run=run_check)
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


def live_surface(config: Config) -> dict[str, Any]:
    from mcp_gateway.app import Gateway  # the gateway's whole import tree: only for these commands

    gateway = Gateway(config)
    snapshot = gateway.policy.current if gateway.policy is not None else None
    pins = PinStore(config.server.state_dir).pinned()
    return surface.export(
        gateway.registry.all(), snapshot.engine if snapshot else None, snapshot.digest if snapshot else None, pins
    )


def run_export(args: argparse.Namespace) -> int:
    text = surface.dumps(live_surface(config_from(args)))
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
        print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise GatewayError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise GatewayError(f"{path} is not a surface export ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != surface.FORMAT_VERSION or "tools" not in data:
        raise GatewayError(f"{path} is not a surface export of format {surface.FORMAT_VERSION}")
    return data


def _report(changes: list[surface.Change], as_json: bool) -> None:
    if as_json:
        breaking = any(change.kind == "breaking" for change in changes)
        print(json.dumps({"breaking": breaking, "changes": [c.as_json() for c in changes]}, indent=2))
        return
    for change in changes:
        print(f"{change.kind:10}  {change.tool}: {change.what}")
    if not changes:
        print("no changes")


def run_diff(args: argparse.Namespace) -> int:
    _report(surface.diff(_read(args.old), _read(args.new)), args.json)
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    changes = surface.diff(_read(args.lock), live_surface(config_from(args)))
    _report(changes, args.json)
    if changes and not args.json:
        print(
            f"the live surface differs from {args.lock}: review the changes, then accept them with "
            f"`mcp-gateway surface export --output {args.lock}`",
            file=sys.stderr,
        )
    return EXIT_CHECK_FAILED if changes else EXIT_OK
