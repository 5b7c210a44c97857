"""Benchmark: releasing a secret from the encrypted store.

    uv run python bench/bench_secrets.py [--samples N] [--json]

Measures, on a store in a temporary state dir with a key file and 100 secrets:
  * reading one secret's file (open + read, no parsing);
  * decrypting its ciphertext with a ready AESGCM object, and through the store's `Cipher`
    (base64 decoding and the associated data included);
  * parsing the file's JSON into a record;
  * `SecretStore.get` end to end, warm (the path each release takes), and cold (a new store per
    sample: the key file read, HKDF and the AESGCM set-up included);
  * `SecretStore.set` (an atomic, fsync'd write under the writers' lock).
A benchmark, not a test: it reports figures and never judges them. Progress goes to stderr, so
`--json` leaves exactly one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import base64
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.stats import percentile  # noqa: E402
from mcp_gateway.secrets.masterkey import MasterKeySources  # noqa: E402
from mcp_gateway.secrets.record import SEAL_LABEL, Cipher, Record, associated_data  # noqa: E402
from mcp_gateway.secrets.sources import FileKeySource  # noqa: E402
from mcp_gateway.secrets.store import SecretStore  # noqa: E402

SECRETS = 100
NAME = "secret_042"


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timed(samples: int, call: Callable[[], object]) -> dict[str, float]:
    durations: list[float] = []
    for _ in range(samples):
        start = time.perf_counter()
        call()
        durations.append(time.perf_counter() - start)
    return {"p50_us": percentile(durations, 50) * 1e6, "p99_us": percentile(durations, 99) * 1e6, "samples": samples}


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as temp:
        state_dir = Path(temp)

        def open_store() -> SecretStore:
            return SecretStore(state_dir, MasterKeySources([FileKeySource(state_dir / "master.key")]))

        store = open_store()
        progress(f"storing {SECRETS} secrets ...")
        for i in range(SECRETS):
            store.set(f"secret_{i:03d}", f"ghp_{i:04d}" + "x" * 36)
        path = store.directory.file(NAME)
        record = Record.model_validate_json(path.read_bytes())
        master = FileKeySource(state_dir / "master.key").load()
        assert master is not None
        aead = AESGCM(master.derive(SEAL_LABEL))
        cipher = Cipher(master)
        nonce, sealed = base64.b64decode(record.nonce), base64.b64decode(record.ciphertext)
        aad = associated_data(record.version, record.name)
        raw = path.read_bytes()

        def read_file() -> bytes:
            with open(path, "rb") as handle:
                return handle.read()

        results: dict[str, Any] = {}
        progress(f"{args.samples} samples each ...")
        results["read_file"] = timed(args.samples, read_file)
        results["aesgcm_decrypt"] = timed(args.samples, lambda: aead.decrypt(nonce, sealed, aad))
        results["cipher_open"] = timed(args.samples, lambda: cipher.open(record, NAME, "bench"))
        results["parse_record"] = timed(args.samples, lambda: Record.model_validate_json(raw))
        store.get(NAME)  # the store's cipher is built on first use
        results["get_warm"] = timed(args.samples, lambda: store.get(NAME))
        slow = max(20, args.samples // 20)
        results["get_cold"] = timed(slow, lambda: open_store().get(NAME))
        results["set"] = timed(slow, lambda: store.set(NAME, "ghp_0042" + "y" * 36))
    decrypt = results["aesgcm_decrypt"]["p50_us"]
    return {
        "python": platform.python_version(),
        "cryptography": version("cryptography"),
        "secrets": SECRETS,
        "results": results,
        "p50_vs_decrypt": {name: figures["p50_us"] / decrypt for name, figures in results.items()},
    }


def render(report: dict[str, Any]) -> str:
    lines = [
        f"secrets bench: {report['secrets']} secrets in the store "
        f"(Python {report['python']}, cryptography {report['cryptography']})",
        f"{'':16} {'p50 us':>10} {'p99 us':>10} {'x decrypt':>10}",
    ]
    for name, figures in report["results"].items():
        ratio = report["p50_vs_decrypt"][name]
        lines.append(f"{name:16} {figures['p50_us']:>10.1f} {figures['p99_us']:>10.1f} {ratio:>10.1f}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Releasing a secret: file read, decryption, get end to end.")
    parser.add_argument("--samples", type=int, default=5000, help="samples for the fast measurements")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
