"""The only module that touches pycasbin (untyped): the model, the enforcer, and its answer.

The engine implements exactly one model, so `model.conf` must be that model (whitespace aside);
any other model is refused at load rather than silently decided by different rules. The matcher
uses `objMatch`, an anchored match on precompiled patterns (Casbin's own `globMatch` lets
`fs.read_*` match `fs.read_file.evil`), and role assignments in domain `*` hold in every domain.

The plain enforcer is the reference: the indexed fast path (index.py) must decide exactly like
it, which the policy tests check at every load and a differential test checks at large.
"""

from __future__ import annotations

from collections.abc import Mapping

import casbin  # type: ignore[import-untyped]
from casbin.model import Model  # type: ignore[import-untyped]

from mcp_gateway.authz.errors import PolicyError
from mcp_gateway.authz.patterns import ANY_DOMAIN, ObjectPattern
from mcp_gateway.authz.policy_files import Policy

MAX_ROLE_DEPTH = 10
"""Casbin's role managers follow at most this many levels (a member's own name counts as one)."""

EXPECTED_MODEL = {
    ("r", "r"): "sub, dom, obj, act",
    ("p", "p"): "sub, dom, obj, act, eft",
    ("g", "g"): "_, _, _",
    ("e", "e"): "some(where (p_eft == allow)) && !some(where (p_eft == deny))",
    ("m", "m"): 'r_act == p_act && (p_dom == "*" || r_dom == p_dom) && objMatch(r_obj, p_obj) '
    "&& g(r_sub, p_sub, r_dom)",
}

Verdict = tuple[bool, tuple[str, ...] | None]
"""(allowed, the rule that decided or None): one subject's answer from one evaluator."""


def _squash(text: str) -> str:
    return "".join(text.split())


def parse_model(text: str, file: str) -> Model:
    """Parse `model.conf` and check it is the model this engine implements."""
    model = Model()
    try:
        model.load_model_from_text(text)
    except Exception as exc:  # casbin raises bare Exception/RuntimeError/KeyError on a bad model
        raise PolicyError(f"not a Casbin model ({exc})", file=file) from None
    for (section, key), expected in EXPECTED_MODEL.items():
        assertion = model.model.get(section, {}).get(key)
        if assertion is None or _squash(assertion.value) != _squash(expected):
            raise PolicyError(
                f"[{section}] {key} must be `{expected}`: the gateway implements only its bundled model",
                file=file,
            )
    extra = {(section, key) for section, assertions in model.model.items() for key in assertions}
    unknown = sorted(f"{section}.{key}" for section, key in extra - EXPECTED_MODEL.keys())
    if unknown:
        raise PolicyError(f"unexpected definitions {', '.join(unknown)}", file=file)
    return model


def _domain_matches(request_domain: str, link_domain: str) -> bool:
    return link_domain == ANY_DOMAIN or request_domain == link_domain


class CasbinEnforcer:
    """A plain pycasbin enforcer over a validated policy."""

    def __init__(self, model: Model, policy: Policy) -> None:
        patterns: Mapping[str, ObjectPattern] = {rule.obj: rule.pattern for rule in policy.rules}

        def obj_match(obj: object, pattern: object) -> bool:
            compiled = patterns.get(pattern) if isinstance(pattern, str) else None
            return compiled is not None and isinstance(obj, str) and compiled.matches(obj)

        enforcer = casbin.Enforcer(model)
        enforcer.add_function("objMatch", obj_match)
        enforcer.add_named_domain_matching_func("g", _domain_matches)
        if policy.rules:
            enforcer.get_model().add_policies("p", "p", [list(rule.values) for rule in policy.rules])
        if policy.links:
            enforcer.get_model().add_policies("g", "g", [list(link.values) for link in policy.links])
        enforcer.build_role_links()
        self._enforcer = enforcer

    def evaluate(self, subject: str, domain: str, obj: str, action: str) -> Verdict:
        """Casbin's own answer for one subject, with the rule `enforce_ex` says decided it."""
        allowed, rule = self._enforcer.enforce_ex(subject, domain, obj, action)
        return bool(allowed), (tuple(str(value) for value in rule) if rule else None)
