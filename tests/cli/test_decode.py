"""`ddb-backupd decode [FILE|-]`: one JSON object and exit 0, or a reason and exit 1; never a traceback."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.cli import main
from daemon.cli.decode import EXTRA_KEYS, KEYS

DATA = Path(__file__).parent.parent / "data" / "events"
EXPECTED: dict[str, dict[str, Any]] = json.loads((DATA / "expected.json").read_text())
CLI = Path(sys.executable).with_name("ddb-backupd")


def decode(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["decode", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_fixture_gives_its_json_or_its_reason(capsys: pytest.CaptureFixture[str],
                                                    name: str) -> None:
    code, out, err = decode(capsys, str(DATA / name))
    want = EXPECTED[name]
    if "error" in want:
        assert (code, out) == (1, "")
        assert err == f"ddb-backupd decode: {want['error']}\n"
    else:
        assert (code, err) == (0, "")
        assert json.loads(out) == {key: want[key] for key in KEYS}


def test_output_has_exactly_the_documented_keys_and_times_in_utc_with_z(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = decode(capsys, str(DATA / "eb-backup-job-dynamodb-running.json"))
    decoded = json.loads(out)
    assert code == 0
    assert list(decoded) == list(KEYS)
    assert decoded["time"] == "2026-11-24T05:00:09Z"
    assert decoded["size_bytes"] == 1048576


def test_all_adds_source_recovery_point_and_status(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = decode(capsys, "--all", str(DATA / "eb-backup-job-completed.json"))
    assert list(json.loads(out)) == list(KEYS + EXTRA_KEYS)


def test_ignored_events_exit_0_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = decode(capsys, str(DATA / "eb-backup-plan-modified.json"))
    assert code == 0
    assert json.loads(out)["reason"].startswith("detail-type 'Backup Plan State Change'")


def test_standard_input_is_read_with_a_dash_or_no_file(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    body = (DATA / "sqs-receive-message.json").read_bytes()
    for args in (["-"], []):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(body)))
        code, out, _ = decode(capsys, *args)
        assert (code, json.loads(out)["vault"]) == (0, "ops")


@pytest.mark.parametrize(("path", "reason"), [
    ("/nonexistent/message.json", "cannot read /nonexistent/message.json: No such file"),
    (".", "cannot read .: Is a directory"),
])
def test_unreadable_files_are_a_reason_not_a_traceback(
        capsys: pytest.CaptureFixture[str], path: str, reason: str) -> None:
    code, out, err = decode(capsys, path)
    assert (code, out) == (1, "")
    assert reason in err


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_input_exits_0_or_1_with_json_or_a_reason(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, raw: bytes) -> None:
    message = tmp_path / "message"
    message.write_bytes(raw)
    code, out, err = decode(capsys, str(message))
    assert code in (0, 1)
    if code == 0:
        assert set(json.loads(out)) == set(KEYS)
    else:
        assert err.startswith("ddb-backupd decode: ")


def test_the_installed_command_never_prints_a_traceback() -> None:
    """The console script itself, on garbage: exit 1 with a reason on stderr."""
    garbage = subprocess.run([str(CLI), "decode", "-"], input=b"\xff{not json", timeout=60,
                             capture_output=True, check=False)
    assert (garbage.returncode, garbage.stdout) == (1, b"")
    assert b"Traceback" not in garbage.stderr
    assert garbage.stderr.startswith(b"ddb-backupd decode: message is not UTF-8")


def test_the_decode_module_does_not_load_the_aws_sdk() -> None:
    """Startup speed: decoding needs the pure core only, never aioboto3 or botocore."""
    probe = ("import sys, daemon.cli.decode; "
             "print(sorted(m for m in ('aioboto3', 'botocore', 'aiohttp') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=60, check=True)
    assert loaded.stdout.strip() == "[]"
