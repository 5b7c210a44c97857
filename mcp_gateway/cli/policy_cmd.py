"""`mcp-gateway policy check|explain|diff`: the policy files, checked and explained offline.

Exit codes: 0 ok, 1 the policy failed to load or its tests failed, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mcp_gateway.app import Gateway
from mcp_gateway.authz.config import AuthzConfig, resolve_policy_dir
from mcp_gateway.authz.diff import PolicyDiff, diff_policies
from mcp_gateway.authz.errors import PolicyError
from mcp_gateway.authz.explain import Explanation, explain
from mcp_gateway.authz.snapshot import PolicySnapshot, load_snapshot
from mcp_gateway.cli.common import add_config_option, config_from
from mcp_gateway.dlp.config import DlpConfig
from mcp_gateway.dlp.runtime import DlpRuntime
from mcp_gateway.errors import GatewayError
from mcp_gateway.sdk import Principal

EXIT_OK, EXIT_CHECK_FAILED = 0, 1


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "policy",
        help="check, explain and diff the authorization policy",
        description="Work with the Casbin policy files (model.conf, policy.csv, policy_tests.yaml).",
    )
    sub = parser.add_subparsers(dest="policy_command", required=True, metavar="ACTION")

    check = sub.add_parser(
        "check",
        help="load the policy and run its tests",
        description="Load the policy and run policy_tests.yaml; exit 1 with the reason if anything fails.",
    )
    _add_policy_options(check)
    check.set_defaults(run=run_check)

    why = sub.add_parser(
        "explain",
        help="the decision for one principal and tool, and the rule that took it",
        description=(
            "Decide whether a principal (with its roles, in its domain) may call a tool or read a secret, "
            "and show every rule that matched and the one that decided."
        ),
    )
    _add_policy_options(why)
    why.add_argument("--principal", required=True, help="the principal's name")
    why.add_argument("--role", action="append", default=[], metavar="ROLE", help="a role the principal holds (repeat)")
    why.add_argument("--domain", default="default", help="the principal's domain (default: default)")
    why.add_argument(
        "--tool", required=True, metavar="OBJECT", help="canonical tool name (fs.read_file) or secret:NAME"
    )
    why.add_argument("--action", help="the action (default: call for a tool, read for a kind:NAME object)")
    why.set_defaults(run=run_explain)

    diff = sub.add_parser(
        "diff",
        help="which subject gains or loses which tool between two policies",
        description=(
            "Compare the effective permissions of two policy directories: for every principal and role "
            "either names, in every domain, the tools and secrets it gains or loses."
        ),
    )
    add_config_option(diff)
    diff.add_argument("old", type=Path, metavar="OLD_DIR")
    diff.add_argument("new", type=Path, metavar="NEW_DIR")
    diff.add_argument(
        "--tools-from-config", action="store_true", help="also compare over every tool of the configured gateway"
    )
    diff.add_argument("--json", action="store_true", help="machine-readable output")
    diff.set_defaults(run=run_diff)


def _add_policy_options(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    parser.add_argument("--policy-dir", type=Path, metavar="DIR", help="policy directory (default: from config)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _policy_dir(args: argparse.Namespace) -> Path:
    if args.policy_dir is not None:
        path: Path = args.policy_dir
        return path
    config = config_from(args)
    authz: AuthzConfig = getattr(config, "authz", AuthzConfig())
    return resolve_policy_dir(authz)


def _emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    print(json.dumps(payload, indent=2) if args.json else text)


def _failed(args: argparse.Namespace, exc: GatewayError) -> int:
    if args.json:
        print(json.dumps({"ok": False, "error": str(exc)}, indent=2))
    else:
        print(f"mcp-gateway: policy rejected: {exc}", file=sys.stderr)
    return EXIT_CHECK_FAILED


def run_check(args: argparse.Namespace) -> int:
    policy_dir = _policy_dir(args)
    try:
        snapshot = load_snapshot(policy_dir)
    except PolicyError as exc:
        return _failed(args, exc)
    summary: dict[str, Any] = snapshot.summary()
    text = (
        f"policy ok: {summary['rules']} rules, {summary['links']} role assignments, "
        f"{summary['tests']} tests passed ({snapshot.directory}, digest {snapshot.digest[:12]})"
    )
    if (policy_dir / "dlp.yaml").is_file():
        # The DLP files beside the policy are governed the same way: they load and pass their tests.
        try:
            dlp = DlpRuntime(DlpConfig(policy_file=policy_dir / "dlp.yaml"), policy_dir=None, state_dir=policy_dir)
            dlp.check()
        except GatewayError as exc:
            return _failed(args, exc)
        summary["dlp"] = {"tests": len(dlp.files.cases), "active": list(dlp.status()["active"])}
        text += f"\ndlp ok: {len(dlp.files.cases)} tests passed, {len(summary['dlp']['active'])} entities active"
    _emit(args, {"ok": True, **summary}, text)
    return EXIT_OK


def run_explain(args: argparse.Namespace) -> int:
    try:
        snapshot: PolicySnapshot = load_snapshot(_policy_dir(args))
    except PolicyError as exc:
        return _failed(args, exc)
    obj: str = args.tool
    action: str = args.action or ("read" if ":" in obj else "call")
    principal = Principal(args.principal, tuple(args.role), args.domain)
    explanation = explain(snapshot.engine, principal, obj, action)
    _emit(args, explanation.as_json(), _explanation_text(explanation))
    return EXIT_OK if explanation.consistent else EXIT_CHECK_FAILED


def _explanation_text(explanation: Explanation) -> str:
    decision, principal = explanation.decision, explanation.principal
    roles = f" with roles {', '.join(principal.roles)}" if principal.roles else ""
    lines = [
        f"{'ALLOW' if decision.allowed else 'DENY'}: {principal.name}{roles} in domain {principal.domain} "
        f"may {'' if decision.allowed else 'not '}{explanation.action} {explanation.obj}",
        f"  because: {decision.reason}",
    ]
    for trace in explanation.subjects:
        via = f" (holds {', '.join(trace.reaches)})" if trace.reaches else ""
        lines.append(f"  as {trace.subject}{via}:")
        lines.extend(f"    matched p, {', '.join(rule)}" for rule in trace.matched)
        if not trace.matched:
            lines.append("    no rule matched")
    if not explanation.consistent:
        lines.append(f"  WARNING: the plain Casbin enforcer decided otherwise: {explanation.reference.reason}")
    return "\n".join(lines)


def run_diff(args: argparse.Namespace) -> int:
    try:
        # A diff shows what a change does, so the new policy's tests need not pass yet (`check` is for that).
        old = load_snapshot(args.old, run_tests=False)
        new = load_snapshot(args.new, run_tests=False)
    except PolicyError as exc:
        return _failed(args, exc)
    tools = [entry.canonical for entry in Gateway(config_from(args)).registry.all()] if args.tools_from_config else []
    result = diff_policies(old.engine, new.engine, tools)
    _emit(args, result.as_json(), _diff_text(result))
    return EXIT_OK


def _diff_text(result: PolicyDiff) -> str:
    lines: list[str] = []
    for change in result.changes:
        lines.append(f"{change.subject} in domain {change.domain}:")
        lines.extend(f"  + {probe.describe()}" for probe in change.gains)
        lines.extend(f"  - {probe.describe()}" for probe in change.loses)
    if not result.changes:
        lines.append("no effective change")
    if result.added_lines or result.removed_lines:
        lines.append("lines:")
        lines.extend(f"  + {line}" for line in result.added_lines)
        lines.extend(f"  - {line}" for line in result.removed_lines)
    return "\n".join(lines)
