"""The public contract for cells: everything a cell may import from the gateway.

A cell is a class with a namespace, a version and tools. Each tool is an async method
decorated with `@tool`, taking a pydantic input model and a `CellContext`, and returning a
pydantic output model::

    class EchoIn(BaseModel):
        text: str

    class EchoOut(BaseModel):
        text: str

    class Echo(Cell):
        namespace = "echo"
        version = "1.0.0"

        @tool(description="Return the text unchanged.", read_only=True)
        async def echo(self, args: EchoIn, ctx: CellContext) -> EchoOut:
            return EchoOut(text=args.text)

This module depends on the standard library and pydantic only, so cells never reach gateway
internals through it (the import-linter contracts hold cells to `mcp_gateway.sdk`).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, TypeVar, get_type_hints

from pydantic import BaseModel, ConfigDict

Risk = Literal["low", "high"]

_NAMESPACE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


class ToolError(Exception):
    """A failure the model should see: the call ends with an `isError` result carrying this message.

    The message reaches the client verbatim, so it must never contain a secret or a traceback.
    Any other exception raised by a tool is logged and reported to the client as an internal
    error without details.
    """


class NoSettings(BaseModel):
    """Settings model of a cell that takes none: any key given for it is a configuration error."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a call acts for. Cells calling other cells act as `cell:<namespace>`."""

    name: str
    roles: tuple[str, ...] = ()
    domain: str = "default"


@dataclass(frozen=True, slots=True)
class ToolInfo:
    """What a cell may learn about one tool of the exposed surface."""

    name: str
    description: str
    risk: Risk
    cost: int
    version: str


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """The result of a cell-to-cell call: structured output when the tool has one, else text."""

    is_error: bool
    text: str
    structured: Mapping[str, Any] | None


class GatewayView(Protocol):
    """The gateway as a cell sees it: introspection and calls that cross the whole pipeline."""

    @property
    def version(self) -> str: ...

    def visible_tools(self, principal: Principal) -> Sequence[ToolInfo]: ...

    async def call_tool(
        self, principal: Principal, tool: str, arguments: Mapping[str, Any], *, depth: int
    ) -> CallOutcome: ...

    async def read_secret(self, cell: Principal, name: str, *, caller: Principal) -> str:
        """A secret's value for `cell` acting for `caller`, if the policy lets `cell` read it
        (object `secret:NAME`, action `read`); audited either way. Raises `ToolError` when it is
        refused or missing (the same message for both)."""
        ...


@dataclass(frozen=True, slots=True)
class CellContext:
    """Per-call context handed to a tool: who is calling, over what, and a way back to the gateway."""

    principal: Principal
    transport: str
    request_id: str | None
    cell_principal: Principal
    gateway: GatewayView
    depth: int = 0
    """How many cell-to-cell hops led to this call (0 for a client's call)."""

    async def call_tool(self, tool: str, arguments: Mapping[str, Any]) -> CallOutcome:
        """Call another tool by canonical name. The call crosses the same pipeline as a client's,
        under this cell's own principal, never the caller's."""
        return await self.gateway.call_tool(self.cell_principal, tool, arguments, depth=self.depth + 1)

    async def secret(self, name: str) -> str:
        """A secret from the gateway's store, released to this cell (never to the caller): use it,
        never return it; the gateway's DLP withholds its value from every result anyway."""
        return await self.gateway.read_secret(self.cell_principal, name, caller=self.principal)


InT = TypeVar("InT", bound=BaseModel)
OutT = TypeVar("OutT", bound=BaseModel)
ToolMethod = Callable[[Any, InT, CellContext], Awaitable[OutT]]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as its cell declared it (before the gateway gives it a canonical name)."""

    name: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    risk: Risk
    cost: int
    read_only: bool
    destructive: bool
    idempotent: bool
    method_name: str
    fallback: str | None = None
    """Canonical name of a cheaper tool taking the same arguments, used when this one's cost
    budget is spent (checked when the gateway loads its tools)."""


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file a cell keeps. `kind` says where its version lives: SQLite's `user_version`, or
    the top-level `"version"` of a JSON object. `migrations[n]` upgrades a file of version n to
    n + 1 in place (it is given a copy; the gateway swaps it in after checking it)."""

    name: str
    path: Path
    kind: Literal["sqlite", "json"]
    version: int
    migrations: Mapping[int, Callable[[Path], None]] = field(default_factory=dict)
    describe: Mapping[int, str] = field(default_factory=dict)
    """What each migration changes, for `migrate --dry-run`."""


_TOOL_MARK = "__mcp_gateway_tool__"


def tool(
    *,
    description: str | None = None,
    name: str | None = None,
    risk: Risk = "low",
    cost: int = 1,
    read_only: bool = False,
    destructive: bool = False,
    idempotent: bool = False,
    fallback: str | None = None,
) -> Callable[[ToolMethod[InT, OutT]], ToolMethod[InT, OutT]]:
    """Declare a cell method as a tool. The description defaults to the method's docstring.

    `fallback` is the canonical name (`namespace.tool`) of a cheaper tool that takes the same
    arguments; a caller whose daily cost budget cannot pay for this tool gets that one instead.
    """
    if risk not in ("low", "high"):
        raise ValueError(f"risk must be 'low' or 'high', not {risk!r}")
    if cost < 0:
        raise ValueError("cost must be a non-negative number of units")
    if fallback is not None and "." not in fallback:
        raise ValueError(f"fallback must be a canonical name `namespace.tool`, not {fallback!r}")

    def mark(method: ToolMethod[InT, OutT]) -> ToolMethod[InT, OutT]:
        setattr(
            method,
            _TOOL_MARK,
            {
                "name": name or method.__name__,
                "description": description or inspect.getdoc(method) or "",
                "risk": risk,
                "cost": cost,
                "read_only": read_only,
                "destructive": destructive,
                "idempotent": idempotent,
                "fallback": fallback,
            },
        )
        return method

    return mark


def _spec_of(method_name: str, method: Callable[..., Any], mark: dict[str, Any], cell: str) -> ToolSpec:
    hints = get_type_hints(method)
    params = [p for p in inspect.signature(method).parameters if p != "self"]
    if len(params) != 2 or not inspect.iscoroutinefunction(method):
        raise TypeError(f"{cell}.{method_name}: a tool is `async def name(self, args: InputModel, ctx: CellContext)`")
    input_model, output_model = hints.get(params[0]), hints.get("return")
    for role, model in (("input", input_model), ("output", output_model)):
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"{cell}.{method_name}: the {role} type must be a pydantic model, not {model!r}")
    assert input_model is not None and output_model is not None
    return ToolSpec(method_name=method_name, input_model=input_model, output_model=output_model, **mark)


class Cell:
    """Base class of every cell. Subclasses set `namespace`, `version` and, if they take
    configuration, `Settings` (a pydantic model; unknown keys should be forbidden)."""

    namespace: ClassVar[str]
    version: ClassVar[str]
    Settings: ClassVar[type[BaseModel]] = NoSettings
    tool_specs: ClassVar[tuple[ToolSpec, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        namespace = getattr(cls, "namespace", "")
        if not namespace or not namespace[0].isalpha() or not set(namespace) <= _NAMESPACE_CHARS:
            raise TypeError(f"{cls.__name__}.namespace must match [a-z][a-z0-9_-]*, not {namespace!r}")
        if not getattr(cls, "version", ""):
            raise TypeError(f"{cls.__name__}.version must be set")
        specs = [
            _spec_of(attr, value, getattr(value, _TOOL_MARK), namespace)
            for attr, value in vars(cls).items()
            if callable(value) and hasattr(value, _TOOL_MARK)
        ]
        cls.tool_specs = tuple(specs)

    def __init__(self, settings: BaseModel, state_dir: Path) -> None:
        """`settings` is an instance of `Settings`; `state_dir` is this cell's own private
        directory under the gateway's state dir (created before the cell is built)."""
        self.settings = settings
        self.state_dir = state_dir

    async def start(self) -> None:
        """Acquire resources (open databases, create directories). Called once before any call."""

    async def stop(self) -> None:
        """Release resources. Called once at shutdown, after the last call has finished."""

    def stored_files(self) -> Sequence[StoredFile]:
        """The files this cell keeps, with their format versions: the gateway refuses to start
        on a version it does not know, and `mcp-gateway migrate` upgrades old ones."""
        return ()

    def bound_tool(self, spec: ToolSpec) -> Callable[[BaseModel, CellContext], Awaitable[BaseModel]]:
        """The bound method implementing `spec`."""
        method: Callable[[BaseModel, CellContext], Awaitable[BaseModel]] = getattr(self, spec.method_name)
        return method
