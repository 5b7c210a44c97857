"""The gateway's exception tree, written out in one place.

    GatewayError                 anything the gateway raises on purpose
    ├── ConfigError              a bad gateway.toml / environment override (file, key, message)
    ├── CellLoadError            a configured cell cannot be imported or built
    ├── MalformedName            a tool name that is not `namespace.tool`
    └── Refusal                  a stage ended a call; carries what the caller may be told
        ├── UnknownTool          no such tool
        ├── Forbidden            the policy refuses the call; looks exactly like UnknownTool to the caller
        ├── InvalidArguments     arguments do not match the tool's input schema
        ├── PayloadTooLarge      a message or argument over its configured cap
        ├── DataBlocked          DLP found data the policy blocks in this direction
        ├── ToolTimeout          the tool did not answer within its deadline
        └── ToolUnavailable      the bus or the cell could not take the call

A dependency's errors are translated at the boundary (`raise X(...) from exc`). A `Refusal`
is typed: stages never end a call with a dict, a string or a bare Exception.
"""

from __future__ import annotations

from typing import ClassVar, Literal

RefusalKind = Literal["protocol", "tool"]


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""


class ConfigError(GatewayError):
    """The configuration is unusable. `source` is the file (or environment variable) and `key`
    the dotted path of the offending setting, so the operator knows exactly what to fix."""

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source, self.key, self.message = source, key, message
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {message}")


class CellLoadError(GatewayError):
    """A configured cell could not be imported, configured or started."""


class MalformedName(GatewayError):
    """A tool name that is not of the form `namespace.tool`."""


class Refusal(GatewayError):
    """A stage ended the call. `code` is a stable machine-readable reason (it becomes the span's
    `error.type` and, later, the audit record's decision); `message` is safe to show the caller.

    `kind` says how the caller learns of it: "protocol" becomes a JSON-RPC error, "tool" an
    `isError` result the model can read and correct.
    """

    code: ClassVar[str] = "refused"
    kind: ClassVar[RefusalKind] = "tool"
    jsonrpc_code: ClassVar[int] = -32603

    def __init__(self, message: str, *, stage: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.stage = stage


class UnknownTool(Refusal):
    code = "unknown_tool"
    kind = "protocol"
    jsonrpc_code = -32602  # INVALID_PARAMS, as the MCP spec asks for an unknown tool


class InvalidArguments(Refusal):
    code = "invalid_arguments"


class PayloadTooLarge(Refusal):
    code = "payload_too_large"


class DataBlocked(Refusal):
    """DLP found, in a call's arguments, data that dlp.yaml blocks on its way to this tool. The
    message names entity types and JSON paths, never values; `outcome` carries the findings."""

    code = "dlp_blocked"

    def __init__(self, message: str, *, outcome: object = None, stage: str = "dlp") -> None:
        super().__init__(message, stage=stage)
        self.outcome = outcome


class ToolTimeout(Refusal):
    code = "timeout"


class ToolUnavailable(Refusal):
    code = "unavailable"


class Forbidden(Refusal):
    """The policy does not let this principal call this tool. Its message is the unknown-tool
    message, so a caller cannot tell a forbidden tool from a missing one; the deciding rule goes
    to the span and the audit record, never to the caller."""

    code = "forbidden"
    kind = "protocol"
    jsonrpc_code = -32602
