"""The fast scanner finds exactly what Presidio's full engine finds.

Two proofs: the labelled corpus (tests/data/dlp_corpus.jsonl, realistic tool traffic), and a
seeded fuzz of fragment soups built to hit the screens' edges — digit runs that are and are not
phone numbers, separators that a window must (or must not) cross, unicode disguises, entities
touching each other and the ends of a leaf.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from mcp_gateway.dlp.leaves import json_leaves
from mcp_gateway.dlp.model import Leaf
from tests.dlp import support

CORPUS = Path(__file__).resolve().parents[1] / "data" / "dlp_corpus.jsonl"

FRAGMENTS = [
    "212-555-0199",
    "(415) 555-2671",
    "+1 646 555 0134",
    "+44 20 7946 0958",
    "030 1234567",
    "+49 30 901820",
    "555.867.5309",
    "1-800-555-0199 ext. 12",
    "x1234",
    "2024-11-25",
    "2024-11-25T10:22:01Z",
    "10:30",
    "12/05/2023",
    "v1.2.3",
    "order #48213",
    "$1,299.00",
    "3.14159",
    "1234",
    "12345",
    "123456789",
    "078-05-1120",
    "536-90-4399",
    "536 90 4399",
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "378282246310005",
    "5555555555554444",
    "GB82 WEST 1234 5698 7654 32",
    "DE89370400440532013000",
    "gb82west12345698765432",
    "10.0.0.1",
    "192.168.1.254/24",
    "::1",
    "fe80::1ff:fe23:4567:890a",
    "::ffff:10.0.0.1",
    "2001:db8::8a2e:370:7334",
    "bob@example.com",
    "a.b-c@sub.example.co.uk",
    "https://www.example.com/a?b=1",
    "http://x.io",
    "example.org",
    "www.test.net/path",
    "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
    "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
    "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    "AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "ghp_" + "a1B2" * 9,
    "xoxb-123456789012-abcdefghij",
    "sk-proj-" + "Ab3_" * 8,
    "sk-ant-api03-" + "x9Y_" * 22,
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlX2hlcmVfMTIz",
    support.KNOWN_SECRET,
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
    "Q2xhdWRlIGlzIGEgaGVscGZ1bCBhc3Npc3RhbnQ0Mg9zZ",
    "d41d8cd98f00b204e9800998ecf8427e",
    "550e8400-e29b-41d4-a716-446655440000",
    "bob\u200b@exa\u200bmple.com",
    "２１２－５５５－０１９９",
    "4111\u20131111\u20131111\u20131111",
    "раураl.com",
    "ＡＫＩＡ",
    "phone",
    "call",
    "ssn",
    "card",
    "the",
    "and",
    "x",
    "ext",
    "Mr.",
    "e.g.",
    "foo.bar",
    "os.path",
    "README.md",
]
SEPARATORS = [
    " ",
    " ",
    " ",
    "",
    "\n",
    ", ",
    ": ",
    "-",
    "/",
    "(",
    ")",
    ".",
    "x",
    "\t",
    "\x1c",
    "\u00a0",
    "'",
    '"',
    "=",
    "#",
]


def _soup(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 14)):
        parts.append(rng.choice(FRAGMENTS))
        parts.append(rng.choice(SEPARATORS))
    return "".join(parts)


@pytest.mark.parametrize("seed", range(12))
def test_fast_equals_full_on_fragment_soups(seed: int) -> None:
    rng = random.Random(seed)
    texts = [_soup(rng) for _ in range(40)]
    full, fast = support.full(), support.fast()
    # All forty at once: the fast scanner joins their windows into one analyze call per entity.
    assert fast.hits_many(texts) == [full.hits(text) for text in texts]


def _corpus() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def _record_leaves(record: dict[str, Any]) -> list[Leaf]:
    return json_leaves(record["payload"])


def test_fast_equals_full_on_the_corpus() -> None:
    full, fast = support.full(), support.fast()
    records = _corpus()
    assert len(records) >= 150
    for record in records:
        leaves = _record_leaves(record)
        assert fast.scan(leaves) == full.scan(leaves), record["id"]


def test_the_cache_changes_nothing() -> None:
    cached, full = support.fast(cache_entries=64), support.full()
    rng = random.Random(99)
    texts = [_soup(rng) for _ in range(30)]
    expected = [full.hits(text) for text in texts]
    assert cached.hits_many(texts) == expected
    assert cached.hits_many(list(reversed(texts))) == list(reversed(expected))  # served from the cache
