from __future__ import annotations

import base64
import copy
from typing import Any

import mcp.types as t
import pytest

from mcp_gateway.dlp.leaves import (
    Limits,
    ScanLimitExceeded,
    json_leaves,
    replace_in_json,
    replace_in_result,
    result_leaves,
)
from mcp_gateway.dlp.model import Leaf
from mcp_gateway.dlp.paths import path_for_message
from mcp_gateway.errors import PayloadTooLarge, Refusal
from mcp_gateway.pipeline import ToolResult


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _pairs(leaves: list[Leaf]) -> list[tuple[str, str, str]]:
    return [(leaf.path, leaf.text, leaf.kind) for leaf in leaves]


# --- json_leaves: what is scanned, and under which path -----------------------------------------


def test_strings_keys_and_ints_in_document_order() -> None:
    value = {"name": "Ada", "items": ["x", {"n": 4111111111111111}], "we.ird key": "y"}
    assert _pairs(json_leaves(value)) == [
        ("$.name#key", "name", "key"),
        ("$.name", "Ada", "value"),
        ("$.items#key", "items", "key"),
        ("$.items[0]", "x", "value"),
        ("$.items[1].n#key", "n", "key"),
        ("$.items[1].n", "4111111111111111", "value"),
        ('$["we.ird key"]#key', "we.ird key", "key"),
        ('$["we.ird key"]', "y", "value"),
    ]


def test_key_leaf_names_the_entry_it_belongs_to() -> None:
    leaves = json_leaves({"users": {"alice@example.com": {"age": 3}}})
    keys = [leaf for leaf in leaves if leaf.kind == "key"]
    assert [(leaf.path, leaf.text) for leaf in keys] == [
        ("$.users#key", "users"),
        ('$.users["alice@example.com"]#key', "alice@example.com"),
        ('$.users["alice@example.com"].age#key', "age"),
    ]


@pytest.mark.parametrize(
    ("key", "segment"),
    [
        ("_a1", "._a1"),
        ("1a", '["1a"]'),
        ("a-b", '["a-b"]'),
        ("", '[""]'),
        ('q"uote', '["q\\"uote"]'),
        ("café", '["caf\\u00e9"]'),
        ("a\u202eb", '["a\\u202eb"]'),
    ],
)
def test_member_path_quotes_keys_that_are_not_identifiers(key: str, segment: str) -> None:
    assert json_leaves({key: "v"})[1].path == "$" + segment


def test_floats_bools_and_none_are_skipped_ints_are_not() -> None:
    leaves = json_leaves([1.5, True, False, None, 0, -7])
    assert _pairs(leaves) == [("$[4]", "0", "value"), ("$[5]", "-7", "value")]


def test_scalar_root_and_custom_root() -> None:
    assert _pairs(json_leaves("hello")) == [("$", "hello", "value")]
    assert json_leaves({"a": ["b"]}, root="args")[-1].path == "args.a[0]"


def test_tuples_are_walked_like_lists() -> None:
    assert [leaf.path for leaf in json_leaves(("a", ("b",)))] == ["$[0]", "$[1][0]"]


def test_objects_that_are_not_json_are_skipped() -> None:
    assert json_leaves({"a": object(), "b": b"bytes"}) == [Leaf("$.a#key", "a", "key"), Leaf("$.b#key", "b", "key")]


def test_non_string_keys_are_named_by_str() -> None:
    assert _pairs(json_leaves({7: "x"})) == [('$["7"]#key', "7", "key"), ('$["7"]', "x", "value")]


# --- limits -------------------------------------------------------------------------------------


def _nested_lists(depth: int) -> list[Any]:
    value: list[Any] = ["x"]
    for _ in range(depth - 1):
        value = [value]
    return value


def test_depth_limit_allows_exactly_max_depth_levels() -> None:
    assert json_leaves(_nested_lists(32)) == [Leaf("$" + "[0]" * 32, "x")]
    with pytest.raises(ScanLimitExceeded) as caught:
        json_leaves(_nested_lists(33))
    assert caught.value.limit == "max_depth"
    assert caught.value.message.startswith("nested deeper than 32 levels at $[0][0]")


def test_a_100k_deep_list_is_refused_not_a_recursion_error() -> None:
    with pytest.raises(ScanLimitExceeded):
        json_leaves(_nested_lists(100_000))


def test_depth_message_elides_quoted_keys_and_is_short() -> None:
    value: Any = "x"
    for _ in range(40):
        value = {"alice@example.com": value}
    with pytest.raises(ScanLimitExceeded) as caught:
        json_leaves({"a": {"b": value}})
    message = caught.value.message
    assert message.startswith("nested deeper than 32 levels at $.a.b[…][…]")
    assert "alice" not in message
    assert message.endswith("…")
    assert len(message) < 120


def test_leaf_count_limit() -> None:
    limits = Limits(max_leaves=3)
    assert len(json_leaves(["a", "b", "c"], limits=limits)) == 3
    with pytest.raises(ScanLimitExceeded, match="more than 3 strings") as caught:
        json_leaves(["a", "b", "c", "d"], limits=limits)
    assert caught.value.limit == "max_leaves"


def test_keys_count_towards_the_leaf_limit() -> None:
    with pytest.raises(ScanLimitExceeded, match="more than 1 strings"):
        json_leaves({"k": "v"}, limits=Limits(max_leaves=1))


def test_char_limit_counts_all_leaves_and_never_quotes_them() -> None:
    limits = Limits(max_chars=10)
    assert len(json_leaves(["12345", "67890"], limits=limits)) == 2
    with pytest.raises(ScanLimitExceeded) as caught:
        json_leaves(["12345", "secret"], limits=limits)
    assert caught.value.message == "more than 10 characters to scan"
    assert caught.value.limit == "max_chars"


def test_default_limits() -> None:
    assert Limits() == Limits(max_depth=32, max_leaves=10_000, max_chars=4_000_000)
    with pytest.raises(ScanLimitExceeded, match="more than 10000 strings"):
        json_leaves(["x"] * 10_001)
    with pytest.raises(ScanLimitExceeded, match="more than 4000000 characters to scan"):
        json_leaves(["x" * 2_000_000, "y" * 2_000_001])


def test_scan_limit_is_a_typed_refusal() -> None:
    error = ScanLimitExceeded("more than 3 strings to scan", limit="max_leaves", stage="dlp-in")
    assert isinstance(error, PayloadTooLarge)
    assert isinstance(error, Refusal)
    assert error.code == "dlp_limit"
    assert error.stage == "dlp-in"


def test_an_int_too_long_to_print_is_refused() -> None:
    with pytest.raises(ScanLimitExceeded, match="integer too long"):
        json_leaves({"n": 10**5000})


def test_path_for_message_keeps_short_identifier_paths() -> None:
    assert path_for_message("$.a[0].b") == "$.a[0].b"
    assert path_for_message('$["x\\"]"].c') == "$[…].c"


# --- replace_in_json ----------------------------------------------------------------------------


def test_replace_values_ints_and_keys_without_mutating_the_input() -> None:
    value = {"user": {"email": "a@b.co", "card": 4111111111111111}, "alice@example.com": [1, "x"]}
    before = copy.deepcopy(value)
    edited = replace_in_json(
        value,
        {"$.user.email": "<EMAIL>", "$.user.card": "<CARD>", '$["alice@example.com"]#key': "<EMAIL>"},
    )
    assert edited == {"user": {"email": "<EMAIL>", "card": "<CARD>"}, "<EMAIL>": [1, "x"]}
    assert value == before
    assert edited["user"] is not value["user"]
    assert list(edited) == ["user", "<EMAIL>"]


def test_replace_with_no_edits_is_a_deep_copy() -> None:
    value = {"a": [{"b": "c"}]}
    copied = replace_in_json(value, {})
    assert copied == value
    assert copied["a"] is not value["a"]
    assert copied["a"][0] is not value["a"][0]


def test_renamed_key_that_collides_gets_a_suffix() -> None:
    value = {"<EMAIL>": 1, "a@b.co": 2, "c@d.co": 3, "keep": 4}
    edits = {'$["a@b.co"]#key': "<EMAIL>", '$["c@d.co"]#key': "<EMAIL>"}
    assert replace_in_json(value, edits) == {"<EMAIL>": 1, "<EMAIL>#2": 2, "<EMAIL>#3": 3, "keep": 4}


def test_renaming_a_key_keeps_its_value_editable_by_the_original_path() -> None:
    value = {"alice@example.com": {"phone": "555-0100"}}
    edits = {'$["alice@example.com"]#key': "<EMAIL>", '$["alice@example.com"].phone': "<PHONE>"}
    assert replace_in_json(value, edits) == {"<EMAIL>": {"phone": "<PHONE>"}}


def test_replace_root_string_and_custom_root() -> None:
    assert replace_in_json("secret", {"$": "<X>"}) == "<X>"
    assert replace_in_json({"a": "s"}, {"args.a": "<X>"}, root="args") == {"a": "<X>"}


def test_tuples_come_back_as_lists() -> None:
    assert replace_in_json(("a", ("b",)), {"$[1][0]": "<X>"}) == ["a", ["<X>"]]


@pytest.mark.parametrize("path", ["$.missing", "$.f", "$.b", "$.n", "$.o", "$.f#value"])
def test_an_edit_that_names_no_leaf_is_an_error(path: str) -> None:
    value = {"f": 1.5, "b": True, "n": None, "o": {"x": "y"}}
    with pytest.raises(ValueError, match="1 edit path"):
        replace_in_json(value, {path: "<X>"})


def test_replace_does_not_recurse_on_deep_values() -> None:
    deep = _nested_lists(10_000)
    edited = replace_in_json(deep, {})
    for _ in range(9_999):
        edited = edited[0]
    assert edited == ["x"]


def test_every_leaf_path_round_trips_through_replace() -> None:
    value = {"a": ["s", 12, {"k-1": "v", "ok": [None, "t"]}], "z": {"": "e"}}
    leaves = json_leaves(value)
    edits = {leaf.path: f"<{index}>" for index, leaf in enumerate(leaves)}
    edited = replace_in_json(value, edits)
    assert sorted(leaf.text for leaf in json_leaves(edited)) == sorted(edits.values())


# --- tool results -------------------------------------------------------------------------------


def _result() -> ToolResult:
    return ToolResult(
        content=[
            t.TextContent(type="text", text="mail a@b.co"),
            t.EmbeddedResource(
                type="resource",
                resource=t.TextResourceContents(uri="file:///a.txt", mime_type="text/plain", text="card 4111"),
            ),
            t.EmbeddedResource(
                type="resource",
                resource=t.BlobResourceContents(uri="file:///b.csv", mime_type="text/csv", blob=_b64("ssn 078-05")),
            ),
            t.EmbeddedResource(
                type="resource",
                resource=t.BlobResourceContents(uri="file:///c.bin", blob=base64.b64encode(b"\xff\xfe\x00").decode()),
            ),
            t.ImageContent(type="image", data=_b64("a@b.co"), mime_type="image/png"),
            t.AudioContent(type="audio", data=_b64("a@b.co"), mime_type="audio/wav"),
            t.ResourceLink(type="resource_link", uri="file:///home/alice", name="alice.txt", description="by Alice"),
        ],
        structured={"rows": [{"name": "Ada", "id": 7}]},
        is_error=True,
    )


def test_result_leaves_cover_every_scanned_part() -> None:
    assert _pairs(result_leaves(_result())) == [
        ("content[0].text", "mail a@b.co", "value"),
        ("content[1].resource.uri", "file:///a.txt", "value"),
        ("content[1].resource.text", "card 4111", "value"),
        ("content[2].resource.uri", "file:///b.csv", "value"),
        ("content[2].resource.blob", "ssn 078-05", "value"),
        ("content[3].resource.uri", "file:///c.bin", "value"),
        ("content[6].uri", "file:///home/alice", "value"),
        ("content[6].name", "alice.txt", "value"),
        ("content[6].description", "by Alice", "value"),
        ("structuredContent.rows#key", "rows", "key"),
        ("structuredContent.rows[0].name#key", "name", "key"),
        ("structuredContent.rows[0].name", "Ada", "value"),
        ("structuredContent.rows[0].id#key", "id", "key"),
        ("structuredContent.rows[0].id", "7", "value"),
    ]


@pytest.mark.parametrize(
    ("blob", "expected"),
    [
        (" YWJj\n", "abc"),  # whitespace ignored
        ("YWI", "ab"),  # padding left off
        ("Y", None),  # not base64
        (base64.b64encode("é".encode("utf-16")).decode(), None),  # not UTF-8: binary
    ],
)
def test_blob_decoding_is_forgiving_but_binary_is_not_scanned(blob: str, expected: str | None) -> None:
    block = t.EmbeddedResource(type="resource", resource=t.BlobResourceContents(uri="u", blob=blob))
    texts = [leaf.text for leaf in result_leaves(ToolResult(content=[block])) if leaf.path.endswith(".blob")]
    assert texts == ([] if expected is None else [expected])


def test_result_limits_apply_across_the_whole_result() -> None:
    result = ToolResult(content=[t.TextContent(type="text", text="12345")], structured={"a": "67890"})
    assert len(result_leaves(result, Limits(max_chars=11))) == 3
    with pytest.raises(ScanLimitExceeded, match="more than 10 characters"):
        result_leaves(result, Limits(max_chars=10))
    with pytest.raises(ScanLimitExceeded, match="more than 2 strings"):
        result_leaves(result, Limits(max_leaves=2))


def test_replace_in_result_edits_every_kind_of_part() -> None:
    result = _result()
    before = result.content[2].model_dump()
    edited = replace_in_result(
        result,
        {
            "content[0].text": "mail <EMAIL>",
            "content[1].resource.text": "card <CARD>",
            "content[2].resource.blob": "ssn <SSN>",
            "content[6].uri": "file:///home/<NAME>",
            "content[6].description": "by <NAME>",
            "structuredContent.rows[0].name": "<NAME>",
            "structuredContent.rows[0].id": "<ID>",
        },
    )
    assert edited.is_error is True
    assert edited.structured == {"rows": [{"name": "<NAME>", "id": "<ID>"}]}
    assert result.structured == {"rows": [{"name": "Ada", "id": 7}]}
    text, embedded, blob, binary, image, audio, link = edited.content
    assert isinstance(text, t.TextContent) and text.text == "mail <EMAIL>"
    assert isinstance(embedded, t.EmbeddedResource) and isinstance(embedded.resource, t.TextResourceContents)
    assert (embedded.resource.text, embedded.resource.uri, embedded.resource.mime_type) == (
        "card <CARD>",
        "file:///a.txt",
        "text/plain",
    )
    assert isinstance(blob, t.EmbeddedResource) and isinstance(blob.resource, t.BlobResourceContents)
    assert base64.b64decode(blob.resource.blob).decode() == "ssn <SSN>"
    assert (blob.resource.uri, blob.resource.mime_type) == ("file:///b.csv", "text/csv")
    assert isinstance(link, t.ResourceLink)
    assert (link.uri, link.name, link.description) == ("file:///home/<NAME>", "alice.txt", "by <NAME>")
    assert (binary, image, audio) == tuple(result.content[3:6])
    assert result.content[2].model_dump() == before
    assert isinstance(result.content[0], t.TextContent) and result.content[0].text == "mail a@b.co"


def test_replace_in_result_without_structured_content() -> None:
    result = ToolResult(content=[t.TextContent(type="text", text="x")])
    edited = replace_in_result(result, {"content[0].text": "y"})
    assert edited.structured is None
    assert edited.text() == "y"


@pytest.mark.parametrize(
    "path",
    ["content[3].resource.blob", "content[4].data", "content[6].title", "content[9].text", "structuredContent.nope"],
)
def test_replace_in_result_rejects_paths_that_name_no_scanned_string(path: str) -> None:
    with pytest.raises(ValueError, match="1 edit path"):
        replace_in_result(_result(), {path: "<X>"})


def test_every_result_leaf_path_round_trips_through_replace() -> None:
    result = _result()
    leaves = result_leaves(result)
    edits = {leaf.path: f"<{index}>" for index, leaf in enumerate(leaves)}
    edited = replace_in_result(result, edits)
    assert [leaf.text for leaf in result_leaves(edited)] == [edits[leaf.path] for leaf in leaves]
