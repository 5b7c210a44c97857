"""The tool surface as a reviewed artifact (GenOps): export it, diff two exports semantically,
check the live one against the committed `surface.lock.json`.

Tool descriptions and schemas are the prompts the gateway hands to models, so they are pinned
like any prompt. An export lists, per tool: canonical and wire name, a hash of the description,
input and output schemas, risk, cost, the cell's version and which policy subjects (principals
and roles, in the `default` domain) may call it; plus the policy's digest and the upstream
pins. A diff classifies each change:

- breaking: a tool removed; a required input field added; an input field removed; an input type
  narrowed (a type dropped from a union, an enum value dropped, a bound tightened); an output
  field removed or its type changed; a subject that could call a tool no longer can;
- compatible: a tool added; an optional input field added; a type widened; an output field
  added; a description, risk, cost or version change (reported, still to be reviewed);
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mcp_gateway.authz.diff import DEFAULT_DOMAIN
from mcp_gateway.authz.engine import CALL, Engine
from mcp_gateway.tools import ToolEntry

FORMAT_VERSION = 1
Kind = Literal["breaking", "compatible"]
_TIGHTER_IF_GREATER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_TIGHTER_IF_SMALLER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")


def _sha(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def export(
    entries: Iterable[ToolEntry],
    engine: Engine | None,
    policy_digest: str | None,
    pins: Mapping[str, Any],
) -> dict[str, Any]:
    subjects = engine.policy.subjects() if engine is not None else []
    tools: dict[str, Any] = {}
    for entry in sorted(entries, key=lambda item: item.canonical):
        allowed = None
        if engine is not None:
            allowed = sorted(
                subject
                for subject in subjects
                if engine.decide_subjects((subject,), DEFAULT_DOMAIN, entry.canonical, CALL).allowed
            )
        tools[entry.canonical] = {
            "wire": entry.wire,
            "description_sha256": _sha(entry.description),
            "description": entry.description,
            "input_schema": entry.input_schema,
            "output_schema": entry.output_schema,
            "risk": entry.risk,
            "cost": entry.cost,
            "version": entry.version,
            "allowed": allowed,
        }
    return {
        "format": FORMAT_VERSION,
        "policy_digest": policy_digest,
        "tools": tools,
        "upstream_pins": dict(sorted(pins.items())),
    }


def dumps(surface: Mapping[str, Any]) -> str:
    return json.dumps(surface, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass(frozen=True, slots=True, order=True)
class Change:
    kind: Kind
    tool: str
    what: str

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "tool": self.tool, "change": self.what}


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    before, after = old.get("tools", {}), new.get("tools", {})
    changes = [Change("breaking", name, "tool removed") for name in set(before) - set(after)]
    changes += [Change("compatible", name, "tool added") for name in set(after) - set(before)]
    changes += [
        change for name in set(before) & set(after) for change in _tool_changes(name, before[name], after[name])
    ]
    if old.get("policy_digest") != new.get("policy_digest"):
        changes.append(Change("compatible", "*", "policy changed (effective permission changes are listed per tool)"))
    for tool in sorted(set(old.get("upstream_pins", {})) | set(new.get("upstream_pins", {}))):
        was, now = old.get("upstream_pins", {}).get(tool), new.get("upstream_pins", {}).get(tool)
        if _pin_hashes(was) != _pin_hashes(now):
            changes.append(Change("compatible", tool, "upstream pin changed"))
    return sorted(changes)


def _pin_hashes(pin: Any) -> Any:
    return {key: value for key, value in pin.items() if key.endswith("schema") or key == "description"} if pin else None


def _tool_changes(name: str, was: Mapping[str, Any], now: Mapping[str, Any]) -> list[Change]:
    out: list[Change] = []
    if was.get("wire") != now.get("wire"):
        out.append(Change("breaking", name, f"wire name {was.get('wire')} -> {now.get('wire')}"))
    for key in ("description_sha256", "risk", "cost", "version"):
        if was.get(key) != now.get(key):
            label = "description" if key == "description_sha256" else key
            out.append(Change("compatible", name, f"{label} changed"))
    out += [
        Change(kind, name, f"input: {what}") for kind, what in _input_changes(was["input_schema"], now["input_schema"])
    ]
    out += [
        Change(kind, name, f"output: {what}")
        for kind, what in _output_changes(was.get("output_schema") or {}, now.get("output_schema") or {})
    ]
    lost = sorted(set(was.get("allowed") or []) - set(now.get("allowed") or []))
    gained = sorted(set(now.get("allowed") or []) - set(was.get("allowed") or []))
    if lost:
        out.append(Change("breaking", name, f"permission removed for {', '.join(lost)}"))
    if gained:
        out.append(Change("compatible", name, f"permission granted to {', '.join(gained)}"))
    return out


def _properties(schema: Mapping[str, Any]) -> tuple[Mapping[str, Any], set[str]]:
    return schema.get("properties", {}) or {}, set(schema.get("required", []) or [])


def _input_changes(was: Mapping[str, Any], now: Mapping[str, Any]) -> list[tuple[Kind, str]]:
    old_props, old_required = _properties(was)
    new_props, new_required = _properties(now)
    out: list[tuple[Kind, str]] = [
        ("breaking", f"{field!r} now required" if field in old_props else f"required field {field!r} added")
        for field in sorted(new_required - old_required)
    ]
    out += [("breaking", f"field {field!r} removed") for field in sorted(set(old_props) - set(new_props))]
    out += [
        ("compatible", f"optional field {field!r} added")
        for field in sorted(set(new_props) - set(old_props) - new_required)
    ]
    compared = {field: _compare_types(old_props[field], new_props[field]) for field in set(old_props) & set(new_props)}
    out += [
        ("breaking", f"{field!r} narrowed: {narrowed}") if narrowed else ("compatible", f"{field!r} widened: {widened}")
        for field, (narrowed, widened) in sorted(compared.items())
        if narrowed or widened
    ]
    out += [("compatible", f"{field!r} no longer required") for field in sorted(old_required - new_required)]
    return out


def _output_changes(was: Mapping[str, Any], now: Mapping[str, Any]) -> list[tuple[Kind, str]]:
    old_props, _ = _properties(was)
    new_props, _ = _properties(now)
    out: list[tuple[Kind, str]] = [
        ("breaking", f"field {f!r} removed") for f in sorted(set(old_props) - set(new_props))
    ]
    out += [("compatible", f"field {f!r} added") for f in sorted(set(new_props) - set(old_props))]
    out += [
        ("breaking", f"field {f!r} changed its schema")
        for f in sorted(set(old_props) & set(new_props))
        if _sha(old_props[f]) != _sha(new_props[f])
    ]
    return out


def _types(schema: Mapping[str, Any]) -> set[str]:
    if "anyOf" in schema:
        return set().union(*(_types(option) for option in schema["anyOf"]))
    declared = schema.get("type")
    if declared is None:
        return {"any"}
    types = {declared} if isinstance(declared, str) else set(declared)
    return types | ({"number"} if "integer" in types and "number" in types else set())


def _compare_types(was: Mapping[str, Any], now: Mapping[str, Any]) -> tuple[str, str]:
    """(how `now` accepts less than `was`, how it accepts more); empty strings when not."""
    narrowed: list[str] = []
    widened: list[str] = []
    old_types, new_types = _types(was), _types(now)
    if "any" not in new_types:
        lost = old_types - new_types - ({"integer"} if "number" in new_types else set())
        if "any" in old_types or lost:
            narrowed.append(f"type {sorted(old_types)} -> {sorted(new_types)}")
    if new_types - old_types and "any" not in old_types:
        widened.append(f"type {sorted(old_types)} -> {sorted(new_types)}")
    if "enum" in now and (set(map(str, was.get("enum", []))) - set(map(str, now["enum"])) or "enum" not in was):
        narrowed.append("enum values removed")
    elif "enum" in was and "enum" not in now:
        widened.append("enum lifted")
    narrowed += [
        f"{key} {was.get(key)} -> {now[key]}"
        for key in (*_TIGHTER_IF_GREATER, *_TIGHTER_IF_SMALLER)
        if key in now
        and (key not in was or (now[key] > was[key] if key in _TIGHTER_IF_GREATER else now[key] < was[key]))
    ]
    if "pattern" in now and now.get("pattern") != was.get("pattern"):
        narrowed.append("pattern changed")
    return "; ".join(narrowed), "; ".join(widened)
