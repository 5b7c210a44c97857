"""Presidio recognizers for secrets, each carrying the `Screen` the fast scanner uses to skip it.

`secret_recognizers()` builds the pattern-based ones (vendor formats and the entropy catch-all)
fresh for each analyzer, since Presidio caches compiled patterns on recognizer instances. The
known-secrets recognizer is built apart: it needs the gateway's secret values, and is updated in
place with `KnownSecretsRecognizer.replace` when they change.
"""

from __future__ import annotations

import os

# Presidio imports tldextract, which would fetch the public suffix list: the gateway runs offline.
# Set here, in the package's first lines, so that every submodule gets it before Presidio loads.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from presidio_analyzer import EntityRecognizer

from mcp_gateway.dlp.recognizers.entropy import HighEntropyTokenRecognizer
from mcp_gateway.dlp.recognizers.known import ENTITY as GATEWAY_SECRET
from mcp_gateway.dlp.recognizers.known import KnownSecretsRecognizer, forms_of
from mcp_gateway.dlp.recognizers.secrets import VENDOR_RECOGNIZERS, SecretPatternRecognizer

PATTERN_RECOGNIZERS: tuple[type[SecretPatternRecognizer], ...] = (*VENDOR_RECOGNIZERS, HighEntropyTokenRecognizer)

SECRET_ENTITIES: tuple[str, ...] = (*(cls.ENTITY for cls in PATTERN_RECOGNIZERS), GATEWAY_SECRET)
"""Every entity the secret recognizers report, GATEWAY_SECRET included."""


def secret_recognizers() -> list[EntityRecognizer]:
    """One fresh instance of each pattern-based secret recognizer (all but GATEWAY_SECRET)."""
    return [cls() for cls in PATTERN_RECOGNIZERS]


__all__ = [
    "GATEWAY_SECRET",
    "PATTERN_RECOGNIZERS",
    "SECRET_ENTITIES",
    "HighEntropyTokenRecognizer",
    "KnownSecretsRecognizer",
    "SecretPatternRecognizer",
    "forms_of",
    "secret_recognizers",
]
