"""Every string the DLP scanner must look at, named by a path, and the way back to edit them.

`json_leaves` and `result_leaves` flatten a JSON value or a whole tool result into `Leaf`s;
`replace_in_json` and `replace_in_result` take `{path: new text}` edits (built from findings)
and return a new value with those strings replaced. Paths (`mcp_gateway.dlp.paths`) are the
only link between the two. What is scanned, and how edits apply:

- An object key is a leaf of its own (keys carry PII too: `{"alice@example.com": {...}}`), at the
  member's path plus `#key`. Editing a key renames it; if the new name collides with another key
  of the same object, the renamed key gets `#2` (then `#3`, ...) appended, so no member is lost.
- Integers (not bools) are leaves, scanned as `str(n)`: a card number sent as a JSON number must
  be found. Editing one replaces the number by the edited string. Floats, bools and None carry
  nothing a recognizer looks for and are skipped; so is anything that is not JSON.
- Tuples are walked like lists and come back from `replace_in_json` as lists (JSON arrays).
- In a tool result: `content[i].text` (text), `content[i].resource.uri` and
  `content[i].resource.text` (embedded text resource), `content[i].uri` / `.name` / `.title` /
  `.description` (resource link). An embedded blob resource whose base64 decodes to UTF-8 text is
  scanned as that decoded text under `content[i].resource.blob`: a finding there refers to offsets
  in the decoded text, and an edit re-encodes the edited text as base64. Blobs that are not UTF-8,
  and image and audio data, are binary: they are not scanned. Annotations and `_meta` are
  protocol metadata and are not scanned either.

The walk is iterative (a 100k-deep list is refused, it never reaches the recursion limit) and
bounded by `Limits`, counted across the whole value or result.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any, Literal, TypeVar

import mcp.types as t
from pydantic import BaseModel

from mcp_gateway.dlp.model import Leaf, LeafKind
from mcp_gateway.dlp.paths import JSON_ROOT, STRUCTURED_ROOT, item_path, key_path, member_path, path_for_message
from mcp_gateway.errors import PayloadTooLarge
from mcp_gateway.pipeline import ToolResult

# The string fields of each content model that are scanned, in the order they are reported.
_TEXT_FIELDS: dict[type[Any], tuple[str, ...]] = {
    t.TextContent: ("text",),
    t.ResourceLink: ("uri", "name", "title", "description"),
    t.TextResourceContents: ("uri", "text"),
    t.BlobResourceContents: ("uri",),
}


def _text_fields(model: object) -> tuple[str, ...]:
    # isinstance, not a type lookup: a subclass of a content model must not escape the scan.
    return next((names for cls, names in _TEXT_FIELDS.items() if isinstance(model, cls)), ())


_Model = TypeVar("_Model", bound=BaseModel)
LimitName = Literal["max_depth", "max_leaves", "max_chars"]


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one scan may cost; a payload over any of them is refused, not half scanned."""

    max_depth: int = 32
    max_leaves: int = 10_000
    max_chars: int = 4_000_000
    """Total characters across all leaves of the value or result."""


DEFAULT_LIMITS = Limits()


class ScanLimitExceeded(PayloadTooLarge):
    """A payload too large or too deep to scan. Refused whole: scanning part of it would let the
    rest through unscanned. The message names the limit and never quotes the payload."""

    code = "dlp_limit"

    def __init__(self, message: str, *, limit: LimitName, stage: str = "") -> None:
        super().__init__(message, stage=stage)
        self.limit = limit


def _int_text(number: int, path: str) -> str:
    try:
        return str(number)
    except ValueError:  # beyond sys.get_int_max_str_digits(); no JSON parser produces one
        raise ScanLimitExceeded(f"an integer too long to scan at {path_for_message(path)}", limit="max_chars") from None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Collector:
    """Gathers leaves while enforcing the limits across everything added to it."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.leaves: list[Leaf] = []
        self.chars = 0

    def add(self, path: str, text: str, kind: LeafKind = "value") -> None:
        if len(self.leaves) >= self.limits.max_leaves:
            raise ScanLimitExceeded(f"more than {self.limits.max_leaves} strings to scan", limit="max_leaves")
        self.chars += len(text)
        if self.chars > self.limits.max_chars:
            raise ScanLimitExceeded(f"more than {self.limits.max_chars} characters to scan", limit="max_chars")
        self.leaves.append(Leaf(path, text, kind))

    def walk(self, value: Any, root: str) -> None:
        """Depth-first, in document order; a key's leaf comes just before its value's leaves."""
        # (node, path, number of containers around node, node is an object key)
        stack: list[tuple[Any, str, int, bool]] = [(value, root, 0, False)]
        while stack:
            node, path, depth, is_key = stack.pop()
            if is_key:
                self.add(path, node, "key")
            elif isinstance(node, str):
                self.add(path, node)
            elif _is_int(node):
                self.add(path, _int_text(node, path))
            elif isinstance(node, dict | list | tuple):
                if depth >= self.limits.max_depth:
                    raise ScanLimitExceeded(
                        f"nested deeper than {self.limits.max_depth} levels at {path_for_message(path)}",
                        limit="max_depth",
                    )
                stack.extend(reversed(self._children(node, path, depth + 1)))

    @staticmethod
    def _children(node: dict[Any, Any] | list[Any] | tuple[Any, ...], path: str, depth: int) -> list[Any]:
        if not isinstance(node, dict):
            return [(item, item_path(path, index), depth, False) for index, item in enumerate(node)]
        children: list[tuple[Any, str, int, bool]] = []
        for key, item in node.items():
            entry = member_path(path, key)
            key_text = key if isinstance(key, str) else str(key)
            children += [(key_text, key_path(path, key), depth, True), (item, entry, depth, False)]
        return children


def json_leaves(value: Any, root: str = JSON_ROOT, limits: Limits = DEFAULT_LIMITS) -> list[Leaf]:
    """Every string, object key and integer in `value`, in document order."""
    collector = _Collector(limits)
    collector.walk(value, root)
    return collector.leaves


def _blob_text(blob: str) -> str | None:
    """The text a base64 blob carries, or None when it is binary.

    Decoding is as forgiving as a browser's `atob` (whitespace ignored, padding optional), so
    text a lenient client would read cannot hide behind a sloppy encoding."""
    try:
        return base64.b64decode(blob + "==").decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return None


def _block_texts(block: t.ContentBlock, prefix: str) -> Iterator[tuple[str, str]]:
    """(path, text) of each scanned string of one content block; see the module docstring."""
    model: Any = block.resource if isinstance(block, t.EmbeddedResource) else block
    if model is not block:
        prefix += ".resource"
    for name in _text_fields(model):
        text = getattr(model, name)
        if isinstance(text, str):
            yield f"{prefix}.{name}", text
    if isinstance(model, t.BlobResourceContents):
        decoded = _blob_text(model.blob)
        if decoded is not None:
            yield f"{prefix}.blob", decoded


def result_leaves(result: ToolResult, limits: Limits = DEFAULT_LIMITS) -> list[Leaf]:
    """Every scanned string of a tool result: its content blocks, then its structured content."""
    collector = _Collector(limits)
    for index, block in enumerate(result.content):
        for path, text in _block_texts(block, f"content[{index}]"):
            collector.add(path, text)
    if result.structured is not None:
        collector.walk(result.structured, STRUCTURED_ROOT)
    return collector.leaves


def _renamed_keys(node: dict[Any, Any], path: str, edits: Mapping[str, str], used: set[str]) -> list[Any]:
    """The new key of each member, in order. Unrenamed keys keep their names; a renamed key that
    would collide with another gets `#2`, `#3`, ... appended, so no member is overwritten."""
    names: list[Any] = list(node)
    renamed: list[int] = []
    for index, key in enumerate(names):
        own_path = key_path(path, key)
        if own_path in edits:
            used.add(own_path)
            names[index] = edits[own_path]
            renamed.append(index)
    if renamed:
        renamed_set = set(renamed)
        taken = {name for index, name in enumerate(names) if index not in renamed_set}
        for index in renamed:
            candidate, suffix = names[index], 2
            while candidate in taken:
                candidate, suffix = f"{names[index]}#{suffix}", suffix + 1
            taken.add(candidate)
            names[index] = candidate
    return names


def _rebuild(value: Any, root: str, edits: Mapping[str, str], used: set[str]) -> Any:
    """A fresh copy of `value` with the edits applied; records in `used` the paths it applied.

    Iterative: every new container is hung in its parent's slot before its own children are
    visited, so no recursion is needed however deep the value is."""
    holder: list[Any] = [None]
    stack: list[tuple[Any, str, Any, Any]] = [(value, root, holder, 0)]
    while stack:
        node, path, parent, slot = stack.pop()
        if isinstance(node, dict):
            names = _renamed_keys(node, path, edits, used)
            copy: dict[Any, Any] = dict.fromkeys(names)
            stack.extend(
                (item, member_path(path, key), copy, name)
                for (key, item), name in zip(node.items(), names, strict=True)
            )
            parent[slot] = copy
        elif isinstance(node, list | tuple):
            items: list[Any] = [None] * len(node)
            stack.extend((item, item_path(path, index), items, index) for index, item in enumerate(node))
            parent[slot] = items
        elif path in edits and (isinstance(node, str) or _is_int(node)):
            used.add(path)
            parent[slot] = edits[path]
        else:
            parent[slot] = node
    return holder[0]


def _reject_unused(edits: Mapping[str, str], used: set[str]) -> None:
    """An edit that names no leaf is a bug upstream; failing beats letting the text out unedited."""
    unused = len(edits.keys() - used)
    if unused:
        raise ValueError(f"{unused} edit path(s) name no string in the value")


def replace_in_json(value: Any, edits: Mapping[str, str], root: str = JSON_ROOT) -> Any:
    """A new value with the leaf at each path of `edits` replaced; `value` is left untouched.

    Raises ValueError if a path names no leaf of `value`."""
    used: set[str] = set()
    rebuilt = _rebuild(value, root, edits, used)
    _reject_unused(edits, used)
    return rebuilt


def _edit_block(block: t.ContentBlock, prefix: str, edits: Mapping[str, str], used: set[str]) -> t.ContentBlock:
    """The block with its edited fields replaced (a copy), or the block itself when none is edited."""
    if isinstance(block, t.EmbeddedResource):
        resource = _edit_model(block.resource, f"{prefix}.resource", edits, used)
        return block if resource is block.resource else block.model_copy(update={"resource": resource})
    return _edit_model(block, prefix, edits, used)


def _edit_model(model: _Model, prefix: str, edits: Mapping[str, str], used: set[str]) -> _Model:
    updates: dict[str, str] = {}
    for name in _text_fields(model):
        path = f"{prefix}.{name}"
        if path in edits and isinstance(getattr(model, name), str):
            updates[name] = edits[path]
    blob_path = f"{prefix}.blob"
    if isinstance(model, t.BlobResourceContents) and blob_path in edits and _blob_text(model.blob) is not None:
        updates["blob"] = base64.b64encode(edits[blob_path].encode("utf-8")).decode("ascii")
    used.update(f"{prefix}.{name}" for name in updates)
    return model.model_copy(update=updates) if updates else model


def replace_in_result(result: ToolResult, edits: Mapping[str, str]) -> ToolResult:
    """A new result with each edited string replaced; `result` is left untouched.

    Unedited content blocks are shared with `result` (the gateway never mutates a block).
    Raises ValueError if a path names no scanned string of `result`."""
    used: set[str] = set()
    content = [_edit_block(block, f"content[{index}]", edits, used) for index, block in enumerate(result.content)]
    structured = None if result.structured is None else _rebuild(result.structured, STRUCTURED_ROOT, edits, used)
    _reject_unused(edits, used)
    return dataclasses.replace(result, content=content, structured=structured)
