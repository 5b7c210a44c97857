"""The policy files on disk: read them once (digest and parse the same bytes), validate every line.

    model.conf          the Casbin model (must be the one the engine implements, see casbin_model)
    policy.csv          `p, subject, domain, object-pattern, action, allow|deny` and
                        `g, member, role:NAME, domain` lines; `#` starts a comment line
    policy_tests.yaml   the policy's own tests (see policytests)

Everything is checked before anything is built: a bad line is a `PolicyError` naming the file
and the line, never a policy that loads half of itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from mcp_gateway.authz.errors import PolicyError
from mcp_gateway.authz.patterns import (
    ANY_DOMAIN,
    ObjectPattern,
    compile_pattern,
    is_action,
    is_domain,
    is_role_subject,
    is_subject,
)

MODEL_FILE, POLICY_FILE, TESTS_FILE = "model.conf", "policy.csv", "policy_tests.yaml"
POLICY_FILES = (MODEL_FILE, POLICY_FILE, TESTS_FILE)
EFFECTS = ("allow", "deny")


@dataclass(frozen=True, slots=True)
class PolicyFiles:
    directory: Path
    model_text: str
    policy_text: str
    tests_text: str
    digest: str
    """sha256 over the three files, in a fixed order: what was read is what was loaded."""

    def path(self, name: str) -> str:
        return str(self.directory / name)


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One `p` line. `index` is its position among the rules, as Casbin sees them."""

    index: int
    line: int
    subject: str
    domain: str
    obj: str
    action: str
    effect: str
    pattern: ObjectPattern

    @property
    def values(self) -> tuple[str, str, str, str, str]:
        return (self.subject, self.domain, self.obj, self.action, self.effect)


@dataclass(frozen=True, slots=True)
class RoleLink:
    """One `g` line: `member` (a principal or a role) has `role` in `domain` (`*`: every domain)."""

    line: int
    member: str
    role: str
    domain: str

    @property
    def values(self) -> tuple[str, str, str]:
        return (self.member, self.role, self.domain)


@dataclass(frozen=True, slots=True)
class Policy:
    rules: tuple[PolicyRule, ...]
    links: tuple[RoleLink, ...]

    def subjects(self) -> list[str]:
        """Every principal and role the policy names, sorted."""
        names = {rule.subject for rule in self.rules}
        names.update(name for link in self.links for name in (link.member, link.role))
        return sorted(names)

    def domains(self) -> list[str]:
        """Every concrete domain the policy names, sorted."""
        named = {rule.domain for rule in self.rules} | {link.domain for link in self.links}
        return sorted(named - {ANY_DOMAIN})


def read_policy_files(directory: Path) -> PolicyFiles:
    texts: list[str] = []
    digest = hashlib.sha256()
    for name in POLICY_FILES:
        path = directory / name
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise PolicyError("no such file", file=str(path)) from None
        except OSError as exc:
            raise PolicyError(f"cannot be read ({exc.strerror})", file=str(path)) from None
        try:
            texts.append(raw.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise PolicyError(f"is not UTF-8 (byte {exc.start})", file=str(path)) from None
        digest.update(f"{name}\0{len(raw)}\0".encode())
        digest.update(raw)
    return PolicyFiles(directory, texts[0], texts[1], texts[2], digest.hexdigest())


def parse_policy(text: str, file: str) -> Policy:
    rules: list[PolicyRule] = []
    links: list[RoleLink] = []
    seen: dict[tuple[str, ...], int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = tuple(field.strip() for field in line.split(","))
        try:
            if fields[0] == "p":
                rules.append(_rule(fields[1:], len(rules), number))
            elif fields[0] == "g":
                links.append(_link(fields[1:], number))
            else:
                raise ValueError(f"a line starts with 'p' or 'g', not {fields[0][:20]!r}")
        except ValueError as exc:
            raise PolicyError(str(exc), file=file, line=number) from None
        if fields in seen:
            raise PolicyError(f"duplicate of line {seen[fields]}", file=file, line=number)
        seen[fields] = number
    return Policy(tuple(rules), tuple(links))


def _rule(values: tuple[str, ...], index: int, line: int) -> PolicyRule:
    if len(values) != 5:
        raise ValueError(f"a p line has 5 values (subject, domain, object, action, effect), not {len(values)}")
    subject, domain, obj, action, effect = values
    _check_subject(subject)
    _check_domain(domain)
    pattern = compile_pattern(obj)
    if not is_action(action):
        raise ValueError(f"bad action {action[:40]!r}: expected [a-z][a-z0-9_]*")
    if effect not in EFFECTS:
        raise ValueError(f"bad effect {effect[:40]!r}: expected allow or deny")
    return PolicyRule(index, line, subject, domain, obj, action, effect, pattern)


def _link(values: tuple[str, ...], line: int) -> RoleLink:
    if len(values) != 3:
        raise ValueError(f"a g line has 3 values (member, role, domain), not {len(values)}")
    member, role, domain = values
    _check_subject(member)
    if not is_role_subject(role):
        raise ValueError(f"bad role {role[:40]!r}: a g line grants a role, written role:NAME")
    _check_domain(domain)
    return RoleLink(line, member, role, domain)


def _check_subject(subject: str) -> None:
    if not is_subject(subject) or (subject.startswith("role:") and not is_role_subject(subject)):
        raise ValueError(f"bad subject {subject[:40]!r}: expected a principal name or role:NAME")


def _check_domain(domain: str) -> None:
    if domain != ANY_DOMAIN and not is_domain(domain):
        raise ValueError(f"bad domain {domain[:40]!r}: expected * or a domain name")
