"""The secret store over real files and real AES-GCM: round trips, modes, tampering, wrong keys."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from mcp_gateway.secrets.errors import InvalidSecret, MasterKeyError, SecretCorrupt, SecretNotFound, SecretStoreError
from mcp_gateway.secrets.masterkey import MasterKeyUnavailable
from mcp_gateway.secrets.store import SecretStore
from tests.secrets.helpers import file_store, files_under, key_spellings

VALUE = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"


@pytest.fixture
def store(state_dir: Path) -> SecretStore:
    return file_store(state_dir)


def test_round_trip_metadata_and_delete(store: SecretStore, state_dir: Path) -> None:
    assert store.names() == [] and store.list() == [] and store.values() == []
    first = store.set("github_token", VALUE, description="CI pushes")
    store.set("db_password-2", "pässwörd ✓ with\nnewlines\n")
    assert store.get("github_token") == VALUE
    assert store.get("db_password-2") == "pässwörd ✓ with\nnewlines\n"
    assert store.names() == ["db_password-2", "github_token"]
    assert sorted(store.values()) == sorted([VALUE, "pässwörd ✓ with\nnewlines\n"])

    replaced = store.set("github_token", "ghp_new")
    assert store.get("github_token") == "ghp_new"
    info = store.metadata("github_token")
    assert info == replaced and info.description == "CI pushes", "a replaced value keeps its description"
    assert info.created_at == first.created_at and info.updated_at >= first.updated_at
    assert [i.name for i in store.list()] == ["db_password-2", "github_token"]

    store.delete("db_password-2")
    with pytest.raises(SecretNotFound):
        store.get("db_password-2")
    with pytest.raises(SecretNotFound):
        store.delete("db_password-2")
    with pytest.raises(SecretNotFound):
        store.metadata("nothing")
    assert file_store(state_dir).get("github_token") == "ghp_new", "a second store reads what the first wrote"


@pytest.mark.parametrize(
    "name", ["", "1password", "_root", "../etc/passwd", "a/b", "db.password", "with space", "x" * 129, "é"]
)
def test_names_that_no_secret_may_have(store: SecretStore, name: str) -> None:
    with pytest.raises(InvalidSecret, match="is not a secret name"):
        store.set(name, "v")
    with pytest.raises(InvalidSecret):
        store.get(name)
    with pytest.raises(InvalidSecret):
        store.delete(name)


def test_values_and_descriptions_that_are_refused(store: SecretStore) -> None:
    with pytest.raises(InvalidSecret, match="empty"):
        store.set("a", "")
    with pytest.raises(InvalidSecret, match="at most"):
        store.set("a", "x" * (64 * 1024 + 1))
    with pytest.raises(InvalidSecret, match="description"):
        store.set("a", "v", description="bell\a")
    with pytest.raises(InvalidSecret, match="Unicode"):
        store.set("a", "\ud800")
    assert store.names() == []


@pytest.mark.req("R-023")
def test_files_are_private_and_hold_no_plaintext(store: SecretStore, state_dir: Path) -> None:
    store.set("github_token", VALUE, description="CI pushes")
    store.derive_key("audit-chain")
    directory = state_dir / "secrets"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = sorted(p.name for p in directory.iterdir())
    assert files == [".lock", "_root.json", "github_token.json"], "one file per secret, no temp file left"
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.stat().st_uid == os.geteuid()
    document = json.loads((directory / "github_token.json").read_text())
    assert set(document) == {
        "version", "name", "key_id", "nonce", "ciphertext", "created_at", "updated_at", "description"
    }  # fmt: skip
    assert document["version"] == 1 and document["name"] == "github_token"
    assert document["description"] == "CI pushes"
    for path in files_under(state_dir):
        data = path.read_bytes()
        assert VALUE.encode() not in data and VALUE[4:20].encode() not in data, path
        if path.name != "master.key":
            assert not any(spelling in data for spelling in key_spellings(state_dir / "master.key")), path


def test_two_writes_of_one_value_differ(store: SecretStore, state_dir: Path) -> None:
    store.set("a", VALUE)
    first = json.loads((state_dir / "secrets" / "a.json").read_text())
    store.set("a", VALUE)
    second = json.loads((state_dir / "secrets" / "a.json").read_text())
    assert first["nonce"] != second["nonce"] and first["ciphertext"] != second["ciphertext"]


def _edit(path: Path, **changes: object) -> None:
    document = json.loads(path.read_text())
    document.update(changes)
    path.write_text(json.dumps(document))


def _flip(text: str) -> str:
    """The base64 `text` with one bit of its first byte flipped."""
    data = bytearray(base64.b64decode(text))
    data[0] ^= 1
    return base64.b64encode(bytes(data)).decode()


@pytest.mark.parametrize(
    "tamper",
    ["ciphertext", "nonce", "name", "renamed", "copied-and-renamed", "version", "truncated", "not-base64"],
)
def test_tampering_fails_loudly_and_never_yields_data(store: SecretStore, state_dir: Path, tamper: str) -> None:
    store.set("alpha", "value-of-alpha")
    store.set("beta", "value-of-beta")
    directory = state_dir / "secrets"
    alpha, beta = directory / "alpha.json", directory / "beta.json"
    document = json.loads(alpha.read_text())
    if tamper == "ciphertext":
        _edit(alpha, ciphertext=_flip(document["ciphertext"]))
    elif tamper == "nonce":
        _edit(alpha, nonce=_flip(document["nonce"]))
    elif tamper == "name":
        _edit(beta, **{**document, "name": "beta"})  # alpha's sealed value, claiming to be beta
    elif tamper == "renamed":
        os.replace(alpha, beta)
    elif tamper == "copied-and-renamed":
        beta.write_text(alpha.read_text())
    elif tamper == "version":
        _edit(alpha, version=2)
    elif tamper == "truncated":
        alpha.write_text(alpha.read_text()[:-30])
    else:
        _edit(alpha, ciphertext="!!" + document["ciphertext"])
    victim = "alpha" if tamper in ("ciphertext", "nonce", "version", "truncated", "not-base64") else "beta"
    reader = file_store(state_dir)
    with pytest.raises(SecretCorrupt) as caught:
        reader.get(victim)
    assert str(directory) in str(caught.value) and "value-of" not in str(caught.value)
    with pytest.raises(SecretCorrupt):
        reader.values()


def test_a_secret_sealed_under_another_key_is_refused_by_key_id(store: SecretStore, state_dir: Path) -> None:
    store.set("alpha", "value-of-alpha")
    old = key_spellings(state_dir / "master.key")
    (state_dir / "master.key").unlink()
    other = file_store(state_dir)
    # With secrets on disk, a missing key is never replaced by a new one.
    with pytest.raises(MasterKeyUnavailable, match="restore the master key"):
        other.set("beta", "v")
    assert not (state_dir / "master.key").exists()

    other_dir = state_dir.parent / "other"
    other_dir.mkdir()
    file_store(other_dir).set("x", "y")  # a key file of its own
    os.replace(other_dir / "master.key", state_dir / "master.key")
    with pytest.raises(MasterKeyError) as caught:
        file_store(state_dir).get("alpha")
    assert "restore the key it was sealed under" in str(caught.value)
    assert not any(spelling.decode(errors="replace") in str(caught.value) for spelling in old)

    # A key id written over the file's own does not help either: the key is still the wrong one.
    key_id = json.loads((other_dir / "secrets" / "x.json").read_text())["key_id"]
    _edit(state_dir / "secrets" / "alpha.json", key_id=key_id)
    with pytest.raises(SecretCorrupt, match="fails its integrity check"):
        file_store(state_dir).get("alpha")


def test_derived_keys_are_stable_distinct_and_hidden(store: SecretStore, state_dir: Path) -> None:
    chain = store.derive_key("audit-chain")
    assert len(chain) == 32 and chain != store.derive_key("audit-values")
    assert file_store(state_dir).derive_key("audit-chain") == chain
    assert store.names() == [] and store.list() == [] and store.values() == []
    with pytest.raises(InvalidSecret):
        store.delete("_root")
    with pytest.raises(InvalidSecret):
        store.derive_key("")
    store.rotate_key()
    assert file_store(state_dir).derive_key("audit-chain") == chain, "keys outlive a master key rotation"


def test_a_loose_secrets_directory_is_refused(store: SecretStore, state_dir: Path) -> None:
    store.set("alpha", "v")
    (state_dir / "secrets").chmod(0o755)
    with pytest.raises(SecretStoreError, match="chmod 700"):
        file_store(state_dir).get("alpha")


def test_no_key_is_needed_or_made_to_list_an_empty_store(state_dir: Path) -> None:
    store = file_store(state_dir)
    assert store.names() == [] and store.values() == []
    with pytest.raises(SecretNotFound):
        store.get("alpha")
    assert not (state_dir / "master.key").exists()


def test_a_reader_follows_a_rotation_made_elsewhere(store: SecretStore, state_dir: Path) -> None:
    store.set("alpha", "value-of-alpha")
    assert store.get("alpha") == "value-of-alpha"  # the reader's cipher is now cached
    result = file_store(state_dir).rotate_key()
    assert store.get("alpha") == "value-of-alpha"
    assert store.metadata("alpha").key_id == result.new_key_id
