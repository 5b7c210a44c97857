"""The notes cell through its tools, called the way the gateway calls them."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import anyio
import pytest
from pydantic import ValidationError

from cells.notes import NotesCell
from cells.notes.models import DeleteIn, GetIn, ListIn, NotesSettings, PutIn, SearchIn
from mcp_gateway.sdk import CellContext, Principal, ToolError
from mcp_gateway.testing import LocalGatewayView, cell_context

ALICE = Principal("alice")
BOB = Principal("bob")
ALICE_ELSEWHERE = Principal("alice", domain="elsewhere")

HOSTILE_QUERIES = [
    "a AND (",
    '"',
    '""',
    '"unterminated',
    "NEAR(a b, 2)",
    "*",
    "a*",
    "key:secret",
    "{key text}: x",
    "^start",
    "-x",
    "a OR",
    "NOT",
    "AND OR NOT",
    "( ) ( (",
    "'; DROP TABLE notes; --",
    "\\",
    "\x00",
    "nul\x00inside",
    "\u202eoverride",
    "😀 emoji",
    "%_",
    "x" * 1000,
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def as_(principal: Principal) -> CellContext:
    return cell_context(principal=principal, namespace="notes")


async def started(state_dir: Path, **settings: object) -> NotesCell:
    cell = NotesCell(NotesSettings.model_validate(settings), state_dir)
    await cell.start()
    return cell


@pytest.fixture
async def cell(tmp_path: Path) -> AsyncIterator[NotesCell]:
    cell = await started(tmp_path)
    yield cell
    await cell.stop()


async def put(cell: NotesCell, principal: Principal, key: str, text: str, tags: list[str] | None = None) -> bool:
    result = await cell.put(PutIn(key=key, text=text, tags=tags or []), as_(principal))
    return result.created


async def keys_found(cell: NotesCell, principal: Principal, query: str, tag: str | None = None) -> list[str]:
    out = await cell.search(SearchIn(query=query, tag=tag), as_(principal))
    return [hit.key for hit in out.results]


async def keys_listed(cell: NotesCell, principal: Principal, **filters: object) -> list[str]:
    out = await cell.list_notes(ListIn.model_validate(filters), as_(principal))
    return [note.key for note in out.notes]


def test_the_cell_declares_five_tools_with_honest_hints() -> None:
    specs = {spec.name: spec for spec in NotesCell.tool_specs}
    assert NotesCell.namespace == "notes"
    assert NotesCell.version == "1.0.0"
    assert set(specs) == {"put", "get", "search", "list", "delete"}
    assert {name for name, spec in specs.items() if spec.read_only} == {"get", "search", "list"}
    assert {name for name, spec in specs.items() if spec.destructive} == {"put", "delete"}
    assert all(spec.idempotent for spec in specs.values())
    assert all(len(spec.description) > 80 for spec in specs.values())


@pytest.mark.anyio
async def test_put_creates_then_replaces_and_get_reads_back(cell: NotesCell) -> None:
    first = await cell.put(PutIn(key="user/editor", text="uses vim", tags=["prefs"]), as_(ALICE))
    assert first.created
    assert first.updated_at.utcoffset() == timedelta(0)

    second = await cell.put(PutIn(key="user/editor", text="switched to helix", tags=["prefs", "tools"]), as_(ALICE))
    assert not second.created
    assert second.updated_at >= first.updated_at

    note = await cell.get(GetIn(key="user/editor"), as_(ALICE))
    assert (note.key, note.text, note.tags) == ("user/editor", "switched to helix", ["prefs", "tools"])
    assert note.created_at == first.updated_at
    assert note.updated_at == second.updated_at
    assert note.created_at.utcoffset() == timedelta(0)
    assert await keys_listed(cell, ALICE) == ["user/editor"]


@pytest.mark.anyio
async def test_timestamps_are_iso_8601_utc_on_the_wire(cell: NotesCell) -> None:
    gateway = LocalGatewayView([cell])
    outcome = await gateway.call_tool(ALICE, "notes.put", {"key": "k", "text": "t"})
    assert not outcome.is_error and outcome.structured is not None
    assert outcome.structured["updated_at"].endswith("Z")
    listed = await gateway.call_tool(ALICE, "notes.list", {})
    assert listed.structured == {
        "notes": [{"key": "k", "tags": [], "updated_at": outcome.structured["updated_at"], "size": 1}],
        "total": 1,
    }


@pytest.mark.anyio
async def test_get_of_a_missing_note_is_a_tool_error(cell: NotesCell) -> None:
    with pytest.raises(ToolError, match="no note named 'nothing here'"):
        await cell.get(GetIn(key="nothing here"), as_(ALICE))


@pytest.mark.parametrize(
    "arguments",
    [
        {"key": "", "text": "t"},
        {"key": "k" * 201, "text": "t"},
        {"key": "line\nbreak", "text": "t"},
        {"key": "nul\x00", "text": "t"},
        {"key": "\u202ereversed", "text": "t"},
        {"key": "zero\u200bwidth", "text": "t"},
        {"key": "k", "text": "lone \ud800 surrogate"},
        {"key": "k", "text": "t", "tags": [""]},
        {"key": "k", "text": "t", "tags": ["tab\there"]},
        {"key": "k", "text": "t", "tags": ["t" * 65]},
        {"key": "k", "text": "t", "tags": [f"t{i}" for i in range(33)]},
        {"key": "k", "text": "t", "owner": "bob"},
    ],
)
def test_put_rejects_malformed_arguments(arguments: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PutIn.model_validate(arguments)


def test_put_accepts_keys_up_to_200_characters_and_dedupes_tags() -> None:
    args = PutIn(key="ключ/" + "k" * 195, text="multi\nline\ttext", tags=["a", "b", "a"])
    assert len(args.key) == 200
    assert args.tags == ["a", "b"]


@pytest.mark.parametrize(
    "model, arguments",
    [
        (SearchIn, {"query": ""}),
        (SearchIn, {"query": "x", "limit": 0}),
        (SearchIn, {"query": "x", "limit": 201}),
        (SearchIn, {"query": "x" * 1001}),
        (ListIn, {"limit": 0}),
        (ListIn, {"limit": 201}),
        (ListIn, {"offset": -1}),
        (ListIn, {"prefix": "a\x00"}),
        (GetIn, {"key": ""}),
        (DeleteIn, {"key": "k" * 201}),
    ],
)
def test_limits_are_validated(model: type[SearchIn | ListIn | GetIn | DeleteIn], arguments: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(arguments)


def test_settings_forbid_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        NotesSettings.model_validate({"databse": "x.sqlite3"})


@pytest.mark.anyio
async def test_text_is_capped_in_utf8_bytes(tmp_path: Path) -> None:
    cell = await started(tmp_path, max_note_bytes=10)
    try:
        assert await put(cell, ALICE, "fits", "é" * 5)
        with pytest.raises(ToolError, match="11 bytes"):
            await put(cell, ALICE, "too big", "é" * 5 + "x")
        with pytest.raises(ToolError, match="at most 10 bytes"):
            await put(cell, ALICE, "fits", "é" * 6)
        assert (await cell.get(GetIn(key="fits"), as_(ALICE))).text == "é" * 5
    finally:
        await cell.stop()


@pytest.mark.anyio
async def test_note_count_is_capped_per_principal(tmp_path: Path) -> None:
    cell = await started(tmp_path, max_notes_per_principal=2)
    try:
        assert await put(cell, ALICE, "one", "1")
        assert await put(cell, ALICE, "two", "2")
        with pytest.raises(ToolError, match="maximum of 2 notes"):
            await put(cell, ALICE, "three", "3")
        assert not await put(cell, ALICE, "two", "replacing is still allowed")
        assert await put(cell, BOB, "three", "another principal has its own allowance")
        await cell.delete(DeleteIn(key="one"), as_(ALICE))
        assert await put(cell, ALICE, "three", "3")
    finally:
        await cell.stop()


@pytest.mark.anyio
async def test_principals_never_see_each_others_notes(cell: NotesCell) -> None:
    await put(cell, ALICE, "secret", "alice's launch code is swordfish", ["private"])

    for other in (BOB, ALICE_ELSEWHERE):
        with pytest.raises(ToolError, match="no note named"):
            await cell.get(GetIn(key="secret"), as_(other))
        assert await keys_found(cell, other, "swordfish launch secret private") == []
        assert await keys_found(cell, other, "swordfish", tag="private") == []
        assert await keys_listed(cell, other) == []
        assert await keys_listed(cell, other, tag="private") == []
        assert (await cell.list_notes(ListIn(prefix="sec"), as_(other))).total == 0
        assert not (await cell.delete(DeleteIn(key="secret"), as_(other))).deleted
        assert await put(cell, other, "secret", f"{other.name}@{other.domain} wrote this")

    note = await cell.get(GetIn(key="secret"), as_(ALICE))
    assert note.text == "alice's launch code is swordfish"
    assert await keys_found(cell, ALICE, "wrote") == []
    assert (await cell.get(GetIn(key="secret"), as_(BOB))).text == "bob@default wrote this"


@pytest.mark.anyio
async def test_scores_do_not_depend_on_other_principals_notes(cell: NotesCell) -> None:
    await put(cell, ALICE, "a", "merger talks with acme")
    await put(cell, ALICE, "b", "lunch with the team")
    before = (await cell.search(SearchIn(query="acme lunch"), as_(ALICE))).results

    for i in range(20):
        await put(cell, BOB, f"bob-{i}", "acme acme acme")
    after = (await cell.search(SearchIn(query="acme lunch"), as_(ALICE))).results

    assert [(hit.key, hit.score) for hit in after] == [(hit.key, hit.score) for hit in before]


@pytest.mark.anyio
async def test_search_ranks_finds_by_key_text_and_tag_and_marks_snippets(cell: NotesCell) -> None:
    await put(cell, ALICE, "fruit/both", "I like apple pie and banana bread", ["food"])
    await put(cell, ALICE, "fruit/apple", "An apple a day", ["food", "health"])
    await put(cell, ALICE, "colour", "Favourite colour is teal", ["prefs"])

    out = await cell.search(SearchIn(query="banana APPLE"), as_(ALICE))
    assert [hit.key for hit in out.results] == ["fruit/both", "fruit/apple"]
    assert out.results[0].score > out.results[1].score > 0
    assert "**apple**" in out.results[0].snippet.lower()
    assert out.results[0].tags == ["food"]

    assert await keys_found(cell, ALICE, "colour") == ["colour"]
    assert await keys_found(cell, ALICE, "health") == ["fruit/apple"]
    assert await keys_found(cell, ALICE, "apple", tag="health") == ["fruit/apple"]
    assert await keys_found(cell, ALICE, "apple", tag="prefs") == []
    assert await keys_found(cell, ALICE, "durian") == []

    limited = await cell.search(SearchIn(query="apple", limit=1), as_(ALICE))
    assert len(limited.results) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("query", HOSTILE_QUERIES)
async def test_search_treats_hostile_queries_as_plain_words(cell: NotesCell, query: str) -> None:
    await put(cell, ALICE, "ops", "never use AND OR NOT NEAR in key text, says ops")
    out = await cell.search(SearchIn(query=query), as_(ALICE))
    assert all(hit.key == "ops" for hit in out.results)


@pytest.mark.anyio
async def test_search_words_that_are_fts_operators_match_literally(cell: NotesCell) -> None:
    await put(cell, ALICE, "ops", "never use AND OR NOT NEAR in key text, says ops")
    await put(cell, ALICE, "other", "nothing to see")
    assert await keys_found(cell, ALICE, "NEAR(") == ["ops"]
    assert await keys_found(cell, ALICE, '"says"') == ["ops"]
    assert await keys_found(cell, ALICE, "key:see") == []


@pytest.mark.anyio
async def test_list_filters_by_prefix_and_tag_and_pages(cell: NotesCell) -> None:
    for key, tags in [("b/2", ["x"]), ("a/1", ["x", "y"]), ("b/1", ["y"]), ("B/3", []), ("b%_", ["x"])]:
        await put(cell, ALICE, key, f"text of {key}", tags)

    everything = await cell.list_notes(ListIn(), as_(ALICE))
    assert [note.key for note in everything.notes] == ["B/3", "a/1", "b%_", "b/1", "b/2"]
    assert everything.total == 5
    assert everything.notes[1].size == len(b"text of a/1")
    assert everything.notes[1].tags == ["x", "y"]

    assert await keys_listed(cell, ALICE, prefix="b/") == ["b/1", "b/2"]
    assert await keys_listed(cell, ALICE, prefix="b%") == ["b%_"]
    assert await keys_listed(cell, ALICE, prefix="b_") == []
    assert await keys_listed(cell, ALICE, tag="x") == ["a/1", "b%_", "b/2"]
    assert await keys_listed(cell, ALICE, prefix="b", tag="y") == ["b/1"]

    page = await cell.list_notes(ListIn(limit=2, offset=1), as_(ALICE))
    assert [note.key for note in page.notes] == ["a/1", "b%_"]
    assert page.total == 5
    beyond = await cell.list_notes(ListIn(offset=10), as_(ALICE))
    assert (beyond.notes, beyond.total) == ([], 5)


@pytest.mark.anyio
async def test_size_counts_utf8_bytes(cell: NotesCell) -> None:
    await put(cell, ALICE, "k", "日本")
    assert (await cell.list_notes(ListIn(), as_(ALICE))).notes[0].size == 6


@pytest.mark.anyio
async def test_replacing_a_note_replaces_its_tags_and_index_entries(cell: NotesCell) -> None:
    await put(cell, ALICE, "k", "old words here", ["old"])
    await put(cell, ALICE, "k", "new words here", ["new"])
    assert await keys_found(cell, ALICE, "old") == []
    assert await keys_found(cell, ALICE, "new") == ["k"]
    assert await keys_listed(cell, ALICE, tag="old") == []
    assert await keys_listed(cell, ALICE, tag="new") == ["k"]


@pytest.mark.anyio
async def test_delete_removes_the_note_and_is_idempotent(cell: NotesCell) -> None:
    await put(cell, ALICE, "temp", "ephemeral thought", ["scratch"])
    first = await cell.delete(DeleteIn(key="temp"), as_(ALICE))
    assert (first.key, first.deleted) == ("temp", True)
    assert not (await cell.delete(DeleteIn(key="temp"), as_(ALICE))).deleted

    with pytest.raises(ToolError):
        await cell.get(GetIn(key="temp"), as_(ALICE))
    assert await keys_found(cell, ALICE, "ephemeral") == []
    assert await keys_listed(cell, ALICE, tag="scratch") == []
    assert await put(cell, ALICE, "temp", "back again")


@pytest.mark.anyio
async def test_notes_survive_a_restart(tmp_path: Path) -> None:
    first = await started(tmp_path)
    await put(first, ALICE, "remember", "the user's name is Ada", ["people"])
    await first.stop()

    second = await started(tmp_path)
    try:
        assert (await second.get(GetIn(key="remember"), as_(ALICE))).text == "the user's name is Ada"
        assert await keys_found(second, ALICE, "ada", tag="people") == ["remember"]
        assert not await put(second, ALICE, "remember", "the user's name is Ada Lovelace")
    finally:
        await second.stop()


@pytest.mark.anyio
async def test_database_location_follows_settings(tmp_path: Path) -> None:
    default = NotesCell(NotesSettings(), tmp_path)
    assert default.database_path == tmp_path / "notes.sqlite3"
    relative = NotesCell(NotesSettings(database=Path("sub/mine.db")), tmp_path)
    assert relative.database_path == tmp_path / "sub" / "mine.db"
    absolute = tmp_path / "elsewhere" / "notes.db"
    cell = await started(tmp_path / "state", database=absolute)
    try:
        await put(cell, ALICE, "k", "t")
        assert absolute.exists()
    finally:
        await cell.stop()


@pytest.mark.anyio
async def test_database_files_are_private(tmp_path: Path) -> None:
    database = tmp_path / "notes.sqlite3"
    database.touch(mode=0o644)
    database.chmod(0o644)
    previous_umask = os.umask(0)
    try:
        cell = await started(tmp_path)
    finally:
        os.umask(previous_umask)
    try:
        await put(cell, ALICE, "k", "t")
        for path in (database, tmp_path / "notes.sqlite3-wal", tmp_path / "notes.sqlite3-shm"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        await cell.stop()


@pytest.mark.anyio
async def test_the_database_is_in_wal_mode(cell: NotesCell, tmp_path: Path) -> None:
    await put(cell, ALICE, "k", "t")
    assert (tmp_path / "notes.sqlite3-wal").exists()


@pytest.mark.anyio
async def test_concurrent_puts_all_land(cell: NotesCell) -> None:
    created: list[bool] = []

    async def put_one(principal: Principal, key: str) -> None:
        created.append(await put(cell, principal, key, f"concurrent note {key}", ["load"]))

    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            for i in range(50):
                group.start_soon(put_one, ALICE, f"note-{i:02d}")
            for _ in range(50):
                group.start_soon(put_one, BOB, "same-key")

    assert created.count(True) == 51
    listed = await cell.list_notes(ListIn(limit=200), as_(ALICE))
    assert listed.total == 50
    assert [note.key for note in listed.notes] == [f"note-{i:02d}" for i in range(50)]
    assert len(await keys_found(cell, ALICE, "concurrent")) == 20
    assert await keys_listed(cell, BOB) == ["same-key"]


@pytest.mark.anyio
async def test_tools_refuse_to_run_before_start(tmp_path: Path) -> None:
    cell = NotesCell(NotesSettings(), tmp_path)
    with pytest.raises(RuntimeError, match="not started"):
        await cell.get(GetIn(key="k"), as_(ALICE))
