"""dlp.yaml: loading, bad files, and which action applies to a finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_gateway.dlp.config import DEFAULT_DLP_DIR, DlpConfig, resolve_dlp_files
from mcp_gateway.dlp.policy import Action, load_policy, load_registry_yaml
from mcp_gateway.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["dlp.yaml", "presidio.yaml"])
def test_the_admin_copy_is_the_bundled_default(name: str) -> None:
    assert (ROOT / "policies" / name).read_bytes() == (DEFAULT_DLP_DIR / name).read_bytes()


def test_files_resolve_from_config_then_policy_dir_then_bundled(tmp_path: Path) -> None:
    assert resolve_dlp_files(DlpConfig(), None) == (DEFAULT_DLP_DIR / "dlp.yaml", DEFAULT_DLP_DIR / "presidio.yaml")
    assert resolve_dlp_files(DlpConfig(), tmp_path)[0] == DEFAULT_DLP_DIR / "dlp.yaml"  # no dlp.yaml there
    (tmp_path / "dlp.yaml").write_text("entities: {EMAIL_ADDRESS: {}}\n")
    assert resolve_dlp_files(DlpConfig(), tmp_path) == (tmp_path / "dlp.yaml", tmp_path / "presidio.yaml")
    other = tmp_path / "x" / "mine.yaml"
    assert resolve_dlp_files(DlpConfig(policy_file=other), tmp_path) == (other, other.parent / "presidio.yaml")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dlp.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "key", "says"),
    [
        ("entities: [\n", "", "not valid YAML"),
        ("- a\n", "", "must be a mapping"),
        ("entities: {}\n", "entities", "at least 1"),
        ("entities: {email: {}}\n", "entities", "UPPER_SNAKE_CASE"),
        ("entities: {EMAIL_ADDRESS: {egress: shred}}\n", "entities.EMAIL_ADDRESS.egress", "allow"),
        ("entities: {EMAIL_ADDRESS: {min_score: 2}}\n", "entities.EMAIL_ADDRESS.min_score", "less than or equal"),
        ("entities: {EMAIL_ADDRESS: {}}\nsurprise: 1\n", "surprise", "Extra inputs"),
        ("entities: {EMAIL_ADDRESS: {}}\ntools: {'fs.read_*x': {}}\n", "tools", "may only end"),
        ("entities: {EMAIL_ADDRESS: {}}\nroles: {r: {egress: {PHONE_NUMBER: allow}}}\n", "tools/roles", "PHONE_NUMBER"),
    ],
)
def test_a_bad_policy_is_a_config_error_naming_file_and_key(tmp_path: Path, text: str, key: str, says: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    assert caught.value.source == str(path)
    assert caught.value.key == key
    assert says in caught.value.message


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_policy(tmp_path / "nope.yaml")
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_policy(tmp_path / "bin.yaml")


def test_a_registry_without_recognizers_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "presidio.yaml"
    path.write_text("supported_languages: [en]\n")
    with pytest.raises(ConfigError, match="recognizers"):
        load_registry_yaml(path)


POLICY = """
defaults: {min_score: 0.5, ingress: allow, egress: redact}
entities:
  EMAIL_ADDRESS: {egress: pseudonymize}
  PHONE_NUMBER: {min_score: 0.4}
  CREDIT_CARD: {ingress: hash}
tools:
  notes.*: {ingress: {CREDIT_CARD: block, EMAIL_ADDRESS: mask}}
  notes.put: {ingress: {EMAIL_ADDRESS: redact}}
roles:
  support: {egress: {EMAIL_ADDRESS: allow}}
  intern: {egress: {EMAIL_ADDRESS: block}}
"""


def test_actions_follow_precedence_and_strictness(tmp_path: Path) -> None:
    policy = load_policy(_write(tmp_path, POLICY))
    assert policy.entities == ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD")
    assert policy.min_score("PHONE_NUMBER") == 0.4
    assert policy.min_score("EMAIL_ADDRESS") == 0.5
    # The entity's own rule, then the defaults.
    assert policy.actions("fs.read_file", (), "egress")["EMAIL_ADDRESS"] is Action.pseudonymize
    assert policy.actions("fs.read_file", (), "egress")["PHONE_NUMBER"] is Action.redact
    assert policy.actions("fs.read_file", (), "ingress")["CREDIT_CARD"] is Action.hash
    # A tool's rule beats the entity's; of two matching tool patterns, the stricter wins.
    assert policy.actions("notes.get", (), "ingress")["CREDIT_CARD"] is Action.block
    assert policy.actions("notes.get", (), "ingress")["EMAIL_ADDRESS"] is Action.mask
    assert policy.actions("notes.put", (), "ingress")["EMAIL_ADDRESS"] is Action.redact
    # Patterns are anchored: notes.* does not reach notesx.get.
    assert policy.actions("notesx.get", (), "ingress")["CREDIT_CARD"] is Action.hash
    # A role's rule beats the tool's and the entity's; of two roles, the stricter wins.
    assert policy.actions("fs.read_file", ("support",), "egress")["EMAIL_ADDRESS"] is Action.allow
    assert policy.actions("fs.read_file", ("support", "intern"), "egress")["EMAIL_ADDRESS"] is Action.block
