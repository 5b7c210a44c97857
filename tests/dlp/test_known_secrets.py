"""GATEWAY_SECRET: the gateway's own secrets, found in every listed encoding, swapped atomically,
never shown by repr, and screened soundly."""

from __future__ import annotations

import base64
import random
import string
import threading
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import pytest
from faker import Faker
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult
from presidio_analyzer.nlp_engine import NoOpNlpEngine

from mcp_gateway.dlp.recognizers import KnownSecretsRecognizer, forms_of

ENTITY = "GATEWAY_SECRET"
ALPHABET = string.ascii_letters + string.digits + "!@#$%^&*()-_=+/?~ "


def secret_values(seed: int, count: int = 6) -> list[str]:
    rng = random.Random(seed)
    values = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(8, 48))) for _ in range(count)]
    return [*values, "correct horse battery staple", "s3cr3t-Gateway-Value-42"]


def found(recognizer: KnownSecretsRecognizer, text: str) -> list[str]:
    return sorted(text[r.start : r.end] for r in recognizer.analyze(text, [ENTITY]))


def test_forms_cover_raw_base64_hex_and_url_encodings() -> None:
    value = "pa ss/word+?é"
    raw = value.encode()
    expected = {
        value,
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(),
        raw.hex().upper(),
        quote(value, safe=""),
        quote_plus(value),
    }
    assert forms_of(value) == expected
    assert len(expected) == 9  # every encoding differs for this value
    assert forms_of("short77") == set()


def test_every_form_of_every_value_is_found_with_its_exact_span() -> None:
    values = secret_values(1)
    recognizer = KnownSecretsRecognizer(values)
    for value in values:
        for form in forms_of(value):
            text = f"tool output: <{form}> end"
            results = recognizer.analyze(text, [ENTITY])
            assert [(r.start, r.end) for r in results] == [(14, 14 + len(form))], form
            (result,) = results
            assert result.entity_type == ENTITY
            assert result.score == 1.0
            assert result.recognition_metadata[RecognizerResult.RECOGNIZER_NAME_KEY] == "KnownSecretsRecognizer"
            assert result.recognition_metadata[RecognizerResult.RECOGNIZER_IDENTIFIER_KEY] == recognizer.id


def test_longest_form_wins_so_padding_is_covered() -> None:
    value = "abcdefghij"  # base64 "YWJjZGVmZ2hpag==": the unpadded form is a prefix of the padded one
    padded = base64.b64encode(value.encode()).decode()
    assert padded.endswith("==")
    assert found(KnownSecretsRecognizer([value]), f"b64={padded};") == [padded]


def test_values_shorter_than_eight_characters_are_ignored() -> None:
    recognizer = KnownSecretsRecognizer(["1234567", "hunter2", "abcdefgh"])
    text = "pin 1234567, password hunter2, key abcdefgh"
    assert found(recognizer, text) == ["abcdefgh"]
    assert recognizer.screen.windows("pin 1234567 password hunter2") == []


def test_no_values_never_match() -> None:
    recognizer = KnownSecretsRecognizer()
    text = "".join(random.Random(3).choice(string.printable) for _ in range(5000))
    assert recognizer.screen.windows(text) == []
    assert recognizer.analyze(text, [ENTITY]) == []


def test_replace_swaps_the_values_and_the_screen() -> None:
    old, new = "Xj4kQp8vLm-old", "Wb7nRt2sYc-new"  # no common slice: each screen sees only its own value
    recognizer = KnownSecretsRecognizer([old])
    text = f"a {old} b {new} c"
    old_screen = recognizer.screen
    assert found(recognizer, text) == [old]
    recognizer.replace([new])
    assert found(recognizer, text) == [new]
    assert recognizer.screen is not old_screen
    assert recognizer.screen.windows(f"only {old} here") == []
    assert recognizer.screen.windows(f"only {new} here") == [(5, 19)]
    recognizer.replace([])
    assert found(recognizer, text) == []


def test_replace_that_fails_while_building_keeps_the_old_values() -> None:
    recognizer = KnownSecretsRecognizer(["kept-secret-value"])

    def broken() -> Iterator[str]:
        yield "never-published-value"
        raise RuntimeError("secret store unavailable")

    with pytest.raises(RuntimeError):
        recognizer.replace(broken())
    assert found(recognizer, "kept-secret-value and never-published-value") == ["kept-secret-value"]


def test_concurrent_analyze_sees_one_generation_or_the_other_never_a_mix() -> None:
    first, second = "first-generation-secret", "second-generation-secret"
    recognizer = KnownSecretsRecognizer([first])
    text = f"{first} / {second}"
    seen: list[list[str]] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            seen.append(found(recognizer, text))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(300):
            recognizer.replace([second] if i % 2 == 0 else [first])
    finally:
        stop.set()
        thread.join(timeout=10)
    assert seen
    assert all(result in ([first], [second]) for result in seen)


def test_repr_str_and_serialisation_never_show_a_value() -> None:
    values = secret_values(4)
    recognizer = KnownSecretsRecognizer(values)
    text = " ".join(values)
    shown = [
        repr(recognizer),
        str(recognizer),
        repr(recognizer.screen),
        str(recognizer.screen),
        str(recognizer.to_dict()),
        *(str(r) + repr(r) + str(r.analysis_explanation.to_dict()) for r in recognizer.analyze(text, [ENTITY])),
    ]
    for value in values:
        for form in forms_of(value):
            assert all(form not in line and form[:6] not in line for line in shown), form
    assert "8 known secrets" in repr(recognizer)


def test_screen_windows_give_the_same_results_as_the_whole_text() -> None:
    values = secret_values(5)
    recognizer = KnownSecretsRecognizer(values)
    forms = sorted(form for value in values for form in forms_of(value))
    rng = random.Random(6)
    fake = Faker()
    fake.seed_instance(6)
    for _ in range(10):
        filler = "\n".join(fake.paragraph(nb_sentences=6) for _ in range(6))
        chosen = rng.sample(forms, k=3)
        offsets = sorted(rng.randrange(len(filler) + 1) for _ in chosen)
        parts, previous = [], 0
        for at, form in zip(offsets, chosen, strict=True):
            parts += [filler[previous:at], rng.choice([" ", "\n", '"', "="]), form, " "]
            previous = at
        text = "".join([*parts, filler[previous:]])
        windows = recognizer.screen.windows(text)
        whole = {(r.start, r.end) for r in recognizer.analyze(text, [ENTITY])}
        by_window = {(r.start + a, r.end + a) for a, b in windows for r in recognizer.analyze(text[a:b], [ENTITY])}
        assert by_window == whole
        assert {text[start:end] for start, end in whole} >= set(chosen)


def test_results_survive_the_analyzer_engine_unchanged() -> None:
    nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "no_op"}])
    nlp.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    recognizer = KnownSecretsRecognizer(secret_values(7))
    registry.add_recognizer(recognizer)
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])
    value = secret_values(7)[-1]
    text = f"token={value} and again {base64.b64encode(value.encode()).decode()}"
    direct = recognizer.analyze(text, [ENTITY])
    via_engine = analyzer.analyze(text, language="en", entities=[ENTITY])
    assert len(direct) == 2
    assert sorted((r.entity_type, r.start, r.end, r.score) for r in via_engine) == sorted(
        (r.entity_type, r.start, r.end, r.score) for r in direct
    )
