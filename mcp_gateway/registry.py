"""The registry: which tools exist, under which names, served by which host.

Cells are loaded from configuration by import path; the gateway never imports a cell by name.
The registry is complete before the gateway serves (cells at construction, upstreams as they
come up at start). Afterwards only an upstream that comes back with other tools changes it, by
swapping in whole new indexes, so lookups need no lock.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from mcp_gateway.budgets.fallbacks import validate_fallbacks
from mcp_gateway.config import CellConfig, Config, expand_state_dir
from mcp_gateway.errors import CellLoadError, ConfigError, InvalidArguments
from mcp_gateway.names import wire_name
from mcp_gateway.sdk import Cell, ToolSpec
from mcp_gateway.tools import ArgumentValidator, ToolEntry

MAX_VALIDATION_ERRORS_SHOWN = 5


@dataclass(frozen=True, slots=True)
class LoadedCell:
    cell: Cell
    config: CellConfig


class Registry:
    def __init__(self, tools: Iterable[ToolEntry]) -> None:
        self._by_canonical: dict[str, ToolEntry] = {}
        self._by_wire: dict[str, ToolEntry] = {}
        self.extend(tools)

    def extend(self, tools: Iterable[ToolEntry]) -> None:
        """Add tools (an upstream's, once it has listed them at start-up, before serving)."""
        for entry in tools:
            for index, key in ((self._by_canonical, entry.canonical), (self._by_wire, entry.wire)):
                if key in index:
                    raise CellLoadError(f"two tools are named {key!r}")
                index[key] = entry
        validate_fallbacks(self._by_canonical)

    def replace_namespace(self, namespace: str, tools: Iterable[ToolEntry]) -> None:
        """Serve `tools` as the whole of `namespace` (an upstream whose tool list changed)."""
        kept = [entry for entry in self._by_canonical.values() if entry.namespace != namespace]
        fresh = Registry([*kept, *tools])  # checks names, as at start
        self._by_canonical, self._by_wire = fresh._by_canonical, fresh._by_wire

    def namespaces(self) -> set[str]:
        return {entry.namespace for entry in self._by_canonical.values()}

    def by_wire(self, name: str) -> ToolEntry | None:
        return self._by_wire.get(name)

    def by_canonical(self, name: str) -> ToolEntry | None:
        return self._by_canonical.get(name)

    def all(self) -> list[ToolEntry]:
        return sorted(self._by_canonical.values(), key=lambda entry: entry.canonical)


def load_cells(config: Config) -> list[LoadedCell]:
    """Import, configure and construct every enabled cell (not started yet)."""
    loaded: list[LoadedCell] = []
    seen: set[str] = set()
    for index, cell_config in enumerate(config.cells):
        if not cell_config.enabled:
            continue
        key = f"cells[{index}]"
        cls = import_cell(cell_config.module, config.source, key)
        if cell_config.namespace is not None and cell_config.namespace != cls.namespace:
            message = f"{cell_config.module} serves namespace {cls.namespace!r}, not {cell_config.namespace!r}"
            raise ConfigError(config.source, f"{key}.namespace", message)
        if cls.namespace in seen:
            raise ConfigError(config.source, key, f"namespace {cls.namespace!r} is configured twice")
        seen.add(cls.namespace)
        state_dir = config.server.state_dir
        raw = expand_state_dir(cell_config.settings, state_dir)
        try:
            settings = cls.Settings.model_validate(raw)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            raise ConfigError(config.source, f"{key}.settings.{where}".rstrip("."), error["msg"]) from None
        cell_dir = state_dir / "cells" / cls.namespace
        loaded.append(LoadedCell(cls(settings, cell_dir), cell_config))
    return loaded


def import_cell(path: str, source: str = "", key: str = "") -> type[Cell]:
    """The Cell class named by `module` or `module:Class`; a `ConfigError` naming `key` otherwise."""
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(source, f"{key}.module", f"cannot import {module_name!r} ({exc})") from None
    if attr:
        found = getattr(module, attr, None)
        candidates = [found] if inspect.isclass(found) and issubclass(found, Cell) else []
    else:
        candidates = [
            value
            for value in vars(module).values()
            if inspect.isclass(value) and issubclass(value, Cell) and value is not Cell
        ]
    if len(candidates) != 1:
        raise ConfigError(source, f"{key}.module", f"{path!r} must name exactly one Cell class")
    return candidates[0]


def tool_entries(loaded: LoadedCell, separator: str, *, jail: bool = True) -> list[ToolEntry]:
    cell = loaded.cell
    risky = [spec.name for spec in cell.tool_specs if spec.risk == "high"]
    if risky and not jail:
        # Fail closed: a high-risk tool runs only in the jail, and there is no in-process fallback.
        raise CellLoadError(
            f"cell {cell.namespace!r} declares high-risk tools ({', '.join(risky)}), "
            "which run only in the jail; this gateway's jail is disabled ([jail] enabled = false)"
        )
    return [
        ToolEntry(
            canonical=f"{cell.namespace}.{spec.name}",
            wire=wire_name(f"{cell.namespace}.{spec.name}", separator),
            description=spec.description,
            input_schema=spec.input_model.model_json_schema(),
            output_schema=spec.output_model.model_json_schema(mode="serialization"),
            risk=spec.risk,
            cost=spec.cost,
            version=cell.version,
            address=cell.namespace,
            validate=pydantic_validator(spec),
            read_only=spec.read_only,
            destructive=spec.destructive,
            idempotent=spec.idempotent,
            timeout=loaded.config.timeout,
            fallback=spec.fallback,
        )
        for spec in cell.tool_specs
    ]


def pydantic_validator(spec: ToolSpec) -> ArgumentValidator:
    model: type[BaseModel] = spec.input_model

    def validate(arguments: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return model.model_validate(arguments).model_dump(mode="json", exclude_unset=True)
        except ValidationError as exc:
            raise InvalidArguments(describe_validation_error(exc)) from None

    return validate


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, naming the argument; never echoes the offending value back."""
    errors = exc.errors(include_url=False, include_input=False)
    lines = [f"{'.'.join(str(p) for p in err['loc']) or '(arguments)'}: {err['msg']}" for err in errors]
    shown = lines[:MAX_VALIDATION_ERRORS_SHOWN]
    if len(lines) > len(shown):
        shown.append(f"... and {len(lines) - len(shown)} more")
    return "invalid arguments: " + "; ".join(shown)
