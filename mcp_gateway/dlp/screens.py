r"""Screens: cheap necessary conditions that tell the fast scanner where a recognizer could match.

A recognizer's `Screen` is a pair:

- `seed`, a regex such that every span the recognizer can report contains (or touches) at least
  one match of `seed`. No seed match in a text means the recognizer cannot find anything there,
  so it is skipped. A seed must be much cheaper than the recognizer itself (a literal, a short
  character class), and it must never be narrower than the recognizer: a seed that misses a
  match the recognizer would report loses a finding.
- `run`, a character class (regex source, without brackets' meaning changed: e.g. r"\S" or
  r"[0-9 .\-]") such that every span the recognizer can report consists only of `run`
  characters. The scanner widens each seed match to the maximal run of such characters around
  it, adds `margin` characters on each side (for `\b`, look-behinds and look-aheads), and gives
  the recognizer only that window. Windows that overlap are merged.

Correctness of a screen is a property of the recognizer's patterns; the differential test
(tests/dlp/test_fast_equals_full.py) checks it on a labelled corpus, and each recognizer's own
tests check its screen on its edge cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TOKEN_RUN = r"[^\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""Matches of most recognizers never contain whitespace: their window is the token. Whitespace here is
Unicode's White_Space property (what the `regex` module, which Presidio uses, calls `\\s`), not
Python's `str.isspace`, which also counts U+001C..U+001F: a window must never end inside a match."""
LINE_RUN = r"[^\n]"


@dataclass(frozen=True, slots=True)
class Screen:
    seed: re.Pattern[str]
    run: str = TOKEN_RUN
    margin: int = 1
    _run_re: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _char_re: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_run_re", re.compile(f"{self.run}*"))
        object.__setattr__(self, "_char_re", re.compile(self.run))

    def windows(self, text: str) -> list[tuple[int, int]]:
        """Merged `(start, end)` windows of `text` in which the recognizer could match."""
        spans: list[tuple[int, int]] = []
        run_re, char_re = self._run_re, self._char_re
        for hit in self.seed.finditer(text):
            start, end = hit.start(), hit.end()
            if spans and start < spans[-1][1]:
                continue  # already inside the previous window
            # Widen left: the run of `run` characters ending at `start`.
            left = start
            while left > 0 and char_re.match(text, left - 1):
                left -= 1
            right_match = run_re.match(text, end)
            right = right_match.end() if right_match else end
            window = (max(0, left - self.margin), min(len(text), right + self.margin))
            if spans and window[0] <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], window[1]))
            else:
                spans.append(window)
        return spans


def screen(seed: str, run: str = TOKEN_RUN, *, margin: int = 1, flags: int = 0) -> Screen:
    return Screen(re.compile(seed, flags), run, margin)
