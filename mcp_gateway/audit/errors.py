"""Audit failures: the call is refused (fail closed), naming only that the audit is unavailable."""

from __future__ import annotations

from mcp_gateway.errors import GatewayError, Refusal


class AuditUnavailable(Refusal):
    """The record could not be made durable, so the call's result is withheld."""

    code = "audit_unavailable"
    kind = "protocol"
    jsonrpc_code = -32603


class AuditLogError(GatewayError):
    """The log cannot be opened or continued (a broken tail, a key that does not fit)."""
