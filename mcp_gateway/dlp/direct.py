"""Presidio's `AnalyzerEngine.analyze`, step for step, for recognizers chosen in advance.

`analyze()` spends 40–90 µs per call before any recognizer runs (choosing recognizers from
the registry, building empty NLP artifacts, copying explanations), which is most of the cost of
scanning a small window. The fast scanner knows which recognizers it wants and calls this once
per entity instead. The steps and their order are the engine's own (see analyzer_engine.py in
presidio-analyzer 2.2.366): recognize, tag each result with its recognizer, enhance with context,
drop results under their recognizer's threshold, remove duplicates. The differential tests
compare the result with `analyze()` itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from mcp_gateway.dlp.engine import LANGUAGE

_NAME = RecognizerResult.RECOGNIZER_NAME_KEY
_ID = RecognizerResult.RECOGNIZER_IDENTIFIER_KEY


class DirectAnalyzer:
    def __init__(self, analyzer: AnalyzerEngine) -> None:
        self._analyzer = analyzer
        # The no_op engine's artifacts do not depend on the text: build them once.
        self._artifacts: NlpArtifacts = analyzer.nlp_engine.process_text("", LANGUAGE)
        # Private in name only; pinned by uv.lock and checked by the differential tests.
        self._remove_low_scores: Any = getattr(analyzer, "_AnalyzerEngine__remove_low_scores")  # noqa: B009
        self._inert: dict[tuple[int, ...], bool] = {}

    def _context_is_inert(self, recognizers: Sequence[EntityRecognizer]) -> bool:
        """True when the engine's context step provably changes nothing, so its deep copy of every
        result can be skipped: no tokens to read context from (the no_op engine), no recognizer
        with its own context step, and no empty context word (which would match anything)."""
        key = tuple(id(r) for r in recognizers)
        inert = self._inert.get(key)
        if inert is None:
            inert = self._inert[key] = not len(self._artifacts.tokens) and all(
                type(r).enhance_using_context is EntityRecognizer.enhance_using_context and "" not in (r.context or [])
                for r in recognizers
            )
        return inert

    def analyze(self, text: str, entity: str, recognizers: Sequence[EntityRecognizer]) -> list[RecognizerResult]:
        artifacts = self._artifacts
        results: list[RecognizerResult] = []
        for recognizer in recognizers:
            if not recognizer.is_loaded:
                recognizer.load()
                recognizer.is_loaded = True
            found = recognizer.analyze(text=text, entities=[entity], nlp_artifacts=artifacts)
            for result in found or ():
                metadata = result.recognition_metadata
                if metadata is None:
                    metadata = result.recognition_metadata = {}
                metadata.setdefault(_NAME, str(getattr(recognizer, "name", "")))
                metadata.setdefault(_ID, recognizer.id)
                results.append(result)
        if not results:
            return results
        if not self._context_is_inert(recognizers):
            results = self._analyzer._enhance_using_context(text, results, artifacts, list(recognizers), None)
        results = self._remove_low_scores(results, None, list(recognizers))
        return EntityRecognizer.remove_duplicates(results)
