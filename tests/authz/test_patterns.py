"""Patterns are anchored, never cross the dot, and only valid names match anything."""

from __future__ import annotations

import pytest

from mcp_gateway.authz.patterns import compile_pattern, is_object

CONFUSABLE = [
    "fs.read_file.evil",
    "fs.read_x/y",
    "fs..read_file",
    "FS.read_file",
    "fs.read_file ",
    " fs.read_file",
    "fs.read_file\n",
    "fs.read_file\x00",
    "f\u0455.read_file",  # Cyrillic dze
    "fs.read_fil\u0435",  # Cyrillic ie
    "fs.read_file\u200b",  # zero-width space
    "\uff46s.read_file",  # fullwidth f
    "fs.read\u2024file",  # one dot leader
    "fs.read_file\u0301",  # combining accent
    "fs.read_file:x",
    "fs/read_file",
    "",
]


@pytest.mark.parametrize("obj", CONFUSABLE)
@pytest.mark.parametrize("pattern", ["*", "fs.*", "fs.read_*", "fs.read_file", "fs.read_fil*"])
def test_a_name_that_is_not_canonical_matches_no_pattern(pattern: str, obj: str) -> None:
    assert not is_object(obj)
    assert not compile_pattern(pattern).matches(obj)


@pytest.mark.parametrize(
    ("pattern", "obj", "expected"),
    [
        ("fs.read_*", "fs.read_file", True),
        ("fs.read_*", "fs.read_", True),  # `*` may match nothing, as in a glob
        ("fs.read_*", "fs.reader", False),
        ("fs.read_*", "fsx.read_file", False),
        ("fs.*", "fs.write_file", True),
        ("fs.*", "fsx.write_file", False),
        ("fs.*", "notes.get", False),
        ("*", "fs.read_file", True),
        ("*", "secret:db", False),  # `*` is every tool, never a secret
        ("fs.read_file", "fs.read_file", True),
        ("fs.read_file", "fs.read_files", False),
        ("fs.read_", "fs.read_file", False),
        ("secret:*", "secret:db_password", True),
        ("secret:*", "secrets:db", False),
        ("secret:*", "fs.read_file", False),
        ("secret:db*", "secret:db_password", True),
        ("secret:db*", "secret:other", False),
        ("secret:db", "secret:db", True),
        ("secret:db", "secret:db2", False),
        ("surface:*", "surface:lock", True),
    ],
)
def test_patterns_match_whole_names(pattern: str, obj: str, expected: bool) -> None:
    assert compile_pattern(pattern).matches(obj) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        "**",
        "*.read_file",
        "fs*",
        "fs.read_*x",
        "fs.*.x",
        "fs.",
        "fs",
        "FS.*",
        "fs.read file",
        "fs.read_file.evil",
        "fs..x",
        "f\u0455.*",
        "secret:",
        "secret:a*b",
        "secret:a:b",
        "Secret:*",
        "secret:db/x",
        "",
        " ",
    ],
)
def test_bad_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="bad object pattern"):
        compile_pattern(pattern)


def test_samples_match_their_own_pattern() -> None:
    for text in ("*", "fs.*", "fs.read_*", "fs.read_file", "secret:*", "secret:db*", "secret:db"):
        pattern = compile_pattern(text)
        assert pattern.matches(pattern.sample()), text
