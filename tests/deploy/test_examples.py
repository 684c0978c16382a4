"""config/examples: the env file and the YAML file describe one realistic estate, both valid.

Both go through `ddb-backupd check-config` as a user would run it, and must print the same
effective configuration: the env form is the YAML form, variable for variable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.tools import ROOT

EXAMPLES = ROOT / "config/examples"
ENV_FILE = EXAMPLES / "ddb-backupd.env"
YAML_FILE = EXAMPLES / "ddb-backupd.yaml"
NOW = "2026-06-01T12:00:00+00:00"


def env_file(path: Path) -> dict[str, str]:
    """KEY=value lines as `docker run --env-file` reads them: no quotes, no expansion."""
    lines = [line for line in path.read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    return {key: value for key, _, value in (line.partition("=") for line in lines)}


def check_config(*configs: dict[str, str]) -> list[dict[str, Any]]:
    """`ddb-backupd check-config` under each environment (run side by side: each start is slow)."""
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("BACKUPD_")}
    procs = [subprocess.Popen([sys.executable, "-m", "daemon", "check-config", "--now", NOW],
                              env={**clean, **extra}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for extra in configs]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    return results


@pytest.fixture(scope="module")
def effective() -> tuple[dict[str, Any], dict[str, Any]]:
    """(from the env file, from the YAML file)."""
    env, yaml_ = check_config(env_file(ENV_FILE), {"BACKUPD_CONFIG_FILE": str(YAML_FILE)})
    return env, yaml_


@pytest.fixture
def from_yaml(effective: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    return effective[1]


def test_the_env_file_and_the_yaml_file_configure_the_same_estate(
        effective: tuple[dict[str, Any], dict[str, Any]]) -> None:
    from_env, from_yaml = effective
    assert from_env == from_yaml


def test_the_estate_has_two_schedules_with_retention_a_restore_and_an_export(
        from_yaml: dict[str, Any]) -> None:
    schedules = from_yaml["schedules"]
    assert len(schedules) == 2
    assert {s["engine"] for s in schedules} == {"dynamodb", "aws-backup"}
    assert all(any(v is not None for k, v in s["retention"].items() if k.startswith("keep"))
               for s in schedules)
    assert len(from_yaml["restores"]) == 1
    assert len(from_yaml["exports"]) == 1


def test_every_schedule_has_a_next_run(from_yaml: dict[str, Any]) -> None:
    runs = from_yaml.get("next_runs", {})
    exports = {f"export:{e['name']}" for e in from_yaml["exports"] if e.get("schedule")}
    assert set(runs) == {s["name"] for s in from_yaml["schedules"]} | exports
    assert all(runs.values())


def test_the_env_file_sets_only_what_the_yaml_file_sets() -> None:
    data = yaml.safe_load(YAML_FILE.read_text())
    top = {key.removeprefix("BACKUPD_").split("__")[0].lower() for key in env_file(ENV_FILE)}
    assert top == set(data)
