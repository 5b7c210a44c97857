"""Presidio recognizers for vendor secret formats (cloud keys, API tokens, JWTs, PEM private keys).

These formats have fixed prefixes and alphabets (see the secret formats spec), so a plain
regex per format is precise enough to score near 1.0, and each has a literal seed for its
`Screen`: the fast scanner only runs a recognizer on the few windows around its seed. Every
pattern is written so that the screen stays a necessary condition:

- a match consists only of characters of the screen's `run` class (`\\S` for tokens, a line
  for AWS secret keys, the PEM alphabet for private keys);
- look-arounds and `\\b` look at most one character outside the match (the screen's margin);
- no `^`/`$` anchors (a window boundary must not look like a line boundary).

Matching is case-sensitive (`global_regex_flags=0`): Presidio's default IGNORECASE would turn
`[A-Z0-9]{16}` into any alphanumeric run and make `AKIA` match `akia`.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import ClassVar

from presidio_analyzer import Pattern, PatternRecognizer

from mcp_gateway.dlp.screens import LINE_RUN, TOKEN_RUN, Screen, screen

PEM_RUN = r"[A-Za-z0-9+/=\\:, \t\r\n-]"
"""Every character a PEM block may hold: base64, header words, `Proc-Type: 4,ENCRYPTED` and
`DEK-Info: AES-128-CBC,<hex>` lines, spaces, CR/LF and the backslash of JSON-escaped `\\n`."""


class SecretPatternRecognizer(PatternRecognizer):
    """A case-sensitive, English-only `PatternRecognizer` for one entity, carrying its `Screen`.

    Subclasses declare their entity, patterns `(name, regex, score)` and screen as class
    attributes; each instance builds fresh `Pattern`s (Presidio caches compiled regexes on them).
    Results are dropped through `invalidate_result` rather than `validate_result`, because a
    positive validation would overwrite the declared score with 1.0.
    """

    ENTITY: ClassVar[str]
    PATTERNS: ClassVar[tuple[tuple[str, str, float], ...]]
    SEED: ClassVar[str]
    RUN: ClassVar[str] = TOKEN_RUN
    MARGIN: ClassVar[int] = 1

    def __init__(self) -> None:
        super().__init__(
            supported_entity=self.ENTITY,
            name=type(self).__name__,
            supported_language="en",
            patterns=[Pattern(name, regex, score) for name, regex, score in self.PATTERNS],
            global_regex_flags=0,
        )
        self.screen: Screen = screen(self.SEED, self.RUN, margin=self.MARGIN)


class AwsAccessKeyRecognizer(SecretPatternRecognizer):
    """AWS access key ids: a 4-letter type prefix and 16 upper-case alphanumerics."""

    ENTITY = "AWS_ACCESS_KEY"
    PATTERNS = (("aws_access_key_id", r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b", 0.95),)
    SEED = r"A(?:KIA|SIA|BIA|CCA)"


class AwsSecretKeyRecognizer(SecretPatternRecognizer):
    """AWS secret access keys: 40 base64-ish characters, only when the same line names the key.

    Alone, 40 random characters are indistinguishable from any other token, so the key name is
    required; it sits in a look-behind so that the finding spans only the value. The window is
    the whole line, which holds both the key name (the seed) and the value.
    """

    ENTITY = "AWS_SECRET_KEY"
    _KEY_NAME = r"(?i:aws_secret_access_key|aws_secret_key|secretaccesskey)"
    _QUOTE = r"""(?:\\?["'])?"""
    PATTERNS = (
        (
            "aws_secret_access_key",
            rf"(?<={_KEY_NAME}{_QUOTE}[ \t]*[:=][ \t]*{_QUOTE})[A-Za-z0-9/+]{{40}}(?![A-Za-z0-9/+=])",
            0.95,
        ),
    )
    # The key name less its first letters: a seed starting with a character class is scanned in C, while
    # `(?i)secret...` is tried at every position (twice the cost).
    SEED = r"[cC](?i:ret_?(?:access_?)?key)"
    RUN = LINE_RUN


class GitHubTokenRecognizer(SecretPatternRecognizer):
    """GitHub personal, OAuth, user-to-server, server-to-server, refresh and fine-grained tokens."""

    ENTITY = "GITHUB_TOKEN"
    PATTERNS = (
        ("github_classic", r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b", 1.0),
        ("github_fine_grained", r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b", 1.0),
    )
    SEED = r"g(?:h[pousr]_|ithub_pat_)"


class SlackTokenRecognizer(SecretPatternRecognizer):
    """Slack bot/user/app/refresh tokens (`xox?-`) and incoming-webhook URLs."""

    ENTITY = "SLACK_TOKEN"
    PATTERNS = (
        ("slack_token", r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}", 0.95),
        ("slack_webhook", r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+", 0.95),
    )
    # Both forms hold an "o": a seed led by one literal is searched with memchr, an alternation char by char.
    SEED = r"o(?:(?<=xo)x[abposr]-|(?<=ho)oks\.slack\.com/services/)"


class OpenAIKeyRecognizer(SecretPatternRecognizer):
    """OpenAI API keys: `sk-`, optional `proj-`/`svcacct-`/`admin-`, 20+ key characters.

    `sk-ant-` is Anthropic's prefix and is excluded. A body made only of lower-case letters,
    `-` and `_` is a slug (`sk-learn-compatible-estimators`), not a key: random keys mix
    cases and digits, so dropping those costs nothing real.
    """

    ENTITY = "OPENAI_API_KEY"
    PATTERNS = (
        (
            "openai_api_key",
            r"(?<![A-Za-z0-9_-])sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",
            0.95,
        ),
    )
    SEED = r"sk-"

    def invalidate_result(self, pattern_text: str) -> bool | None:
        body = pattern_text[3:]
        return not any(char.isupper() or char.isdigit() for char in body)


class AnthropicKeyRecognizer(SecretPatternRecognizer):
    """Anthropic API and admin keys: `sk-ant-api03-…` / `sk-ant-admin01-…` (~108 characters)."""

    ENTITY = "ANTHROPIC_API_KEY"
    PATTERNS = (("anthropic_api_key", r"(?<![A-Za-z0-9_-])sk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_-]{80,}", 1.0),)
    SEED = r"sk-ant-"


class JwtRecognizer(SecretPatternRecognizer):
    """JSON Web Tokens (JWS compact form): `eyJ…`.`eyJ…`.signature, header holding "alg".

    Both the header and the payload start with `eyJ` (base64url of `{"`); the header must
    decode to a JSON object with an "alg" member, which rules out look-alike dotted strings.
    """

    ENTITY = "JWT"
    PATTERNS = (
        (
            "jwt",
            r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{10,}",
            0.95,
        ),
    )
    SEED = r"eyJ"

    def invalidate_result(self, pattern_text: str) -> bool | None:
        return not jwt_header_has_alg(pattern_text.split(".", 1)[0])


def jwt_header_has_alg(segment: str) -> bool:
    """Whether a base64url JWT header segment decodes to a JSON object with an "alg" member."""
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):  # bad base64, bad UTF-8 or bad JSON
        return False
    return isinstance(header, dict) and "alg" in header


class PrivateKeyRecognizer(SecretPatternRecognizer):
    """PEM private key blocks (RSA, EC, DSA, OPENSSH, ENCRYPTED, PKCS#8), BEGIN line to END line.

    The block spans lines, so the screen's run is the PEM alphabet (`PEM_RUN`) rather than a
    token or a line; the body is matched with the same class, so the whole block always lies
    in one window. The lazy body stops at the first END line.
    """

    ENTITY = "PRIVATE_KEY"
    PATTERNS = (
        (
            "pem_private_key",
            rf"-----BEGIN [A-Z ]*PRIVATE KEY-----{PEM_RUN}*?-----END [A-Z ]*PRIVATE KEY-----",
            1.0,
        ),
    )
    SEED = r"PRIVATE KEY"
    RUN = PEM_RUN


VENDOR_RECOGNIZERS: tuple[type[SecretPatternRecognizer], ...] = (
    AwsAccessKeyRecognizer,
    AwsSecretKeyRecognizer,
    GitHubTokenRecognizer,
    SlackTokenRecognizer,
    OpenAIKeyRecognizer,
    AnthropicKeyRecognizer,
    JwtRecognizer,
    PrivateKeyRecognizer,
)
