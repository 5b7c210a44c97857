"""`mcp-gateway secrets ...` as an operator runs it: real processes, real files, real keys.

Each CLI process costs ~2 s of imports here, so independent commands run side by side, and
what needs no process of its own (the table, exit codes of refusals) runs in-process through
the command's own argparse wiring.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import pty
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from mcp_gateway.cli import secrets_cmd
from mcp_gateway.cli.secrets_cmd import read_value
from mcp_gateway.secrets.errors import SecretNotFound
from mcp_gateway.secrets.sources import ENV_VAR
from tests.secrets.helpers import file_store, key_spellings

ALPHA = "sk-live-alpha-0123456789abcdefghijklmnop"
BETA = "beta line one\nbeta line two\n"


@dataclass
class Run:
    argv: Sequence[str]
    env: Mapping[str, str]
    stdin: bytes


def cli(env: Mapping[str, str], config: Path, *argv: str, stdin: bytes = b"") -> Run:
    action, *rest = argv
    return Run([sys.executable, "-m", "mcp_gateway", "secrets", action, "--config", str(config), *rest], env, stdin)


def run_all(*runs: Run) -> list[subprocess.CompletedProcess[str]]:
    def one(run: Run) -> subprocess.CompletedProcess[str]:
        pipe = subprocess.PIPE
        with subprocess.Popen(run.argv, env=dict(run.env), stdin=pipe, stdout=pipe, stderr=pipe) as process:
            out, err = process.communicate(run.stdin, timeout=60)
        return subprocess.CompletedProcess(run.argv, process.returncode, out.decode(), err.decode())

    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        return list(pool.map(one, runs))


@pytest.fixture
def env(clean_env: dict[str, str]) -> dict[str, str]:
    """No keyring for these processes, whatever the developer's desktop has."""
    return {**clean_env, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def test_set_list_rotate_delete(config_file: Path, state_dir: Path, env: dict[str, str]) -> None:
    # Two first writers at once: one creates the key file, the other waits for it and uses it.
    stored_a, stored_b = run_all(
        cli(env, config_file, "set", "alpha", "--description", "CI token", stdin=ALPHA.encode() + b"\n"),
        cli(env, config_file, "set", "beta", stdin=BETA.encode() + b"\n"),
    )
    assert stored_a.returncode == 0 and stored_a.stdout == "stored secret alpha\n", stored_a.stderr
    assert stored_b.returncode == 0, stored_b.stderr
    assert ALPHA not in " ".join(stored_a.args), "the value never travels in argv"
    key_before = key_spellings(state_dir / "master.key")

    # Rotating, deleting and listing at once: the writers queue on the store's lock, and the
    # reader sees each file whole, under one key or the other.
    rotated, deleted, listed = run_all(
        cli(env, config_file, "rotate-key"),
        cli(env, config_file, "delete", "alpha"),
        cli(env, config_file, "list", "--json"),
    )
    assert rotated.returncode == 0 and "re-sealed under key id" in rotated.stdout, rotated.stderr
    assert deleted.returncode == 0 and deleted.stdout == "deleted alpha\n"
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert "beta" in rows and set(rows) <= {"alpha", "beta"}
    assert set(rows["beta"]) == {"name", "description", "created_at", "updated_at", "key_id"}
    assert (
        rows["beta"]["description"] is None
        and rows.get("alpha", {"description": "CI token"})["description"] == "CI token"
    )

    store = file_store(state_dir)
    assert store.get("beta") == BETA, "exactly one trailing newline is stripped"
    with pytest.raises(SecretNotFound):
        store.get("alpha")
    assert store.metadata("beta").key_id in rotated.stdout
    outputs = [stored_a, stored_b, listed, rotated, deleted]
    text = "".join(done.stdout + done.stderr for done in outputs).encode()
    for spelling in key_before + key_spellings(state_dir / "master.key"):
        assert spelling not in text
    assert ALPHA.encode() not in text and b"beta line" not in text


def test_read_value_from_a_pipe_or_a_terminal(tmp_path: Path) -> None:
    def pipe(data: bytes) -> io.TextIOWrapper:
        read_end, write_end = os.pipe()
        os.write(write_end, data)
        os.close(write_end)
        return open(read_end, encoding="utf-8")

    with pipe(b"value\n\n") as stream:
        assert read_value(stream, False, "x") == "value\n"
    with pipe(b"no newline") as stream:
        assert read_value(stream, False, "x") == "no newline"
    for data, why in [(b"\n", "empty"), (b"", "empty"), (b"\xff\xfe", "not UTF-8")]:
        with pipe(data) as stream, pytest.raises(ValueError, match=why):
            read_value(stream, False, "x")
    master, terminal = pty.openpty()
    with open(terminal, encoding="utf-8") as stream, pytest.raises(ValueError, match="stdin is a terminal"):
        read_value(stream, False, "x")
    os.close(master)
    with pytest.raises(ValueError, match="stdin is a terminal"):
        read_value(None, False, "x")


def run_in_process(config_file: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="mcp-gateway")
    secrets_cmd.register(parser.add_subparsers(dest="command", required=True))
    action, *rest = argv
    args = parser.parse_args(["secrets", action, "--config", str(config_file), *rest])
    code: int = args.run(args)
    return code


def test_list_table_and_refusals_in_process(
    config_file: Path, state_dir: Path, clean_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_in_process(config_file, "list") == 0
    assert capsys.readouterr().out.split() == ["NAME", "UPDATED", "DESCRIPTION"]
    store = file_store(state_dir)
    store.set("beta", BETA)
    store.set("alpha", ALPHA, description="CI token")
    assert run_in_process(config_file, "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["alpha", "beta"]
    assert lines[1].endswith("CI token") and lines[2].endswith("-")
    assert ALPHA not in "".join(lines) and "beta line" not in "".join(lines)

    assert run_in_process(config_file, "delete", "gamma") == 1
    assert "no secret named 'gamma'" in capsys.readouterr().err
    assert run_in_process(config_file, "delete", "../master") == 2
    assert "is not a secret name" in capsys.readouterr().err
    (state_dir / "secrets" / "beta.json").write_text("{}")
    assert run_in_process(config_file, "list", "--json") == 1
    assert "secrets/beta.json is corrupt" in capsys.readouterr().err


def test_a_key_from_the_environment_in_process(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv(ENV_VAR, key)
    assert run_in_process(config_file, "rotate-key") == 2
    err = capsys.readouterr().err
    assert f"${ENV_VAR}" in err and "mcp-gateway secrets rotate-key" in err and key not in err

    monkeypatch.setenv(ENV_VAR, "0123456789abcdef-not-a-key")
    assert run_in_process(config_file, "rotate-key") == 2
    err = capsys.readouterr().err
    assert ENV_VAR in err and "not-a-key" not in err
