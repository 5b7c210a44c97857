from __future__ import annotations

import re

import pytest

from mcp_gateway.errors import MalformedName
from mcp_gateway.names import split_canonical, validate_separator, wire_name

CLIENT_RULE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def test_canonical_names_split_into_namespace_and_tool() -> None:
    assert split_canonical("fs.read_file") == ("fs", "read_file")
    assert split_canonical("my-upstream.longRunningOperation") == ("my-upstream", "longRunningOperation")


@pytest.mark.parametrize(
    "name", ["", "fs", "fs.", ".read", "fs.read_file.evil", "FS.read", "fs.read file", "fs.*", "fs.read\n", "1fs.x"]
)
def test_malformed_names_are_refused(name: str) -> None:
    with pytest.raises(MalformedName):
        split_canonical(name)


@pytest.mark.req("R-003")
def test_wire_names_use_the_separator_and_fit_client_rules() -> None:
    assert wire_name("fs.read_file", "__") == "fs__read_file"
    assert wire_name("fs.read_file", "-") == "fs-read_file"
    long_a = "upstream." + "a" * 100
    long_b = "upstream." + "a" * 99 + "b"
    wire_a, wire_b = wire_name(long_a, "__"), wire_name(long_b, "__")
    assert CLIENT_RULE.match(wire_a) and CLIENT_RULE.match(wire_b)
    assert wire_a != wire_b
    assert wire_a == wire_name(long_a, "__")  # stable


@pytest.mark.parametrize("separator", ["", ".", "a b", "/", "_____"])
def test_bad_separators_are_refused(separator: str) -> None:
    with pytest.raises(ValueError):
        validate_separator(separator)
