"""Tool names: the canonical `namespace.tool` and its wire form.

Policies, audit, traces and the CLI use the canonical name. On the wire the separator is
configurable (default `__`), because popular LLM clients only accept `^[a-zA-Z0-9_-]{1,64}$`;
a wire name that would be longer than 64 characters keeps a readable prefix and ends with a
short stable hash of the canonical name, so two long names never collide.
"""

from __future__ import annotations

import hashlib
import re

from mcp_gateway.errors import MalformedName

NAMESPACE_PATTERN = r"[a-z][a-z0-9_-]{0,31}"
TOOL_PATTERN = r"[A-Za-z][A-Za-z0-9_-]{0,127}"
_CANONICAL = re.compile(rf"({NAMESPACE_PATTERN})\.({TOOL_PATTERN})")
_WIRE_SAFE = re.compile(r"[a-zA-Z0-9_-]{1,64}")
WIRE_MAX = 64
_HASH_CHARS = 8


def split_canonical(name: str) -> tuple[str, str]:
    """(namespace, tool) of a canonical name; exactly one dot, each part of the allowed alphabet."""
    match = _CANONICAL.fullmatch(name)
    if match is None:
        raise MalformedName(f"malformed tool name {name[:80]!r}: expected namespace.tool")
    return match.group(1), match.group(2)


def is_canonical(name: str) -> bool:
    return _CANONICAL.fullmatch(name) is not None


def validate_separator(separator: str) -> str:
    if not separator or not _WIRE_SAFE.fullmatch(separator) or len(separator) > 4:
        raise ValueError("the wire separator must be 1-4 characters from [a-zA-Z0-9_-]")
    return separator


def wire_name(canonical: str, separator: str) -> str:
    """The name a client sees for `canonical`: `namespace<sep>tool`, at most 64 characters."""
    namespace, tool = split_canonical(canonical)
    plain = f"{namespace}{separator}{tool}"
    if len(plain) <= WIRE_MAX:
        return plain
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:_HASH_CHARS]
    return f"{plain[: WIRE_MAX - _HASH_CHARS - 1]}-{digest}"
