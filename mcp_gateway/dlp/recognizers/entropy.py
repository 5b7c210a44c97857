"""A catch-all recognizer for long random-looking tokens: secrets of formats nobody listed.

Vendor recognizers only know the formats they were written for; a fresh API key, session
secret or password hash of another service still looks the same: a long run of base64/base64url
characters, high Shannon entropy, mixed character classes. The score is low (0.6) because
the same shape also fits harmless data, and the validation below drops the usual look-alikes:

- hex strings (SHA digests, git SHAs, UUIDs with or without dashes) lack the case mix, and are
  excluded explicitly since mixed-case hex could still pass;
- identifiers and file paths (`src/main/java/UserAccountService2`) are runs of words, digits and
  separators: a random token almost never splits that way;
- base64-encoded files (images, PDFs, archives) start with the encoding of a well-known magic
  number, and are payload, not credentials.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from mcp_gateway.dlp.recognizers.secrets import SecretPatternRecognizer

MIN_LENGTH = 32
MIN_ENTROPY = 4.2
"""Bits per character. Random base64 of 32+ characters is above this ~99% of the time; English
words, identifiers and hex (at most 4 bits) are below it."""

_BODY_CHARS = r"[A-Za-z0-9+/_-]"
"""`=` is base64 padding: a token may end with up to two, anywhere else it separates (`SESSION_SECRET=<token>`
is a name and a token, and only the token is reported)."""
_HEX = re.compile(r"[0-9A-Fa-f-]+")
_WORDS = re.compile(r"(?:[A-Z][a-z]{2,}+|[a-z]{2,}+|[A-Z]{2,}+|[0-9]++|[_/=-])++")
"""A token made only of words (capitalised, lower-case, acronyms), numbers and separators.
Possessive quantifiers keep it linear: a failed split is never retried another way."""
_FILE_MAGIC = (
    "iVBORw0KGgo",  # PNG
    "/9j/",  # JPEG
    "R0lGOD",  # GIF
    "UklGR",  # RIFF (WebP, WAV, AVI)
    "SUkqAA",  # TIFF (little-endian)
    "TU0AKg",  # TIFF (big-endian)
    "AAABAA",  # ICO
    "JVBERi0",  # PDF
    "UEsDB",  # ZIP, DOCX, XLSX, JAR
    "H4sI",  # gzip
    "PD94bWwg",  # <?xml
    "PHN2Zy",  # <svg
    "T2dnUw",  # Ogg
    "SUQz",  # MP3 with ID3
    "AAAAGGZ0eXA",  # MP4 / HEIC (ftyp box of size 24)
    "AAAAIGZ0eXA",  # MP4 / HEIC (ftyp box of size 32)
    "AAAAHGZ0eXA",  # MP4 / HEIC (ftyp box of size 28)
)


def shannon_entropy(token: str) -> float:
    """Shannon entropy of the token's character distribution, in bits per character."""
    length = len(token)
    return -sum(count / length * math.log2(count / length) for count in Counter(token).values())


def looks_random(token: str) -> bool:
    """Whether a token of the right alphabet and length is a plausible secret (see the module doc)."""
    if not (any(c.isupper() for c in token) and any(c.islower() for c in token) and any(c.isdigit() for c in token)):
        return False
    if _HEX.fullmatch(token) or _WORDS.fullmatch(token) or token.startswith(_FILE_MAGIC):
        return False
    return shannon_entropy(token) >= MIN_ENTROPY


class HighEntropyTokenRecognizer(SecretPatternRecognizer):
    """Maximal runs of 32+ base64/base64url characters (and their `=` padding) that look random.

    A reported token holds a digit, and 16 token characters follow it or end with it (the token
    has 32 besides padding), so the seed looks for just that: led by a character class, it is scanned in C, and
    prose, with few digits and no such runs, rarely fires it.
    """

    ENTITY = "HIGH_ENTROPY_TOKEN"
    PATTERNS = (
        (
            "high_entropy_token",
            rf"(?<!{_BODY_CHARS}){_BODY_CHARS}{{{MIN_LENGTH},}}={{0,2}}(?!{_BODY_CHARS})",
            0.6,
        ),
    )
    SEED = rf"[0-9](?:{_BODY_CHARS}{{{MIN_LENGTH // 2}}}|(?<={_BODY_CHARS}{{{MIN_LENGTH // 2}}}))"

    def invalidate_result(self, pattern_text: str) -> bool | None:
        return not looks_random(pattern_text)
