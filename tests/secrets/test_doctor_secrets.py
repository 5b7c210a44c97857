"""`doctor` on the secrets manager: which key source, how many secrets, a pending rotation."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_gateway.config import load_config
from mcp_gateway.doctor import Check, check_secrets
from mcp_gateway.secrets.sources import ENV_VAR, FileKeySource
from tests.secrets.helpers import file_store, key_spellings
from tests.support import write_config

FILE_ONLY = '\n[secrets]\nkey_sources = ["env", "file"]\n'


def checks(tmp_path: Path, state_dir: Path) -> dict[str, Check]:
    config = load_config(write_config(tmp_path / "g.toml", state_dir, FILE_ONLY), {})
    return {check.name: check for check in check_secrets(config)}


def test_no_key_yet_is_a_warning_and_creates_nothing(tmp_path: Path, state_dir: Path, clean_env: object) -> None:
    found = checks(tmp_path, state_dir)
    assert found["secrets key"].status == "warn" and "no master key" in found["secrets key"].detail
    assert list(state_dir.iterdir()) == []


def test_key_source_count_and_pending_rotation(tmp_path: Path, state_dir: Path, clean_env: object) -> None:
    store = file_store(state_dir)
    store.set("alpha", "value-of-alpha")
    store.set("beta", "value-of-beta")
    found = checks(tmp_path, state_dir)
    assert found["secrets key"].status == "ok" and f"key file {state_dir / 'master.key'}" in found["secrets key"].detail
    assert found["secrets"].status == "ok" and found["secrets"].data == {"secrets": 2}
    assert "secrets rotation" not in found

    FileKeySource(state_dir / "master.key").stage_pending()  # as a rotation killed before re-sealing
    found = checks(tmp_path, state_dir)
    assert found["secrets rotation"].status == "warn" and "rotate-key" in found["secrets rotation"].detail
    assert (state_dir / "master.key.next").exists(), "doctor only looks; it never finishes a rotation"
    text = "".join(f"{check.detail}{check.data}" for check in found.values()).encode()
    spellings = key_spellings(state_dir / "master.key") + key_spellings(state_dir / "master.key.next")
    assert not any(spelling in text for spelling in spellings) and b"value-of" not in text


@pytest.mark.parametrize("lost", ["key", "wrong key"])
def test_secrets_without_their_key_fail(
    tmp_path: Path, state_dir: Path, clean_env: object, monkeypatch: pytest.MonkeyPatch, lost: str
) -> None:
    file_store(state_dir).set("alpha", "value-of-alpha")
    (state_dir / "master.key").unlink()
    if lost == "wrong key":
        monkeypatch.setenv(ENV_VAR, "ZmFrZS1idXQtd2VsbC1mb3JtZWQtbWFzdGVyLWtleSE=")
    found = checks(tmp_path, state_dir)
    failing = found["secrets key"] if lost == "key" else found["secrets"]
    assert failing.status == "fail"
    if lost == "wrong key":
        assert "not at hand" in failing.detail
