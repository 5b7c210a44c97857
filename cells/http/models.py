"""Settings and tool models of the `http` cell."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

HEADER_NAME = r"^[A-Za-z0-9-]{1,64}$"


class HostRule(BaseModel):
    """One host the cell may reach, and the credential it sends there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$")
    """Exactly this host name or IP literal (no wildcards: each host is a decision)."""
    schemes: tuple[Literal["https", "http"], ...] = ("https",)
    ports: tuple[int, ...] = ()
    """Allowed ports; empty means the scheme's default only."""
    auth_secret: str | None = None
    """The secret whose value becomes the `Authorization` header (read per call, audited)."""
    auth_scheme: str = "Bearer"
    """`Bearer` gives `Authorization: Bearer <value>`; an empty string sends the value as is."""
    private: bool = False
    """Allow a name that resolves to a loopback or private address (an IP literal always may)."""


class HttpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hosts: list[HostRule] = Field(default_factory=list)
    max_bytes: int = Field(default=1 << 20, ge=1024, le=64 << 20)
    """Response bodies are cut at this size."""
    timeout: float = Field(default=10.0, gt=0, le=120)
    max_request_bytes: int = Field(default=1 << 20, ge=0, le=16 << 20)


class FetchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=4096, description="http(s) URL on an allow-listed host")
    method: Literal["GET", "POST"] = "GET"
    headers: dict[str, str] = Field(
        default_factory=dict, max_length=32, description="extra request headers (never Authorization or Cookie)"
    )
    body: str | None = Field(default=None, description="request body for POST")


class FetchOut(BaseModel):
    status: int
    headers: dict[str, str]
    body: str
    truncated: bool = False
