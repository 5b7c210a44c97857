"""The pattern-based secret recognizers: positives with exact spans, near-miss negatives, the path
through Presidio's AnalyzerEngine, and the soundness of each recognizer's screen.

Secrets are generated from seeded RNGs in the shapes of the secret formats spec, never real keys.
"""

from __future__ import annotations

import base64
import json
import random
import string
import uuid
from collections.abc import Callable
from functools import cache

import pytest
from faker import Faker
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.nlp_engine import NoOpNlpEngine

from mcp_gateway.dlp.recognizers import SECRET_ENTITIES, secret_recognizers
from mcp_gateway.dlp.recognizers.entropy import HighEntropyTokenRecognizer
from mcp_gateway.dlp.recognizers.secrets import (
    AnthropicKeyRecognizer,
    AwsAccessKeyRecognizer,
    AwsSecretKeyRecognizer,
    GitHubTokenRecognizer,
    JwtRecognizer,
    OpenAIKeyRecognizer,
    PrivateKeyRecognizer,
    SecretPatternRecognizer,
    SlackTokenRecognizer,
)

ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"

Example = tuple[str, str]
"""A text and the secret in it (the span a recognizer must report)."""


def pick(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def aws_access_key(rng: random.Random) -> Example:
    key = rng.choice(["AKIA", "ASIA", "ABIA", "ACCA"]) + pick(rng, UPPER_ALNUM, 16)
    return f"export AWS_ACCESS_KEY_ID={key}", key


def aws_secret_key(rng: random.Random) -> Example:
    value = pick(rng, ALNUM + "/+", 40)
    line = rng.choice(
        [
            "aws_secret_access_key = {}",
            "AWS_SECRET_ACCESS_KEY={}",
            '{{"SecretAccessKey": "{}"}}',
            "aws_secret_key: '{}'",
            '{{\\"SecretAccessKey\\":\\"{}\\"}}',
        ]
    )
    return line.format(value), value


def github_token(rng: random.Random) -> Example:
    if rng.random() < 0.5:
        token = f"gh{rng.choice('pousr')}_" + pick(rng, ALNUM, 36)
    else:
        token = "github_pat_" + pick(rng, ALNUM, 22) + "_" + pick(rng, ALNUM, 59)
    return f"git clone https://x-access-token:{token}@github.com/acme/app.git", token


def slack_token(rng: random.Random) -> Example:
    if rng.random() < 0.5:
        digits = "".join(rng.choice(string.digits) for _ in range(12))
        token = f"xox{rng.choice('abposr')}-{digits}-{pick(rng, ALNUM, 24)}"
    else:
        team, bot = pick(rng, UPPER_ALNUM, 9), pick(rng, UPPER_ALNUM, 11)
        token = f"https://hooks.slack.com/services/T{team}/B{bot}/{pick(rng, ALNUM, 24)}"
    return f"SLACK={token}", token


def openai_key(rng: random.Random) -> Example:
    prefix = rng.choice(["sk-", "sk-proj-", "sk-svcacct-", "sk-admin-"])
    key = prefix + pick(rng, ALNUM, 48) if prefix == "sk-" else prefix + pick(rng, B64URL, 120)
    return f'OPENAI_API_KEY="{key}"', key


def anthropic_key(rng: random.Random) -> Example:
    key = f"sk-ant-{rng.choice(['api', 'admin'])}0{rng.randint(1, 9)}-" + pick(rng, B64URL, 93) + "AA"
    return f"x-api-key: {key}", key


def jwt(rng: random.Random) -> Example:
    header = {"alg": rng.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"}
    payload = {"sub": str(rng.randint(1, 10**9)), "iat": rng.randint(10**9, 2 * 10**9)}
    token = ".".join([b64url(json.dumps(header).encode()), b64url(json.dumps(payload).encode()), pick(rng, B64URL, 43)])
    return f"Authorization: Bearer {token}", token


def private_key(rng: random.Random) -> Example:
    kind = rng.choice(["RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED ", ""])
    newline = rng.choice(["\n", "\r\n", "\\n"])
    lines = [f"-----BEGIN {kind}PRIVATE KEY-----"]
    if kind == "RSA " and rng.random() < 0.5:
        lines += ["Proc-Type: 4,ENCRYPTED", f"DEK-Info: AES-128-CBC,{pick(rng, '0123456789ABCDEF', 32)}", ""]
    lines += [pick(rng, B64, 64) for _ in range(rng.randint(3, 12))]
    lines += [pick(rng, B64, rng.randint(4, 60)) + "==", f"-----END {kind}PRIVATE KEY-----"]
    block = newline.join(lines)
    return f'{{"key": "{block}"}}' if newline == "\\n" else f"key file:{newline}{block}{newline}", block


def high_entropy(rng: random.Random) -> Example:
    if rng.random() < 0.3:  # base64 with its padding, which belongs to the token
        token = base64.b64encode(rng.randbytes(rng.choice([31, 32, 40, 44]))).decode()
    else:
        token = pick(rng, rng.choice([B64, B64URL, ALNUM]), rng.randint(40, 64))
    line = rng.choice(["session_secret {} (rotate monthly)", "SESSION_SECRET={}", 'api_token: "{}"'])
    return line.format(token), token


MAKERS: dict[type[SecretPatternRecognizer], Callable[[random.Random], Example]] = {
    AwsAccessKeyRecognizer: aws_access_key,
    AwsSecretKeyRecognizer: aws_secret_key,
    GitHubTokenRecognizer: github_token,
    SlackTokenRecognizer: slack_token,
    OpenAIKeyRecognizer: openai_key,
    AnthropicKeyRecognizer: anthropic_key,
    JwtRecognizer: jwt,
    PrivateKeyRecognizer: private_key,
    HighEntropyTokenRecognizer: high_entropy,
}
CLASSES = list(MAKERS)


def examples(cls: type[SecretPatternRecognizer], count: int = 8, seed: int = 0) -> list[Example]:
    rng = random.Random(f"{cls.__name__}-{seed}")
    return [MAKERS[cls](rng) for _ in range(count)]


def spans(results: list[RecognizerResult]) -> list[tuple[int, int]]:
    return sorted((result.start, result.end) for result in results)


@cache
def analyzer() -> AnalyzerEngine:
    nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "no_op"}])
    nlp.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in secret_recognizers():
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])


def test_each_recognizer_is_a_presidio_recognizer_for_one_english_entity() -> None:
    recognizers = secret_recognizers()
    assert [type(recognizer) for recognizer in recognizers] == CLASSES
    for recognizer in recognizers:
        assert isinstance(recognizer, EntityRecognizer)
        assert recognizer.supported_language == "en"
        assert len(recognizer.supported_entities) == 1
        assert recognizer.supported_entities[0] in SECRET_ENTITIES
        assert recognizer.name == type(recognizer).__name__
    assert {r.supported_entities[0] for r in recognizers} | {"GATEWAY_SECRET"} == set(SECRET_ENTITIES)
    assert all(a is not b for a, b in zip(recognizers, secret_recognizers(), strict=True))


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.ENTITY)
def test_positives_are_found_with_their_exact_span_score_and_metadata(cls: type[SecretPatternRecognizer]) -> None:
    recognizer = cls()
    expected_score = {"PRIVATE_KEY": 1.0, "HIGH_ENTROPY_TOKEN": 0.6}.get(cls.ENTITY)
    for text, secret in examples(cls):
        results = recognizer.analyze(text, [cls.ENTITY])
        assert spans(results) == [(text.index(secret), text.index(secret) + len(secret))], text
        (result,) = results
        assert result.entity_type == cls.ENTITY
        if expected_score is None:
            assert 0.95 <= result.score <= 1.0
        else:
            assert result.score == expected_score
        assert result.recognition_metadata[RecognizerResult.RECOGNIZER_NAME_KEY] == recognizer.name
        assert result.recognition_metadata[RecognizerResult.RECOGNIZER_IDENTIFIER_KEY] == recognizer.id


def hex_digest(rng: random.Random, length: int) -> str:
    return pick(rng, "0123456789abcdef", length)


def negatives(cls: type[SecretPatternRecognizer]) -> list[str]:
    rng = random.Random(f"negatives-{cls.__name__}")
    common = [
        "The quick brown fox jumps over the lazy dog, again and again, until the sun goes down.",
        f"sha256:{hex_digest(rng, 64)}",
        f"commit {hex_digest(rng, 40)}",
        str(uuid.UUID(int=rng.getrandbits(128))),
        "/home/alice/projects/mcp-gateway/tests/dlp/test_secret_recognizers.py",
    ]
    specific: dict[type[SecretPatternRecognizer], list[str]] = {
        AwsAccessKeyRecognizer: [
            "AKIA" + pick(rng, UPPER_ALNUM, 15),  # too short
            "AKIA" + pick(rng, UPPER_ALNUM, 17),  # too long
            "AKIB" + pick(rng, UPPER_ALNUM, 16),  # wrong prefix
            "akia" + pick(rng, UPPER_ALNUM, 16).lower(),  # wrong case
            "XAKIA" + pick(rng, UPPER_ALNUM, 16),  # inside a longer word
        ],
        AwsSecretKeyRecognizer: [
            pick(rng, ALNUM, 40),  # no key name
            "aws_secret_access_key =\n" + pick(rng, ALNUM, 40),  # key name on another line
            "aws_secret_access_key = " + pick(rng, ALNUM, 39),  # too short
            "aws_secret_access_key = " + pick(rng, ALNUM, 41),  # too long
            "aws_access_key_id = " + pick(rng, ALNUM, 40),  # another key
        ],
        GitHubTokenRecognizer: [
            "ghx_" + pick(rng, ALNUM, 36),
            "ghp_" + pick(rng, ALNUM, 35),
            "github_pat_" + pick(rng, ALNUM, 21),
            "xghp_" + pick(rng, ALNUM, 36),
            "ghp-" + pick(rng, ALNUM, 36),
        ],
        SlackTokenRecognizer: [
            "xoxz-" + pick(rng, ALNUM, 24),
            "xoxb-12345",
            "https://hooks.slack.com/services/",
            "https://hooks.slack.com/workflows/T0123/B0456/abc",
            "http://hooks.example.com/services/T0123/B0456/abcdef",
        ],
        OpenAIKeyRecognizer: [
            "sk-ant-api03-" + pick(rng, B64URL, 95),
            "sk-" + pick(rng, ALNUM, 19),
            "task-" + pick(rng, ALNUM, 30),
            "sk-learn-compatible-estimators-and-pipelines",
            "risk-assessment-for-the-quarterly-report",
        ],
        AnthropicKeyRecognizer: [
            "sk-ant-api3-" + pick(rng, B64URL, 95),
            "sk-ant-api03-" + pick(rng, B64URL, 79),
            "sk-ant-user03-" + pick(rng, B64URL, 95),
            "sk-proj-" + pick(rng, B64URL, 95),
        ],
        JwtRecognizer: [
            ".".join([b64url(b'{"typ":"JWT"}'), b64url(b'{"sub":"1"}'), pick(rng, B64URL, 43)]),  # no "alg"
            ".".join([b64url(b'{"alg":"HS256"}'), b64url(b'{"sub":"1"}'), pick(rng, B64URL, 9)]),  # short signature
            ".".join([b64url(b'{"alg":"HS256"}'), b64url(b'{"sub":"1"}')]),  # two segments
            "eyJ" + pick(rng, ALNUM, 20) + ".eyJ" + pick(rng, ALNUM, 20) + "." + pick(rng, ALNUM, 20),  # not JSON
        ],
        PrivateKeyRecognizer: [
            "-----BEGIN PUBLIC KEY-----\n" + pick(rng, B64, 64) + "\n-----END PUBLIC KEY-----",
            "-----BEGIN CERTIFICATE-----\n" + pick(rng, B64, 64) + "\n-----END CERTIFICATE-----",
            "-----BEGIN RSA PRIVATE KEY-----\n" + pick(rng, B64, 64) + "\n(truncated)",
            "Never paste your PRIVATE KEY into a chat.",
        ],
        HighEntropyTokenRecognizer: [
            hex_digest(rng, 64),
            hex_digest(rng, 64).upper(),
            "SERVER_BUILD_SHA=" + hex_digest(rng, 40),  # the name must not lend the digest its upper case
            "QUEUE_INSTANCE_ID=" + str(uuid.UUID(int=rng.getrandbits(128))),
            uuid.UUID(int=rng.getrandbits(128)).hex,
            pick(rng, ALNUM, 31),  # too short
            pick(rng, string.ascii_lowercase + string.digits, 48),  # no upper case
            "src/main/java/com/example/gateway2/UserAccountServiceImpl",
            "getUserAccountSettingsForOrganization2024",
            "iVBORw0KGgoAAAANSUhEUgAAB4AAAAQ4CAYAAADo08FDAAAACXBIWXM=",  # PNG header
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
            "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAAYEBQYFBAYGBQYGBwcGBwkICQ==",  # JPEG header
            "R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==",  # GIF
        ],
    }
    return common + specific[cls]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.ENTITY)
def test_near_misses_are_not_found(cls: type[SecretPatternRecognizer]) -> None:
    recognizer = cls()
    for text in negatives(cls):
        for framed in (text, f"value: {text} (end)"):
            assert recognizer.analyze(framed, [cls.ENTITY]) == [], framed


def test_openai_does_not_fire_on_anthropic_keys_but_anthropic_does() -> None:
    text, key = anthropic_key(random.Random(5))
    assert OpenAIKeyRecognizer().analyze(text, ["OPENAI_API_KEY"]) == []
    assert spans(AnthropicKeyRecognizer().analyze(text, ["ANTHROPIC_API_KEY"])) == [
        (text.index(key), text.index(key) + len(key))
    ]


def test_aws_secret_key_finding_spans_the_value_only() -> None:
    value = pick(random.Random(9), ALNUM + "/+", 40)
    text = f"[default]\naws_secret_access_key = {value}\nregion = eu-west-1\n"
    (result,) = AwsSecretKeyRecognizer().analyze(text, ["AWS_SECRET_KEY"])
    assert text[result.start : result.end] == value


def test_private_key_spans_the_whole_block_and_stops_at_the_first_end_line() -> None:
    _, first = private_key(random.Random(1))
    _, second = private_key(random.Random(2))
    text = f"{first}\n{second}"
    found = [text[r.start : r.end] for r in PrivateKeyRecognizer().analyze(text, ["PRIVATE_KEY"])]
    assert sorted(found) == sorted([first, second])


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.ENTITY)
def test_results_survive_the_analyzer_engine_unchanged(cls: type[SecretPatternRecognizer]) -> None:
    recognizer = cls()
    for text, _ in examples(cls, count=4, seed=1):
        direct = recognizer.analyze(text, [cls.ENTITY])
        via_engine = analyzer().analyze(text, language="en", entities=[cls.ENTITY])
        assert direct
        assert [(r.entity_type, r.start, r.end, r.score) for r in via_engine] == [
            (r.entity_type, r.start, r.end, r.score) for r in direct
        ]
        assert {r.recognition_metadata[RecognizerResult.RECOGNIZER_NAME_KEY] for r in via_engine} == {cls.__name__}


def filler(fake: Faker) -> str:
    return "\n".join(fake.paragraph(nb_sentences=6) for _ in range(6))


def embed(rng: random.Random, fake: Faker, pieces: list[str]) -> str:
    """`pieces` at random offsets of Faker paragraphs, each framed by a space, a newline or a quote."""
    text = filler(fake)
    offsets = sorted(rng.randrange(len(text) + 1) for _ in pieces)
    parts, previous = [], 0
    for at, piece in zip(offsets, pieces, strict=True):
        left, right = rng.choice([(" ", " "), ("\n", "\n"), ('"', '"'), ("\t", ". ")])
        parts += [text[previous:at], left, piece, right]
        previous = at
    return "".join([*parts, text[previous:]])


def windowed(recognizer: EntityRecognizer, entity: str, text: str, windows: list[tuple[int, int]]) -> set[tuple]:
    found = set()
    for start, end in windows:
        for result in recognizer.analyze(text[start:end], [entity]):
            found.add((result.start + start, result.end + start, result.score))
    return found


def assert_screen_is_sound(recognizer: EntityRecognizer, entity: str, text: str) -> set[tuple]:
    """Analyzing only the screen's windows gives exactly what analyzing the whole text gives."""
    windows = recognizer.screen.windows(text)  # type: ignore[attr-defined]
    whole = {(r.start, r.end, r.score) for r in recognizer.analyze(text, [entity])}
    assert all(any(a <= start and end <= b for a, b in windows) for start, end, _ in whole)
    assert windowed(recognizer, entity, text, windows) == whole
    return whole


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.ENTITY)
def test_screen_windows_give_the_same_results_as_the_whole_text(cls: type[SecretPatternRecognizer]) -> None:
    recognizer = cls()
    rng = random.Random(f"screen-{cls.__name__}")
    fake = Faker()
    fake.seed_instance(f"screen-{cls.__name__}")
    positives = examples(cls, count=12, seed=2)
    for round_ in range(6):
        chosen = rng.sample(positives, k=1 + round_ % 3)
        text = embed(rng, fake, [piece for piece, _ in chosen])
        whole = assert_screen_is_sound(recognizer, cls.ENTITY, text)
        assert {text[start:end] for start, end, _ in whole} >= {secret for _, secret in chosen}
    for text in negatives(cls):
        assert_screen_is_sound(recognizer, cls.ENTITY, embed(rng, fake, [text, text]))


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.ENTITY)
def test_screen_stays_sound_when_secrets_touch_their_neighbours(cls: type[SecretPatternRecognizer]) -> None:
    """Secrets glued to each other and to punctuation: windows merge, boundaries sit at the edges."""
    recognizer = cls()
    pieces = [piece for example in examples(cls, count=2, seed=3) for piece in example]
    for glue in ("", " ", "\n", ",", "=", "\\n", "x"):
        for text in (glue.join(pieces), glue + glue.join(pieces) + glue, f"({pieces[0]}){pieces[1]}"):
            assert_screen_is_sound(recognizer, cls.ENTITY, text)


def test_no_screen_fires_on_ordinary_prose() -> None:
    fake = Faker()
    fake.seed_instance(11)
    text = filler(fake) * 4
    for recognizer in secret_recognizers():
        assert recognizer.screen.windows(text) == []  # type: ignore[attr-defined]
        assert recognizer.analyze(text, recognizer.supported_entities) == []


def test_entropy_screen_finds_tokens_whose_only_digit_is_at_either_end() -> None:
    """The entropy seed is a digit with 16 token characters after it or before it: both ends count."""
    rng = random.Random(17)
    recognizer = HighEntropyTokenRecognizer()
    letters = string.ascii_letters + "+/"
    for token in (
        pick(rng, letters, 39) + "7",
        "7" + pick(rng, letters, 39),
        pick(rng, letters, 16) + "7" + pick(rng, letters, 23),
    ):
        text = f"token: {token}\n"
        assert assert_screen_is_sound(recognizer, "HIGH_ENTROPY_TOKEN", text) == {(7, 47, 0.6)}, token
