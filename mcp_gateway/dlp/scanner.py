"""Scanners: find entities in the string leaves of a payload.

`FullScanner` is the reference: Presidio's `AnalyzerEngine.analyze` over every leaf, whole.
`FastScanner` must find exactly the same (the differential test holds it to that) in a fraction
of the time, in three ways:

1. Each recognizer's `Screen` (see screens.py) says where it could match at all: a leaf with no
   seed for a recognizer is never shown to it, and a leaf with seeds only shows it the windows
   around them. Phone and URL recognition dominate Presidio's cost; most text never reaches them.
2. All the windows one entity needs across the whole payload go to Presidio in one `analyze`
   call, joined by a separator that no recognizer can match across (every screen's run stops
   at it), so Presidio's per-call overhead is paid once per entity, not once per window.
3. Results are cached per leaf text (bounded), so a result that repeats a document, or a
   structuredContent that repeats its text block, is scanned once.

Both scanners scan the unicode-normalised text (zero-width characters removed, NFKC, homoglyphs
folded: see unicode.py) and report spans in the leaf's original text.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Sequence
from typing import Final

from presidio_analyzer import RecognizerResult

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
    """The windows of one entity across many texts, joined into one string for one analyze call."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.starts: list[int] = []  # where each part starts in the joined text
        self.origins: list[tuple[int, int]] = []  # (text index, offset of the part in that text)
        self.length = 0

    def add(self, text_index: int, text: str, start: int, end: int) -> None:
        if self.parts:
            self.parts.append(SEPARATOR)
            self.length += len(SEPARATOR)
        self.starts.append(self.length)
        self.origins.append((text_index, start))
        self.parts.append(text[start:end])
        self.length += end - start

    def locate(self, position: int) -> tuple[int, int]:
        """(text index, offset to add) for a position in the joined text."""
        part = bisect_right(self.starts, position) - 1
        text_index, offset = self.origins[part]
        return text_index, offset - self.starts[part]


class FastScanner:
    """Exactly what `FullScanner` finds, looking only where something can be found."""

    def __init__(self, engine: DlpEngine, *, cache_entries: int = 4096, cache_chars: int = 8_000_000) -> None:
        self._engine = engine
        self._cache: OrderedDict[str, list[RawHit]] = OrderedDict()
        self._cache_entries, self._cache_chars, self._cached_chars = cache_entries, cache_chars, 0

    def clear_cache(self) -> None:
        self._cache.clear()
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
        if self._engine.nlp != NO_OP:
            # A real NLP engine reads context words around a match and NER reads whole sentences:
            # windows would change what it finds, so every leaf is analysed whole (exact, not fast).
            full = FullScanner(self._engine)
            fresh = {index: full.hits(texts[index]) for index in todo}
            todo = []
        for entity, recognizers in self._engine.recognizers.items():
            joined = _Joined()
            for index in todo:
                for start, end in self._windows(texts[index], recognizers):
                    joined.add(index, texts[index], start, end)
            if not joined.parts:
                continue
            results = self._engine.analyzer.analyze("".join(joined.parts), LANGUAGE, entities=[entity])
            for result in results:
                index, offset = joined.locate(result.start)
                fresh[index].append(
                    (
                        result.entity_type,
                        result.start + offset,
                        result.end + offset,
                        result.score,
                        _recognizer_name(result),
                    )
                )
        for index, leaf_hits in fresh.items():
            leaf_hits.sort()
            out[index] = leaf_hits
            self._cache_put(texts[index], leaf_hits)
        return [hits if hits is not None else [] for hits in out]

    def _windows(self, text: str, recognizers: Sequence[object]) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        for recognizer in recognizers:
            screen = self._engine.screen_of(recognizer)  # type: ignore[arg-type]
            if screen is None:
                return [(0, len(text))] if text else []
            spans.extend(screen.windows(text))
        if len(recognizers) > 1:
            spans = _merge(spans)
        return spans

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
