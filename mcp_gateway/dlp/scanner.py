"""Scanners: find entities in the string leaves of a payload.

`FullScanner` is the reference: Presidio's `AnalyzerEngine.analyze` over every leaf, whole.
`FastScanner` must find exactly the same (the differential test holds it to that) in a fraction
of the time, in three ways:

1. Each recognizer's `Screen` (see screens.py) says where it could match at all: a leaf with no
   seed for a recognizer is never shown to it, and a leaf with seeds only shows it the windows
   around them. Phone and URL recognition dominate Presidio's cost; most text never reaches them.
2. All the distinct windows one entity needs across the whole payload go to Presidio in one
   `analyze` call, joined by a separator that no recognizer can match across (every screen's
   run stops at it), so Presidio's per-call overhead is paid once per entity, not per window.
3. Results are cached per leaf text and per window text (bounded), so a result that repeats a
   document, or a structuredContent that repeats its text block, is scanned once.

Both scanners scan the unicode-normalised text (zero-width characters removed, NFKC, homoglyphs
folded: see unicode.py) and report spans in the leaf's original text.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Sequence
from typing import Final

from presidio_analyzer import RecognizerResult

from mcp_gateway.dlp.direct import DirectAnalyzer
from mcp_gateway.dlp.engine import LANGUAGE, NO_OP, DlpEngine
from mcp_gateway.dlp.model import Finding, Leaf
from mcp_gateway.dlp.unicode import Normalized, normalize

SEPARATOR: Final = "\n\x00\n"
"""Between joined windows: a newline ends every token, line and phone run, and NUL ends the
multi-line runs (PEM blocks); no recognizer matches a NUL."""

RawHit = tuple[str, int, int, float, str]
"""(entity, start, end, score, recognizer name) in a leaf's normalised text."""


def _recognizer_name(result: RecognizerResult) -> str:
    metadata = result.recognition_metadata or {}
    return str(metadata.get(RecognizerResult.RECOGNIZER_NAME_KEY, "unknown"))


def _findings(leaf: Leaf, norm: Normalized, hits: Sequence[RawHit]) -> list[Finding]:
    out = []
    for entity, start, end, score, recognizer in hits:
        ostart, oend = norm.to_original(start, end)
        out.append(Finding(entity, leaf.path, ostart, oend, score, recognizer))
    return out


class FullScanner:
    """Presidio on every leaf, whole: slow, and the definition of what must be found."""

    def __init__(self, engine: DlpEngine) -> None:
        self._engine = engine

    def hits(self, text: str) -> list[RawHit]:
        if not self._engine.active:
            return []
        results = self._engine.analyzer.analyze(text, LANGUAGE, entities=list(self._engine.active))
        return sorted((r.entity_type, r.start, r.end, r.score, _recognizer_name(r)) for r in results)

    def scan(self, leaves: Sequence[Leaf]) -> list[Finding]:
        findings: list[Finding] = []
        for leaf in leaves:
            norm = normalize(leaf.text)
            findings.extend(_findings(leaf, norm, self.hits(norm.text)))
        return findings


class _Joined:
    """Distinct windows of one entity, joined into one string for one analyze call."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.starts: list[int] = []  # where each part starts in the joined text
        self.length = 0

    def add(self, window: str) -> None:
        if self.parts:
            self.parts.append(SEPARATOR)
            self.length += len(SEPARATOR)
        self.starts.append(self.length)
        self.parts.append(window)
        self.length += len(window)

    def locate(self, start: int, end: int) -> tuple[int, int] | None:
        """(part number, part start) of a span, or None if it crosses a part's end."""
        part = bisect_right(self.starts, start) - 1
        part_start = self.starts[part]
        if end > part_start + len(self.parts[2 * part]):
            return None
        return part, part_start


class _Leaves:
    """All the leaves of one payload as one string, so each screen searches once per payload.

    The leaves are joined by SEPARATOR, where every screen's run stops; a window found in the
    joined string is cut back to its leaf (its margin never reaches into the separator), which
    gives exactly the windows a screen finds in each leaf alone.
    """

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts
        self.starts: list[int] = []
        position = 0
        for text in texts:
            self.starts.append(position)
            position += len(text) + len(SEPARATOR)
        self.combined = SEPARATOR.join(texts)

    def split(self, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int, int]]:
        out: list[tuple[int, int, int]] = []
        for start, end in spans:
            number = bisect_right(self.starts, start) - 1
            while number < len(self.texts) and self.starts[number] < end:
                leaf_start = self.starts[number]
                lo, hi = (
                    max(start, leaf_start) - leaf_start,
                    min(end, leaf_start + len(self.texts[number])) - leaf_start,
                )
                if hi > lo:
                    out.append((number, lo, hi))
                number += 1
        return out


WindowHit = tuple[str, int, int, float, str]
"""Like RawHit, with offsets relative to the window's start."""


class FastScanner:
    """Exactly what `FullScanner` finds, looking only where something can be found.

    Results are cached per leaf text and per window text (both bounded; `cache_entries=0` turns
    both off). A window's results depend on its text alone (the screen contract), so a window
    that repeats — the same value in a text block and in structuredContent, the same address in
    many results — is analysed once; within one payload that holds even with the caches off.
    """

    def __init__(self, engine: DlpEngine, *, cache_entries: int = 4096, cache_chars: int = 8_000_000) -> None:
        self._engine = engine
        self._full = FullScanner(engine)
        self._direct = DirectAnalyzer(engine.analyzer)
        self._cache: OrderedDict[str, list[RawHit]] = OrderedDict()
        self._windows_seen: OrderedDict[tuple[str, str], list[WindowHit]] = OrderedDict()
        self._cache_entries, self._cache_chars, self._cached_chars = cache_entries, cache_chars, 0

    def clear_cache(self) -> None:
        self._cache.clear()
        self._windows_seen.clear()
        self._cached_chars = 0

    def scan(self, leaves: Sequence[Leaf]) -> list[Finding]:
        norms = [normalize(leaf.text) for leaf in leaves]
        texts = [norm.text for norm in norms]
        hits = self.hits_many(texts)
        findings: list[Finding] = []
        for leaf, norm, leaf_hits in zip(leaves, norms, hits, strict=True):
            findings.extend(_findings(leaf, norm, leaf_hits))
        return findings

    def hits_many(self, texts: Sequence[str]) -> list[list[RawHit]]:
        """Raw hits for each text (normalised already), in the order given."""
        out: list[list[RawHit] | None] = [self._cache_get(text) for text in texts]
        todo = [index for index, cached in enumerate(out) if cached is None]
        fresh: dict[int, list[RawHit]] = {index: [] for index in todo}
        full = self._full
        if self._engine.nlp != NO_OP:
            # A real NLP engine reads context words around a match and NER reads whole sentences:
            # windows would change what it finds, so every leaf is analysed whole (exact, not fast).
            fresh = {index: full.hits(texts[index]) for index in todo}
            todo = []
        suspects: set[int] = set()
        leaves = _Leaves([texts[index] for index in todo])
        for entity, recognizers in self._engine.recognizers.items() if leaves.combined else ():
            occurrences: dict[str, list[tuple[int, int]]] = {}
            for position, start, end in self._windows(leaves, recognizers):
                index = todo[position]
                occurrences.setdefault(texts[index][start:end], []).append((index, start))
            known = self._window_results(entity, occurrences, suspects)
            for window, places in occurrences.items():
                for index, offset in places:
                    fresh[index].extend((e, s + offset, t + offset, score, r) for e, s, t, score, r in known[window])
        for index in suspects:  # a screen broke its contract: never trust its windows, scan whole
            fresh[index] = full.hits(texts[index])
        for index, leaf_hits in fresh.items():
            leaf_hits.sort()
            out[index] = leaf_hits
            self._cache_put(texts[index], leaf_hits)
        return [hits if hits is not None else [] for hits in out]

    def _window_results(
        self, entity: str, occurrences: dict[str, list[tuple[int, int]]], suspects: set[int]
    ) -> dict[str, list[WindowHit]]:
        known: dict[str, list[WindowHit]] = {}
        joined = _Joined()
        pending: list[str] = []
        for window in occurrences:
            cached = self._windows_seen.get((entity, window))
            if cached is not None:
                self._windows_seen.move_to_end((entity, window))
                known[window] = cached
            else:
                joined.add(window)
                pending.append(window)
                known[window] = []
        if not pending:
            return known
        recognizers = self._engine.recognizers[entity]
        for result in self._direct.analyze("".join(joined.parts), entity, recognizers):
            located = joined.locate(result.start, result.end)
            if located is None:
                part = bisect_right(joined.starts, result.start) - 1
                suspects.update(index for index, _ in occurrences[pending[part]])
                continue
            part, part_start = located
            hit = (result.entity_type, result.start - part_start, result.end - part_start, result.score)
            known[pending[part]].append((*hit, _recognizer_name(result)))
        if self._cache_entries:
            for window in pending:
                self._windows_seen[(entity, window)] = known[window]
            while len(self._windows_seen) > self._cache_entries * 4:
                self._windows_seen.popitem(last=False)
        return known

    def _windows(self, leaves: _Leaves, recognizers: Sequence[object]) -> list[tuple[int, int, int]]:
        """(leaf number, start, end) of every window the recognizers need, merged per leaf."""
        spans: list[tuple[int, int]] = []
        for recognizer in recognizers:
            screen = self._engine.screen_of(recognizer)  # type: ignore[arg-type]
            if screen is None:
                return [(number, 0, len(text)) for number, text in enumerate(leaves.texts) if text]
            spans.extend(screen.windows(leaves.combined))
        if len(recognizers) > 1:
            spans = _merge(spans)
        return leaves.split(spans)

    def _cache_get(self, text: str) -> list[RawHit] | None:
        hits = self._cache.get(text)
        if hits is not None:
            self._cache.move_to_end(text)
        return hits

    def _cache_put(self, text: str, hits: list[RawHit]) -> None:
        if len(text) > self._cache_chars // 16:
            return  # one huge leaf must not flush the whole cache
        self._cache[text] = hits
        self._cached_chars += len(text)
        while len(self._cache) > self._cache_entries or self._cached_chars > self._cache_chars:
            evicted, _ = self._cache.popitem(last=False)
            self._cached_chars -= len(evicted)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
