"""Master key sources: the env variable, the key file, their order, and the key's disguise."""

from __future__ import annotations

import base64
import os
import pickle
import stat
from pathlib import Path

import pytest

from mcp_gateway.secrets.config import SecretsConfig
from mcp_gateway.secrets.errors import MasterKeyError
from mcp_gateway.secrets.key import MasterKey
from mcp_gateway.secrets.masterkey import MasterKeySources, MasterKeyUnavailable
from mcp_gateway.secrets.sources import ENV_VAR, EnvKeySource, FileKeySource
from tests.secrets.helpers import files_under

RAW = bytes(range(32))
B64 = base64.b64encode(RAW).decode()


def sources(state_dir: Path, environ: dict[str, str], **settings: object) -> MasterKeySources:
    config = SecretsConfig.model_validate({"key_sources": ["env", "file"], **settings})
    return MasterKeySources.from_config(config, state_dir, environ)


def test_env_key_as_base64_or_hex_is_the_same_key(state_dir: Path) -> None:
    from_b64 = sources(state_dir, {ENV_VAR: B64}).load().current
    from_hex = sources(state_dir, {ENV_VAR: RAW.hex()}).load().current
    assert from_b64.source == "env" and from_b64.key_id == from_hex.key_id
    assert from_b64.describe() == f"${ENV_VAR} (key id {from_b64.key_id})"
    assert not (state_dir / "master.key").exists()


@pytest.mark.parametrize(
    "value",
    [
        base64.b64encode(b"sixteen-byte-key").decode(),  # well-formed base64, wrong length
        RAW.hex()[:-1],  # 63 hex digits
        "correct-horse-battery-staple-" + "x" * 20,  # a passphrase, not a key
        "clé-" + B64,  # not ASCII
    ],
)
def test_a_malformed_env_key_names_the_variable_and_never_echoes_it(state_dir: Path, value: str) -> None:
    with pytest.raises(MasterKeyError) as caught:
        sources(state_dir, {ENV_VAR: value}, create_key=True).load(create=True)
    message = str(caught.value)
    assert ENV_VAR in message and "64 hex digits" in message
    assert value not in message and value[:12] not in message
    assert not (state_dir / "master.key").exists(), "a bad env key must not fall through to a new key file"


def test_the_key_file_is_created_once_private_and_atomically(state_dir: Path) -> None:
    keys = sources(state_dir, {})
    with pytest.raises(MasterKeyUnavailable) as caught:
        keys.load()  # not asked to create: nothing is written
    assert f"{ENV_VAR} is not set" in str(caught.value) and "does not exist" in str(caught.value)
    assert not (state_dir / "master.key").exists()

    created = keys.load(create=True).current
    path = state_dir / "master.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.stat().st_uid == os.geteuid()
    assert created.source == "file" and created.describe() == f"key file {path} (key id {created.key_id})"
    assert [p.name for p in files_under(state_dir)] == ["master.key"], "no temp file is left behind"
    assert keys.load(create=True).current.key_id == created.key_id, "an existing key is never replaced"
    assert len(base64.b64decode(path.read_text().strip())) == 32


def test_create_key_false_never_creates(state_dir: Path) -> None:
    with pytest.raises(MasterKeyUnavailable, match="create_key = false"):
        sources(state_dir, {}, create_key=False).load(create=True)
    assert not (state_dir / "master.key").exists()


def test_a_key_file_others_can_read_is_refused(state_dir: Path) -> None:
    key = sources(state_dir, {}).load(create=True).current
    path = state_dir / "master.key"
    path.chmod(0o640)
    with pytest.raises(MasterKeyError) as caught:
        sources(state_dir, {}).load()
    assert "mode 0640" in str(caught.value) and f"chmod 600 {path}" in str(caught.value)
    assert key.encode() not in str(caught.value)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
def test_a_key_file_owned_by_someone_else_is_refused(state_dir: Path) -> None:
    sources(state_dir, {}).load(create=True)
    os.chown(state_dir / "master.key", 65534, 65534)
    with pytest.raises(MasterKeyError, match="owned by uid 65534"):
        sources(state_dir, {}).load()


def test_a_malformed_key_file_is_an_error_not_a_reason_to_make_another(state_dir: Path) -> None:
    path = state_dir / "master.key"
    path.write_text("not a key\n")
    path.chmod(0o600)
    with pytest.raises(MasterKeyError, match="does not hold a master key"):
        sources(state_dir, {}).load(create=True)
    assert path.read_text() == "not a key\n"


def test_the_first_source_with_a_key_wins(state_dir: Path) -> None:
    file_key = sources(state_dir, {}).load(create=True).current
    env = {ENV_VAR: B64}
    assert sources(state_dir, env).load().current.source == "env"
    assert sources(state_dir, env, key_sources=["file", "env"]).load().current.key_id == file_key.key_id
    assert sources(state_dir, env, key_sources=["file"]).load().current.source == "file"
    with pytest.raises(MasterKeyUnavailable):
        sources(state_dir, {}, key_sources=["env"]).load(create=True)


def test_a_pending_key_without_a_current_one_is_an_error(state_dir: Path) -> None:
    source = FileKeySource(state_dir / "master.key")
    source.stage_pending()
    with pytest.raises(MasterKeyError, match="pending key of a rotation but no current key"):
        MasterKeySources([source]).load(create=True)
    assert not source.path.exists()


def test_a_master_key_never_shows_itself() -> None:
    key = MasterKey(RAW, "env", f"${ENV_VAR}")
    spellings = [B64, RAW.hex(), RAW.hex().upper(), repr(RAW)]
    for text in (repr(key), str(key), key.describe(), f"{key!r} {key}"):
        assert not any(spelling in text for spelling in spellings), text
    assert key.key_id in repr(key) and len(key.key_id) == 16
    with pytest.raises(TypeError):
        pickle.dumps(key)
    assert MasterKey.parse(key.encode(), "env", "x").key_id == key.key_id
    assert EnvKeySource({ENV_VAR: ""}).load() is None
