"""requirements.md and the tests agree: every requirement has a test that names it, and every
ID a test names exists. principles.md IDs are well formed and unique."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_REQUIREMENT = re.compile(r"^- \*\*(R-\d{3})\*\* \S", re.M)
_PRINCIPLE = re.compile(r"^- \*\*(P-\d{2})\*\* \S", re.M)


def _ids(path: Path, pattern: re.Pattern[str]) -> list[str]:
    return pattern.findall(path.read_text())


def _marked() -> dict[str, list[str]]:
    """Requirement ID -> the tests (file::name, or file for a module mark) that carry it."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "req"):
                continue
            mark = node.func.value
            if not (isinstance(mark, ast.Attribute) and mark.attr == "mark"):
                continue
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found[arg.value].append(str(path.relative_to(ROOT)))
    return found


@pytest.mark.req("R-034")
def test_every_requirement_has_a_test_and_every_test_names_a_real_requirement() -> None:
    requirements = _ids(ROOT / "requirements.md", _REQUIREMENT)
    assert requirements, "requirements.md lists no requirement"
    assert len(requirements) == len(set(requirements)), "a requirement ID is used twice"
    marked = _marked()
    untested = [rid for rid in requirements if rid not in marked]
    unknown = {rid: where for rid, where in marked.items() if rid not in requirements}
    assert not untested, f"requirements without a test: {untested}"
    assert not unknown, f"tests name requirements that do not exist: {unknown}"


def test_principles_have_unique_ids() -> None:
    principles = _ids(ROOT / "principles.md", _PRINCIPLE)
    assert principles and len(principles) == len(set(principles))
    assert principles == [f"P-{n:02d}" for n in range(1, len(principles) + 1)]
