"""The egress allow-list and the proxy's reading of a request line."""

from __future__ import annotations

import pytest

from sandbox.egress import AllowList, Destination, EgressRuleError, Refused, parse_target


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("api.github.com:443", "api.github.com", 443),
        ("*.Example.COM:8443", "*.example.com", 8443),
        ("[2001:db8::1]:443", "2001:db8::1", 443),
        ("10.0.0.7:80", "10.0.0.7", 80),
    ],
)
def test_entries_parse(text: str, host: str, port: int) -> None:
    assert Destination.parse(text) == Destination(host, port)


@pytest.mark.parametrize("text", ["github.com", "github.com:0", "github.com:70000", ":443", "a b:1", "u@h:1", "*.:1"])
def test_bad_entries_are_refused_by_name(text: str) -> None:
    with pytest.raises(EgressRuleError):
        Destination.parse(text)


def test_matching_is_by_exact_host_or_subdomain_and_port() -> None:
    allow = AllowList(["api.github.com:443", "*.example.com:443"])
    assert allow.match("API.github.com.", 443) is not None
    assert allow.match("api.github.com", 80) is None
    assert allow.match("evilapi.github.com", 443) is None
    assert allow.match("a.b.example.com", 443) is not None
    assert allow.match("example.com", 443) is None  # a wildcard is for subdomains only
    assert allow.match("notexample.com", 443) is None


@pytest.mark.parametrize(
    ("line", "target"),
    [
        (b"CONNECT api.github.com:443 HTTP/1.1", ("api.github.com", 443, True)),
        (b"CONNECT [::1]:8443 HTTP/1.1", ("::1", 8443, True)),
        (b"GET http://example.com/x HTTP/1.1", ("example.com", 80, False)),
        (b"GET http://example.com:8080/x?y HTTP/1.0", ("example.com", 8080, False)),
    ],
)
def test_request_lines_name_their_target(line: bytes, target: tuple[str, int, bool]) -> None:
    assert parse_target(line + b"\r\nHost: x\r\n\r\n") == target


@pytest.mark.parametrize(
    "line",
    [b"GET /relative HTTP/1.1", b"CONNECT github.com HTTP/1.1", b"garbage", b"GET http://u:p@h/ HTTP/1.1",
     b"CONNECT h:99999 HTTP/1.1", b"GET https://h/ HTTP/1.1"],
)  # fmt: skip
def test_anything_else_is_a_bad_request(line: bytes) -> None:
    with pytest.raises(Refused) as refused:
        parse_target(line + b"\r\n\r\n")
    assert refused.value.status == 400
