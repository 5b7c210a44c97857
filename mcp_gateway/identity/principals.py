"""What a principal, a role and a domain may be called.

Names travel into Casbin policies, audit records and traces, so they are checked at the door:
no control or format characters (a bidi override in an audit log misleads its reader), and no
`cell:` prefix, which only the gateway gives to cells calling each other.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from mcp_gateway.sdk import Principal

CELL_PREFIX = "cell:"
MAX_NAME_LENGTH = 200
DEFAULT_DOMAIN = "default"
# Roles and domains appear bare in policy.csv: no commas, quotes or spaces.
_ROLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_DOMAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_principal_name(name: str) -> str:
    """`name` if it may name a principal; else ValueError saying why."""
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise ValueError(f"a principal name is 1 to {MAX_NAME_LENGTH} characters")
    if name != name.strip():
        raise ValueError("a principal name must not start or end with whitespace")
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise ValueError("a principal name must not contain control or format characters")
    if name.lower().startswith(CELL_PREFIX):
        raise ValueError(f"principal names starting with {CELL_PREFIX!r} are reserved for cells")
    return name


def check_role(role: str) -> str:
    if not _ROLE.fullmatch(role):
        raise ValueError(f"role {role!r} must match {_ROLE.pattern}")
    return role


def check_domain(domain: str) -> str:
    if not _DOMAIN.fullmatch(domain):
        raise ValueError(f"domain {domain!r} must match {_DOMAIN.pattern}")
    return domain


def make_principal(name: str, roles: Iterable[str] = (), domain: str = DEFAULT_DOMAIN) -> Principal:
    """A validated principal; duplicate roles are dropped, their order kept."""
    checked = tuple(dict.fromkeys(check_role(role) for role in roles))
    return Principal(check_principal_name(name), checked, check_domain(domain))
