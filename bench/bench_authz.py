"""Benchmark: authorization decisions with 1,000 policy lines and 1,000 role assignments.

    uv run python bench/bench_authz.py [--samples N] [--seed S] [--json]

Measures, in one run and on the same generated policy:
  * plain pycasbin `enforce` with `globMatch` and deny-overrides (the usual way to write it);
  * our engine's reference path (the plain enforcer with the anchored `objMatch`);
  * our engine's decision uncached, with a cold index (a fresh engine per sample) and a warm one;
  * our engine's decision cached;
  * `visible()` over 200 tools (tools/list filtering), cold and warm.
A benchmark, not a test: it reports figures and never judges them. Progress goes to stderr, so
`--json` leaves exactly one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import casbin  # type: ignore[import-untyped]
from casbin.model import Model  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.stats import percentile  # noqa: E402
from mcp_gateway.authz.casbin_model import CasbinEnforcer, parse_model  # noqa: E402
from mcp_gateway.authz.config import DEFAULT_POLICY_DIR  # noqa: E402
from mcp_gateway.authz.engine import Engine  # noqa: E402
from mcp_gateway.authz.policy_files import Policy, parse_policy  # noqa: E402
from mcp_gateway.sdk import Principal  # noqa: E402

NAMESPACES, TOOLS_PER_NAMESPACE = 20, 10
ROLES, USERS, TENANTS = 100, 900, 10
VISIBLE_PRINCIPALS = 100
VERBS = ("read", "write", "list", "stat", "search")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def tools() -> list[str]:
    return [f"ns{n}.{VERBS[t % len(VERBS)]}_{t}" for n in range(NAMESPACES) for t in range(TOOLS_PER_NAMESPACE)]


def generated_policy(rng: random.Random, inheritance: int = 100) -> str:
    """1,000 p lines (a tenth deny, a third tenant-scoped) and 1,000 g lines: `inheritance` of them
    between roles, the others giving users a role."""
    lines: set[str] = set()

    def domain() -> str:
        return f"tenant{rng.randrange(TENANTS)}" if rng.random() < 0.3 else "*"

    def pattern() -> str:
        ns, tool = rng.randrange(NAMESPACES), rng.randrange(TOOLS_PER_NAMESPACE)
        return rng.choice([f"ns{ns}.*", f"ns{ns}.{VERBS[tool % len(VERBS)]}_*", f"ns{ns}.{VERBS[tool % 5]}_{tool}"])

    subjects = [f"role:r{r}" for r in range(ROLES)] + [f"u{u}" for u in range(0, USERS, 9)]
    while len(lines) < 1000:
        effect = "deny" if rng.random() < 0.1 else "allow"
        lines.add(f"p, {rng.choice(subjects)}, {domain()}, {pattern()}, call, {effect}")
    links: set[str] = set()
    for user in range(1000 - inheritance):
        links.add(f"g, u{user % USERS}, role:r{rng.randrange(ROLES)}, {domain()}")
    while len(links) < 1000:  # role inheritance: a role inherits a lower-numbered one (no cycles)
        child = rng.randrange(1, ROLES)
        links.add(f"g, role:r{child}, role:r{rng.randrange(child)}, *")
    return "\n".join(sorted(lines) + sorted(links)) + "\n"


def plain_casbin(policy: Policy) -> Any:
    """Plain pycasbin, as NOTES.md measured it: globMatch, deny-overrides, domain `*` on both."""
    model = Model()
    text = (DEFAULT_POLICY_DIR / "model.conf").read_text().replace("objMatch(", "globMatch(")
    model.load_model_from_text(text)
    enforcer = casbin.Enforcer(model)
    enforcer.add_named_domain_matching_func("g", lambda request, link: link == "*" or request == link)
    enforcer.get_model().add_policies("p", "p", [list(rule.values) for rule in policy.rules])
    enforcer.get_model().add_policies("g", "g", [list(link.values) for link in policy.links])
    enforcer.build_role_links()
    return enforcer


def timed(samples: int, setup: Callable[[int], Callable[[], object]]) -> list[float]:
    """Time `samples` calls; `setup(i)` (untimed) returns the call to time."""
    durations: list[float] = []
    for i in range(samples):
        call = setup(i)
        start = time.perf_counter()
        call()
        durations.append(time.perf_counter() - start)
    return durations


def summary(durations: Sequence[float]) -> dict[str, float]:
    return {
        "p50_us": percentile(durations, 50) * 1e6,
        "p99_us": percentile(durations, 99) * 1e6,
        "samples": len(durations),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    text = generated_policy(rng, args.inheritance)
    policy = parse_policy(text, "generated.csv")
    model = parse_model((DEFAULT_POLICY_DIR / "model.conf").read_text(), "model.conf")
    reference = CasbinEnforcer(model, policy)
    engine = Engine(policy, reference)
    names = tools()
    requests = [
        (Principal(f"u{rng.randrange(USERS)}", domain=f"tenant{rng.randrange(TENANTS)}"), rng.choice(names))
        for _ in range(args.samples)
    ]
    progress(f"policy: {len(policy.rules)} p lines, {len(policy.links)} g lines; {len(names)} tools")

    def fresh_engine() -> Engine:
        return Engine(policy, reference)

    results: dict[str, Any] = {}
    slow = max(50, args.samples // 10)
    progress(f"plain pycasbin enforce (globMatch): {slow} samples ...")
    plain = plain_casbin(policy)
    results["plain_casbin_enforce"] = summary(
        timed(slow, lambda i: lambda: plain.enforce(requests[i][0].name, requests[i][0].domain, requests[i][1], "call"))
    )
    progress(f"reference path (plain enforcer, objMatch): {slow} samples ...")
    results["reference_decide_plain"] = summary(
        timed(slow, lambda i: lambda: engine.decide_plain(requests[i][0], requests[i][1], "call"))
    )
    progress(f"engine, uncached, cold index: {slow} samples ...")
    cold: list[Engine] = []

    def cold_call(i: int) -> Callable[[], object]:
        cold[:] = [fresh_engine()]
        return lambda: cold[0].decide(requests[i][0], requests[i][1], "call")

    results["decide_uncached_cold"] = summary(timed(slow, cold_call))
    progress(f"engine, uncached, warm index: {args.samples} samples ...")
    for principal, tool in requests:  # warm the index memos
        engine.decide_uncached(principal, tool, "call")
    results["decide_uncached_warm"] = summary(
        timed(args.samples, lambda i: lambda: engine.decide_uncached(requests[i][0], requests[i][1], "call"))
    )
    progress(f"engine, cached: {args.samples} samples ...")
    for principal, tool in requests:  # fill the decision cache
        engine.decide(principal, tool, "call")
    results["decide_cached"] = summary(
        timed(args.samples, lambda i: lambda: engine.decide(requests[i][0], requests[i][1], "call"))
    )
    progress(f"visible() over {len(names)} tools ...")

    def visible_cold(i: int) -> Callable[[], object]:
        cold[:] = [fresh_engine()]
        return lambda: cold[0].visible(requests[i][0], names)

    results["visible_200_cold"] = summary(timed(slow, visible_cold))
    # 100 principals x 200 tools stay well inside the decision cache (65,536 entries).
    engine = fresh_engine()
    for principal, _ in requests[:VISIBLE_PRINCIPALS]:
        engine.visible(principal, names)
    results["visible_200_cached"] = summary(
        timed(slow, lambda i: lambda: engine.visible(requests[i % VISIBLE_PRINCIPALS][0], names))
    )
    agree = sum(
        plain.enforce(p.name, p.domain, t, "call") == engine.decide(p, t, "call").allowed for p, t in requests[:slow]
    )
    plain_p50 = results["plain_casbin_enforce"]["p50_us"]
    return {
        "python": platform.python_version(),
        "pycasbin": version("pycasbin"),
        "policy_lines": len(policy.rules),
        "role_assignments": len(policy.links),
        "results": results,
        "speedup_vs_plain_casbin": {
            name: plain_p50 / figures["p50_us"] for name, figures in results.items() if name.startswith("decide")
        },
        "plain_casbin_agrees_on": f"{agree}/{slow}",
    }


def render(report: dict[str, Any]) -> str:
    lines = [
        f"authz bench: {report['policy_lines']} policy lines, {report['role_assignments']} role assignments "
        f"(Python {report['python']}, pycasbin {report['pycasbin']})",
        f"{'':28} {'p50 us':>10} {'p99 us':>10} {'vs plain':>10}",
    ]
    plain_p50 = report["results"]["plain_casbin_enforce"]["p50_us"]
    for name, figures in report["results"].items():
        ratio = plain_p50 / figures["p50_us"]
        lines.append(f"{name:28} {figures['p50_us']:>10.1f} {figures['p99_us']:>10.1f} {ratio:>9.0f}x")
    lines.append(
        f"plain casbin (globMatch) agrees with the engine on {report['plain_casbin_agrees_on']} requests "
        "(they differ only where a glob reaches past a name)"
    )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Authorization decisions against plain pycasbin.")
    parser.add_argument("--samples", type=int, default=5000, help="samples for the fast measurements")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--inheritance", type=int, default=100, help="how many of the 1,000 g lines link roles to roles (0: flat)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
