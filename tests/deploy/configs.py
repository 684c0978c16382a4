"""Every configuration the project ships or runs, as the daemon reads it: the example estate
(YAML file and env file), the demo's, the trust scenario's; and one with every feature on.

The policy tests generate each one's IAM policy (`daemon.config.iam_policy`), and the
least-privilege end-to-end tests run the daemon under it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

from daemon.config.load import load_settings
from daemon.config.settings import CONFIG_FILE_ENV, Settings
from tests.deploy.tools import ROOT

EXAMPLES = ROOT / "config/examples"
EXAMPLE_YAML = EXAMPLES / "ddb-backupd.yaml"
EXAMPLE_ENV = EXAMPLES / "ddb-backupd.env"
ACCOUNT = "123456789012"


def env_file(path: Path) -> dict[str, str]:
    """KEY=value lines as `docker run --env-file` reads them: no quotes, no expansion."""
    lines = [line for line in path.read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    return {key: value for key, _, value in (line.partition("=") for line in lines)}


def loaded(env: Mapping[str, str]) -> Settings:
    """Settings as `ddb-backupd` loads them under `env` (and nothing else of BACKUPD_*)."""
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("BACKUPD_")}
    with mock.patch.dict(os.environ, {**clean, **env}, clear=True):
        return load_settings(env)


def example_yaml() -> Settings:
    return loaded({CONFIG_FILE_ENV: str(EXAMPLE_YAML)})


def example_env() -> Settings:
    return loaded(env_file(EXAMPLE_ENV))


def demo(accounts: int = 1) -> Settings:
    """`ddb-backupd demo --accounts N`'s configuration, on a stand-in's usual addresses."""
    from daemon.cli.demo_accounts import member_ids  # noqa: PLC0415 - needs moto
    from daemon.cli.demo_scenario import demo_settings  # noqa: PLC0415 - needs moto

    region, endpoint = "us-east-1", "http://127.0.0.1:5000"
    scenario = SimpleNamespace(
        standin=SimpleNamespace(region=region, endpoint_url=endpoint), limit_gib=100,
        queue_url=f"{endpoint}/{ACCOUNT}/backup-events",
        topic_arn=f"arn:aws:sns:{region}:{ACCOUNT}:backup-alerts", members=member_ids(accounts))
    return demo_settings(scenario, port=0)  # type: ignore[arg-type]


def trust_scenario() -> Settings:
    """The configuration the trust tests' scenario runs (tests/trust/scenario.py)."""
    from tests.trust.scenario import World  # noqa: PLC0415

    world = World(endpoint="http://127.0.0.1:5000", queue_url=(
        f"http://127.0.0.1:5000/{ACCOUNT}/trust-events"),
        topic_arn=f"arn:aws:sns:us-east-1:{ACCOUNT}:trust-alerts")
    return Settings(**world.settings(leader={"enabled": True, "create_table": True}))


def everything() -> Settings:
    """Every feature on: both engines with retention the daemon applies, restores from
    either kind of backup with a billing override, DynamoDB and RDS exports deleting their
    sources (keys by id and by alias), replicas creating their lease table, an assumed role,
    member accounts' roles."""
    role = f"arn:aws:iam::{ACCOUNT}:role/"
    data: dict[str, Any] = {
        "region": "eu-west-1", "queue_url": f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/q",
        "alert_topic_arn": f"arn:aws:sns:eu-west-1:{ACCOUNT}:alerts",
        "aws": {"assume_role_arn": "arn:aws:iam::210987654321:role/ddb-backupd-target"},
        "leader": {"enabled": True, "create_table": True},
        "organization": {"enabled": True,
                         "role_arn_template": "arn:aws:iam::{account}:role/ddb-backupd-target"},
        "schedules": [
            {"name": "native", "expression": "rate(1 hour)", "tables": ["orders-*"],
             "retention": {"keep_last": 3}},
            {"name": "vault", "expression": "rate(1 day)", "tags": {"backup": "daily"},
             "engine": "aws-backup", "backup_vault": "v", "iam_role_arn": f"{role}backup",
             "retention": {"keep_last": 7}}],
        "restores": [{"name": "copy", "source_pattern": "^orders-(.*)$",
                      "replacement": "copy-$1", "ssm_parameter": "/copies/{table}",
                      "iam_role_arn": f"{role}restore",
                      "table_settings": {"billing_mode": "PAY_PER_REQUEST"}}],
        "exports": [
            {"name": "lake", "source_pattern": "^orders-", "bucket": "lake",
             "vaults": ["ops"], "delete_source_on_success": True},
            {"name": "db", "kind": "rds", "source_pattern": "^db-", "bucket": "lake",
             "prefix": "rds", "iam_role_arn": f"{role}rds-export",
             "kms_key_id": "1234abcd-12ab-34cd-56ef-1234567890ab",
             "vaults": ["ops"], "delete_source_on_success": True},
            {"name": "db2", "kind": "rds", "source_pattern": "^db2-", "bucket": "lake",
             "iam_role_arn": f"{role}rds-export", "kms_key_id": "alias/exports"}],
        "backup_plans": [{
            "name": "daily", "vault": {
                "name": "plans", "create": True,
                "kms_key_arn": f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "lock": {"min_retention_days": 1}},
            "rules": [{"name": "nightly", "expression": "cron(0 3 ? * * *)"}],
            "selections": [{"name": "tagged", "iam_role_arn": f"{role}backup",
                            "tags": {"backup": "daily"}}]}],
    }
    return Settings(**data)


# name -> how to build it; the demo's needs moto (the stand-in extra, as in the dev install)
CONFIGS: dict[str, Callable[[], Settings]] = {
    "example-yaml": example_yaml, "example-env": example_env, "demo": demo,
    "demo-3-accounts": lambda: demo(3),
    "trust-scenario": trust_scenario, "everything": everything,
}
