"""`ddb-backupd iam-policy`: the configuration read as `run` reads it, the policy on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from daemon.config.iam_policy import policy_for
from tests.deploy.configs import ACCOUNT, EXAMPLE_YAML, env_file, example_yaml
from tests.deploy.configs import EXAMPLE_ENV as ENV_FILE


def iam_policy(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("BACKUPD_")}
    return subprocess.run([sys.executable, "-m", "daemon", "iam-policy", *args],
                          env={**clean, **env}, capture_output=True, text=True, timeout=60,
                          check=False)


def test_it_prints_the_policy_of_the_configuration_in_either_form() -> None:
    from_yaml = iam_policy({"BACKUPD_CONFIG_FILE": str(EXAMPLE_YAML)}, "--account", ACCOUNT)
    from_env = iam_policy(env_file(ENV_FILE), "--account", ACCOUNT)
    assert from_yaml.returncode == 0, from_yaml.stderr
    assert json.loads(from_yaml.stdout) == policy_for(example_yaml(), ACCOUNT)
    assert from_env.stdout == from_yaml.stdout


def test_an_invalid_configuration_exits_2_naming_every_error() -> None:
    done = iam_policy({"BACKUPD_LIMIT_BYTES": "lots", "BACKUPD_QUEUE__COLOUR": "red"})
    assert done.returncode == 2
    assert done.stdout == ""
    assert "limit_bytes" in done.stderr
    assert "queue.colour" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_account_that_is_not_twelve_digits_exits_2() -> None:
    done = iam_policy({}, "--account", "my-account")
    assert done.returncode == 2
    assert "--account" in done.stderr


def test_member_role_needs_the_member_account() -> None:
    done = iam_policy({}, "--member-role")
    assert done.returncode == 2
    assert "--member-role: name the member account with --account" in done.stderr
