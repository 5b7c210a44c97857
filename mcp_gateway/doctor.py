"""`mcp-gateway doctor`: what this gateway would run with, and what is wrong with it.

Each check is a small function returning `Check`s; the CLI prints them (or `--json`) and exits
1 when any check failed. Checks read files and build objects; they never start a server.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from mcp_gateway import formats, triggers
from mcp_gateway.app import Gateway
from mcp_gateway.audit.access import audit_paths
from mcp_gateway.audit.keys import AuditKeys
from mcp_gateway.audit.segments import segments
from mcp_gateway.audit.verify import verify
from mcp_gateway.authz.config import resolve_policy_dir
from mcp_gateway.authz.reload import PolicyStore
from mcp_gateway.bus_config import redacted
from mcp_gateway.config import Config
from mcp_gateway.dlp.runtime import DlpRuntime
from mcp_gateway.errors import GatewayError
from mcp_gateway.identity.config import tokens_path
from mcp_gateway.identity.tokens import TokenStore
from mcp_gateway.pins import PinStore
from mcp_gateway.registry import load_cells
from mcp_gateway.secrets.errors import MasterKeyError, SecretStoreError
from mcp_gateway.secrets.masterkey import MasterKeyUnavailable
from mcp_gateway.secrets.wiring import key_sources, open_store
from mcp_gateway.status_files import read_status, status_path
from sandbox import host as jail_host

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str
    data: dict[str, Any] | None = None


CheckFn = Callable[[Config], Iterable[Check]]


def check_config(config: Config) -> Iterable[Check]:
    yield Check("config", "ok", f"read from {config.source}")
    http = config.http
    exposed = http.host not in ("127.0.0.1", "localhost", "::1")
    yield Check(
        "http bind",
        "warn" if exposed else "ok",
        f"{http.host}:{http.port}" + (" is reachable beyond this machine" if exposed else " (loopback)"),
    )
    telemetry = config.telemetry
    exporters = ", ".join(telemetry.span_exporters) or "none"
    span_file = f" (span file {telemetry.span_file(config.server.state_dir)})" if "jsonl" in exporters else ""
    metrics = {True: "on", False: "off", None: "on when HTTP is served (/metrics)"}[telemetry.metrics]
    yield Check(
        "telemetry",
        "ok",
        f"span exporters: {exporters}{span_file}; metrics {metrics}; logs {telemetry.log_format}",
        {"exporters": telemetry.span_exporters, "metrics": telemetry.metrics, "log_format": telemetry.log_format},
    )


def check_state_dir(config: Config) -> Iterable[Check]:
    path = config.server.state_dir
    if not path.exists():
        yield Check("state dir", "ok", f"{path} (created on first run)")
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        yield Check("state dir", "warn", f"{path} is readable by others (mode {mode:04o}); expected 0700")
    else:
        yield Check("state dir", "ok", f"{path} (mode {mode:04o})")


def check_cells(config: Config) -> Iterable[Check]:
    # Building the gateway imports, configures and names every cell, without starting anything.
    try:
        gateway = Gateway(config)
    except GatewayError as exc:
        yield Check("cells", "fail", str(exc))
        return
    entries = gateway.registry.all()
    namespaces = sorted({entry.namespace for entry in entries})
    yield Check("cells", "ok", f"{len(entries)} tools in {', '.join(namespaces)}", {"tools": len(entries)})


def check_policy(config: Config) -> Iterable[Check]:
    if not config.authz.enabled:
        yield Check("policy", "warn", "authorization is disabled: every principal may call every tool")
        return
    policy_dir = resolve_policy_dir(config.authz)
    try:
        fresh = PolicyStore(policy_dir)
    except GatewayError as exc:
        yield Check("policy", "fail", f"{policy_dir} does not load: {exc}")
    else:
        yield Check("policy", "ok", f"{policy_dir} loads and passes its tests", fresh.status())
    running = read_status(status_path(config.server.state_dir, "policy"))
    if running is not None and running.get("last_error"):
        detail = f"the running gateway rejected a change at {running.get('last_error_at')}: {running['last_error']}"
        yield Check("policy in force", "warn", detail + " (it keeps the last good policy)", running)
    elif running is not None:
        yield Check("policy in force", "ok", f"digest {str(running.get('digest', ''))[:12]}", running)


def check_auth(config: Config) -> Iterable[Check]:
    auth = config.auth
    if not auth.require_auth:
        yield Check("http auth", "warn", "HTTP callers without a token act as 'anonymous'")
    modes = ["API tokens"] + (["JWT"] if auth.jwt is not None else [])
    yield Check("http auth", "ok", " and ".join(modes) + f", tokens in {tokens_path(config)}")


def check_dlp(config: Config) -> Iterable[Check]:
    if not config.dlp.enabled:
        yield Check("dlp", "warn", "DLP is disabled: arguments and results cross unscanned")
        return
    try:
        runtime = DlpRuntime(config.dlp, policy_dir=config.authz.policy_dir, state_dir=config.server.state_dir)
        runtime.check()
    except GatewayError as exc:
        yield Check("dlp", "fail", str(exc))
        return
    status = runtime.status()
    detail = f"{runtime.policy_path} passes its {len(runtime.files.cases)} tests; NLP engine {status['nlp']}"
    detail += f"; {len(status['active'])} entities active"
    yield Check("dlp", "ok", detail + f": {', '.join(status['active'])}", status)
    running = read_status(status_path(config.server.state_dir, "dlp"))
    if running is not None and running.get("last_error"):
        detail = f"the running gateway rejected a change at {running.get('last_error_at')}: {running['last_error']}"
        yield Check("dlp in force", "warn", detail + " (it keeps the last good files)", running)
    for entity, why in status["inactive"].items():
        yield Check("dlp entity", "warn", f"{entity} is listed in dlp.yaml but inactive: {why}")
    if config.dlp.known_secret_env:
        missing = [name for name in config.dlp.known_secret_env if name not in runtime.known_secrets_present()]
        if missing:
            yield Check("dlp secrets", "warn", f"known_secret_env names unset variables: {', '.join(missing)}")


def check_jail(config: Config) -> Iterable[Check]:
    """Which jail layers this host can apply; a missing one fails any profile that requires it."""
    found = jail_host.describe()
    layers: dict[str, str | None] = found["layers"]
    missing = {layer: why for layer, why in layers.items() if why is not None}
    usable = ", ".join(layer for layer, why in layers.items() if why is None)
    detail = f"Landlock ABI {found['landlock_abi']}, layers available: {usable}"
    yield Check("jail", "warn" if missing else "ok", detail, found)
    for layer, why in missing.items():
        yield Check(
            "jail layer", "warn", f"{layer} cannot be applied here ({why}): a profile requiring it refuses to run"
        )


def check_upstreams(config: Config) -> Iterable[Check]:
    """Upstream tools whose definitions changed since pinned, waiting for `surface approve`."""
    if not config.upstreams:
        return
    try:
        pending = PinStore(config.server.state_dir).pending()
    except GatewayError as exc:
        yield Check("upstream pins", "fail", str(exc))
        return
    if pending:
        names = ", ".join(sorted(pending))
        yield Check(
            "upstream pins", "warn", f"quarantined until approved (mcp-gateway surface approve): {names}", pending
        )
    else:
        yield Check("upstream pins", "ok", f"{len(config.upstreams)} upstream(s), no changed tool definition")


def check_secrets(config: Config) -> Iterable[Check]:
    """Which source supplies the master key, how many secrets, whether a rotation is pending.
    Reads only: it never creates a key, finishes a rotation or decrypts a value."""
    store = open_store(config)
    try:
        sealed = store.key_ids()
        count = len(store.names())
    except SecretStoreError as exc:
        yield Check("secrets", "fail", str(exc))
        return
    try:
        keys = key_sources(config).load()
    except MasterKeyUnavailable as exc:
        # The gateway runs without secrets; a store that has some but no key to open them is broken.
        yield Check("secrets key", "fail" if sealed else "warn", str(exc))
        return
    except MasterKeyError as exc:
        yield Check("secrets key", "fail", str(exc))
        return
    data = {"source": keys.current.source, "key_id": keys.current.key_id, "secrets": count}
    yield Check("secrets key", "ok", f"master key from {keys.current.describe()}", data)
    if keys.pending is not None:
        detail = f"a key rotation to key id {keys.pending.key_id} did not finish; run: mcp-gateway secrets rotate-key"
        yield Check("secrets rotation", "warn", detail)
    known = {keys.current.key_id} | ({keys.pending.key_id} if keys.pending is not None else set())
    stranded = {key_id: n for key_id, n in sealed.items() if key_id not in known}
    if stranded:
        detail = ", ".join(f"{n} under key id {key_id}" for key_id, n in sorted(stranded.items()))
        yield Check("secrets", "fail", f"entries sealed under a key that is not at hand: {detail}", stranded)
    else:
        yield Check("secrets", "ok", f"{count} secret(s) in {store.directory.path}", {"secrets": count})


def check_formats(config: Config) -> Iterable[Check]:
    """Every kept file in a format this gateway runs (else it refuses to start)."""
    try:
        cells = [item.cell.stored_files() for item in load_cells(config)]
        findings = formats.inspect(formats.kept_files(config, cells))
    except GatewayError as exc:
        yield Check("formats", "fail", str(exc))
        return
    stale = [f for f in findings if f.state in ("old", "newer")]
    for finding in stale:
        detail = f"{finding.kept.name} is in format {finding.found}, this gateway runs {finding.kept.current}"
        yield Check("formats", "fail", f"{detail}: {formats.MIGRATE_HINT}")
    if not stale:
        present = sum(1 for f in findings if f.state == "current")
        yield Check("formats", "ok", f"{present} kept file(s), all in the current format")


def check_audit(config: Config) -> Iterable[Check]:
    """The log's directory is writable and its chain and checkpoints verify (needs the key;
    never creates one)."""
    if not config.audit.enabled:
        yield Check("audit", "warn", "the audit log is disabled: calls leave no record")
        return
    log_dir, checkpoint_dir = audit_paths(config)
    writable = log_dir if log_dir.exists() else log_dir.parent
    if writable.exists() and not os.access(writable, os.W_OK):
        yield Check("audit", "fail", f"{writable} is not writable: every call would be refused")
        return
    if not segments(log_dir):
        yield Check("audit", "ok", f"{log_dir} (no records yet)")
        return
    if not (config.server.state_dir / "secrets" / "_root.json").exists():
        yield Check("audit", "fail", "the log exists but the secret store's root key (its keys) is missing")
        return
    try:
        key_sources(config).load()
        keys = AuditKeys.derive(open_store(config).derive_key)
    except (MasterKeyError, SecretStoreError) as exc:
        yield Check("audit", "warn", f"cannot verify the chain without the master key: {exc}")
        return
    report = verify(log_dir, keys.chain, checkpoint_dir, keys.public_key)
    if report.ok:
        yield Check("audit", "ok", f"{report.records} records in {report.files} file(s) verify", report.as_dict())
    else:
        problem = report.problem
        assert problem is not None
        where = f"{problem.file}, line {problem.line}" if problem.line else str(problem.file or "")
        yield Check("audit", "fail", f"the chain is broken at {where}: {problem.reason}", report.as_dict())


def check_bus(config: Config) -> Iterable[Check]:
    """Which bus carries calls, which cells workers host, and whether the broker answers."""
    bus = config.bus
    remote = [item.module for item in config.cells if item.enabled and item.remote]
    if not bus.remote:
        status: Status = "fail" if remote else "ok"
        detail = "in-memory: every cell runs in the gateway's process"
        yield Check("bus", status, detail + (f"; but {', '.join(remote)} are marked remote" if remote else ""))
        return
    parts = urlsplit(bus.url)
    port = parts.port or (4222 if bus.kind == "nats" else 6379)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=1.0):
            reachable = True
    except OSError:
        reachable = False
    where = f"{bus.kind} at {redacted(bus.url)}"
    hosted = f"; workers host {', '.join(remote)}" if remote else "; no cell is marked remote"
    yield Check(
        "bus", "ok" if reachable else "warn", where + (" (reachable)" if reachable else " (not reachable now)") + hosted
    )


def check_distribution(config: Config) -> Iterable[Check]:
    """The seed's distribution triggers, and the recommendation they add up to."""
    try:
        gateway = Gateway(config)
        entries = gateway.registry.all()
        domains = len(gateway.policy.current.engine.policy.domains()) if gateway.policy is not None else 1
    except GatewayError as exc:
        yield Check("distribution", "warn", f"cannot weigh the triggers: {exc}")
        return
    try:
        owners = [info.principal for info in TokenStore(tokens_path(config)).list()]
    except GatewayError:
        owners = []
    package = Path(__file__).resolve().parent
    roots = [package, package.parent / "sandbox"]
    roots += sorted({Path(sys.modules[type(h.cell).__module__].__file__ or "").parent for h in gateway.hosts})
    fired = triggers.evaluate(
        audit_dir=audit_paths(config)[0],
        token_principals=owners,
        upstreams=len(config.upstreams),
        high_risk_tools=sum(1 for entry in entries if entry.risk == "high"),
        domains=max(domains, 1),
        code_roots=roots,
    )
    for trigger in fired:
        yield Check(f"trigger: {trigger.name}", "warn" if trigger.fired else "ok", trigger.detail, trigger.as_json())
    advice = triggers.recommendation(fired)
    data = {"recommendation": advice, "triggers": [t.as_json() for t in fired]}
    yield Check("distribution", "ok", advice, data)


CHECKS: list[CheckFn] = [
    check_config,
    check_state_dir,
    check_cells,
    check_auth,
    check_policy,
    check_dlp,
    check_secrets,
    check_jail,
    check_upstreams,
    check_formats,
    check_audit,
    check_bus,
    check_distribution,
]


def run_checks(config: Config, checks: Iterable[CheckFn] = CHECKS) -> list[Check]:
    return [check for fn in checks for check in fn(config)]


def render(checks: list[Check], as_json: bool) -> str:
    if as_json:
        return json.dumps(
            {"ok": all(c.status != "fail" for c in checks), "checks": [asdict(c) for c in checks]}, indent=2
        )
    marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
    return "\n".join(f"{marks[c.status]}  {c.name}: {c.detail}" for c in checks)
