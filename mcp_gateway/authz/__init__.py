"""Who may call what: Casbin RBAC with domains and deny-overrides, decided fast, reloaded safely.

    config.py          AuthzConfig (the [authz] section) and where the policy files are
    patterns.py        object names and anchored patterns; subject, role, domain, action names
    policy_files.py    reading and validating model.conf / policy.csv (every line, with its number)
    casbin_model.py    the only module touching pycasbin: the model and the plain enforcer
    index.py           the indexed fast path, held to the plain enforcer by a differential test
    engine.py          Decision, and the decision API (decide, visible) with its cache
    policytests.py     policy_tests.yaml: a policy is accepted only if its tests pass
    snapshot.py        one whole, tested, immutable policy
    reload.py          PolicyStore: the snapshot in force, safe reload, the file watcher
    explain.py diff.py what `mcp-gateway policy explain|diff` print

Objects are tools by canonical name (act `call`) and `kind:NAME` objects such as secrets
(`secret:NAME`, act `read`). Roles are written `role:NAME` in policies, so a principal that
happens to be named like a role never holds it.
"""

from mcp_gateway.authz.config import AuthzConfig, resolve_policy_dir
from mcp_gateway.authz.engine import Decision
from mcp_gateway.authz.errors import PolicyError
from mcp_gateway.authz.reload import PolicyEvent, PolicyStore
from mcp_gateway.authz.snapshot import PolicySnapshot

__all__ = [
    "AuthzConfig",
    "Decision",
    "PolicyError",
    "PolicyEvent",
    "PolicySnapshot",
    "PolicyStore",
    "resolve_policy_dir",
]
