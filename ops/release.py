"""Release artifacts: detached Ed25519 signatures for the built wheel and the SBOM, and their
verification.

    python ops/release.py keygen --private release.key --public release.pub
    python ops/release.py sign --key release.key dist/*.whl ops/sbom/mcp-gateway.cdx.json
    python ops/release.py verify --public-key release.pub dist/*.whl ops/sbom/mcp-gateway.cdx.json

A signature is written next to its file as `<file>.sig`: the base64 of the Ed25519 signature over
the SHA-256 of the file's bytes, prefixed by that digest, so a mismatch says which check failed.
The private key is a PEM (PKCS#8) file, mode 0600; the public key a PEM file to publish.
Verification exits 1 naming the first file that does not verify. Uses `cryptography` only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def _digest(path: Path) -> bytes:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
    return sha.digest()


def keygen(private: Path, public: Path) -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def sign(key_path: Path, files: list[Path]) -> None:
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit(f"{key_path} is not an Ed25519 private key")
    for path in files:
        digest = _digest(path)
        signature = key.sign(digest)
        Path(f"{path}.sig").write_text(f"sha256:{digest.hex()}\ned25519:{base64.b64encode(signature).decode()}\n")


def verify(public_path: Path, files: list[Path]) -> str | None:
    """None when every file verifies, else why the first one does not."""
    key = serialization.load_pem_public_key(public_path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        return f"{public_path} is not an Ed25519 public key"
    for path in files:
        try:
            lines = dict(line.split(":", 1) for line in Path(f"{path}.sig").read_text().split())
            recorded, signature = bytes.fromhex(lines["sha256"]), base64.b64decode(lines["ed25519"])
        except (OSError, ValueError, KeyError):
            return f"{path}: no readable signature ({path}.sig)"
        if _digest(path) != recorded:
            return f"{path}: its bytes do not match the signed digest"
        try:
            key.verify(signature, recorded)
        except InvalidSignature:
            return f"{path}: the signature does not verify with {public_path}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Sign and verify release artifacts (Ed25519, detached).")
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("keygen", help="make a signing key pair")
    gen.add_argument("--private", type=Path, required=True)
    gen.add_argument("--public", type=Path, required=True)
    signer = sub.add_parser("sign", help="write <file>.sig for each file")
    signer.add_argument("--key", type=Path, required=True)
    signer.add_argument("files", type=Path, nargs="+")
    checker = sub.add_parser("verify", help="exit 1 unless every file's signature verifies")
    checker.add_argument("--public-key", type=Path, required=True)
    checker.add_argument("files", type=Path, nargs="+")
    args = parser.parse_args(argv)
    if args.command == "keygen":
        keygen(args.private, args.public)
    elif args.command == "sign":
        sign(args.key, args.files)
    else:
        problem = verify(args.public_key, args.files)
        if problem:
            print(f"BAD: {problem}", file=sys.stderr)
            return 1
        print(f"ok: {len(args.files)} file(s) verify")
    return 0


if __name__ == "__main__":
    sys.exit(main())
