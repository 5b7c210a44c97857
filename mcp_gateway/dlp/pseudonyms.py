"""Pseudonyms: a stable placeholder per principal and value, reversible only for that principal.

`<EMAIL_ADDRESS_3f9a0c1b2d>` stands for one address in every result one principal sees (the
suffix is a keyed hash of principal, entity and value), so a model can still tell two people
apart and refer back to one. When that principal sends the placeholder back in a later call's
arguments, the cell receives the original value; another principal's placeholders stay text.

The mapping back lives in memory, bounded (least recently used first out): placeholders do not
survive a restart, by design: the gateway keeps no store of the personal data it hid.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import OrderedDict
from typing import Final

PLACEHOLDER: Final = re.compile(r"<([A-Z][A-Z0-9_]{1,63})_([0-9a-f]{10})>")


class PseudonymVault:
    def __init__(self, key: bytes, *, capacity: int = 100_000) -> None:
        self._key = key
        self._capacity = capacity
        self._originals: OrderedDict[tuple[str, str], str] = OrderedDict()

    def placeholder(self, principal: str, entity: str, value: str) -> str:
        message = f"{principal}\x00{entity}\x00{value}".encode()
        suffix = hmac.new(self._key, message, hashlib.sha256).hexdigest()[:10]
        token = f"<{entity}_{suffix}>"
        self._originals[(principal, token)] = value
        self._originals.move_to_end((principal, token))
        if len(self._originals) > self._capacity:
            self._originals.popitem(last=False)
        return token

    def restore(self, principal: str, text: str) -> str:
        """`text` with this principal's placeholders replaced by their originals."""
        if "<" not in text:
            return text

        def original(match: re.Match[str]) -> str:
            return self._originals.get((principal, match.group(0)), match.group(0))

        return PLACEHOLDER.sub(original, text)

    def __len__(self) -> int:
        return len(self._originals)
