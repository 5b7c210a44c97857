"""The three DLP files an admin edits, read together: dlp.yaml, presidio.yaml, dlp_tests.yaml."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp_gateway.dlp.policy import DlpPolicy, load_policy, load_registry_yaml
from mcp_gateway.dlp.policytests import DlpCase, load_cases


def _digest(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path).encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"<absent>")
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class DlpFiles:
    policy: DlpPolicy
    registry: dict[str, Any]
    registry_path: Path
    cases: list[DlpCase]
    digest: str
    """Of all three files: what is in force, or what was refused."""
    registry_digest: str
    """Of presidio.yaml and the entity list: when it changes, the engine must be rebuilt."""

    @property
    def tests_path(self) -> Path:
        return tests_path_for(Path(self.policy.source))


def tests_path_for(policy_path: Path) -> Path:
    return policy_path.parent / "dlp_tests.yaml"


def files_digest(policy_path: Path, registry_path: Path) -> str:
    """Cheap: hashes the bytes, so a touched-but-unchanged file is recognised as unchanged."""
    return _digest(policy_path, registry_path, tests_path_for(policy_path))


def read_dlp_files(policy_path: Path, registry_path: Path) -> DlpFiles:
    """Read and validate all three; raises `ConfigError` naming the file and the key."""
    digest = files_digest(policy_path, registry_path)
    policy = load_policy(policy_path)
    registry = load_registry_yaml(registry_path)
    cases = load_cases(tests_path_for(policy_path))
    registry_digest = hashlib.sha256((_digest(registry_path) + "|".join(policy.entities)).encode()).hexdigest()
    return DlpFiles(policy, registry, registry_path, cases, digest, registry_digest)
