"""Choosing the OS keyring only when a usable backend is there, with real keyring backends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null

from mcp_gateway.secrets.config import SecretsConfig
from mcp_gateway.secrets.errors import MasterKeyError
from mcp_gateway.secrets.key import MasterKey
from mcp_gateway.secrets.keyring_source import CURRENT, PENDING, SERVICE, KeyringKeySource, unusable_reason
from mcp_gateway.secrets.masterkey import MasterKeySources
from mcp_gateway.secrets.store import SecretStore
from tests.secrets import cryptfile_standin
from tests.secrets.keyrings import (
    CryptfileChainer,
    EmptyChainer,
    LockedKeyring,
    MemoryChainer,
    MemoryKeyring,
    UndeletableKeyring,
)

Install = Callable[[KeyringBackend], None]


@pytest.fixture
def use_keyring() -> Iterator[Install]:
    """Install a backend with `keyring.set_keyring` for one test, then put the previous one back."""
    previous = keyring.get_keyring()

    def install(backend: KeyringBackend) -> None:
        keyring.set_keyring(backend)

    yield install
    keyring.set_keyring(previous)


def default_sources(state_dir: Path) -> MasterKeySources:
    """The default order (keyring, env, file), with no key in the environment."""
    return MasterKeySources.from_config(SecretsConfig(), state_dir, {})


@pytest.mark.parametrize(
    ("backend", "why"),
    [
        (fail.Keyring(), "no keyring backend is available here"),
        (null.Keyring(), "no keyring backend is available here"),
        (EmptyChainer(), "chains none"),
        (cryptfile_standin.CryptFileKeyring(), "asks for a password on a terminal"),
        (CryptfileChainer(), "would reach a backend that cannot be used"),
    ],
    ids=["fail", "null", "empty-chainer", "cryptfile", "chained-cryptfile"],
)
def test_an_unusable_backend_is_skipped_without_being_called(
    use_keyring: Install, state_dir: Path, backend: KeyringBackend, why: str
) -> None:
    use_keyring(backend)
    assert why in (unusable_reason(backend) or "")
    keys = default_sources(state_dir)
    # The cryptfile stand-in raises EOFError on any call: reaching it would fail this test.
    created = keys.load(create=True)
    assert created.current.source == "file" and (state_dir / "master.key").exists()


@pytest.mark.parametrize("backend", [MemoryKeyring(), MemoryChainer()], ids=["memory", "chained-memory"])
def test_a_usable_keyring_with_a_key_supplies_it(
    use_keyring: Install, state_dir: Path, backend: KeyringBackend
) -> None:
    use_keyring(backend)
    assert unusable_reason(backend) is None
    key = MasterKey.generate("keyring", "test")
    backend.set_password(SERVICE, CURRENT, key.encode())
    found = default_sources(state_dir).load(create=True).current
    assert found.source == "keyring" and found.same_as(key)
    assert f"keyring entry {SERVICE}/{CURRENT}" in found.describe() and key.encode() not in found.describe()
    assert not (state_dir / "master.key").exists(), "no key file when the keyring has the key"


def test_a_usable_keyring_without_a_key_falls_through_and_is_never_written(
    use_keyring: Install, state_dir: Path
) -> None:
    backend = MemoryKeyring()
    use_keyring(backend)
    assert default_sources(state_dir).load(create=True).current.source == "file"
    assert backend.entries == {}


def test_a_keyring_that_refuses_to_be_read_is_an_error(use_keyring: Install, state_dir: Path) -> None:
    use_keyring(LockedKeyring())
    with pytest.raises(MasterKeyError, match="cannot be read .KeyringLocked"):
        default_sources(state_dir).load(create=True)
    assert not (state_dir / "master.key").exists(), "a locked keyring must not lead to a second key"


def test_rotation_in_the_keyring(use_keyring: Install, state_dir: Path) -> None:
    backend = MemoryKeyring()
    use_keyring(backend)
    old = MasterKey.generate("keyring", "test")
    backend.set_password(SERVICE, CURRENT, old.encode())
    store = SecretStore(state_dir, default_sources(state_dir))
    store.set("api_key", "value-1")
    audit_key = store.derive_key("audit-chain")

    result = store.rotate_key()
    assert result.old_key_id == old.key_id and result.resealed == 2  # the secret and the root key
    assert set(backend.entries) == {(SERVICE, CURRENT)}
    new = KeyringKeySource(backend).load()
    assert new is not None and new.key_id == result.new_key_id != old.key_id
    fresh = SecretStore(state_dir, default_sources(state_dir))
    assert fresh.get("api_key") == "value-1" and fresh.derive_key("audit-chain") == audit_key
    assert not (state_dir / "master.key").exists()


def test_a_rotation_stopped_between_the_two_keyring_writes_finishes(use_keyring: Install, state_dir: Path) -> None:
    """Promotion writes `master-key`, then deletes `master-key-next`: when the delete fails (or the
    process dies there), both hold the new key, and the next store to open finishes the job."""
    backend = UndeletableKeyring()
    use_keyring(backend)
    backend.set_password(SERVICE, CURRENT, MasterKey.generate("keyring", "test").encode())
    store = SecretStore(state_dir, default_sources(state_dir))
    store.set("api_key", "value-1")
    with pytest.raises(MasterKeyError, match="cannot be deleted"):
        store.rotate_key()
    assert backend.entries[(SERVICE, CURRENT)] == backend.entries[(SERVICE, PENDING)]

    healthy = MemoryKeyring()
    healthy.entries = backend.entries
    use_keyring(healthy)
    assert SecretStore(state_dir, default_sources(state_dir)).get("api_key") == "value-1"
    assert set(healthy.entries) == {(SERVICE, CURRENT)}
