"""Master key rotation: re-seals everything, refuses the env key, and survives SIGKILL anywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import pytest

from mcp_gateway.secrets.errors import RotationRefused
from mcp_gateway.secrets.masterkey import MasterKeySources
from mcp_gateway.secrets.sources import ENV_VAR, EnvKeySource, FileKeySource
from mcp_gateway.secrets.store import SecretStore
from tests.secrets.helpers import file_store, files_under, key_spellings

WORKER = Path(__file__).with_name("rotate_worker.py")


def fill(state_dir: Path, count: int) -> tuple[dict[str, str], bytes]:
    store = file_store(state_dir)
    values = {f"secret_{i:02d}": f"value {i} " + "x" * i for i in range(count)}
    for name, value in values.items():
        store.set(name, value)
    return values, store.derive_key("audit-chain")


def key_ids(state_dir: Path) -> set[str]:
    return {json.loads(path.read_text())["key_id"] for path in (state_dir / "secrets").glob("*.json")}


def test_rotation_reseals_everything_under_a_new_key(state_dir: Path) -> None:
    values, chain = fill(state_dir, 3)
    old_spellings = key_spellings(state_dir / "master.key")
    store = file_store(state_dir)
    before = key_ids(state_dir)
    result = store.rotate_key()
    assert not result.resumed and result.resealed == 4  # three secrets and the root key
    assert before == {result.old_key_id} and key_ids(state_dir) == {result.new_key_id}
    assert not (state_dir / "master.key.next").exists()
    fresh = file_store(state_dir)
    assert {name: fresh.get(name) for name in fresh.names()} == values
    assert fresh.derive_key("audit-chain") == chain
    for path in files_under(state_dir):  # the old key is gone from every file
        assert not any(spelling in path.read_bytes() for spelling in old_spellings), path


def test_rotation_is_refused_for_a_key_from_the_environment(state_dir: Path) -> None:
    key = "ZmFrZS1idXQtd2VsbC1mb3JtZWQtbWFzdGVyLWtleSE="  # 32 bytes in base64
    store = SecretStore(state_dir, MasterKeySources([EnvKeySource({ENV_VAR: key})]))
    store.set("alpha", "value-of-alpha")
    with pytest.raises(RotationRefused) as caught:
        store.rotate_key()
    message = str(caught.value)
    assert f"${ENV_VAR}" in message and "mcp-gateway secrets rotate-key" in message and "KEYFILE" in message
    assert key not in message and key[:16] not in message
    assert store.get("alpha") == "value-of-alpha"
    assert not any(path.name.startswith("master.key") for path in state_dir.iterdir())


def start_worker(state_dir: Path, pause_at: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(state_dir), str(pause_at)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def wait_for(worker: subprocess.Popen[str], line: str) -> list[str]:
    assert worker.stdout is not None
    seen: list[str] = []
    for got in worker.stdout:
        seen.append(got.strip())
        if seen[-1] == line:
            return seen
    raise AssertionError(f"the worker ended before {line!r}: {seen}")


# (pause_at, lines to read before the kill): a positive pause_at stops the worker exactly after
# that many steps (1: pending key stored; 2..14: entries re-sealed; 14 is the last before
# promotion); pause_at 0 lets it run while the test reads that many lines and kills it
# wherever it has got to by then, in the middle of a write as likely as not.
Case = tuple[Path, dict[str, str], bytes, int, int, set[str]]
KILLS = [(1, 0), (2, 0), (8, 0), (14, 0), (0, 3), (0, 6), (0, 11)]


@pytest.mark.timeout(60)
@pytest.mark.req("R-024")
def test_a_rotation_killed_at_any_point_loses_nothing(tmp_path: Path) -> None:
    cases: list[Case] = []
    for index, (pause_at, lines) in enumerate(KILLS):
        state_dir = tmp_path / f"case{index}"
        state_dir.mkdir()
        values, chain = fill(state_dir, 12)
        cases.append((state_dir, values, chain, pause_at, lines, key_ids(state_dir)))
    # All workers at once: they share nothing, and the test spends its time in their start-up.
    with ExitStack() as stack:
        workers = [stack.enter_context(start_worker(d, pause_at)) for d, _, _, pause_at, _, _ in cases]
        for worker, (_, _, _, pause_at, lines, _) in zip(workers, cases, strict=True):
            kill_when_told(worker, pause_at, lines)
    check_recovery(cases)


def kill_when_told(worker: subprocess.Popen[str], pause_at: int, lines: int) -> None:
    """Let the worker reach its point, then SIGKILL it: no handler, no finally, no flush."""
    seen = wait_for(worker, "paused" if pause_at else "start")
    if not pause_at:
        assert worker.stdin is not None and worker.stdout is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
        seen += [worker.stdout.readline().strip() for _ in range(lines)]
    worker.kill()
    worker.wait(timeout=30)
    # A worker that was not paused may, rarely, have finished before the signal landed.
    assert worker.returncode == -9 or (not pause_at and worker.returncode == 0), seen


def check_recovery(cases: list[Case]) -> None:
    """Every secret reads back, and the rotation finishes: by a reader, or by rotate-key again."""
    for index, (state_dir, values, chain, pause_at, _, old_ids) in enumerate(cases):
        (old_id,) = old_ids
        pending = (state_dir / "master.key.next").exists()
        if pause_at:  # stopped exactly there: the pending key stored, pause_at - 1 entries re-sealed
            sealed_under = Counter(json.loads(p.read_text())["key_id"] for p in (state_dir / "secrets").glob("*.json"))
            assert pending and sealed_under[old_id] == len(values) + 1 - (pause_at - 1), f"case {index}"
        if index % 2 == 0:
            # Readers first. While another process holds the writers' lock, a reader opens a
            # half-rotated store with the two keys and finishes nothing...
            store = file_store(state_dir)
            with SecretStore(state_dir, MasterKeySources([])).directory.locked():
                assert {name: store.get(name) for name in store.names()} == values
                assert (state_dir / "master.key.next").exists() == pending
            # ...and once the lock is free, the next reader to open the store finishes the job.
            fresh = file_store(state_dir)
            assert {name: fresh.get(name) for name in fresh.names()} == values
        else:
            result = file_store(state_dir).rotate_key()
            assert result.resumed == pending
        fresh = file_store(state_dir)
        assert {name: fresh.get(name) for name in fresh.names()} == values, f"case {index}"
        assert fresh.derive_key("audit-chain") == chain, f"case {index}"
        assert not (state_dir / "master.key.next").exists()
        current = FileKeySource(state_dir / "master.key").load()
        assert current is not None and key_ids(state_dir) == {current.key_id}, f"case {index}"
        if pending:
            assert current.key_id != old_id
        leftovers = [p.name for p in files_under(state_dir) if p.name.endswith(".tmp")]
        assert leftovers == [], f"case {index}: {leftovers}"
