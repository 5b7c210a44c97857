"""The surface diff classifies each change as breaking or compatible."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mcp_gateway.surface import diff

BASE: dict[str, Any] = {
    "format": 1,
    "policy_digest": "p1",
    "upstream_pins": {},
    "tools": {
        "notes.put": {
            "wire": "notes__put",
            "description_sha256": "d1",
            "input_schema": {
                "type": "object",
                "properties": {
                    "key": {"type": "string", "maxLength": 200},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "mode": {"enum": ["a", "b"]},
                    "size": {"type": ["integer", "null"]},
                },
                "required": ["key"],
            },
            "output_schema": {"type": "object", "properties": {"created": {"type": "boolean"}}},
            "risk": "low",
            "cost": 1,
            "version": "1",
            "allowed": ["role:admin", "role:user"],
        },
        "notes.get": {
            "wire": "notes__get",
            "description_sha256": "d2",
            "input_schema": {"type": "object", "properties": {}},
            "output_schema": None,
            "risk": "low",
            "cost": 1,
            "version": "1",
            "allowed": ["role:user"],
        },
    },
}


def _changed(edit: Any) -> list[tuple[str, str, str]]:
    new = copy.deepcopy(BASE)
    edit(new["tools"])
    return [(c.kind, c.tool, c.what) for c in diff(BASE, new)]


def _put(tools: Any) -> Any:
    return tools["notes.put"]


def _props(tools: Any) -> Any:
    return tools["notes.put"]["input_schema"]["properties"]


@pytest.mark.parametrize(
    ("edit", "kind", "text"),
    [
        (lambda t: t.pop("notes.get"), "breaking", "tool removed"),
        (lambda t: _put(t)["input_schema"]["required"].append("tags"), "breaking", "'tags' now required"),
        (lambda t: _props(t).update(x={"type": "string"})
         or _put(t)["input_schema"]["required"].append("x"), "breaking", "required field 'x' added"),
        (lambda t: _props(t).pop("tags"), "breaking", "field 'tags' removed"),
        (lambda t: _props(t)["size"].update(type="integer"), "breaking", "'size' narrowed"),
        (lambda t: _props(t)["mode"].update(enum=["a"]), "breaking", "enum values removed"),
        (lambda t: _props(t)["key"].update(maxLength=10), "breaking", "maxLength 200 -> 10"),
        (lambda t: _put(t)["output_schema"]["properties"].clear(), "breaking", "output: field 'created' removed"),
        (lambda t: _put(t).update(allowed=["role:admin"]), "breaking", "permission removed for role:user"),
        (lambda t: t.update({"notes.del": dict(_put(t), wire="notes__del")}), "compatible", "tool added"),
        (lambda t: _props(t).update(y={"type": "string"}), "compatible", "optional field 'y'"),
        (lambda t: _props(t)["key"].update(type=["string", "null"]), "compatible", "widened"),
        (lambda t: _props(t)["key"].update(maxLength=400), "compatible", ""),
        (lambda t: _put(t).update(description_sha256="d9"), "compatible", "description changed"),
        (lambda t: _put(t).update(allowed=["role:admin", "role:user", "role:x"]), "compatible", "granted to role:x"),
    ],
)  # fmt: skip
def test_each_change_is_classified(edit: Any, kind: str, text: str) -> None:
    changes = _changed(edit)
    if text == "":  # a loosened bound is not reported as narrowing
        assert all(k != "breaking" for k, _, _ in changes)
        return
    assert any(k == kind and text in what for k, _, what in changes), changes
    if kind == "compatible":
        assert all(k == "compatible" for k, _, _ in changes), changes


def test_no_change_no_diff() -> None:
    assert diff(BASE, copy.deepcopy(BASE)) == []
