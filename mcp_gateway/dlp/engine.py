"""Presidio, built offline from its own YAML plus the gateway's secret recognizers.

Nothing here touches the network: the email recognizer's public-suffix fetch is switched off
before Presidio is imported, and the default NLP engine is Presidio's `no_op` one, which loads
no model. When a spaCy NER model is named in the configuration and installed, it becomes the
NLP engine and PERSON, LOCATION and ORGANIZATION switch on; a named model that is not installed
is a configuration error, never a download.

Importing this module costs one to three seconds (spaCy comes with Presidio), so the gateway
imports it on a worker thread after it starts (see `loader.py`), not at start-up.
"""

from __future__ import annotations

import os

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import spacy.util
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpEngine, NoOpNlpEngine, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import SpacyRecognizer
from presidio_analyzer.recognizer_registry import RecognizerRegistryProvider

from mcp_gateway.dlp.pii_screens import PII_SCREENS
from mcp_gateway.dlp.recognizers import secret_recognizers
from mcp_gateway.dlp.recognizers.known import KnownSecretsRecognizer
from mcp_gateway.dlp.screens import Screen
from mcp_gateway.errors import ConfigError

LANGUAGE = "en"
NO_OP = "no_op"
NER_ENTITIES = ("PERSON", "LOCATION", "ORGANIZATION")


@dataclass(frozen=True, slots=True)
class EngineSettings:
    registry: Mapping[str, Any]
    """Presidio's recognizer-registry configuration (presidio.yaml), already parsed."""
    registry_source: str
    entities: tuple[str, ...]
    """The explicit entity list (dlp.yaml): nothing else is looked for."""
    nlp_model: str | None = None


@dataclass(slots=True)
class DlpEngine:
    analyzer: AnalyzerEngine
    known: KnownSecretsRecognizer
    active: tuple[str, ...]
    """Entities that are both asked for and recognised by some loaded recognizer."""
    inactive: dict[str, str]
    """Entities asked for that cannot be found here, with why (e.g. no NER model)."""
    nlp: str
    recognizers: dict[str, list[EntityRecognizer]] = field(default_factory=dict)
    """Active entity -> the recognizers that look for it."""

    def screen_of(self, recognizer: EntityRecognizer) -> Screen | None:
        own = getattr(recognizer, "screen", None)
        if isinstance(own, Screen):
            return own
        return PII_SCREENS.get(type(recognizer).__name__)

    def set_known_secrets(self, values: Iterable[str]) -> None:
        self.known.replace(values)


def _nlp_engine(model: str | None, source: str) -> tuple[NlpEngine, str]:
    if not model:
        engine: NlpEngine = NoOpNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": "no_op"}])
        engine.load()
        return engine, NO_OP
    if not spacy.util.is_package(model):
        raise ConfigError(source, "dlp.nlp_model", f"spaCy model {model!r} is not installed (it is never downloaded)")
    engine = SpacyNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": model}])
    engine.load()
    return engine, model


def build_engine(settings: EngineSettings, known_values: Iterable[str] = ()) -> DlpEngine:
    nlp, nlp_name = _nlp_engine(settings.nlp_model, settings.registry_source)
    try:
        provider = RecognizerRegistryProvider(registry_configuration=dict(settings.registry), nlp_engine=nlp)
        registry: RecognizerRegistry = provider.create_recognizer_registry()
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(settings.registry_source, "recognizers", f"Presidio rejected it: {exc}") from None
    # Presidio adds its spaCy recognizer by itself; it only means something with a real model.
    registry.recognizers = [r for r in registry.recognizers if not isinstance(r, SpacyRecognizer)]
    if nlp_name != NO_OP:
        registry.add_recognizer(SpacyRecognizer(supported_entities=list(NER_ENTITIES)))
    for recognizer in secret_recognizers():
        registry.add_recognizer(recognizer)
    known = KnownSecretsRecognizer(known_values)
    registry.add_recognizer(known)
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=[LANGUAGE])
    return _describe(analyzer, known, settings.entities, nlp_name)


def _describe(
    analyzer: AnalyzerEngine, known: KnownSecretsRecognizer, wanted: Sequence[str], nlp_name: str
) -> DlpEngine:
    by_entity: dict[str, list[EntityRecognizer]] = {}
    for recognizer in analyzer.registry.get_recognizers(language=LANGUAGE, all_fields=True):
        for entity in recognizer.supported_entities:
            by_entity.setdefault(entity, []).append(recognizer)
    active = tuple(entity for entity in wanted if entity in by_entity)
    inactive = {
        entity: "needs a spaCy NER model (dlp.nlp_model)"
        if entity in NER_ENTITIES
        else "no recognizer is loaded for it"
        for entity in wanted
        if entity not in by_entity
    }
    recognizers = {entity: by_entity[entity] for entity in active}
    return DlpEngine(analyzer, known, active, inactive, nlp_name, recognizers)
