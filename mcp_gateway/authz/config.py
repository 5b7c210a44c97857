"""The `[authz]` section of gateway.toml, and where the policy files are."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

DEFAULT_POLICY_DIR = Path(__file__).resolve().parent / "default_policy"
"""The bundled default policy (shipped in the wheel; `policies/` at the top of the repository is
the admin-facing copy of the same files)."""


class AuthzConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    policy_dir: Path | None = None
    """Directory holding model.conf, policy.csv and policy_tests.yaml (default: the bundled policy)."""
    enabled: bool = True


def resolve_policy_dir(authz: AuthzConfig) -> Path:
    return authz.policy_dir.expanduser() if authz.policy_dir is not None else DEFAULT_POLICY_DIR
