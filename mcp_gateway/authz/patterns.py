"""What a policy may name: objects and their patterns, subjects, roles, domains and actions.

Objects are tools by canonical name (`fs.read_file`, act `call`) or `kind:NAME` objects such as
secrets (`secret:db_password`, act `read`) and, later, others (`surface:...`). A pattern is one
of::

    *                   every tool (never a `kind:` object: those must be granted by kind)
    ns.*                every tool of namespace `ns`
    ns.prefix*          the tools of `ns` whose name starts with `prefix`
    ns.tool             exactly that tool
    kind:*              every object of that kind (`secret:*`)
    kind:prefix*        the objects of that kind whose name starts with `prefix`
    kind:NAME           exactly that object

Patterns are anchored at both ends and `*` stands for characters of a name only: it never
crosses the `.` between namespace and tool, nor reaches past the end of a name, so `fs.read_*`
matches `fs.read_file` but not `fs.read_file.evil` nor `fs.read_x/y`. A request object that is
not a valid name matches no pattern at all. Names are ASCII: a look-alike letter is another name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mcp_gateway.names import NAMESPACE_PATTERN, TOOL_PATTERN, is_canonical

ROLE_PREFIX = "role:"
"""Roles live in their own namespace of subjects, so a principal named `admin` is not the role `admin`."""

KIND_PATTERN = r"[a-z][a-z0-9_-]{0,31}"
OBJECT_NAME_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_-]{0,127}"
ROLE_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}"
SUBJECT_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.:@+-]{0,199}"
DOMAIN_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}"
ACTION_PATTERN = r"[a-z][a-z0-9_]{0,31}"
ANY_DOMAIN = "*"

_NAME_CHARS = r"[A-Za-z0-9_-]*"
_KIND_OBJECT = re.compile(rf"({KIND_PATTERN}):({OBJECT_NAME_PATTERN})")
_ROLE = re.compile(ROLE_PATTERN)
_SUBJECT = re.compile(SUBJECT_PATTERN)
_DOMAIN = re.compile(DOMAIN_PATTERN)
_ACTION = re.compile(ACTION_PATTERN)
_NAMESPACE = re.compile(NAMESPACE_PATTERN)
_TOOL_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,126}")
_NAME_PREFIX = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,126}")
_EVERY_TOOL = re.compile(rf"{NAMESPACE_PATTERN}\.{TOOL_PATTERN}")


def is_object(name: str) -> bool:
    """A name a request may carry: a canonical tool name or `kind:NAME`."""
    if ":" in name:
        return _KIND_OBJECT.fullmatch(name) is not None
    return is_canonical(name)


def is_subject(name: str) -> bool:
    return _SUBJECT.fullmatch(name) is not None


def is_role_name(name: str) -> bool:
    """A role as a principal carries it (`admin`), without the `role:` prefix."""
    return _ROLE.fullmatch(name) is not None


def is_role_subject(subject: str) -> bool:
    return subject.startswith(ROLE_PREFIX) and is_role_name(subject[len(ROLE_PREFIX) :])


def is_domain(name: str) -> bool:
    """A concrete domain (a principal's); policies may also say `*`."""
    return _DOMAIN.fullmatch(name) is not None


def is_action(name: str) -> bool:
    return _ACTION.fullmatch(name) is not None


def scope_of(obj: str) -> str:
    """The part of a name a pattern must share to match it: `ns` for a tool, `kind:` for others."""
    kind, colon, _ = obj.partition(":")
    return kind + colon if colon else obj.partition(".")[0]


@dataclass(frozen=True, slots=True)
class ObjectPattern:
    text: str
    regex: re.Pattern[str]

    @property
    def scope(self) -> str:
        """`scope_of` every object this pattern can match; "" for `*` (every tool)."""
        return "" if self.text == "*" else scope_of(self.text)

    def may_match_scope(self, scope: str) -> bool:
        return self.scope == scope or (self.text == "*" and not scope.endswith(":"))

    @property
    def is_exact(self) -> bool:
        return not self.text.endswith("*")

    def matches(self, obj: str) -> bool:
        """Anchored match of a request object; an invalid name never matches."""
        return self.regex.fullmatch(obj) is not None and is_object(obj)

    def sample(self) -> str:
        """A valid object this pattern matches (for diffs over patterns)."""
        if self.is_exact:
            return self.text
        return "x.x" if self.text == "*" else self.text[:-1] + "x"


def compile_pattern(text: str) -> ObjectPattern:
    """Validate and precompile one object pattern; raises ValueError saying what is wrong."""
    if text == "*":
        return ObjectPattern(text, _EVERY_TOOL)
    if "*" in text[:-1]:
        raise ValueError(f"bad object pattern {text!r}: '*' may only end a pattern")
    wildcard = text.endswith("*")
    stem = text[:-1] if wildcard else text
    if ":" in stem:
        kind, _, name = stem.partition(":")
        valid_kind = re.fullmatch(KIND_PATTERN, kind) is not None
        valid_name = (name == "" or _NAME_PREFIX.fullmatch(name) is not None) if wildcard else _is_object_name(name)
        if not (valid_kind and valid_name):
            raise ValueError(f"bad object pattern {text!r}: expected kind:NAME, kind:prefix* or kind:*")
    else:
        namespace, dot, tool = stem.partition(".")
        valid_tool = (tool == "" or _TOOL_PREFIX.fullmatch(tool) is not None) if wildcard else is_canonical(stem)
        if not (dot and _NAMESPACE.fullmatch(namespace) and valid_tool):
            raise ValueError(f"bad object pattern {text!r}: expected *, ns.*, ns.prefix* or ns.tool")
    tail = _NAME_CHARS if wildcard else ""
    return ObjectPattern(text, re.compile(re.escape(stem) + tail))


def _is_object_name(name: str) -> bool:
    return re.fullmatch(OBJECT_NAME_PATTERN, name) is not None
