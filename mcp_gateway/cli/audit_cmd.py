"""`mcp-gateway audit verify|query|tail`: the auditor's view of the log, from the command line.

`verify` exits 1 and names the first bad record on any edit, deletion, reordering or
truncation. `query` filters records; `tail` shows the last ones and, with `--follow`, new ones
as they are written. Records hold no argument or result values (only keyed hashes), so
showing them reveals nothing the auditor should not see.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from mcp_gateway.audit.access import audit_paths, open_keys
from mcp_gateway.audit.query import Filter, follow, records
from mcp_gateway.audit.restart import restart
from mcp_gateway.audit.verify import verify
from mcp_gateway.cli.common import add_config_option, config_from

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE = 0, 1, 2


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "audit",
        help="verify, query and follow the audit log",
        description="The tamper-evident audit log: verify its chain and checkpoints, query it, follow it.",
    )
    sub = parser.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    check = sub.add_parser(
        "verify", help="check the chain and the signed checkpoints", description="Exit 1 on the first bad record."
    )
    add_config_option(check)
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(run=run_verify)

    query = sub.add_parser("query", help="records that match filters", description="Records matching every filter.")
    add_config_option(query)
    _add_filters(query)
    query.add_argument("--limit", type=int, default=0, help="at most this many (the latest), 0 for all")
    query.add_argument("--json", action="store_true", help="one JSON record per line")
    query.set_defaults(run=run_query)

    tail = sub.add_parser(
        "tail", help="the last records, and new ones with --follow", description="Show the log's end."
    )
    add_config_option(tail)
    _add_filters(tail)
    tail.add_argument("-n", "--lines", type=int, default=10, help="how many of the last records (default 10)")
    tail.add_argument("-f", "--follow", action="store_true", help="keep printing records as they are written")
    tail.add_argument("--json", action="store_true", help="one JSON record per line")
    tail.set_defaults(run=run_tail)

    again = sub.add_parser(
        "restart",
        help="set a broken log aside and start a new chain (see ops/runbooks)",
        description=(
            "Move the log and its checkpoints to <state_dir>/audit-archive/<time>/ and start a new chain whose "
            "first record names them, what verify found and why. Stop the gateway first. Refused when the log "
            "verifies, unless --force."
        ),
    )
    add_config_option(again)
    again.add_argument("--reason", required=True, help="why (recorded in the new log)")
    again.add_argument("--force", action="store_true", help="restart even though the log verifies")
    again.set_defaults(run=run_restart)


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--principal", help="exactly this principal")
    parser.add_argument("--tool", help="a canonical tool name or a glob (fs.*)")
    parser.add_argument("--decision", choices=["allow", "deny"], help="allowed or refused calls")
    parser.add_argument("--event", help="a record kind (tool_call, secret_read, tool_quarantined, ...)")
    parser.add_argument("--since", type=_moment, help="from this moment (ISO 8601, UTC unless an offset is given)")
    parser.add_argument("--until", type=_moment, help="up to this moment")
    parser.add_argument("--trace-id", help="one trace (32 hex digits)")


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _filter(args: argparse.Namespace) -> Filter:
    return Filter(args.principal, args.tool, args.decision, args.event, args.since, args.until, args.trace_id)


def run_verify(args: argparse.Namespace) -> int:
    config = config_from(args)
    log_dir, checkpoint_dir = audit_paths(config)
    keys = open_keys(config)
    report = verify(log_dir, keys.chain, checkpoint_dir, keys.public_key)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    elif report.ok:
        print(f"ok: {report.records} records in {report.files} file(s), {report.checkpoints} checkpoint(s) hold")
        for note in report.notes:
            print(f"note: {note}")
    else:
        problem = report.problem
        assert problem is not None
        where = ", ".join(
            part
            for part in (problem.file, f"line {problem.line}" if problem.line else "", f"seq {problem.seq}")
            if part
        )
        print(f"BAD: {where}: {problem.reason}")
        print(f"({report.records} records verified before it)")
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


def _print(found: Iterable[dict[str, Any]], as_json: bool) -> None:
    for record in found:
        if as_json:
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            print(_line(record), flush=True)


def _line(record: dict[str, Any]) -> str:
    parts = [f"#{record.get('seq')}", str(record.get("time", "")), str(record.get("event", ""))]
    keys = ("principal", "tool", "decision", "outcome", "duration_ms", "trace_id")
    parts.extend(f"{key}={record[key]}" for key in keys if record.get(key) is not None)
    return " ".join(parts)


def run_query(args: argparse.Namespace) -> int:
    log_dir, _ = audit_paths(config_from(args))
    found = list(records(log_dir, _filter(args)))
    _print(found[-args.limit :] if args.limit > 0 else found, args.json)
    return EXIT_OK


def run_tail(args: argparse.Namespace) -> int:
    log_dir, _ = audit_paths(config_from(args))
    where = _filter(args)
    found = list(records(log_dir, where))
    _print(found[-args.lines :] if args.lines > 0 else [], args.json)
    if args.follow:
        with contextlib.suppress(KeyboardInterrupt):
            _print(follow(log_dir, where), args.json)
    return EXIT_OK


def run_restart(args: argparse.Namespace) -> int:
    config = config_from(args)
    log_dir, checkpoint_dir = audit_paths(config)
    keys = open_keys(config)
    if verify(log_dir, keys.chain, checkpoint_dir, keys.public_key).ok and not args.force:
        print("the log verifies: nothing to recover (use --force to restart it anyway)", file=sys.stderr)
        return EXIT_CHECK_FAILED
    record = restart(log_dir, checkpoint_dir, config.server.state_dir / "audit-archive", keys, args.reason)
    print(f"the old log is in {record['archived_to']}; a new chain starts with a log_restarted record")
    return EXIT_OK
