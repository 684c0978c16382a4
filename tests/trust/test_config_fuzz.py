"""Bad configuration, fuzzed: `check-config` always answers exit 0 with JSON or exit 2 with
one line per error naming the field and its variable, and never a traceback."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from daemon.cli import main
from daemon.config.reference import env_vars

VARS = list(env_vars())
NAMES = [v.name for v in VARS]
NUMERIC = [v.name for v in VARS if v.type in ("int", "float")]
LISTS = [v.name for v in VARS if v.type == "JSON list"]
# "<field path>: <why> (env BACKUPD_..., got ...)" or "BACKUPD_<VAR>: <why>"
ERROR_LINE = re.compile(r"^  - (?=.*(BACKUPD_[A-Z0-9_]+|config file key))\S[^:]*: .+")
# env values cannot hold NUL; everything else is fair game
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
               max_size=40)
SCHEDULE = {"name": "daily", "tables": ["orders-*"], "expression": "cron(0 5 * * ? *)",
            "retention": {"keep_days": 3}}
RESTORE = {"name": "r", "source_pattern": "(?i)-production$", "replacement": "-staging",
           "ssm_parameter": "/staging/orders-table-arn", "keep_last": 2}


def json_values() -> st.SearchStrategy[str]:
    """Valid JSON of random shape, and real list values mutated."""
    leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                       TEXT)
    tree = st.recursive(leaves, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8)
    real = st.sampled_from([SCHEDULE, RESTORE]).flatmap(lambda item: st.builds(
        lambda key, value: [{**item, key: value}], st.sampled_from(sorted(item)), tree))
    return st.one_of(tree, real).map(json.dumps)


def values() -> st.SearchStrategy[str]:
    return st.one_of(
        TEXT, json_values(), json_values().map(lambda s: s[: len(s) // 2]),  # truncated JSON
        st.integers().map(str), st.floats().map(str),
        st.sampled_from(["", " ", "true", "no", "1e999", "-0", "NaN", "inf", "0x10", "[]", "{}"]))


def check_config(env: dict[str, str]) -> tuple[int, str, str]:
    """Run `ddb-backupd check-config` in-process with exactly `env`; any escape is a failure."""
    out, err = io.StringIO(), io.StringIO()
    with (mock.patch.dict(os.environ, env, clear=True), contextlib.redirect_stdout(out),
          contextlib.redirect_stderr(err)):
        code = main(["check-config", "--now", "2026-01-01T00:00:00Z"])
    return code, out.getvalue(), err.getvalue()


def assert_well_formed(code: int, out: str, err: str) -> None:
    assert "Traceback" not in out + err
    assert code in (0, 2), (code, err)
    if code == 0:
        json.loads(out)
        return
    lines = err.rstrip("\n").split("\n")
    count = int(re.match(r"invalid configuration: (\d+) error", lines[0]).group(1))  # type: ignore[union-attr]
    assert count == len(lines) - 1 >= 1
    assert all(ERROR_LINE.match(line) for line in lines[1:]), lines


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from([*NAMES, "BACKUPD_TYPO", "BACKUPD_QUEUE__TYPO"]),
                       values(), min_size=1, max_size=6))
@example({"BACKUPD_SCHEDULES": '[{"\\n": null}]', "BACKUPD_REGION": ""})  # a key with a newline
def test_any_environment_gets_json_or_field_by_field_errors(env: dict[str, str]) -> None:
    assert_well_formed(*check_config(env))


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(NUMERIC), st.sampled_from(["abc", "1,5", "", "[1]", "{}", "1e999x"]))
def test_a_non_number_is_exit_2_naming_its_variable(name: str, value: str) -> None:
    code, out, err = check_config({name: value})
    assert_well_formed(code, out, err)
    assert code == 2
    assert name in err


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(LISTS), json_values().filter(lambda s: not s.startswith("[") and s != "null"))
def test_a_list_setting_that_is_not_a_list_is_exit_2(name: str, value: str) -> None:
    code, out, err = check_config({name: value})
    assert_well_formed(code, out, err)
    assert code == 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(TEXT, json_values(), st.binary(max_size=60).map(lambda b: b.decode("latin-1"))))
def test_any_config_file_gets_json_or_field_by_field_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = check_config({"BACKUPD_CONFIG_FILE": str(path)})
    assert "Traceback" not in out + err
    assert code in (0, 2)
    if code == 2:
        assert err.strip()


@pytest.mark.parametrize("env", [
    {"BACKUPD_SCHEDULES": "[{"},
    {"BACKUPD_LEADER__LEASE_SECONDS": "1", "BACKUPD_LEADER__RENEW_SECONDS": "x"},
    {"BACKUPD_CONFIG_FILE": "/nonexistent/config.yaml"},
])
def test_the_real_process_exits_2_without_a_traceback(env: dict[str, str]) -> None:
    """The same through a real process, where an uncaught exception would print one."""
    run = subprocess.run([sys.executable, "-m", "daemon", "check-config"], check=False, env={
        "PATH": os.environ.get("PATH", ""), **env}, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "invalid configuration" in run.stderr
