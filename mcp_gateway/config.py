"""Configuration: `gateway.toml` -> pydantic models, environment overrides, an embedded default.

Where the configuration comes from, first match wins: `--config PATH`, the file named by
`MCP_GATEWAY_CONFIG`, `$XDG_CONFIG_HOME/mcp-gateway/gateway.toml`, else the embedded default
(which needs no file at all). Any setting can then be overridden from the environment as
`MCP_GATEWAY_<SECTION>__<KEY>`, e.g. `MCP_GATEWAY_HTTP__PORT=9000`; the value is read as a TOML
value when it parses as one (numbers, booleans, arrays), else as a string.

A bad configuration raises `ConfigError` naming the file (or variable) and the key.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mcp_gateway.audit.config import AuditConfig
from mcp_gateway.auditor.config import AuditorConfig
from mcp_gateway.authz.config import AuthzConfig
from mcp_gateway.budgets.config import BudgetConfig
from mcp_gateway.bus_config import BusConfig
from mcp_gateway.dlp.config import DlpConfig
from mcp_gateway.errors import ConfigError
from mcp_gateway.identity.config import AuthConfig
from mcp_gateway.jail_config import JailConfig
from mcp_gateway.names import NAMESPACE_PATTERN, validate_separator
from mcp_gateway.secrets.config import SecretsConfig
from mcp_gateway.upstream_config import UpstreamConfig

ENV_PREFIX = "MCP_GATEWAY_"
ENV_CONFIG_FILE = "MCP_GATEWAY_CONFIG"
EMBEDDED = "<embedded default>"
STATE_DIR_PLACEHOLDER = "{state_dir}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        # A container user without a passwd entry and without $USER: name it by uid.
        return f"uid:{os.getuid()}"


class ServerConfig(_Strict):
    name: str = "mcp-gateway"
    state_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_state_dir("mcp-gateway")))
    wire_separator: str = "__"
    max_message_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    principal: str = Field(default_factory=lambda: _os_user(), min_length=1, max_length=200)
    """Who stdio callers act as (the local OS user unless configured or given with --principal)."""

    @field_validator("wire_separator")
    @classmethod
    def _separator(cls, value: str) -> str:
        return validate_separator(value)


class HttpConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    allowed_hosts: list[str] = Field(default_factory=list)
    """Extra `Host` values accepted besides loopback ones (DNS-rebinding protection stays on)."""
    allowed_origins: list[str] = Field(default_factory=list)


SpanExporterName = Literal["otlp", "jsonl", "console"]


class TelemetryConfig(_Strict):
    """`[telemetry]`: where spans and metrics go, and how logs look (README "Observability")."""

    exporters: list[SpanExporterName] | None = None
    """Span exporters, several at once: `otlp`, `jsonl` (the file auditors read), `console`."""
    exporter: Literal["none", "console", "otlp"] = "none"
    """The older single-exporter key, still accepted; `exporters` is the one to use."""
    otlp_endpoint: str | None = None
    """OTLP/HTTP traces endpoint; when unset the exporter's own default and env vars apply."""
    otlp_metrics_endpoint: str | None = None
    """OTLP/HTTP metrics endpoint (default: `otlp_endpoint` with `/v1/traces` made `/v1/metrics`)."""
    jsonl_path: Path | None = None
    """The span file (default: `<state_dir>/telemetry/spans.jsonl`)."""
    jsonl_max_mb: int = Field(default=64, ge=1)
    """The span file is rotated at this size; `jsonl_keep` rotated files are kept."""
    jsonl_keep: int = Field(default=4, ge=0, le=100)
    metrics: bool | None = None
    """Metrics on or off; by default on when HTTP is served (`/metrics`), else off."""
    metrics_from_loopback: bool = True
    """Whether an anonymous caller on this host may read `/metrics` (turn off behind a local
    reverse proxy, where every caller looks local)."""
    metrics_roles: list[str] = Field(default_factory=lambda: ["admin", "auditor"])
    """Roles whose bearer token may read `/metrics` from anywhere."""
    log_format: Literal["text", "json"] = "text"
    service_name: str = "mcp-gateway"

    @model_validator(mode="after")
    def _one_way_to_say_it(self) -> TelemetryConfig:
        if self.exporters is not None and self.exporter != "none":
            raise ValueError("set either `exporters` (a list) or the older `exporter`, not both")
        return self

    @property
    def span_exporters(self) -> list[str]:
        """The span exporters in force, whichever key named them (no duplicates)."""
        if self.exporters is not None:
            return list(dict.fromkeys(self.exporters))
        return [] if self.exporter == "none" else [self.exporter]

    def span_file(self, state_dir: Path) -> Path:
        return self.jsonl_path or state_dir / "telemetry" / "spans.jsonl"

    def metrics_on(self, serving_http: bool) -> bool:
        return serving_http if self.metrics is None else self.metrics


class CellConfig(_Strict):
    module: str = Field(pattern=r"^[A-Za-z_][\w.]*(:[A-Za-z_]\w*)?$")
    """Import path of the cell: `package.module` (which exports exactly one Cell) or `module:Class`."""
    namespace: str | None = Field(default=None, pattern=f"^{NAMESPACE_PATTERN}$")
    """Checked against the cell's own namespace, so a configuration cannot silently rename tools."""
    enabled: bool = True
    timeout: float = Field(default=30.0, gt=0, le=3600)
    settings: dict[str, Any] = Field(default_factory=dict)
    jail_profile: str | None = None
    """The named `[jail.profiles.*]` its high-risk tools run under (default: `[jail]` itself)."""
    remote: bool = False
    """Hosted by `mcp-gateway worker` processes on the `[bus]` broker, not by the gateway (which
    still imports the cell, to list its tools, but never starts it)."""


def _default_cells() -> list[CellConfig]:
    return [
        CellConfig(module="cells.fs", settings={"root": f"{STATE_DIR_PLACEHOLDER}/workspace"}),
        CellConfig(module="cells.notes"),
        CellConfig(module="cells.gateway"),
    ]


class Config(_Strict):
    server: ServerConfig = Field(default_factory=ServerConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    authz: AuthzConfig = Field(default_factory=AuthzConfig)
    budgets: BudgetConfig = Field(default_factory=BudgetConfig)
    dlp: DlpConfig = Field(default_factory=DlpConfig)
    secrets: SecretsConfig = Field(default_factory=SecretsConfig)
    jail: JailConfig = Field(default_factory=JailConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    auditor: AuditorConfig = Field(default_factory=AuditorConfig)
    bus: BusConfig = Field(default_factory=BusConfig)
    cells: list[CellConfig] = Field(default_factory=_default_cells)
    upstreams: list[UpstreamConfig] = Field(default_factory=list)
    source: str = Field(default=EMBEDDED, exclude=True)
    """Where this configuration was read from, for error messages."""

    @model_validator(mode="after")
    def _profiles_exist(self) -> Config:
        users = [(f"cells[{i}]", item.jail_profile) for i, item in enumerate(self.cells)]
        users += [(f"upstreams[{i}]", item.jail_profile) for i, item in enumerate(self.upstreams)]
        for where, name in users:
            if name is not None and name not in self.jail.profiles:
                raise ValueError(f"{where}.jail_profile: no [jail.profiles.{name}] is defined")
        return self


def find_config_file(explicit: Path | None, environ: Mapping[str, str]) -> Path | None:
    if explicit is not None:
        return explicit
    if environ.get(ENV_CONFIG_FILE):
        return Path(environ[ENV_CONFIG_FILE])
    candidate = Path(platformdirs.user_config_dir("mcp-gateway")) / "gateway.toml"
    return candidate if candidate.is_file() else None


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read, override and validate the configuration; raises `ConfigError` on any problem."""
    environ = os.environ if environ is None else environ
    file = find_config_file(path, environ)
    source = str(file) if file is not None else EMBEDDED
    data = _read_toml(file) if file is not None else {}
    origins = _apply_env_overrides(data, environ)
    try:
        config = Config.model_validate({**data, "source": source})
    except ValidationError as exc:
        error = exc.errors()[0]
        key = _dotted(error["loc"])
        where = next((var for prefix, var in origins.items() if key == prefix or key.startswith(prefix + ".")), source)
        raise ConfigError(where, key, error["msg"]) from None
    return config


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(str(file), "", "no such file") from None
    except OSError as exc:
        raise ConfigError(str(file), "", f"cannot be read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(str(file), "", f"is not valid TOML ({exc})") from None


def _apply_env_overrides(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """Set `MCP_GATEWAY_SECTION__KEY` values into `data`; returns dotted key -> variable name."""
    origins: dict[str, str] = {}
    for var, raw in sorted(environ.items()):
        if not var.startswith(ENV_PREFIX) or "__" not in var:
            continue
        path = [part.lower() for part in var[len(ENV_PREFIX) :].split("__")]
        if not all(path):
            raise ConfigError(var, "", "an override is MCP_GATEWAY_<SECTION>__<KEY>")
        node = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(var, ".".join(path), "overrides a value that is not a table")
            node = child
        node[path[-1]] = _env_value(raw)
        origins[".".join(path)] = var
    return origins


def _env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def expand_state_dir(value: Any, state_dir: Path) -> Any:
    """Replace `{state_dir}` in the string leaves of a cell's settings."""
    if isinstance(value, str):
        return value.replace(STATE_DIR_PLACEHOLDER, str(state_dir))
    if isinstance(value, list):
        return [expand_state_dir(item, state_dir) for item in value]
    if isinstance(value, dict):
        return {key: expand_state_dir(item, state_dir) for key, item in value.items()}
    return value
