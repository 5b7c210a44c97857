"""API tokens: shown once, stored as a hash only, expiring, revocable, in a private file."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mcp_gateway.identity.errors import IdentityError
from mcp_gateway.identity.tokens import TokenStore
from mcp_gateway.sdk import Principal

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> TokenStore:
    return TokenStore(tmp_path / "state" / "tokens.json", clock=clock)


def test_a_created_token_verifies_as_its_principal(store: TokenStore) -> None:
    info, token = store.create("alice", ["reader", "writer"], None, domain="acme")
    assert token.startswith(f"mgw_{info.id}_")
    assert len(token) > 50
    assert store.verify(token) == Principal("alice", ("reader", "writer"), "acme")
    assert (info.principal, info.roles, info.domain, info.created_at) == ("alice", ("reader", "writer"), "acme", T0)


def test_wrong_and_malformed_tokens_are_refused(store: TokenStore) -> None:
    info, token = store.create("alice", [], None)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (tampered, f"mgw_{info.id}_", f"mgw_{info.id}", "mgw_", "mgw_nope_secret", "", token + "x" * 300):
        assert store.verify(bad) is None, bad


@pytest.mark.req("R-007")
def test_the_file_holds_only_a_hash_and_is_private(store: TokenStore) -> None:
    _, token = store.create("alice", ["reader"], None)
    raw = store.path.read_text()
    secret = token.split("_", 2)[2]
    assert secret not in raw and token not in raw
    assert json.loads(raw)["tokens"][0]["sha256"]
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert not [p.name for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]


def test_list_shows_metadata_never_secrets(store: TokenStore) -> None:
    first, _ = store.create("alice", ["reader"], None)
    second, _ = store.create("bob", [], T0 + timedelta(days=1))
    infos = store.list()
    assert [info.id for info in infos] == [first.id, second.id]
    assert not any(hasattr(info, "sha256") or hasattr(info, "token") for info in infos)
    assert infos[1].expires_at == T0 + timedelta(days=1)


def test_a_token_expires(store: TokenStore, clock: Clock) -> None:
    info, token = store.create("alice", [], T0 + timedelta(hours=1))
    clock.now = T0 + timedelta(minutes=59)
    assert store.verify(token) is not None
    clock.now = T0 + timedelta(hours=1)
    assert store.verify(token) is None
    assert store.list()[0].status(clock.now) == "expired"


def test_revoke_stops_a_token_and_unknown_ids_are_reported(store: TokenStore, clock: Clock) -> None:
    info, token = store.create("alice", [], None)
    other_info, other = store.create("bob", [], None)
    clock.now = T0 + timedelta(minutes=5)
    assert store.revoke(info.id)
    assert store.verify(token) is None
    assert store.verify(other) == Principal("bob")
    clock.now = T0 + timedelta(minutes=10)
    assert store.revoke(info.id)  # idempotent, and the first revocation time is kept
    assert store.list()[0].revoked_at == T0 + timedelta(minutes=5)
    assert not store.revoke("000000000000")


def test_another_process_changes_are_seen_without_restart(store: TokenStore, clock: Clock) -> None:
    serving = TokenStore(store.path, clock=clock)
    assert serving.verify("mgw_000000000000_x") is None  # no file yet: no tokens, no error
    info, token = store.create("alice", [], None)
    assert serving.verify(token) == Principal("alice")
    store.revoke(info.id)
    assert serving.verify(token) is None


@pytest.mark.parametrize(
    ("principal", "roles", "domain"),
    [
        ("", [], "default"),
        ("x" * 201, [], "default"),
        ("cell:fs", [], "default"),
        ("CELL:fs", [], "default"),
        ("ali\nce", [], "default"),
        ("ali\u202ece", [], "default"),
        (" alice", [], "default"),
        ("alice", ["bad role"], "default"),
        ("alice", ["a,b"], "default"),
        ("alice", [""], "default"),
        ("alice", [], "two words"),
    ],
)
def test_bad_names_roles_and_domains_are_refused(
    store: TokenStore, principal: str, roles: list[str], domain: str
) -> None:
    with pytest.raises(ValueError):
        store.create(principal, roles, None, domain=domain)
    assert not store.path.exists()


def test_expiry_must_be_aware_and_in_the_future(store: TokenStore) -> None:
    for moment in (T0, T0 - timedelta(seconds=1), datetime(2030, 1, 1)):
        with pytest.raises(ValueError):
            store.create("alice", [], moment)


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        '{"version": 2, "tokens": []}',
        '{"version": 1, "tokens": [{"id": "zz"}]}',
        '{"version": 1, "tokens": [], "extra": 1}',
    ],
)
def test_a_corrupt_file_is_an_error_naming_it_and_is_never_reset(store: TokenStore, content: str) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text(content)
    store.path.chmod(0o600)
    for action in (lambda: store.verify("mgw_000000000000_x"), store.list, lambda: store.create("a", [], None)):
        with pytest.raises(IdentityError, match=str(store.path)):
            action()
    assert store.path.read_text() == content


def test_duplicate_ids_are_corruption(store: TokenStore) -> None:
    store.create("alice", [], None)
    document = json.loads(store.path.read_text())
    document["tokens"].append(document["tokens"][0])
    store.path.write_text(json.dumps(document))
    with pytest.raises(IdentityError, match="appears twice"):
        TokenStore(store.path).list()


def test_a_file_others_may_write_is_refused(store: TokenStore) -> None:
    store.create("alice", [], None)
    store.path.chmod(0o622)
    with pytest.raises(IdentityError, match="chmod 600"):
        TokenStore(store.path).list()
