"""The notes store and both of its word indexes (FTS5 and the substring fallback)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cells.notes.search import MAX_TERMS, FtsIndex, SearchIndex, SubstringIndex, fts5_available, query_terms, rank
from cells.notes.store import NoteLimitError, NoteStore, Owner

ALICE = Owner("default", "alice")
BOB = Owner("default", "bob")

INDEXES: dict[str, Callable[[], SearchIndex]] = {"fts5": FtsIndex, "substring": SubstringIndex}


@pytest.fixture(params=sorted(INDEXES))
def index(request: pytest.FixtureRequest) -> SearchIndex:
    if request.param == "fts5" and not fts5_available():
        pytest.skip("this SQLite library has no FTS5")
    return INDEXES[request.param]()


@pytest.fixture
def store(tmp_path: Path, index: SearchIndex) -> Iterator[NoteStore]:
    store = NoteStore.open(tmp_path / "notes.sqlite3", index)
    yield store
    store.close()


def found(store: NoteStore, owner: Owner, query: str, tag: str | None = None) -> list[str]:
    return [hit.key for hit in store.search(owner, query, tag=tag)]


def test_the_default_index_is_fts5_when_sqlite_has_it(tmp_path: Path) -> None:
    store = NoteStore.open(tmp_path / "notes.sqlite3")
    try:
        assert store.index_name == ("fts5" if fts5_available() else "substring")
    finally:
        store.close()


@pytest.mark.parametrize(
    "query",
    ["a AND (", '"', '""', "NEAR(a b)", "*", "col:val", "^x", "-", "NOT", "\x00", "a\x00b", "( ) )", "%", "_", "\\"],
)
def test_hostile_queries_never_error(store: NoteStore, query: str) -> None:
    store.put(ALICE, "ops", "AND OR NOT NEAR col val", ["t"], max_notes=10)
    assert found(store, ALICE, query) in ([], ["ops"])
    assert found(store, ALICE, query, tag="t") in ([], ["ops"])


def test_search_is_scoped_to_the_owner_and_tag(store: NoteStore) -> None:
    store.put(ALICE, "a1", "shared word zebra", ["x"], max_notes=10)
    store.put(ALICE, "a2", "zebra crossing", [], max_notes=10)
    store.put(BOB, "b1", "zebra zebra zebra", ["x"], max_notes=10)
    assert sorted(found(store, ALICE, "zebra")) == ["a1", "a2"]
    assert found(store, ALICE, "zebra", tag="x") == ["a1"]
    assert found(store, BOB, "zebra") == ["b1"]
    assert found(store, BOB, "crossing") == []


def test_more_matched_words_rank_first_and_snippets_mark_them(store: NoteStore) -> None:
    store.put(ALICE, "one", "the kettle is in the kitchen", [], max_notes=10)
    store.put(ALICE, "two", "the kettle whistles", [], max_notes=10)
    store.put(ALICE, "none", "garden shed", [], max_notes=10)
    hits = store.search(ALICE, "kettle kitchen")
    assert [hit.key for hit in hits] == ["one", "two"]
    assert hits[0].score > hits[1].score > 0
    assert "**kettle**" in hits[1].snippet


def test_matching_ignores_case_beyond_ascii(store: NoteStore) -> None:
    store.put(ALICE, "school", "ÉCOLE primaire", [], max_notes=10)
    assert found(store, ALICE, "école") == ["school"]


def test_replace_and_delete_keep_the_index_in_step(store: NoteStore) -> None:
    store.put(ALICE, "k", "alpha", ["first"], max_notes=10)
    store.put(ALICE, "k", "beta", ["second"], max_notes=10)
    assert found(store, ALICE, "alpha") == []
    assert found(store, ALICE, "first") == []
    assert found(store, ALICE, "beta", tag="second") == ["k"]
    assert store.delete(ALICE, "k")
    assert found(store, ALICE, "beta") == []


def test_the_note_limit_is_enforced_inside_the_write(store: NoteStore) -> None:
    store.put(ALICE, "a", "1", [], max_notes=1)
    with pytest.raises(NoteLimitError):
        store.put(ALICE, "b", "2", [], max_notes=1)
    assert store.list_notes(ALICE)[1] == 1
    assert found(store, ALICE, "2") == []


@pytest.mark.skipif(not fts5_available(), reason="this SQLite library has no FTS5")
def test_the_fts_index_catches_up_with_writes_made_without_it(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    store = NoteStore.open(path, FtsIndex())
    store.put(ALICE, "kept", "original words", [], max_notes=10)
    store.put(ALICE, "gone", "doomed words", [], max_notes=10)
    store.close()

    store = NoteStore.open(path, SubstringIndex())
    store.put(ALICE, "kept", "rewritten words", [], max_notes=10)
    store.delete(ALICE, "gone")
    store.put(ALICE, "added", "fresh words", [], max_notes=10)
    store.close()

    store = NoteStore.open(path, FtsIndex())
    try:
        assert found(store, ALICE, "original doomed") == []
        assert sorted(found(store, ALICE, "rewritten fresh")) == ["added", "kept"]
        store.put(ALICE, "kept", "final words", [], max_notes=10)
        assert found(store, ALICE, "final") == ["kept"]
    finally:
        store.close()


def test_query_terms_are_distinct_plain_words() -> None:
    assert query_terms('a AND ( "b" a') == ["a", "AND", "(", '"b"']
    assert query_terms("nul\x00split\u200bhere") == ["nul", "split", "here"]
    assert query_terms("   ") == []
    assert len(query_terms(" ".join(f"w{i}" for i in range(100)))) == MAX_TERMS


def test_rank_rewards_rare_words_and_breaks_ties_by_recency() -> None:
    common = {1: "2025-01-01", 2: "2025-01-02", 3: "2025-01-03"}
    rare = {1: "2025-01-01"}
    ranked = rank([common, rare], population=3)
    assert [note_id for note_id, _ in ranked] == [1, 3, 2]
    assert rank([{}, {}], population=3) == []
