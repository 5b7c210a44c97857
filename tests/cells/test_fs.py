"""The fs cell: every tool against a real temporary workspace, and the confinement escape suite."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import ValidationError

from cells.fs import FsCell
from cells.fs.confine import Workspace, parse_path
from cells.fs.models import FsSettings, ListDirIn, ReadFileIn, SearchIn, StatIn, WriteFileIn
from mcp_gateway.sdk import NoSettings, ToolError
from mcp_gateway.testing import LocalGatewayView, cell_context

CTX = cell_context(namespace="fs")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "workspace"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory beside the workspace that nothing may ever read or change."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_text("the secret\n")
    return path


async def started(root: Path, **settings: Any) -> FsCell:
    cell = FsCell(FsSettings(root=root, **settings), root.parent / "state")
    await cell.start()
    return cell


@pytest.fixture
async def cell(root: Path, anyio_backend: str) -> AsyncIterator[FsCell]:
    fs = await started(root)
    yield fs
    await fs.stop()


def snapshot(path: Path) -> dict[str, object]:
    """Everything under `path`: file bytes, directory markers, symlink targets."""
    seen: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            full = Path(dirpath, name)
            rel = str(full.relative_to(path))
            if full.is_symlink():
                seen[rel] = ("link", os.readlink(full))
            elif full.is_dir():
                seen[rel] = "dir"
            else:
                seen[rel] = (full.read_bytes(), stat.S_IMODE(full.stat().st_mode))
    return seen


# --- life cycle and contract ---------------------------------------------------------------


@pytest.mark.anyio
async def test_start_creates_a_private_root(tmp_path: Path) -> None:
    root = tmp_path / "a" / "b" / "workspace"
    fs = await started(root)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    await fs.stop()


def test_settings_forbid_unknown_keys_and_require_root(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        FsSettings(root=tmp_path, max_reads=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        FsSettings.model_validate({})
    assert FsCell.Settings is FsSettings
    with pytest.raises(TypeError):
        FsCell(NoSettings(), tmp_path)


def test_tool_declarations() -> None:
    specs = {spec.name: spec for spec in FsCell.tool_specs}
    assert set(specs) == {"list_dir", "read_file", "write_file", "search", "stat"}
    assert (FsCell.namespace, FsCell.version) == ("fs", "1.0.0")
    for name in ("list_dir", "read_file", "search", "stat"):
        assert specs[name].read_only and specs[name].idempotent and not specs[name].destructive
    assert specs["write_file"].destructive and not specs["write_file"].read_only
    for spec in specs.values():
        assert "relative to the workspace root" in spec.description


# --- list_dir --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_list_dir_describes_entries_sorted_by_name(cell: FsCell, root: Path) -> None:
    (root / "b.txt").write_bytes(b"12345")
    (root / "a_dir").mkdir()
    (root / ".hidden").write_text("x")
    (root / "link").symlink_to("b.txt")
    os.mkfifo(root / "pipe")
    out = await cell.list_dir(ListDirIn(), CTX)
    assert [(e.name, e.type, e.size) for e in out.entries] == [
        ("a_dir", "dir", None),
        ("b.txt", "file", 5),
        ("link", "symlink", None),
        ("pipe", "other", None),
    ]
    assert not out.truncated
    hidden = await cell.list_dir(ListDirIn(include_hidden=True), CTX)
    assert [e.name for e in hidden.entries][0] == ".hidden"


@pytest.mark.anyio
async def test_list_dir_of_a_subdirectory_and_errors(cell: FsCell, root: Path) -> None:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "sub" / "f").write_text("")
    out = await cell.list_dir(ListDirIn(path="sub/"), CTX)
    assert out.path == "sub"
    assert [e.name for e in out.entries] == ["deeper", "f"]
    with pytest.raises(ToolError, match="not a directory"):
        await cell.list_dir(ListDirIn(path="sub/f"), CTX)
    with pytest.raises(ToolError, match="no such file"):
        await cell.list_dir(ListDirIn(path="missing"), CTX)


@pytest.mark.anyio
async def test_list_dir_truncates_at_the_cap(root: Path) -> None:
    fs = await started(root, max_list_entries=3)
    for name in "edcba":
        (root / name).write_text("")
    out = await fs.list_dir(ListDirIn(), CTX)
    assert [e.name for e in out.entries] == ["a", "b", "c"]
    assert out.truncated
    await fs.stop()


# --- read_file -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_read_whole_file(cell: FsCell, root: Path) -> None:
    (root / "f.txt").write_text("héllo\nworld\n")
    out = await cell.read_file(ReadFileIn(path="./f.txt"), CTX)
    assert (out.path, out.content, out.size, out.truncated) == ("f.txt", "héllo\nworld\n", 13, False)
    assert (out.offset, out.length, out.start_line, out.end_line) == (0, 13, None, None)


@pytest.mark.anyio
async def test_read_byte_range(cell: FsCell, root: Path) -> None:
    (root / "f").write_bytes(b"0123456789")
    out = await cell.read_file(ReadFileIn(path="f", offset=3, length=4), CTX)
    assert (out.content, out.offset, out.length, out.size, out.truncated) == ("3456", 3, 4, 10, False)
    tail = await cell.read_file(ReadFileIn(path="f", offset=8), CTX)
    assert (tail.content, tail.length) == ("89", 2)
    past = await cell.read_file(ReadFileIn(path="f", offset=50, length=5), CTX)
    assert (past.content, past.length, past.truncated) == ("", 0, False)


@pytest.mark.anyio
async def test_read_line_range(cell: FsCell, root: Path) -> None:
    (root / "f").write_text("one\ntwo\nthree\nfour")
    out = await cell.read_file(ReadFileIn(path="f", start_line=2, end_line=3), CTX)
    assert (out.content, out.start_line, out.end_line, out.offset) == ("two\nthree\n", 2, 3, None)
    rest = await cell.read_file(ReadFileIn(path="f", start_line=3), CTX)
    assert (rest.content, rest.end_line) == ("three\nfour", 4)
    clamped = await cell.read_file(ReadFileIn(path="f", end_line=99), CTX)
    assert (clamped.start_line, clamped.end_line, clamped.truncated) == (1, 4, False)
    with pytest.raises(ToolError, match="past the end of the file, which has 4 lines"):
        await cell.read_file(ReadFileIn(path="f", start_line=5), CTX)


@pytest.mark.anyio
async def test_read_lines_of_an_empty_file(cell: FsCell, root: Path) -> None:
    (root / "empty").write_text("")
    out = await cell.read_file(ReadFileIn(path="empty", start_line=1), CTX)
    assert (out.content, out.start_line, out.end_line) == ("", 1, 0)


def test_byte_and_line_ranges_are_mutually_exclusive() -> None:
    with pytest.raises(ValidationError, match="not both"):
        ReadFileIn(path="f", offset=0, start_line=1)
    with pytest.raises(ValidationError, match="end_line"):
        ReadFileIn(path="f", start_line=3, end_line=2)


@pytest.mark.anyio
async def test_both_ranges_are_refused_through_the_gateway_view(cell: FsCell) -> None:
    view = LocalGatewayView([cell])
    outcome = await view.call_tool(CTX.principal, "fs.read_file", {"path": "f", "length": 2, "end_line": 2})
    assert outcome.is_error and "not both" in outcome.text


@pytest.mark.anyio
async def test_reads_are_capped(root: Path) -> None:
    fs = await started(root, max_read_bytes=10)
    (root / "big").write_bytes(b"abcdefghijklmnopqrstuvwxyz")
    whole = await fs.read_file(ReadFileIn(path="big"), CTX)
    assert (whole.content, whole.truncated, whole.length, whole.size) == ("abcdefghij", True, 10, 26)
    ranged = await fs.read_file(ReadFileIn(path="big", offset=20, length=100), CTX)
    assert (ranged.content, ranged.truncated) == ("uvwxyz", False)
    exact = await fs.read_file(ReadFileIn(path="big", offset=5, length=10), CTX)
    assert (exact.content, exact.truncated) == ("fghijklmno", False)
    await fs.stop()


@pytest.mark.anyio
async def test_line_reads_are_capped_to_whole_lines(root: Path) -> None:
    fs = await started(root, max_read_bytes=10)
    (root / "lines").write_text("aaa\nbbb\nccc\nddd\n")
    out = await fs.read_file(ReadFileIn(path="lines"), CTX)
    assert out.truncated
    by_line = await fs.read_file(ReadFileIn(path="lines", start_line=1), CTX)
    assert (by_line.content, by_line.end_line, by_line.truncated) == ("aaa\nbbb\n", 2, True)
    exact = await fs.read_file(ReadFileIn(path="lines", start_line=3, end_line=4), CTX)
    assert (exact.content, exact.truncated) == ("ccc\nddd\n", False)
    (root / "one_long_line").write_text("x" * 50)
    long = await fs.read_file(ReadFileIn(path="one_long_line", start_line=1), CTX)
    assert (long.content, long.end_line, long.truncated) == ("x" * 10, 1, True)
    await fs.stop()


@pytest.mark.anyio
async def test_a_cap_inside_a_character_returns_whole_characters(root: Path) -> None:
    fs = await started(root, max_read_bytes=4)
    (root / "u").write_text("abcé")  # 'é' is two bytes: the fourth and fifth
    out = await fs.read_file(ReadFileIn(path="u"), CTX)
    assert (out.content, out.length, out.truncated) == ("abc", 3, True)
    await fs.stop()


@pytest.mark.anyio
async def test_binary_files_need_base64(cell: FsCell, root: Path) -> None:
    payload = bytes(range(256))
    (root / "bin").write_bytes(payload)
    with pytest.raises(ToolError, match="base64"):
        await cell.read_file(ReadFileIn(path="bin"), CTX)
    out = await cell.read_file(ReadFileIn(path="bin", encoding="base64"), CTX)
    assert base64.b64decode(out.content) == payload
    part = await cell.read_file(ReadFileIn(path="bin", encoding="base64", offset=250), CTX)
    assert base64.b64decode(part.content) == payload[250:]


@pytest.mark.anyio
async def test_read_refuses_directories_and_special_files(cell: FsCell, root: Path) -> None:
    (root / "d").mkdir()
    os.mkfifo(root / "fifo")
    with pytest.raises(ToolError, match="use list_dir"):
        await cell.read_file(ReadFileIn(path="d"), CTX)
    with pytest.raises(ToolError, match="not a regular file"):
        await cell.read_file(ReadFileIn(path="fifo"), CTX)
    with pytest.raises(ToolError, match="no such file"):
        await cell.read_file(ReadFileIn(path="nope"), CTX)


@pytest.mark.anyio
async def test_symlinks_inside_the_workspace_are_followed(cell: FsCell, root: Path) -> None:
    (root / "real").mkdir()
    (root / "real" / "f").write_text("inside")
    (root / "file_link").symlink_to("real/f")
    (root / "dir_link").symlink_to(root / "real")
    assert (await cell.read_file(ReadFileIn(path="file_link"), CTX)).content == "inside"
    assert (await cell.read_file(ReadFileIn(path="dir_link/f"), CTX)).content == "inside"
    assert [e.name for e in (await cell.list_dir(ListDirIn(path="dir_link"), CTX)).entries] == ["f"]
    await cell.write_file(WriteFileIn(path="dir_link/g", content="via link"), CTX)
    assert (root / "real" / "g").read_text() == "via link"


# --- write_file ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_write_then_read_back(cell: FsCell, root: Path) -> None:
    out = await cell.write_file(WriteFileIn(path="notes.md", content="héllo"), CTX)
    assert (out.path, out.bytes_written) == ("notes.md", 6)
    assert (root / "notes.md").read_text() == "héllo"
    assert (await cell.read_file(ReadFileIn(path="notes.md"), CTX)).content == "héllo"


@pytest.mark.anyio
async def test_overwrite_is_atomic(cell: FsCell, root: Path) -> None:
    target = root / "f"
    target.write_text("old content")
    target.chmod(0o640)
    before = target.stat()
    with target.open("rb") as reader:
        await cell.write_file(WriteFileIn(path="f", content="new"), CTX)
        # The old inode is untouched: a reader that opened it sees the old content whole.
        assert reader.read() == b"old content"
    after = target.stat()
    assert target.read_text() == "new"
    assert after.st_ino != before.st_ino
    assert stat.S_IMODE(after.st_mode) == 0o640
    assert sorted(p.name for p in root.iterdir()) == ["f"]


@pytest.mark.anyio
async def test_append_and_create_modes(cell: FsCell, root: Path) -> None:
    await cell.write_file(WriteFileIn(path="log", content="a\n", mode="append"), CTX)
    await cell.write_file(WriteFileIn(path="log", content="b\n", mode="append"), CTX)
    assert (root / "log").read_text() == "a\nb\n"
    await cell.write_file(WriteFileIn(path="new", content="first", mode="create"), CTX)
    with pytest.raises(ToolError, match="already exists"):
        await cell.write_file(WriteFileIn(path="new", content="second", mode="create"), CTX)
    assert (root / "new").read_text() == "first"


@pytest.mark.anyio
async def test_append_refuses_a_hard_linked_file(cell: FsCell, root: Path, outside: Path) -> None:
    os.link(outside / "secret.txt", root / "hard")
    with pytest.raises(ToolError, match="hard links"):
        await cell.write_file(WriteFileIn(path="hard", content="x", mode="append"), CTX)
    assert (outside / "secret.txt").read_text() == "the secret\n"


@pytest.mark.anyio
async def test_parent_directories(cell: FsCell, root: Path) -> None:
    with pytest.raises(ToolError, match="create_parents"):
        await cell.write_file(WriteFileIn(path="a/b/c.txt", content="x"), CTX)
    assert not (root / "a").exists()
    await cell.write_file(WriteFileIn(path="a/b/c.txt", content="x", create_parents=True), CTX)
    assert (root / "a" / "b" / "c.txt").read_text() == "x"
    (root / "file").write_text("")
    with pytest.raises(ToolError, match="not a directory"):
        await cell.write_file(WriteFileIn(path="file/c.txt", content="x", create_parents=True), CTX)


@pytest.mark.anyio
async def test_write_refuses_directories_and_the_root(cell: FsCell, root: Path) -> None:
    (root / "d").mkdir()
    for mode in ("overwrite", "append", "create"):
        with pytest.raises(ToolError):
            await cell.write_file(WriteFileIn(path="d", content="x", mode=mode), CTX)
    with pytest.raises(ToolError, match="workspace root"):
        await cell.write_file(WriteFileIn(path=".", content="x"), CTX)
    assert (root / "d").is_dir()


@pytest.mark.anyio
async def test_writes_are_capped(root: Path) -> None:
    fs = await started(root, max_write_bytes=4)
    await fs.write_file(WriteFileIn(path="ok", content="abcd"), CTX)
    with pytest.raises(ToolError, match="write cap"):
        await fs.write_file(WriteFileIn(path="big", content="abcde"), CTX)
    with pytest.raises(ToolError, match="write cap"):
        await fs.write_file(WriteFileIn(path="big", content="éé é"), CTX)  # 4 characters, 7 bytes
    with pytest.raises(ToolError, match="write cap"):
        await fs.write_file(
            WriteFileIn(path="big", content=base64.b64encode(b"12345").decode(), encoding="base64"), CTX
        )
    assert not (root / "big").exists()
    await fs.stop()


@pytest.mark.anyio
async def test_base64_round_trip(cell: FsCell, root: Path) -> None:
    payload = bytes(range(256)) * 3
    encoded = base64.b64encode(payload).decode()
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    out = await cell.write_file(WriteFileIn(path="blob.bin", content=wrapped, encoding="base64"), CTX)
    assert out.bytes_written == len(payload)
    assert (root / "blob.bin").read_bytes() == payload
    back = await cell.read_file(ReadFileIn(path="blob.bin", encoding="base64"), CTX)
    assert back.content == encoded
    with pytest.raises(ToolError, match="not valid base64"):
        await cell.write_file(WriteFileIn(path="bad", content="@@@", encoding="base64"), CTX)


# --- search ----------------------------------------------------------------------------------


@pytest.fixture
def tree(root: Path, cell: FsCell) -> Path:
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "main.py").write_text("import os\nprint('Hello')\n")
    (root / "src" / "pkg" / "util.py").write_text("def hello():\n    return 'HELLO world'\n")
    (root / "README.md").write_text("# hello\r\nsecond line\r\n")
    (root / "data.bin").write_bytes(b"hello\x00\xff")
    return root


@pytest.mark.anyio
async def test_search_is_case_insensitive_by_default(cell: FsCell, tree: Path) -> None:
    out = await cell.search(SearchIn(query="hello"), CTX)
    assert [(m.path, m.line, m.text) for m in out.matches] == [
        ("README.md", 1, "# hello"),
        ("src/main.py", 2, "print('Hello')"),
        ("src/pkg/util.py", 1, "def hello():"),
        ("src/pkg/util.py", 2, "    return 'HELLO world'"),
    ]
    assert (out.truncated, out.files_scanned) == (False, 3)


@pytest.mark.anyio
async def test_search_case_regex_and_glob(cell: FsCell, tree: Path) -> None:
    sensitive = await cell.search(SearchIn(query="HELLO", case_sensitive=True), CTX)
    assert [m.path for m in sensitive.matches] == ["src/pkg/util.py"]
    regex = await cell.search(SearchIn(query=r"^def \w+\(", regex=True), CTX)
    assert [(m.path, m.line) for m in regex.matches] == [("src/pkg/util.py", 1)]
    literal = await cell.search(SearchIn(query="hello("), CTX)
    assert [m.text for m in literal.matches] == ["def hello():"]
    by_name = await cell.search(SearchIn(query="hello", glob="*.md"), CTX)
    assert [m.path for m in by_name.matches] == ["README.md"]
    by_path = await cell.search(SearchIn(query="hello", glob="pkg/*.py", path="src"), CTX)
    assert {m.path for m in by_path.matches} == {"src/pkg/util.py"}
    one_file = await cell.search(SearchIn(query="import", path="src/main.py"), CTX)
    assert [(m.path, m.line) for m in one_file.matches] == [("src/main.py", 1)]
    with pytest.raises(ToolError, match="invalid regular expression"):
        await cell.search(SearchIn(query="(unclosed", regex=True), CTX)


@pytest.mark.anyio
async def test_search_result_caps(root: Path) -> None:
    fs = await started(root, max_search_results=3, max_search_file_bytes=1000)
    (root / "many").write_text("x\n" * 10)
    (root / "long").write_text("y" * 600 + "\n")
    (root / "huge").write_text("x" * 2000)
    capped = await fs.search(SearchIn(query="x", max_results=50), CTX)
    assert (len(capped.matches), capped.truncated) == (3, True)
    fewer = await fs.search(SearchIn(query="x", max_results=2), CTX)
    assert (len(fewer.matches), fewer.truncated) == (2, True)
    line = await fs.search(SearchIn(query="y"), CTX)
    assert len(line.matches[0].text) == 500
    assert not any(m.path == "huge" for m in (await fs.search(SearchIn(query="x", glob="h*"), CTX)).matches)
    await fs.stop()


@pytest.mark.anyio
async def test_a_catastrophic_expression_ends_at_the_time_limit_without_freezing_the_gateway(root: Path) -> None:
    fs = await started(root, max_search_seconds=0.5)
    (root / "bait").write_text("a" * 40 + "!\n")
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.05)
            ticks += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticking)
        with pytest.raises(ToolError, match=r"did not finish within 0.5 s \(max_search_seconds\)"):
            await fs.search(SearchIn(query="(a|aa)+$", regex=True), CTX)
        tg.cancel_scope.cancel()
    # The event loop kept running while the expression backtracked (the match lets go of the GIL).
    assert ticks >= 3
    assert (await fs.search(SearchIn(query="a+!", regex=True), CTX)).matches  # a sane one still works
    await fs.stop()


@pytest.mark.anyio
async def test_search_never_follows_symlinks(cell: FsCell, root: Path, outside: Path) -> None:
    (root / "out_dir").symlink_to(outside)
    (root / "out_file").symlink_to(outside / "secret.txt")
    (root / "loop").symlink_to(".")
    (root / "mine.txt").write_text("the secret is mine\n")
    out = await cell.search(SearchIn(query="secret"), CTX)
    assert [m.path for m in out.matches] == ["mine.txt"]
    assert out.files_scanned == 1


# --- stat ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_stat(cell: FsCell, root: Path) -> None:
    (root / "f").write_bytes(b"12345")
    (root / "f").chmod(0o644)
    (root / "d").mkdir()
    (root / "l").symlink_to("f")
    out = await cell.stat(StatIn(path="f"), CTX)
    assert (out.path, out.type, out.size, out.mode) == ("f", "file", 5, "0644")
    modified = datetime.fromisoformat(out.modified)
    assert modified.utcoffset() == timedelta(0)
    assert abs(modified.timestamp() - (root / "f").stat().st_mtime) < 1
    assert (await cell.stat(StatIn(path="d"), CTX)).type == "dir"
    assert (await cell.stat(StatIn(path="l"), CTX)).type == "symlink"
    assert (await cell.stat(StatIn(path="."), CTX)).mode == "0700"


# --- confinement -----------------------------------------------------------------------------


ESCAPES = [
    "../outside/secret.txt",
    "a/../../outside/secret.txt",
    "/etc/passwd",
    "etc_link/passwd",
    "secret_link",
    "out_dir/secret.txt",
    "chain/secret.txt",
    "safe\x00.txt",
    "",
]


@pytest.fixture
def traps(root: Path, outside: Path, cell: FsCell) -> Path:
    (root / "a").mkdir()
    (root / "etc_link").symlink_to("/etc")
    (root / "secret_link").symlink_to(outside / "secret.txt")
    (root / "out_dir").symlink_to(outside)
    (root / "chain").symlink_to("a/../../outside")
    return root


def assert_clean_refusal(error: ToolError, root: Path) -> None:
    message = str(error)
    assert str(root) not in message and str(root.parent) not in message
    assert "Traceback" not in message


@pytest.mark.anyio
@pytest.mark.parametrize("path", ESCAPES)
async def test_reads_cannot_escape(cell: FsCell, traps: Path, outside: Path, path: str) -> None:
    for call in (
        cell.read_file(ReadFileIn(path=path), CTX),
        cell.list_dir(ListDirIn(path=path), CTX),
        cell.search(SearchIn(query="secret", path=path), CTX),
    ):
        with pytest.raises(ToolError) as caught:
            await call
        assert_clean_refusal(caught.value, traps)


@pytest.mark.anyio
@pytest.mark.parametrize("path", [p for p in ESCAPES if p != "secret_link"])
async def test_stat_cannot_escape(cell: FsCell, traps: Path, path: str) -> None:
    with pytest.raises(ToolError) as caught:
        await cell.stat(StatIn(path=path), CTX)
    assert_clean_refusal(caught.value, traps)


@pytest.mark.anyio
async def test_nothing_below_an_escaping_link_is_looked_up(cell: FsCell, traps: Path) -> None:
    # Existing or not, a host path below a planted link gets the same answer.
    for path in ("etc_link/passwd", "etc_link/no-such-file", "out_dir/none/deeper"):
        with pytest.raises(ToolError, match="outside the workspace"):
            await cell.read_file(ReadFileIn(path=path), CTX)


@pytest.mark.anyio
async def test_stat_describes_an_escaping_link_without_following_it(cell: FsCell, traps: Path) -> None:
    out = await cell.stat(StatIn(path="secret_link"), CTX)
    assert (out.type, out.path) == ("symlink", "secret_link")


@pytest.mark.anyio
@pytest.mark.parametrize("path", [*ESCAPES, "out_dir/new.txt", "out_dir/sub/new.txt", "chain/new.txt"])
@pytest.mark.parametrize("mode", ["overwrite", "append", "create"])
@pytest.mark.parametrize("create_parents", [False, True])
async def test_writes_cannot_escape(
    cell: FsCell, traps: Path, outside: Path, path: str, mode: str, create_parents: bool
) -> None:
    before = snapshot(outside)
    args = WriteFileIn.model_validate(
        {"path": path, "content": "pwned", "mode": mode, "create_parents": create_parents}
    )
    with pytest.raises(ToolError) as caught:
        await cell.write_file(args, CTX)
    assert_clean_refusal(caught.value, traps)
    assert snapshot(outside) == before
    assert (traps / "secret_link").is_symlink()


@pytest.mark.anyio
async def test_a_dangling_symlink_is_never_written_through(cell: FsCell, root: Path, outside: Path) -> None:
    (root / "dangling").symlink_to(outside / "planted.txt")
    for mode in ("overwrite", "append", "create"):
        with pytest.raises(ToolError):
            await cell.write_file(WriteFileIn.model_validate({"path": "dangling", "content": "x", "mode": mode}), CTX)
    (root / "dangling_dir").symlink_to(outside / "planted_dir")
    with pytest.raises(ToolError):
        await cell.write_file(WriteFileIn(path="dangling_dir/f", content="x", create_parents=True), CTX)
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


@pytest.mark.parametrize(
    ("raw", "parts"),
    [(".", ()), ("a//b/./c/", ("a", "b", "c")), ("./x", ("x",)), ("~", ("~",)), ("a..b", ("a..b",))],
)
def test_parse_path_normalises_harmless_forms(raw: str, parts: tuple[str, ...]) -> None:
    assert parse_path(raw).parts == parts


def test_check_inside_judges_the_open_object(root: Path, outside: Path) -> None:
    workspace = Workspace.open(root)
    fd = os.open(outside / "secret.txt", os.O_PATH)
    try:
        with pytest.raises(ToolError, match="outside the workspace"):
            workspace.check_inside(fd, parse_path("secret.txt"))
    finally:
        os.close(fd)
        workspace.close()
