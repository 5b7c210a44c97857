"""GATEWAY_SECRET: exact matches of the secrets the gateway itself holds, in any usual encoding.

A secret from the gateway's store that shows up in a tool's output is a leak whatever its
shape, so it is matched exactly (score 1.0) in the forms a tool is likely to print it: raw,
base64 (standard and URL-safe, padded or not), hex (either case) and URL-encoded.

Speed: a regex alternation of a few hundred literals costs milliseconds per 10 KB, because the
regex engine tries every alternative at every position. The screen's seed instead holds, for
each form, one 6-character slice that starts at its rarest character (a digit, `%`, `q` rather
than an `e`, by a rough table of English and JSON character frequencies): the engine skips in C
every position whose character starts no slice, which is nearly all of ordinary text. Every
occurrence of a form contains its slice, so the seed stays a necessary condition; the full
alternation (longest form first) then runs on the windows only, both in `analyze` and in the
fast scanner.

The values never leave this module: no repr, no log, no explanation carries them or their slices.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from mcp_gateway.dlp.screens import TOKEN_RUN, Screen

ENTITY = "GATEWAY_SECRET"
NAME = "KnownSecretsRecognizer"
MIN_VALUE_LENGTH = 8
"""Shorter values would match ordinary text; they are ignored."""
SLICE_LENGTH = 6
_NEVER = "(?!x)x"
_LOWER_BY_FREQUENCY = {  # per mille of all characters
    **dict(zip("etaoinshrd", (100, 72, 65, 60, 56, 54, 50, 48, 48, 34), strict=True)),
    **dict(zip("lcumwfgypb", (32, 22, 22, 19, 19, 18, 16, 16, 15, 12), strict=True)),
    **dict(zip("vkjxqz", (8, 6, 1.2, 1.2, 0.8, 0.6), strict=True)),
}
_FREQUENCY: dict[str, float] = {
    **_LOWER_BY_FREQUENCY,
    " ": 150.0,
    **dict.fromkeys('.,"\n', 10.0),
    **dict.fromkeys(":-'()", 3.0),
    **dict.fromkeys("TAIS", 3.0),
}
"""Characters not listed: other upper-case letters and digits 1.5, other symbols 0.5."""


def forms_of(value: str) -> set[str]:
    """Every encoding of `value` that is matched; empty when the value is too short to match safely."""
    if len(value) < MIN_VALUE_LENGTH:
        return set()
    raw = value.encode()
    forms = {value, raw.hex(), raw.hex().upper(), quote(value, safe=""), quote_plus(value)}
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        forms |= {encoded, encoded.rstrip("=")}
    return forms


def _frequency(char: str) -> float:
    """Rough share (per mille) of a character in English prose and JSON: the slice starts at the rarest."""
    return _FREQUENCY.get(char, 1.5 if char.isalnum() else 0.5)


def _slice(form: str) -> str:
    start = min(range(len(form) - SLICE_LENGTH + 1), key=lambda i: (_frequency(form[i]), _frequency(form[i + 1]), i))
    return form[start : start + SLICE_LENGTH]


def _char_class(chars: Iterable[str]) -> str:
    return "[" + "".join(re.escape(char) for char in sorted(set(chars))) + "]"


class _SecretScreen(Screen):
    """A `Screen` whose repr does not show its seed (slices of the secrets)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Screen(<known secrets>)"


class _Matcher:
    """One immutable generation of the value set: the screen and the full alternation, built together."""

    __slots__ = ("count", "pattern", "screen")

    def __init__(self, values: list[str]) -> None:
        forms = sorted({form for value in values for form in forms_of(value)}, key=lambda form: (-len(form), form))
        self.count = len({value for value in values if len(value) >= MIN_VALUE_LENGTH})
        if not forms:
            self.pattern = re.compile(_NEVER)
            self.screen: Screen = _SecretScreen(re.compile(_NEVER), TOKEN_RUN, 0)
            return
        self.pattern = re.compile("|".join(re.escape(form) for form in forms))
        slices = sorted({_slice(form) for form in forms})
        seed = re.compile("|".join(re.escape(piece) for piece in slices))
        # Forms hold no look-arounds, so no margin; the run is every character any form holds.
        self.screen = _SecretScreen(seed, _char_class("".join(forms)), 0)

    def __repr__(self) -> str:
        return f"_Matcher(<{self.count} known secrets>)"


class KnownSecretsRecognizer(LocalRecognizer):
    """Finds the gateway's own secrets (see the module doc); `replace` swaps the value set atomically."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._matcher = _Matcher(list(values))
        super().__init__(supported_entities=[ENTITY], name=NAME, supported_language="en")

    def load(self) -> None:
        """Nothing to load: the matcher is built from the values."""

    @property
    def screen(self) -> Screen:
        """The current generation's screen: it changes with `replace`."""
        return self._matcher.screen

    def replace(self, values: Iterable[str]) -> None:
        """Swap in a new value set: built in full first, then published by one assignment."""
        self._matcher = _Matcher(list(values))

    def __repr__(self) -> str:
        return f"KnownSecretsRecognizer(<{self._matcher.count} known secrets>)"

    __str__ = __repr__

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        matcher = self._matcher  # one generation for the whole call, even if `replace` runs meanwhile
        return [
            self._result(hit.start(), hit.end())
            for start, end in matcher.screen.windows(text)
            for hit in matcher.pattern.finditer(text, start, end)
        ]

    def _result(self, start: int, end: int) -> RecognizerResult:
        explanation = AnalysisExplanation(
            recognizer=NAME,
            original_score=1.0,
            pattern_name="known_secret",
            textual_explanation=f"Detected by `{NAME}`: a value of the gateway's secret store",
        )
        return RecognizerResult(
            entity_type=ENTITY,
            start=start,
            end=end,
            score=1.0,
            analysis_explanation=explanation,
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: NAME,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )
