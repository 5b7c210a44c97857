"""The engine: offline, from Presidio's YAML, with an explicit entity list."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tldextract.tldextract

from mcp_gateway.dlp.engine import NO_OP, EngineSettings, build_engine
from mcp_gateway.dlp.leaves import json_leaves
from mcp_gateway.dlp.scanner import FastScanner
from mcp_gateway.errors import ConfigError
from tests.dlp import support


@pytest.mark.req("R-014")
def test_the_email_recognizer_never_fetches_the_public_suffix_list() -> None:
    support.engine()
    assert tuple(tldextract.tldextract.TLD_EXTRACTOR.suffix_list_urls) == ()


def test_only_the_listed_entities_are_looked_for() -> None:
    registry = {"supported_languages": ["en"], "recognizers": [{"name": "EmailRecognizer", "type": "predefined"}]}
    engine = build_engine(EngineSettings(registry, "test.yaml", ("EMAIL_ADDRESS", "AWS_ACCESS_KEY", "PERSON")))
    assert engine.nlp == NO_OP
    assert engine.active == ("EMAIL_ADDRESS", "AWS_ACCESS_KEY")
    assert engine.inactive == {"PERSON": "needs a spaCy NER model (dlp.nlp_model)"}
    leaves = json_leaves({"a": "bob@example.com 4111 1111 1111 1111 call 212-555-0199 AKIAIOSFODNN7EXAMPLE"})
    found = FastScanner(engine).scan(leaves)
    assert sorted(f.entity for f in found) == ["AWS_ACCESS_KEY", "EMAIL_ADDRESS"]


def test_presidio_rejecting_the_registry_is_a_config_error() -> None:
    registry = {"supported_languages": ["en"], "recognizers": [{"name": "NoSuchRecognizer", "type": "predefined"}]}
    with pytest.raises(ConfigError) as caught:
        build_engine(EngineSettings(registry, "bad.yaml", ("EMAIL_ADDRESS",)))
    assert caught.value.source == "bad.yaml" and "Presidio rejected it" in caught.value.message


def test_a_named_model_that_is_not_installed_is_never_downloaded(tmp_path: Path) -> None:
    registry = {"supported_languages": ["en"], "recognizers": [{"name": "EmailRecognizer", "type": "predefined"}]}
    with pytest.raises(ConfigError, match="is not installed"):
        build_engine(EngineSettings(registry, "p.yaml", ("PERSON",), nlp_model="en_core_web_lg"))


def test_known_secrets_can_be_replaced_and_the_scanner_cache_cleared() -> None:
    engine = support.engine()
    scanner = FastScanner(engine, cache_entries=16)
    leaves = json_leaves({"a": "token rotated-Value-0001 here"})
    assert scanner.scan(leaves) == []
    engine.set_known_secrets([support.KNOWN_SECRET, "rotated-Value-0001"])
    try:
        scanner.clear_cache()
        assert [f.entity for f in scanner.scan(leaves)] == ["GATEWAY_SECRET"]
    finally:
        engine.set_known_secrets([support.KNOWN_SECRET])


def test_no_phone_number_has_fewer_than_four_digits() -> None:
    # The phone screen's seed needs four digits (pii_screens.py): the shortest valid national
    # number among Presidio's regions has four. Every string of up to three digits, bare, with a
    # plus, with a trunk prefix or an area code in brackets, is refused by every region.
    engine = support.engine()
    (phone,) = engine.recognizers["PHONE_NUMBER"]
    texts = []
    for width in (1, 2, 3):
        for number in range(10**width):
            digits = str(number).zfill(width)
            texts += [
                digits,
                "+" + digits,
                "0" + digits[1:],
                f"(0{digits[:1]}) {digits[1:]}",
                f"+{digits[:2]} {digits[2:]}",
            ]
    found = phone.analyze(" | ".join(texts), ["PHONE_NUMBER"], None)
    assert found == []


def test_the_gateway_starts_without_importing_presidio() -> None:
    # Presidio brings spaCy (seconds to import): it is loaded on a worker thread after start-up.
    heavy = "('presidio_analyzer', 'presidio_anonymizer', 'spacy')"
    code = "import sys, mcp_gateway.app, mcp_gateway.cli\n"
    code += f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
