"""Every ADR has valid front matter, the MADR sections, links that resolve, and a Confirmation
that names a test that exists."""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ADRS = sorted((ROOT / "adr").glob("[0-9][0-9][0-9][0-9]-*.md"))
STATUSES = {"proposed", "accepted", "deprecated", "superseded"}
SECTIONS = ("## Context", "## Decision", "## Consequences", "## Confirmation")


def _front(path: Path) -> tuple[dict[str, Any], str]:
    text = path.read_text()
    match = re.match(r"^---\n(.*?)\n---\n(.*)$", text, re.S)
    assert match, f"{path.name}: no YAML front matter"
    data = yaml.safe_load(match.group(1))
    assert isinstance(data, dict), f"{path.name}: front matter is not a mapping"
    return data, match.group(2)


def test_there_are_adrs_numbered_without_gaps() -> None:
    numbers = [int(path.name[:4]) for path in ADRS]
    assert numbers == list(range(1, len(numbers) + 1))


@pytest.mark.parametrize("path", ADRS, ids=lambda path: path.name)
def test_front_matter_sections_and_confirmation(path: Path) -> None:
    data, body = _front(path)
    assert set(data) == {"id", "title", "status", "date", "supersedes", "tags"}, f"{path.name}: {sorted(data)}"
    assert data["id"] == int(path.name[:4])
    assert isinstance(data["title"], str) and data["title"].strip()
    assert data["status"] in STATUSES
    assert isinstance(data["date"], datetime.date)
    assert isinstance(data["tags"], list) and data["tags"] and all(isinstance(tag, str) for tag in data["tags"])
    positions = [body.find(section) for section in SECTIONS]
    assert all(position >= 0 for position in positions), f"{path.name} lacks one of {SECTIONS}"
    assert positions == sorted(positions), f"{path.name}: sections out of order"
    confirmation = body[positions[-1] :]
    named = re.findall(r"tests/[\w/]+\.py", confirmation)
    assert named, f"{path.name}: the Confirmation names no test"
    missing = [test for test in named if not (ROOT / test).is_file()]
    assert not missing, f"{path.name} names tests that do not exist: {missing}"


def test_supersession_links_resolve() -> None:
    fronts = {int(path.name[:4]): _front(path)[0] for path in ADRS}
    superseded_by: dict[int, int] = {}
    for number, data in fronts.items():
        target = data["supersedes"]
        if target is None:
            continue
        assert isinstance(target, int) and target in fronts and target != number, f"ADR {number}: bad supersedes"
        superseded_by[target] = number
    for number, data in fronts.items():
        assert (data["status"] == "superseded") == (number in superseded_by), f"ADR {number}: status vs supersedes"
