"""The `[dlp]` section of gateway.toml, and where the DLP files are."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_DLP_DIR = Path(__file__).resolve().parent / "default"
"""The bundled dlp.yaml and presidio.yaml (`policies/` at the top of the repository holds the
admin-facing copies of the same files)."""


class DlpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    policy_file: Path | None = None
    """dlp.yaml; default: the one in `[authz] policy_dir` when it has one, else the bundled one."""
    recognizers_file: Path | None = None
    """Presidio's recognizer-registry YAML; default: presidio.yaml beside dlp.yaml."""
    nlp_model: str | None = None
    """An installed spaCy NER model (e.g. "en_core_web_sm"): switches on PERSON, LOCATION and
    ORGANIZATION. Unset: Presidio's no_op NLP engine, no model, nothing downloaded."""
    known_secret_env: list[str] = Field(default_factory=list)
    """Environment variables whose values the gateway holds as its own secrets: they never leave
    through a result, in any encoding (until the secret store exists, this is how to name them)."""
    max_depth: int = Field(default=32, ge=1, le=1000)
    max_leaves: int = Field(default=10_000, ge=1)
    max_chars: int = Field(default=4_000_000, ge=1)
    cache_entries: int = Field(default=4096, ge=0)
    ready_timeout: float = Field(default=120.0, gt=0)
    """How long a call waits for the DLP engine to finish loading at start-up before it is refused."""


def resolve_dlp_files(dlp: DlpConfig, policy_dir: Path | None) -> tuple[Path, Path]:
    """(dlp.yaml, presidio.yaml) to load."""
    if dlp.policy_file is not None:
        policy = dlp.policy_file.expanduser()
    elif policy_dir is not None and (policy_dir.expanduser() / "dlp.yaml").is_file():
        policy = policy_dir.expanduser() / "dlp.yaml"
    else:
        policy = DEFAULT_DLP_DIR / "dlp.yaml"
    recognizers = (
        dlp.recognizers_file.expanduser() if dlp.recognizers_file is not None else policy.parent / "presidio.yaml"
    )
    return policy, recognizers
