"""Deterministic generator of the labelled DLP corpus, tests/data/dlp_corpus.jsonl (`--check`: exit 1 if stale).

- 200 records: 160 of ~1 KB (serialised payload 900-1,200 bytes), 40 of ~10 KB (9,000-11,000); 70 plant nothing.
  Ingress payloads are tool-call arguments (paths from `$`), egress ones tool results (from `content`). Realistic
  traffic, not a PII soup: notes, emails, access/app logs, .env/YAML/JSON config, Python/JS source, customer, ledger
  or variable rows (as rows, JSON text or CSV), search hits; benign look-alikes everywhere (UUIDs, git SHAs, SHA-256
  digests, 3-part versions, ISO dates, prices, order numbers, Unix times, file paths, dotted module names).
- Planted values use formats Presidio 2.2.366 detects (phones valid per `phonenumbers`, SSNs in issued ranges,
  Luhn-valid cards, mod-97-valid IBANs, base58check/bech32 Bitcoin addresses, Faker emails/URLs/IPs) and the DLP
  recognizers' secret formats. Types come from shuffled decks (each planted about equally often), in several
  positions: a whole leaf, after `=`, in quotes, at a file's end, in CRLF files, in JSON that is itself a leaf's text.
- Labels are computed: each string leaf of the finished payload is searched for each value planted in the record;
  each (leaf, value) found is one `planted` entry, `value` being the exact substring. Seeded (`Faker.seed`,
  `random.Random`), no clock-dependent Faker calls: the same bytes on every run.
"""

import argparse
import base64
import hashlib
import json
import math
import random
import re
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import phonenumbers
from faker import Faker

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "dlp_corpus.jsonl"
SEED, SIZES = 20240517, {"1k": (900, 1200), "10k": (9000, 11000)}
DIGITS, UPPER = "0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ALNUM = UPPER + UPPER.lower() + DIGITS
PII = ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN", "CRYPTO", "URL"]
NAMES = {"AWS_ACCESS_KEY": "AWS_ACCESS_KEY_ID", "GITHUB_TOKEN": "GITHUB_TOKEN gh_token", "JWT": "id_token auth_token"}
NAMES |= {"AWS_SECRET_KEY": "AWS_SECRET_ACCESS_KEY aws_secret_access_key SecretAccessKey aws_secret_key"}
NAMES |= {"SLACK_TOKEN": "SLACK_BOT_TOKEN", "OPENAI_API_KEY": "OPENAI_API_KEY", "PRIVATE_KEY": "PRIVATE_KEY tls_key"}
NAMES |= {"ANTHROPIC_API_KEY": "ANTHROPIC_API_KEY", "HIGH_ENTROPY_TOKEN": "SESSION_SECRET api_token signing_key"}
BAD = ("078-05-1120", "219-09-9999", "123-45-6789")  # published sample SSNs, never to be planted
PEM = {"PRIVATE KEY": 48, "EC PRIVATE KEY": 121, "RSA PRIVATE KEY": 1192, "OPENSSH PRIVATE KEY": 1250}  # key bytes
# Templates: {{ENTITY}} is a planted value, {{#%}} digits (Faker numerify), other {{name}}s Gen.filler or Faker.
LEAKS = ["Please use {{EMAIL_ADDRESS}} for follow-ups.", "Call back on {{PHONE_NUMBER}}.", "Wire it to {{IBAN_CODE}}."]
LEAKS += ["The caller read out card {{CREDIT_CARD}}.", "The 401s came from {{IP_ADDRESS}}.", "SSN {{US_SSN}} matches."]
LEAKS += ["They want BTC sent to {{CRYPTO}}.", "Background: {{URL}}", "Demo credentials (rotate!): {{env_secret}}"]
BENIGN = ["Deployed {{#}}.{{%#}}.{{#}} (commit {{sha1}}) on {{date}}.", "Request {{uuid4}} took {{%##}} ms."]
BENIGN += ["Order ORD-{{%#####}} was refunded ${{%,###}}.{{##}} on {{date}}.", "See {{file_path}} and {{module}}."]
BENIGN += ["The release digest is sha256:{{sha256}}.", "Invoice INV-2024-{{#####}} is due {{date}}."]
APP_LOG = ["request_id={{uuid4}} tool=fs.read_file duration_ms={{%##}}", "cache miss key=sha256:{{sha256}}"]
APP_LOG += ["deployed version={{#}}.{{%}}.{{#}} commit={{sha1}}", "order SO-{{%#####}} settled at={{unix}}"]
APP_LEAKS = ["login failed user={{EMAIL_ADDRESS}} ip={{IP_ADDRESS}}", "headers={'Authorization': 'Bearer {{JWT}}'}"]
APP_LEAKS = ["{{ts}} WARN {{module}} " + m for m in [*APP_LEAKS, "settings reloaded: {{env_secret}}"]]
ACCESS = ['{{IP_ADDRESS}} - - [{{clf}}] "GET /api/v1/orders/{{%#####}} HTTP/1.1" 200 {{%###}} "-" "curl/8.5.0"']
ACCESS += ['{{IP_ADDRESS}} - - [{{clf}}] "POST /login HTTP/1.1" 302 {{%##}} "{{URL}}" "Go-http-client/2.0"']
ACCESS += ['{{IP_ADDRESS}} - - [{{clf}}] "GET /app.{{%#}}.js HTTP/1.1" 304 0 "-" "Mozilla/5.0 (X11; Linux)"']
SETTINGS = "port={{%###}} pool_size={{%#}} log_level=info region=eu-west-1 version={{#}}.{{%}}.{{#}} enabled=true"
SETTINGS += " build_sha={{sha1}} checksum=sha256:{{sha256}} instance_id={{uuid4}} handler={{module}}:{{word}}"
SETTINGS += " data_dir=/var/lib/{{word}} updated={{ts}} timeout_ms={{%###}} release_date={{date}}"
SETTING = [("{{section}}_" + kv).split("=", 1) for kv in SETTINGS.split()]  # [["{{section}}_port", "{{%###}}"], ...]
GREP = ["import {{module}}", "def {{word}}(self) -> None:", '"commit": "{{sha1}}",', "-----BEGIN PRIVATE KEY-----"]
GREP += ['EXPECTED_SHA256 = "{{sha256}}"', "# TODO: {{sentence}}", 'TENANT = UUID("{{uuid4}}")', *SETTINGS.split()]
PY = ['\ndef {{word}}_{{word}}(path: str) -> dict:\n    """{{sentence}}"""\n    return json.load(open(path))\n']
PY += ['\ndef {{word}}(rows: list) -> float:\n    # {{sentence}}\n    return sum(r["{{word}}"] for r in rows)\n']
JS = ["\nexport async function {{word}}(id) {\n  // {{sentence}}\n  return (await fetch(`/v1/${id}`)).json();\n}\n"]
JS += ['\nconst {{word}}Defaults = { retries: {{%}}, tenant: "{{uuid4}}", since: "{{date}}" };\n']
MAIL = "From: {{name}} <{{EMAIL_ADDRESS}}>\nTo: {{EMAIL_ADDRESS}}\nDate: {{rfc_date}}\nSubject: {{sentence}}\n\n"
PARAS = ["{{paragraph}} " + b for b in BENIGN]
TEXT = {"md": ("notes/{{word}}.md", "# {{sentence}}\n\n", "\n\n", "", PARAS)}  # (path, head, joiner, tail, units)
TEXT |= {"mail": ("mail/{{uuid4}}.eml", MAIL, "\n\n", "\n\n--\n{{name}}\n{{job}}\n{{PHONE_NUMBER}}\n{{URL}}", PARAS)}
TEXT |= {"log": ("logs/app.log", "", "\n", "", ["{{ts}} INFO {{module}} " + m for m in APP_LOG])}
TEXT |= {"access": ("logs/access.log", "", "\n", "", ACCESS), "json": ("config/{{word}}.json", "{\n", ",\n", "\n}", [])}
TEXT |= {"env": (".env", "# {{sentence}}\n", "\n", "", []), "yaml": ("app.yaml", "# {{sentence}}\n", "\n", "", [])}
TEXT |= {"py": ("src/{{word}}.py", 'import json\nimport {{module}}\n\nBUILD = "{{sha1}}"\n', "\n", "", PY)}
TEXT |= {"js": ("app.js", 'import { {{word}} } from "./lib.js";\nconst V = "{{#}}.{{%}}.{{#}}";\n', "\n", "", JS)}
PERSON = {"id": "{{#####}}", "name": "{{name}}", "email": "{{EMAIL_ADDRESS}}", "since": "{{date}}"}
ROW_PII = {"phone": "{{PHONE_NUMBER}}", "card": "{{CREDIT_CARD}}", "iban": "{{IBAN_CODE}}", "ssn": "{{US_SSN}}"}
ROW_PII |= {"btc_wallet": "{{CRYPTO}}", "website": "{{URL}}", "last_ip": "{{IP_ADDRESS}}"}
LEDGER = {"date": "{{date}}", "order_no": "ORD-{{%#####}}", "qty": "{{%}}", "amount": "{{%###}}.{{##}}"}
LEDGER |= {"currency": "EUR", "ref": "17{{########}}", "posted_at": "{{ts}}"}
DECKS = {"pii": PII, "secret": list(NAMES), "column": list(ROW_PII)}  # see Gen.pick
ODD_KEYS = {"name": "Full Name", "email": "E-mail", "phone": "Phone #", "card": "Card Number", "website": "Web Site"}
MODULES = ["os.path", "collections.abc", "urllib.parse", "mcp_gateway.dlp.screens", "cells.fs.tools", "yaml.loader"]
TIMES = {"date": "%Y-%m-%d", "ts": "%Y-%m-%dT%H:%M:%SZ", "clf": "%d/%b/%Y:%H:%M:%S %z"}  # {{name}}: strftime format
TIMES |= {"rfc_date": "%a, %d %b %Y %H:%M:%S %z"}
SECTIONS = ["server", "database", "cache", "auth", "billing", "storage", "queue", "telemetry", "mail", "search"]
# k = v per file style: (one-line v, PEM v keeping its newlines where quotes allow, PEM v as one JSON string)
LINE = {"env": ("{k}={v}", '{k}="{v}"', "{k}={j}"), "yaml": ("{k}: {v}", "{k}: {j}", "{k}: {j}")}
LINE |= {"json": ('  "{k}": {j}',) * 3, "py": ('{k} = "{v}"', '{k} = """{v}"""', "{k} = {j}")}
LINE |= {"js": ("const {k} = '{v}';", "const {k} = `{v}`;", "const {k} = {j};")}
SHAPES = {"md": (2, 3), "mail": (2, 0), "log": (2, 2), "access": (2, 0), "env": (2, 1), "yaml": (1, 1), "json": (2, 1)}
SHAPES |= {"py": (2, 1), "js": (1, 1), "rows": (5, 4), "search": (2, 2)}  # style: weights (planting, clean)


def bitcoin(kind: float, payload: bytes) -> str:  # base58check P2PKH "1...", P2SH "3..." or bech32 P2WPKH "bc1q..."
    if kind < 0.2:  # BIP-173: hrp "bc", witness version 0, the program in 5-bit groups, 6-group checksum
        chk, data = 1, [0] + [int.from_bytes(payload, "big") >> 5 * i & 31 for i in reversed(range(32))]
        for v in [3, 3, 0, 2, 3] + data + [0] * 6:  # [3, 3, 0, 2, 3] is the hrp "bc" expanded
            top, chk = chk >> 25, (chk & 0x1FFFFFF) << 5 ^ v
            for i, gen in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
                chk ^= gen if top >> i & 1 else 0
        checksum = [(chk ^ 1) >> 5 * i & 31 for i in (5, 4, 3, 2, 1, 0)]
        return "bc1" + "".join("qpzry9x8gf2tvdw0s3jn54khce6mua7l"[d] for d in data + checksum)
    raw = bytes([0 if kind < 0.6 else 5]) + payload
    n, out = int.from_bytes(raw + hashlib.sha256(hashlib.sha256(raw).digest()).digest()[:4], "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"[r] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


def card_number(prefix: str, digits: str) -> str:  # prefix, digits, Luhn check digit: 15 digits for Amex, else 16
    body = (prefix + digits)[: 14 if prefix[0] == "3" else 15]
    return body + str(-sum(int(c) * 2 - 9 * (c > "4") if i % 2 == 0 else int(c) for i, c in enumerate(body[::-1])) % 10)


VALID = {  # filters on generated values (Gen.put); SSNs: issued ranges only, none of the famous sample numbers
    "PHONE_NUMBER": lambda s: phonenumbers.is_valid_number(phonenumbers.parse(s, "US")),
    "US_SSN": lambda s: s < "9" and "000" != s[:3] != "666" and "-00-" not in s and s[7:] != "0000" and s not in BAD,
    "IBAN_CODE": lambda s: int("".join(str(int(c, 36)) for c in (s[4:] + s[:4]).replace(" ", ""))) % 97 == 1,
    "URL": lambda s: ".biz/" not in s,  # Presidio's URL pattern knows no .biz
    "HIGH_ENTROPY_TOKEN": lambda s: (  # >= 4.2 bits/char, mixing upper case, lower case and digits
        -sum(n / len(s) * math.log2(n / len(s)) for n in Counter(s).values()) >= 4.2
        and len({c.isupper() - c.islower() for c in s}) == 3
    ),
}


def line(style: str, k: str, v: str, flat: bool = False) -> str:  # k = v as in a file of `style`: see LINE
    return LINE[style][0 if "\n" not in v else 2 if flat else 1].format(k=k, v=v, j=json.dumps(v))


def result(text: str, structured: dict | None = None) -> dict:
    return {"content": [{"type": "text", "text": text}]} | ({"structuredContent": structured} if structured else {})


class Gen:  # seeded sources; `plants`: (entity, value) made for the record being built
    def __init__(self) -> None:
        Faker.seed(SEED)
        self.fake = Faker(["en_US", "en_GB", "de_DE", "fr_FR", "nl_NL", "es_ES"])
        self.f, self.rng, self.clock = self.fake["en_US"], random.Random(SEED), datetime(2024, 3, 1, 8, tzinfo=UTC)
        self.decks, self.plants, self.clean, self.size = {}, [], False, "1k"
        f, r, t, tick = self.f, self.rng, self.tok, self.tick
        self.filler = {"module": lambda: r.choice(MODULES), "section": lambda: r.choice(SECTIONS)}  # {{name}}s
        self.filler |= {name: (lambda fmt=fmt: tick().strftime(fmt)) for name, fmt in TIMES.items()}
        self.filler |= {"unix": lambda: str(int(tick().timestamp())), "env_secret": lambda: self.assign("env", True)}
        phones = ["(%##) %##-####", "%##-%##-####", "+1 %## %## ####", "%##.%##.####"] * 6  # 1 in 7 is UK/DE:
        phones += ["+44 20 7### ####", "+44 7%## ######", "+49 30 %#######", "+49 151 %#######"]
        ibans = [self.fake[locale].iban for locale in ("en_GB", "de_DE", "fr_FR", "nl_NL", "es_ES")]
        card, hook = ["4", "4", "51", "52", "53", "54", "55", "34", "37"], "https://hooks.slack.com/services/T{}/B{}/{}"
        self.make: dict[str, Callable[[], str]] = {  # a generator per planted entity type
            "EMAIL_ADDRESS": f.email,
            "PHONE_NUMBER": lambda: f.numerify(r.choice(phones)),
            "CREDIT_CARD": lambda: self.groups(card_number(r.choice(card), t(15, DIGITS))),
            "IBAN_CODE": lambda: self.groups(r.choice(ibans)()),
            "IP_ADDRESS": lambda: f.ipv6() if r.random() < 0.25 else f.ipv4_public(),
            "US_SSN": lambda: f.numerify("###-##-####"),
            "CRYPTO": lambda: bitcoin(r.random(), r.randbytes(20)),
            "URL": lambda: f.url() + r.choice(["", "", f.uri_path()]),
            "AWS_ACCESS_KEY": lambda: r.choice(["AKIA", "AKIA", "ASIA"]) + t(16, UPPER + "234567"),
            "AWS_SECRET_KEY": lambda: t(40, ALNUM + "/+"),
            "GITHUB_TOKEN": lambda: r.choice([f"ghp_{t(36)}", f"gho_{t(36)}", f"github_pat_11{t(22)}_{t(59)}"]),
            "SLACK_TOKEN": lambda: r.choice(["xoxb-{}-{}-{}", hook]).format(t(11, DIGITS), t(13, DIGITS), t(24)),
            "OPENAI_API_KEY": lambda: r.choice(["sk-", "sk-proj-", "sk-svcacct-"]) + f"{t(40)}T3BlbkFJ{t(40)}",
            "ANTHROPIC_API_KEY": lambda: f"sk-ant-{r.choice(['api03', 'admin01'])}-{t(93, ALNUM + '-_')}AA",
            "JWT": self.jwt,
            "PRIVATE_KEY": self.private_key,
            "HIGH_ENTROPY_TOKEN": lambda: t(40),
        }

    def tok(self, n: int, alphabet: str = ALNUM) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def tick(self) -> datetime:  # one clock for all timestamps, so log lines come in order
        self.clock += timedelta(milliseconds=self.rng.randint(5, 1_800_000))
        return self.clock

    def groups(self, s: str) -> str:  # card numbers, IBANs: one run or groups of 4 (cards: also with dashes)
        return self.rng.choice(["", "", " ", "-" if s.isdigit() else " "]).join(textwrap.wrap(s, 4))

    def maybe(self, p: float) -> bool:
        return not self.clean and self.rng.random() < p

    def pick(self, kind: str) -> str:  # the next card of a shuffled DECKS[kind]: each is drawn about equally often
        deck = self.decks.setdefault(kind, [])
        deck.extend([] if deck else self.rng.sample(DECKS[kind], len(DECKS[kind])))
        return deck.pop()

    def put(self, entity: str) -> str:  # a new value of `entity` that passes its VALID filter, recorded as planted
        while not VALID.get(entity, bool)(value := self.make[entity]()):
            pass
        self.plants.append((entity, value))
        return value

    def fill(self, template: str) -> str:
        def one(name: str) -> str:
            if name in self.make:
                return self.put(name)
            return self.f.numerify(name) if name[0] in "#%" else (self.filler.get(name) or getattr(self.f, name))()

        return re.sub(r"\{\{([^{}]+)\}\}", lambda m: one(m[1]), template)

    def jwt(self) -> str:  # base64url header and claims (JSON), random signature
        iat = int(self.tick().timestamp())
        claims = {"sub": f"usr_{self.tok(12)}", "name": self.f.name(), "iat": iat, "exp": iat + 3600}
        parts = [json.dumps(o, separators=(",", ":")).encode() for o in ({"alg": "HS256", "typ": "JWT"}, claims)]
        return ".".join([base64.urlsafe_b64encode(p).decode().rstrip("=") for p in parts] + [self.tok(43)])

    def private_key(self) -> str:
        label = self.rng.choice(list(PEM)[:2] if self.size == "1k" else list(PEM))
        body = base64.b64encode(self.rng.randbytes(PEM[label])).decode()
        return "\n".join([f"-----BEGIN {label}-----", *textwrap.wrap(body, 64), f"-----END {label}-----"])

    def secrets(self) -> list[tuple[str, str]]:  # (name, value) of the next secret type; AWS: key id and secret key
        entity = self.pick("secret")
        pairs = [(self.rng.choice(NAMES[entity].split()), entity)]
        pairs += [("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY")] if entity == "AWS_ACCESS_KEY" else []
        return [(k, self.put(e)) for k, e in pairs]

    def assign(self, style: str, flat: bool = False) -> str:  # the next secret or (1 in 4) a PII value, as `line`s
        column = self.pick("column")
        pairs = self.secrets() if self.rng.random() < 0.75 else [("test_" + column, self.fill(ROW_PII[column]))]
        return (",\n" if style == "json" else "\n").join(line(style, k, v, flat) for k, v in pairs)

    def leak(self) -> str:  # a sentence giving away the next PII type of the deck or, 1 in 4, a secret
        entity = self.pick("pii") if self.rng.random() < 0.75 else "env_secret"
        return self.fill(next(t for t in LEAKS if entity in t))


def text(g: Gen, d: str, style: str) -> tuple:  # (unit, render) for `build`: a file written (ingress) or read
    path, head, joiner, tail = (g.fill(part) for part in TEXT[style][:4])
    units = TEXT[style][4] or [line(style, k, v) for k, v in SETTING]
    p, crlf = 0.3 if g.size == "1k" else 0.05, style in ("env", "yaml", "py") and g.rng.random() < 0.2  # Windows

    def unit() -> str:
        filler = g.fill(g.rng.choice(units))
        if style == "access" or not g.maybe(p):
            return filler
        if style in ("md", "mail"):
            return f"{filler} {g.leak()}"
        return g.fill(g.rng.choice(APP_LEAKS)) if style == "log" else g.assign(style)

    def render(parts: list) -> dict:
        body = (head + joiner.join(parts) + tail).replace("\n", "\r\n" if crlf else "\n")
        return {"path": path, "content": body} if d == "ingress" else result(body)

    return unit, render


def rows(g: Gen, d: str) -> tuple:  # customers or variables when planting, else a ledger
    kind = "ledger" if g.clean else g.rng.choice(["customers", "customers", "variables"])
    cols = LEDGER if g.clean else PERSON | {k: ROW_PII[k] for k in (g.pick("column"), g.pick("column"))}
    odd, mode = g.rng.random() < 0.3, g.rng.randrange(4)

    def unit() -> list[dict]:
        if kind == "variables":  # (an AWS secret key alone in a leaf would be undetectable: left out)
            pairs = g.secrets() if g.maybe(0.4) else [(g.fill(k), g.fill(v)) for k, v in [g.rng.choice(SETTING)]]
            return [{"name": k, "value": v, "env": "prod"} for k, v in pairs if k not in NAMES["AWS_SECRET_KEY"]]
        row = {ODD_KEYS.get(k, k) if odd else k: g.fill(v) for k, v in cols.items()}
        return [{k: int(v) if v.isdigit() and len(v) < 12 else v for k, v in row.items()}]  # ids: JSON numbers

    def render(units: list) -> dict:
        table = [row for u in units for row in u]
        if d == "ingress":
            return {"table": kind, "rows": table}
        if mode == 3:
            return result("\n".join(",".join(map(str, r)) for r in [list(table[0]), *(r.values() for r in table)]))
        sc = {kind: table, "total": len(table)}
        return result(json.dumps(sc) if mode else f"{len(table)} rows from {kind}.", sc if mode < 2 else None)

    return unit, render


def search(g: Gen, d: str) -> tuple:  # grep-like hits: path, line number, snippet
    def unit() -> list[dict]:
        ext, start = g.rng.choice(["py", "ts", "yaml", "env", "json"]), g.rng.randint(1, 400)
        hit = g.assign({"ts": "js"}.get(ext, ext), flat=True) if g.maybe(0.3) else g.fill(g.rng.choice(GREP))
        path = g.f.file_path(depth=2, extension=ext)
        return [{"path": path, "line": start + i, "snippet": s.strip()} for i, s in enumerate(hit.split("\n"))]

    def render(units: list) -> dict:
        hits = [h for u in units for h in u]
        return result("\n".join(f"{h['path']}:{h['line']}: {h['snippet']}" for h in hits), {"matches": hits})

    return unit, render


def build(unit: Callable[[], object], render: Callable[[list], dict], lo: int, hi: int) -> dict | None:
    """Add `unit()`s while `render(units)`, serialised, stays within `hi`, until it reaches `lo` (None: gave up)."""
    items: list = []
    for _ in range(300):
        payload = render([*items, u := unit()])
        if (n := len(json.dumps(payload, ensure_ascii=False).encode())) <= hi:
            items.append(u)
            if n >= lo:
                return payload
    return None


def leaves(node: object, path: str) -> Iterator[tuple[str, str]]:  # (path, text) per string leaf: .k ["k"] [i]
    if isinstance(node, str):
        yield path, node
    for k, child in node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []:
        key = f"[{k}]" if isinstance(k, int) else (f".{k}" if path else k) if k.isidentifier() else json.dumps([k])
        yield from leaves(child, path + key)


def label(payload: dict, plants: list[tuple[str, str]], root: str) -> Iterator[dict]:
    for path, leaf in leaves(payload, root):
        for entity, value in dict.fromkeys(plants):  # as planted, escaped in JSON text, in a CRLF file
            forms = (value, json.dumps(value)[1:-1], value.replace("\n", "\r\n"))
            if form := next((f for f in forms if f in leaf), None):
                yield {"entity": entity, "path": path, "value": form}


def corpus() -> list[dict]:
    g, out = Gen(), []
    sizes, cleans = g.rng.sample(["1k"] * 160 + ["10k"] * 40, 200), g.rng.sample([True] * 70 + [False] * 130, 200)
    for i, (size, clean) in enumerate(zip(sizes, cleans, strict=True), 1):
        style = g.rng.choices(list(SHAPES), [w[clean] for w in SHAPES.values()])[0]
        d = "egress" if style == "search" or g.rng.random() < 0.6 else "ingress"
        g.clean, g.size, payload, planted = clean, size, None, []
        while payload is None or bool(planted) == clean:  # retry: did not fit the band, or planted nothing
            g.plants = []
            shape = rows(g, d) if style == "rows" else search(g, d) if style == "search" else text(g, d, style)
            payload = build(*shape, g.rng.randint(SIZES[size][0], sum(SIZES[size]) // 2), SIZES[size][1])
            planted = list(label(payload, g.plants, "$" if d == "ingress" else "")) if payload else []
        out.append(
            {"id": f"c{i:04d}", "size": size, "shape": style, "direction": d, "payload": payload, "planted": planted}
        )
    counts = Counter(p["entity"] for r in out for p in r["planted"])
    assert min(counts[e] for e in PII + list(NAMES)) >= 15, f"an entity type is planted fewer than 15 times: {counts}"
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed corpus differs")
    check, data = parser.parse_args().check, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in corpus())
    if not check:
        OUT.write_text(data, encoding="utf-8")
    elif not OUT.exists() or OUT.read_text(encoding="utf-8") != data:
        print(f"{OUT} differs from what bench/dlp_corpus.py generates: rerun python -m bench.dlp_corpus")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
