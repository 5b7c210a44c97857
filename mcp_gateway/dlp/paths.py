"""How the DLP scanner names a string inside a JSON value or a tool result.

A path is the only link between a `Leaf` (and the findings on it) and the edit that redacts it,
so every path names exactly one place and no two places share a path:

- A JSON path starts at a root: `$` for call arguments, `structuredContent` for a result's
  structured content.
- An object member is `.name` when the key is identifier-like (`^[A-Za-z_][A-Za-z0-9_]*$`) and
  `["..."]` otherwise, the key written by `json.dumps` (ASCII-only, so a path in a log cannot
  carry control or bidi characters): `$["we.ird key"]`, `$.users[0]["e-mail"]`.
- A list item is `[index]`: `$.items[2]`.
- An object key, scanned as a leaf of its own, is the member's path plus `#key`:
  `$.users["alice@example.com"]#key`. No value path ends in `#key` (identifiers hold no `#`,
  quoted keys and indices end in `]`), so a key's path never clashes with a value's.
- A tool result's content blocks are `content[i].text`, `content[i].resource.text`,
  `content[i].resource.blob`, `content[i].uri`, ... (see `mcp_gateway.dlp.leaves`).
"""

from __future__ import annotations

import json
import re

JSON_ROOT = "$"
STRUCTURED_ROOT = "structuredContent"
KEY_SUFFIX = "#key"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUOTED_MEMBER = re.compile(r'\["(?:[^"\\]|\\.)*"\]')
_MAX_PATH_IN_MESSAGE = 60


def member_path(path: str, key: object) -> str:
    """The path of the member `key` of the object at `path` (a non-string key is named by `str`)."""
    name = key if isinstance(key, str) else str(key)
    if _IDENTIFIER.fullmatch(name):
        return f"{path}.{name}"
    return f"{path}[{json.dumps(name)}]"


def item_path(path: str, index: int) -> str:
    return f"{path}[{index}]"


def key_path(path: str, key: object) -> str:
    """The path of the key `key` itself (not its value) in the object at `path`."""
    return member_path(path, key) + KEY_SUFFIX


def path_for_message(path: str) -> str:
    """`path` fit for a message the caller may see: quoted keys (where emails and names hide) are
    elided as `[…]` and a long path is cut short."""
    shown = _QUOTED_MEMBER.sub("[…]", path)
    return shown if len(shown) <= _MAX_PATH_IN_MESSAGE else shown[:_MAX_PATH_IN_MESSAGE] + "…"
