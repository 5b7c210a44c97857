"""ops/release.py: detached Ed25519 signatures that catch a changed file or the wrong key."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _release() -> ModuleType:
    spec = importlib.util.spec_from_file_location("release", ROOT / "ops" / "release.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.req("R-037")
def test_sign_and_verify_catch_tampering_and_the_wrong_key(tmp_path: Path) -> None:
    release = _release()
    wheel, sbom = tmp_path / "pkg.whl", tmp_path / "sbom.json"
    wheel.write_bytes(b"wheel bytes")
    sbom.write_text('{"bomFormat": "CycloneDX"}')
    assert release.main(["keygen", "--private", str(tmp_path / "k"), "--public", str(tmp_path / "k.pub")]) == 0
    assert oct((tmp_path / "k").stat().st_mode & 0o777) == "0o600"
    assert release.main(["sign", "--key", str(tmp_path / "k"), str(wheel), str(sbom)]) == 0
    assert release.verify(tmp_path / "k.pub", [wheel, sbom]) is None
    release.keygen(tmp_path / "other", tmp_path / "other.pub")
    assert "does not verify" in release.verify(tmp_path / "other.pub", [wheel])
    sbom.write_text('{"bomFormat": "CycloneDX", "components": []}')
    assert "do not match" in release.verify(tmp_path / "k.pub", [wheel, sbom])
    (tmp_path / "pkg.whl.sig").unlink()
    assert release.main(["verify", "--public-key", str(tmp_path / "k.pub"), str(wheel)]) == 1
