"""Safe reload: only a whole, tested policy is swapped in; a bad one keeps the last good one."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

import anyio
import pytest

from mcp_gateway.authz.errors import PolicyError
from mcp_gateway.authz.reload import PolicyEvent, PolicyStore
from mcp_gateway.sdk import Principal
from tests.authz.helpers import write_policy

pytestmark = pytest.mark.anyio

WORKER = Principal("w", ("worker",))
# Two policies that differ so that any mix of them shows: A lets workers call fs.* only, B notes.* only.
POLICY_A = "p, role:worker, *, fs.*, call, allow\np, role:worker, *, notes.*, call, deny\n"
POLICY_B = "p, role:worker, *, notes.*, call, allow\np, role:worker, *, fs.*, call, deny\n"
TESTS_A = """
- {subject: w, roles: [worker], domain: default, object: fs.read_file, action: call, expected: allow}
- {subject: w, roles: [worker], domain: default, object: notes.get, action: call, expected: deny}
"""
TESTS_B = TESTS_A.replace("allow", "X").replace("deny", "allow").replace("X", "deny")
CORRUPT = "p, role:worker, *, fs.*, call, allow\np, role:worker, *, fs.read_*x, call, allow\n"


def replace_file(path: Path, text: str) -> None:
    """Write the way careful editors and ConfigMaps do: a new file renamed over the old one."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def allowed_pair(store: PolicyStore) -> tuple[bool, bool, str]:
    snapshot = store.current  # one snapshot for the whole "call", as a stage does
    fs = snapshot.decide(WORKER, "fs.read_file", "call").allowed
    notes = snapshot.decide(WORKER, "notes.get", "call").allowed
    return fs, notes, snapshot.digest


@pytest.fixture
def store(tmp_path: Path) -> PolicyStore:
    return PolicyStore(write_policy(tmp_path / "policies", POLICY_A, TESTS_A))


async def test_a_good_change_is_swapped_in(store: PolicyStore) -> None:
    before = store.current
    assert allowed_pair(store)[:2] == (True, False)
    write_policy(store.policy_dir, POLICY_B, TESTS_B)
    event = store.reload()
    assert event == PolicyEvent("reloaded", digest=store.current.digest)
    assert store.current is not before and allowed_pair(store)[:2] == (False, True)
    assert before.decide(WORKER, "fs.read_file", "call").allowed  # a snapshot never changes
    assert store.reload() is None  # nothing changed since


@pytest.mark.parametrize(
    ("policy", "tests", "reason"),
    [
        (CORRUPT, TESTS_A, r"policy.csv:2: bad object pattern 'fs.read_\*x'"),
        ("p, role:worker, *, fs.*, call\n", TESTS_A, "policy.csv:1: a p line has 5 values"),
        ("\x00\x01garbage,,,\n", TESTS_A, "policy.csv:1:"),
        (POLICY_B, TESTS_A, "policy_tests.yaml:2: policy test failed"),
        ("", TESTS_A, "policy_tests.yaml:2: policy test failed"),  # an emptied file is not "deny all, fine"
    ],
)
@pytest.mark.req("R-010")
async def test_a_bad_change_is_rejected_and_the_last_good_policy_kept(
    store: PolicyStore, policy: str, tests: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    good = store.current
    write_policy(store.policy_dir, policy, tests)
    with caplog.at_level(logging.WARNING, logger="mcp_gateway.authz.reload"):
        event = store.reload()
    assert event is not None and event.kind == "rejected"
    assert re.search(reason, event.reason), event.reason
    assert store.current is good and allowed_pair(store)[:2] == (True, False)
    assert store.status()["last_error"] == event.reason and store.status()["digest"] == good.digest
    assert any("rejected" in record.getMessage() and event.reason in record.getMessage() for record in caplog.records)
    assert store.reload() is None  # the same bad files are not reported twice
    write_policy(store.policy_dir, POLICY_A, TESTS_A)  # back to what is in force: the error is over
    assert store.reload() is None and store.status()["last_error"] is None


async def test_a_store_never_starts_on_a_bad_policy(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="bad object pattern"):
        PolicyStore(write_policy(tmp_path, CORRUPT, TESTS_A))


async def test_every_decision_comes_from_one_whole_policy_while_reloading(store: PolicyStore) -> None:
    digest_a = store.current.digest
    write_policy(store.policy_dir, POLICY_B, TESTS_B)
    store.reload()
    digest_b = store.current.digest
    expected = {digest_a: (True, False), digest_b: (False, True)}
    seen: set[str] = set()
    done = threading.Event()

    def check(result: tuple[bool, bool, str]) -> None:
        assert expected[result[2]] == result[:2], result
        seen.add(result[2])

    async def decide_on_the_loop() -> None:
        while not done.is_set():
            check(allowed_pair(store))
            await anyio.lowlevel.checkpoint()

    def decide_in_a_thread() -> None:
        while not done.is_set():
            check(allowed_pair(store))

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(decide_on_the_loop)
            tg.start_soon(partial(anyio.to_thread.run_sync, decide_in_a_thread, abandon_on_cancel=True))
            for n in range(30):
                policy, tests = (POLICY_A, TESTS_A) if n % 2 == 0 else (POLICY_B, TESTS_B)
                write_policy(store.policy_dir, policy, tests)
                event = await anyio.to_thread.run_sync(store.reload)
                assert event is not None and event.kind == "reloaded"
            done.set()
    assert seen == {digest_a, digest_b}


class Events:
    """Collects watcher events; `next()` waits (bounded) for the next one."""

    def __init__(self) -> None:
        self.send, self.receive = anyio.create_memory_object_stream[PolicyEvent](100)

    async def __call__(self, event: PolicyEvent) -> None:
        await self.send.send(event)

    async def next(self, predicate: Callable[[PolicyEvent], bool]) -> PolicyEvent:
        with anyio.fail_after(20):
            while True:
                event = await self.receive.receive()
                if predicate(event):
                    return event


async def test_the_watcher_swaps_in_a_good_change_and_rejects_a_bad_one(store: PolicyStore) -> None:
    events = Events()
    async with anyio.create_task_group() as tg:
        await tg.start(partial(store.watch, debounce_ms=50), events)
        replace_file(store.policy_dir / "policy_tests.yaml", "[]\n")
        replace_file(store.policy_dir / "policy.csv", POLICY_B)
        reloaded = await events.next(lambda e: e.kind == "reloaded" and allowed_pair(store)[:2] == (False, True))
        assert reloaded.digest == store.current.digest
        good = store.current
        replace_file(store.policy_dir / "policy.csv", CORRUPT)
        rejected = await events.next(lambda e: e.kind == "rejected")
        assert "bad object pattern" in rejected.reason
        assert store.current is good and store.status()["last_error"] == rejected.reason
        tg.cancel_scope.cancel()
    events.send.close()
    events.receive.close()


async def test_the_watcher_catches_up_with_a_change_made_before_it_started(store: PolicyStore) -> None:
    events = Events()
    write_policy(store.policy_dir, POLICY_B, TESTS_B)
    async with anyio.create_task_group() as tg:
        await tg.start(store.watch, events)
        event = await events.next(lambda e: True)
        assert event.kind == "reloaded" and allowed_pair(store)[:2] == (False, True)
        tg.cancel_scope.cancel()
    events.send.close()
    events.receive.close()
