"""The `[auditor]` section of gateway.toml: the `/audit` page on the HTTP transport.

[auditor]
enabled = true
roles = ["auditor"]        # a bearer token with one of these roles may sign in
session_minutes = 30       # a sign-in lasts this long (the token is checked again on every page)
page_size = 50
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AuditorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    roles: list[str] = Field(default_factory=lambda: ["auditor"], min_length=1)
    session_minutes: float = Field(default=30.0, gt=0, le=24 * 60)
    page_size: int = Field(default=50, ge=1, le=500)
