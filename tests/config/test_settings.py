"""Settings: env prefix, nesting, the YAML file, env precedence, and errors named field by field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.config.load import ConfigError, load_settings, unknown_env_vars
from daemon.config.reference import env_vars, example_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No BACKUPD_* variable of the developer's shell leaks into a test."""
    for key in list(os.environ):
        if key.upper().startswith("BACKUPD_"):
            monkeypatch.delenv(key)
    return monkeypatch


def test_defaults_match_the_documented_contract(clean_env: pytest.MonkeyPatch) -> None:
    s = load_settings()
    assert s.limit_bytes == 54975581388800
    assert (s.warning_ratio, s.critical_ratio) == (0.8, 0.9)
    assert s.cloudwatch.namespace == "BackupMonitoring"
    assert s.cloudwatch.interval_seconds == 60
    assert s.reconcile_seconds == 300
    assert (s.queue.wait_seconds, s.queue.max_messages) == (20, 10)


@pytest.mark.parametrize(("env", "identity"), [
    ({"BACKUPD_LEADER__IDENTITY": "set", "POD_NAME": "pod", "HOSTNAME": "host"}, "set"),
    ({"POD_NAME": "pod", "HOSTNAME": "host"}, "pod"),
    ({"HOSTNAME": "host"}, "host"),
])
def test_the_lease_holder_is_named_after_the_pod_else_the_host(
        clean_env: pytest.MonkeyPatch, env: dict[str, str], identity: str) -> None:
    """The chart sets POD_NAME; the environment is read by the settings, nowhere else."""
    for var in ("POD_NAME", "HOSTNAME"):
        clean_env.delenv(var, raising=False)
    for var, value in env.items():
        clean_env.setenv(var, value)
    assert load_settings().leader.identity == identity


def test_nested_sections_are_set_with_double_underscore(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BACKUPD_QUEUE__CONCURRENCY", "4")
    clean_env.setenv("BACKUPD_AWS__ENDPOINT_URL", "http://127.0.0.1:1")
    s = load_settings()
    assert s.queue.concurrency == 4
    assert s.aws.endpoint_url == "http://127.0.0.1:1"


def test_freshness_coverage_and_metrics_sections_default_and_are_set_from_env(
        clean_env: pytest.MonkeyPatch) -> None:
    s = load_settings()
    assert (s.metrics.per_table, s.freshness.late_factor, s.coverage.rpo_seconds) == (
        True, 2.0, None)
    assert (s.coverage.enabled, s.coverage.alert) == (True, False)
    clean_env.setenv("BACKUPD_METRICS__PER_TABLE", "false")
    clean_env.setenv("BACKUPD_FRESHNESS__LATE_FACTOR", "3")
    clean_env.setenv("BACKUPD_COVERAGE__RPO_SECONDS", "86400")
    clean_env.setenv("BACKUPD_COVERAGE__EXCLUDE", '["scratch-*"]')
    s = load_settings()
    assert not s.metrics.per_table
    assert (s.freshness.late_factor, s.coverage.rpo_seconds) == (3.0, 86400.0)
    assert s.coverage.exclude == ["scratch-*"]


def test_yaml_file_is_read_and_env_wins(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "backupd.yaml"
    path.write_text("limit_bytes: 1000\nregion: eu-west-1\nqueue:\n  concurrency: 3\n")
    clean_env.setenv("BACKUPD_CONFIG_FILE", str(path))
    clean_env.setenv("BACKUPD_REGION", "ap-south-1")
    s = load_settings()
    assert s.limit_bytes == 1000
    assert s.queue.concurrency == 3
    assert s.region == "ap-south-1"


def test_every_error_is_listed_with_its_env_var(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BACKUPD_LIMIT_BYTES", "lots")
    clean_env.setenv("BACKUPD_QUEUE__MAX_MESSAGES", "11")
    clean_env.setenv("BACKUPD_CLOUDWATCH__NAMESPACE", "AWS/Backup")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    errors = caught.value.errors
    assert len(errors) == 3
    assert any("BACKUPD_LIMIT_BYTES" in e and "limit_bytes" in e for e in errors)
    assert any("BACKUPD_QUEUE__MAX_MESSAGES" in e for e in errors)
    assert any("reserved" in e and "BACKUPD_CLOUDWATCH__NAMESPACE" in e for e in errors)


def test_the_monitor_counts_every_type_in_the_open_states_unless_told(
        clean_env: pytest.MonkeyPatch) -> None:
    s = load_settings()
    assert (s.monitor.resource_types, s.monitor.states) == (
        [], ["CREATED", "PENDING", "RUNNING", "ABORTING"])
    assert s.cloudwatch.sample_compatible is False
    clean_env.setenv("BACKUPD_MONITOR__RESOURCE_TYPES", '["DynamoDB"]')
    clean_env.setenv("BACKUPD_MONITOR__STATES", '["RUNNING"]')
    clean_env.setenv("BACKUPD_CLOUDWATCH__SAMPLE_COMPATIBLE", "true")
    s = load_settings()
    assert (s.monitor.resource_types, s.monitor.states) == (["DynamoDB"], ["RUNNING"])
    assert s.cloudwatch.sample_compatible is True


@pytest.mark.parametrize("states", ['["COMPLETED"]', "[]"])
def test_the_monitor_counts_open_states_only(clean_env: pytest.MonkeyPatch, states: str) -> None:
    clean_env.setenv("BACKUPD_MONITOR__STATES", states)
    with pytest.raises(ConfigError, match="BACKUPD_MONITOR__STATES"):
        load_settings()


def test_critical_must_be_above_warning(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BACKUPD_WARNING_RATIO", "0.9")
    clean_env.setenv("BACKUPD_CRITICAL_RATIO", "0.8")
    with pytest.raises(ConfigError, match="critical_ratio"):
        load_settings()


def test_a_misspelt_variable_is_an_error_not_ignored() -> None:
    errors = unknown_env_vars({"BACKUPD_LIMIT_BYTE": "1", "BACKUPD_REGION": "x", "HOME": "/"})
    assert errors == [("BACKUPD_LIMIT_BYTE: unknown setting (no field 'limit_byte'; "
                      "check the spelling)")]


def test_unreadable_or_invalid_yaml_names_the_file(clean_env: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    clean_env.setenv("BACKUPD_CONFIG_FILE", str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read"):
        load_settings()
    bad = tmp_path / "bad.yaml"
    bad.write_text("limit_bytes: [unclosed\n")
    clean_env.setenv("BACKUPD_CONFIG_FILE", str(bad))
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings()


def test_secrets_are_masked_and_never_echoed(clean_env: pytest.MonkeyPatch) -> None:
    canary = "canary-SECRET-0123456789"
    env = {"PATH": "/usr/bin", "BACKUPD_AWS__SECRET_ACCESS_KEY": canary}
    cli = [sys.executable, "-m", "daemon", "check-config"]
    ok = subprocess.run(cli, env=env, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert canary not in ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["aws"]["secret_access_key"] == "**********"
    bad = subprocess.run(cli, env={**env, "BACKUPD_AWS__SESSION_TOKEN": "x" * 3,
                                   "BACKUPD_AWS__MAX_ATTEMPTS": canary},
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr


def test_check_config_exits_2_without_traceback() -> None:
    env = {"PATH": "/usr/bin", "BACKUPD_LIMIT_BYTES": "lots"}
    p = subprocess.run([sys.executable, "-m", "daemon", "check-config"], env=env,
                       capture_output=True, text=True, check=False)
    assert p.returncode == 2
    assert "limit_bytes" in p.stderr
    assert "BACKUPD_LIMIT_BYTES" in p.stderr
    assert "Traceback" not in p.stderr


def test_example_env_lists_every_setting() -> None:
    """config/example.env is generated from the model; regenerate it when a setting changes."""
    shipped = (ROOT / "config" / "example.env").read_text()
    assert shipped == example_env(), "run: python -m daemon.config.reference > config/example.env"
    names = {v.name for v in env_vars()}
    assert {"BACKUPD_LIMIT_BYTES", "BACKUPD_QUEUE__CONCURRENCY", "BACKUPD_SCHEDULES"} <= names
