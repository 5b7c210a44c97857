"""Screens for Presidio's own recognizers, keyed by the recognizer's class name.

Each screen is derived from that recognizer's patterns in presidio-analyzer 2.2.366 (see the
notes beside each). A recognizer with no screen here — an admin's custom recognizer from
presidio.yaml, an NER recognizer — is run on the whole leaf, so the fast path stays exact for
it too; it is only not faster. The differential test proves these screens on the corpus.
"""

from __future__ import annotations

import re
from typing import Final

from phonenumbers import phonenumbermatcher

from mcp_gateway.dlp.screens import TOKEN_RUN, Screen, screen


def _phone_screen() -> Screen:
    # A phone candidate (phonenumbers' matcher pattern) is digit groups joined by at most four
    # `_PUNCTUATION` characters, optionally led by ( [ + and followed by an extension
    # ("ext. 12", "x12", "#", ";ext=12", "доб", "anexo", "int"). Any number valid in one of
    # Presidio's regions has at least 4 digits (the shortest national number, DE's, has 4),
    # so the seed is 4 digits joined that way. The classes come from phonenumbers itself, so a
    # new release that widens them widens the screen too.
    punct = phonenumbermatcher._PUNCTUATION  # "[...]{0,4}"
    punct_chars = punct[1 : punct.rindex("]")]
    seed = re.compile(rf"\d(?:{punct}\d){{3}}", re.IGNORECASE)
    # The run: everything a candidate, its lead, its extension and the text the matcher looks
    # at around it (a time-stamp suffix ":MM") can contain. Letters other than those of the
    # extension words end a candidate, so they end the run.
    lead = re.escape(phonenumbermatcher._LEAD_CLASS_CHARS)
    extension = "extnsioóaEXTNSIOÓAдобДОБｅｘｔｎｉＥＸＴＮＩ"
    run = rf"[{punct_chars}\d{lead}\t,;:=#＃~～.．{extension}]"
    return Screen(seed, run, margin=3)


_IPV4 = r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"
_IPV6 = r":[0-9A-Fa-f]{0,4}:"  # every IPv6 form has at least two colons
_CRYPTO = r"(?:bc1|[13])[a-zA-HJ-NP-Z0-9]{25}"

PII_SCREENS: Final[dict[str, Screen]] = {
    # Email: the pattern needs "@"; it matches no whitespace.
    "EmailRecognizer": screen(r"@"),
    # URL: every pattern has "[.]" followed by a TLD (every TLD in it has two letters or more).
    "UrlRecognizer": screen(r"\.[A-Za-z]{2}"),
    # Credit card: the pattern's own groups, without its \b and look-ahead (a seed may only be
    # looser than the pattern); the match is digits, "-" and " " only.
    "CreditCardRecognizer": screen(
        r"(?:4\d{3}|5[0-5]\d{2}|6\d{3}|1\d{3}|3\d{3})[- ]?\d{3,4}[- ]?\d{3,4}[- ]?\d{3,5}", r"[0-9\- ]"
    ),
    # IBAN: two letters, two digits, then at least two groups of four (letters, digits, " ", "-").
    "IbanRecognizer": screen(r"[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]{4}){2}", r"[A-Za-z0-9 \-]"),
    # IP: dotted quads, or two colons for every IPv6 form (mapped and embedded ones too).
    "IpRecognizer": screen(f"{_IPV4}|{_IPV6}", r"[0-9A-Fa-f:./]"),
    # SSN: the union of its five patterns, without their \b: 9 digits as 3-2-4, 5-4, 3-6 or 9.
    "UsSsnRecognizer": screen(r"\d{3}[- .]?\d{2}[- .]?\d{4}|\d{5}-\d{4}|\d{3}-\d{6}", r"[0-9 .\-]"),
    # Crypto: no anchors at all, so the window is the alphanumeric run, with no margin.
    "CryptoRecognizer": screen(_CRYPTO, r"[a-zA-Z0-9]", margin=0),
    "PhoneRecognizer": _phone_screen(),
    # MAC and UUID: hex with ":"/"-"/"."; no whitespace.
    "MacAddressRecognizer": screen(r"[0-9A-Fa-f]{2}[:\-.][0-9A-Fa-f]{2}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}", TOKEN_RUN),
}
