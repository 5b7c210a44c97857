"""The audit log's keys, derived (HKDF, in the secret store) from one root key that the master
key protects, so that they survive a master-key rotation: the chain key (HMAC of each line),
the values key (keyed hashes of arguments and results) and the checkpoint signing seed."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from mcp_gateway.audit.checkpoints import public_hex, signing_key


@dataclass(frozen=True, slots=True, repr=False)
class AuditKeys:
    chain: bytes
    values: bytes
    checkpoint_seed: bytes

    @classmethod
    def derive(cls, derive_key: Callable[[str], bytes]) -> AuditKeys:
        return cls(derive_key("audit-chain"), derive_key("audit-values"), derive_key("audit-checkpoint"))

    def values_hash(self, value: Any) -> str:
        """A keyed hash of a JSON value: equal values match across records, none can be read back."""
        data = orjson.dumps(value, default=str, option=orjson.OPT_SORT_KEYS)
        return hmac.digest(self.values, data, hashlib.sha256).hex()  # the one-shot C path: 3x cheaper

    @property
    def public_key(self) -> str:
        return public_hex(signing_key(self.checkpoint_seed))

    def __repr__(self) -> str:
        return "AuditKeys(<hidden>)"
