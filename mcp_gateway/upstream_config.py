"""The `[[upstreams]]` entries of gateway.toml: third-party MCP servers run in the jail."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mcp_gateway.names import NAMESPACE_PATTERN
from sandbox.egress import AllowList, EgressRuleError
from sandbox.profile import Layer


class UpstreamConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=f"^{NAMESPACE_PATTERN}$")
    """The namespace its tools are served under."""
    command: list[str] = Field(min_length=1)
    env: dict[str, str] = Field(default_factory=dict)
    """The server's whole environment (besides PATH, LANG, HOME and TMPDIR): nothing else leaks in."""
    read_only: list[str] = Field(default_factory=list)
    """Extra paths the server may read (its own installation, for instance)."""
    timeout: float = Field(default=30.0, gt=0, le=3600)
    enabled: bool = True
    jail_profile: str | None = None
    """The named `[jail.profiles.*]` it starts from (default: `[jail]`); the settings below
    then apply on top."""
    layers: tuple[Layer, ...] | None = None
    """This server's required jail layers (default: its profile's)."""
    address_space_mb: int | None = Field(default=None, ge=64)
    processes: int | None = Field(default=None, ge=2)
    network: list[str] = Field(default_factory=list)
    """Where the server may connect, as `host:port`, `*.domain:port` or `[v6]:port`; empty (the
    default) is no network at all. Reached through the gateway's egress proxy, which resolves
    names itself and refuses a name that resolves to a non-public address."""

    @field_validator("network")
    @classmethod
    def _allow_list(cls, value: list[str]) -> list[str]:
        try:
            AllowList(value)
        except EgressRuleError as exc:
            raise ValueError(str(exc)) from None
        return value
