"""Undo the unicode tricks that hide PII from ASCII patterns, keeping a map back to the original.

Recognizers match ASCII shapes (emails, card numbers, keys). `a\\u200b@example.com`,
`４１１１ １１１１ …` or `раураl` (Cyrillic) look the same to a person but match nothing. The scanner
runs the recognizers on `normalize(text).text` and maps each finding back with
`Normalized.to_original`, so redaction edits the text the caller actually sent.

Every step works on one original character at a time, and each output character records the
index of the character it came from: that is what makes the way back exact.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Characters that render as nothing and are used to split a token so a pattern misses it:
# every format character (category Cf: zero-width space, ZWNJ, ZWJ, word joiner, BOM, soft
# hyphen, bidi controls, tags, ...) plus these, which are invisible but of other categories.
_INVISIBLE_EXTRA = frozenset(
    "\u034f"  # combining grapheme joiner
    "\u180e"  # Mongolian vowel separator (Cf since Unicode 6.3; listed for older tables)
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers, rendered blank
) | frozenset(map(chr, range(0xFE00, 0xFE10)))  # variation selectors

# Applied after NFKC. Only look-alikes that are indistinguishable from a Latin letter in common
# fonts, and the punctuation that disguises emails and numbers: these are what an attacker uses
# to make PII read normally to a person yet slip past ASCII patterns. The full Unicode confusables
# table (thousands of entries) would also fold characters that merely resemble Latin ones and
# cost more per character, for no gain against that trick. Where NFKC already maps a character
# (full-width '＠' U+FF20, small '﹫' U+FE6B, '．' U+FF0E, '․' U+2024, '﹣' U+FE63, '－' U+FF0D,
# mathematical letters, ligatures) it is left to NFKC.
#
# Written by Unicode name: a look-alike typed literally here would be indistinguishable from the
# ASCII letter it imitates, which is the very problem.
_LOOKALIKES: dict[str, tuple[str, ...]] = {
    "a": ("CYRILLIC SMALL LETTER A", "GREEK SMALL LETTER ALPHA", "LATIN SMALL LETTER ALPHA"),
    "c": ("CYRILLIC SMALL LETTER ES",),
    "d": ("CYRILLIC SMALL LETTER KOMI DE",),
    "e": ("CYRILLIC SMALL LETTER IE",),
    "g": ("LATIN SMALL LETTER SCRIPT G",),
    "h": ("CYRILLIC SMALL LETTER SHHA",),
    "i": ("CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I", "GREEK SMALL LETTER IOTA", "LATIN SMALL LETTER DOTLESS I"),
    "j": ("CYRILLIC SMALL LETTER JE",),
    "k": ("GREEK SMALL LETTER KAPPA",),
    "l": ("CYRILLIC SMALL LETTER PALOCHKA",),
    "o": ("CYRILLIC SMALL LETTER O", "GREEK SMALL LETTER OMICRON"),
    "p": ("CYRILLIC SMALL LETTER ER", "GREEK SMALL LETTER RHO"),
    "q": ("CYRILLIC SMALL LETTER QA",),
    "s": ("CYRILLIC SMALL LETTER DZE",),
    "u": ("GREEK SMALL LETTER UPSILON",),
    "v": ("GREEK SMALL LETTER NU",),
    "w": ("CYRILLIC SMALL LETTER WE",),
    "x": ("CYRILLIC SMALL LETTER HA", "GREEK SMALL LETTER CHI"),
    "y": ("CYRILLIC SMALL LETTER U", "CYRILLIC SMALL LETTER STRAIGHT U"),
    "A": ("CYRILLIC CAPITAL LETTER A", "GREEK CAPITAL LETTER ALPHA"),
    "B": ("CYRILLIC CAPITAL LETTER VE", "GREEK CAPITAL LETTER BETA"),
    "C": ("CYRILLIC CAPITAL LETTER ES",),
    "E": ("CYRILLIC CAPITAL LETTER IE", "GREEK CAPITAL LETTER EPSILON"),
    "H": ("CYRILLIC CAPITAL LETTER EN", "GREEK CAPITAL LETTER ETA"),
    "I": ("CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I", "CYRILLIC LETTER PALOCHKA", "GREEK CAPITAL LETTER IOTA"),
    "J": ("CYRILLIC CAPITAL LETTER JE",),
    "K": ("CYRILLIC CAPITAL LETTER KA", "GREEK CAPITAL LETTER KAPPA"),
    "M": ("CYRILLIC CAPITAL LETTER EM", "GREEK CAPITAL LETTER MU"),
    "N": ("GREEK CAPITAL LETTER NU",),
    "O": ("CYRILLIC CAPITAL LETTER O", "GREEK CAPITAL LETTER OMICRON"),
    "P": ("CYRILLIC CAPITAL LETTER ER", "GREEK CAPITAL LETTER RHO"),
    "Q": ("CYRILLIC CAPITAL LETTER QA",),
    "S": ("CYRILLIC CAPITAL LETTER DZE",),
    "T": ("CYRILLIC CAPITAL LETTER TE", "GREEK CAPITAL LETTER TAU"),
    "W": ("CYRILLIC CAPITAL LETTER WE",),
    "X": ("CYRILLIC CAPITAL LETTER HA", "GREEK CAPITAL LETTER CHI"),
    "Y": ("CYRILLIC CAPITAL LETTER STRAIGHT U", "GREEK CAPITAL LETTER UPSILON"),
    "Z": ("GREEK CAPITAL LETTER ZETA",),
    # Dashes and the minus sign, as separators inside card and phone numbers (NFKC turns the
    # non-breaking hyphen into HYPHEN, the small em dash into EM DASH).
    "-": ("HYPHEN", "FIGURE DASH", "EN DASH", "EM DASH", "HORIZONTAL BAR", "MINUS SIGN"),
    # The dot of a disguised domain (the halfwidth form reaches this one through NFKC).
    ".": ("IDEOGRAPHIC FULL STOP",),
}
HOMOGLYPHS: dict[str, str] = {
    unicodedata.lookup(name): ascii_char for ascii_char, names in _LOOKALIKES.items() for name in names
}


def _is_invisible(char: str) -> bool:
    return char in _INVISIBLE_EXTRA or unicodedata.category(char) == "Cf"


def _fold(char: str) -> str:
    """What one non-ASCII character becomes: "" if invisible, else NFKC then homoglyph folding."""
    if _is_invisible(char):
        return ""
    return "".join(
        HOMOGLYPHS.get(part, part) for part in unicodedata.normalize("NFKC", char) if not _is_invisible(part)
    )


# Folding is a pure function of one character and text repeats its characters: remember them,
# up to a bound so that a text made of every code point cannot grow the cache without end.
_FOLDED: dict[str, str] = {}
_FOLDED_MAX = 16_384
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


@dataclass(frozen=True, slots=True)
class Normalized:
    text: str
    origin: tuple[int, ...] | None
    """`origin[i]` is the index in the original text of the character that produced `text[i]`;
    None when the text came out unchanged (the common, all-ASCII case)."""

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The smallest span of the original text that produced `text[start:end]` (end exclusive).

        Characters removed inside the span (zero-width ones) fall inside the mapped span; an
        empty span maps to an empty span at the original position of `text[start]` (just after
        the last produced character when `start == len(text)`)."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span ({start}, {end}) outside a text of length {len(self.text)}")
        origin = self.origin
        if origin is None:
            return start, end
        if start == end:
            at = origin[start] if start < len(origin) else (origin[-1] + 1 if origin else 0)
            return at, at
        return origin[start], origin[end - 1] + 1


def normalize(text: str) -> Normalized:
    """`text` with invisible characters removed, NFKC applied and look-alikes folded to ASCII.

    ASCII text is returned as is at once (most text the gateway sees); otherwise one pass builds
    the output and its origin map, normalising only the non-ASCII characters."""
    if text.isascii():
        return Normalized(text, None)
    parts: list[str] = []
    origin: list[int] = []
    done = 0
    for run in _NON_ASCII_RUN.finditer(text):
        start, end = run.span()
        parts.append(text[done:start])  # the ASCII before the run, unchanged
        origin.extend(range(done, start))
        for index in range(start, end):
            char = text[index]
            produced = _FOLDED.get(char)
            if produced is None:
                produced = _fold(char)
                if len(_FOLDED) < _FOLDED_MAX:
                    _FOLDED[char] = produced
            parts.append(produced)
            origin.extend([index] * len(produced))
        done = end
    parts.append(text[done:])
    origin.extend(range(done, len(text)))
    normalized = "".join(parts)
    if normalized == text:
        return Normalized(text, None)
    return Normalized(normalized, tuple(origin))
