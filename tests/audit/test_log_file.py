"""The audit file: group commit, the chain, recovery of a torn tail, rotation, and `verify`
catching every kind of edit."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from mcp_gateway.audit.checkpoints import CHECKPOINTS, Checkpointer, signing_key
from mcp_gateway.audit.errors import AuditLogError, AuditUnavailable
from mcp_gateway.audit.keys import AuditKeys
from mcp_gateway.audit.segments import segments
from mcp_gateway.audit.verify import verify
from mcp_gateway.audit.writer import AuditWriter

pytestmark = pytest.mark.anyio
KEYS = AuditKeys(b"c" * 32, b"v" * 32, b"s" * 32)


def _writer(root: Path, **options: object) -> AuditWriter:
    points = Checkpointer(root / "points", signing_key(KEYS.checkpoint_seed), 5, 3600)
    return AuditWriter(root / "log", KEYS.chain, checkpointer=points, **options)  # type: ignore[arg-type]


def _verify(root: Path) -> object:
    return verify(root / "log", KEYS.chain, root / "points", KEYS.public_key)


async def _fill(root: Path, count: int, *, one_by_one: bool = False, **options: object) -> None:
    async with _writer(root, **options).serving() as writer, anyio.create_task_group() as tg:
        for index in range(count):
            if one_by_one:
                await writer.append({"event": "test", "n": index})
            else:
                tg.start_soon(writer.append, {"event": "test", "n": index})


async def test_concurrent_appends_are_numbered_chained_and_verify(tmp_path: Path) -> None:
    await _fill(tmp_path, 40)
    report = _verify(tmp_path)
    assert report.ok, report.problem  # type: ignore[attr-defined]
    assert report.records == 40 and report.checkpoints >= 1  # type: ignore[attr-defined]
    lines = (tmp_path / "log" / "audit-000001.jsonl").read_bytes().splitlines()
    assert [int(line.split(b",")[0][7:]) for line in lines] == list(range(1, 41))
    assert oct((tmp_path / "log" / "audit-000001.jsonl").stat().st_mode & 0o777) == "0o600"
    await _fill(tmp_path, 3)  # reopened: the chain continues
    assert _verify(tmp_path).records == 43  # type: ignore[attr-defined]


async def test_files_rotate_and_the_chain_runs_across_them(tmp_path: Path) -> None:
    await _fill(tmp_path, 30, one_by_one=True, max_file_bytes=600)
    assert len(segments(tmp_path / "log")) > 3
    report = _verify(tmp_path)
    assert report.ok and report.records == 30  # type: ignore[attr-defined]


@pytest.fixture
def filled(tmp_path: Path) -> Iterator[Path]:
    anyio.run(lambda: _fill(tmp_path, 20, one_by_one=True))
    yield tmp_path / "log" / "audit-000001.jsonl"


def _edit(path: Path, change: str) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    if change == "value":
        lines[7] = lines[7].replace(b'"n":', b'"n":1')
    elif change == "delete":
        del lines[7]
    elif change == "swap":
        lines[7], lines[8] = lines[8], lines[7]
    elif change == "insert":
        lines.insert(7, lines[7])
    elif change == "truncate":
        lines = lines[:12]
    path.write_bytes(b"".join(lines))


@pytest.mark.parametrize("change", ["value", "delete", "swap", "insert", "truncate"])
@pytest.mark.req("R-027")
def test_verify_finds_every_kind_of_edit(filled: Path, change: str) -> None:
    _edit(filled, change)
    report = _verify(filled.parents[1])
    assert not report.ok  # type: ignore[attr-defined]
    problem = report.problem  # type: ignore[attr-defined]
    if change == "truncate":
        assert "truncated" in problem.reason
    else:
        assert problem.file == filled.name and problem.line in (8, 9)


def test_a_forged_checkpoint_is_caught(filled: Path) -> None:
    points = filled.parents[1] / "points" / CHECKPOINTS
    points.write_text(points.read_text().replace('"seq":20', '"seq":25'))
    report = _verify(filled.parents[1])
    assert not report.ok and "bad signature" in report.problem.reason  # type: ignore[attr-defined]


async def test_a_torn_last_line_is_cut_off_and_the_log_goes_on(tmp_path: Path) -> None:
    await _fill(tmp_path, 5)
    path = tmp_path / "log" / "audit-000001.jsonl"
    with path.open("ab") as handle:
        handle.write(b'{"seq":6,"event":"te')  # the process died mid-write: never acknowledged
    await _fill(tmp_path, 2)
    report = _verify(tmp_path)
    assert report.ok and report.records == 7  # type: ignore[attr-defined]


async def test_a_log_whose_last_record_was_rewritten_does_not_open(tmp_path: Path) -> None:
    await _fill(tmp_path, 5)
    path = tmp_path / "log" / "audit-000001.jsonl"
    path.write_bytes(path.read_bytes().replace(b'"n":4', b'"n":9'))
    with pytest.raises(AuditLogError, match="does not verify"):
        _writer(tmp_path).open()


async def test_a_failed_sync_refuses_the_batch_and_loses_nothing_durable(tmp_path: Path) -> None:
    failing = {"on": False}

    def sync(fd: int) -> None:
        if failing["on"]:
            raise OSError(28, "No space left on device")
        os.fsync(fd)

    async with _writer(tmp_path, sync=sync).serving() as writer:
        assert await writer.append({"n": 1}) == 1
        failing["on"] = True
        with pytest.raises(AuditUnavailable, match="No space left"):
            await writer.append({"n": 2})
        assert not writer.healthy
        failing["on"] = False
        assert await writer.append({"n": 3}) == 2  # the failed record was cut back, not numbered
    report = _verify(tmp_path)
    assert report.ok and report.records == 2  # type: ignore[attr-defined]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tiny tmpfs needs root")
async def test_a_full_disk_fails_closed(tmp_path: Path) -> None:
    disk = tmp_path / "tiny"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(disk)], check=True)
    try:
        refused = 0
        async with _writer(disk).serving() as writer:
            for index in range(200):
                try:
                    await writer.append({"event": "fill", "n": index, "pad": "x" * 200})
                except AuditUnavailable:
                    refused += 1
        assert refused > 0
        report = verify(disk / "log", KEYS.chain, None, None)
        assert report.ok and report.records == 200 - refused
    finally:
        subprocess.run(["umount", str(disk)], check=True)
