"""The demo's export: a completed backup of `carts` lands in the stand-in's S3 bucket and the
demo prints where."""

from __future__ import annotations

from typing import Any

import pytest

from daemon.cli.demo_scenario import EXPORT_BUCKET, EXPORTED_TABLE, Scenario, demo_settings
from tests.fixtures.standin import boto3_client

pytestmark = pytest.mark.e2e


async def test_the_demo_exports_a_completed_backup_of_carts_and_says_where(
        fresh_standin: Any, aws_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    scenario = Scenario(fresh_standin)
    scenario.setup()
    fresh_standin.backup.inject_job(scenario.table_arn(EXPORTED_TABLE), scenario.vault,
                                    state="CREATED", duration=1.0)
    code = await scenario.play(demo_settings(scenario, port=0), seconds=8)
    assert code == 0
    out = capsys.readouterr().out
    assert (f"export carts-to-s3: completed backup of {EXPORTED_TABLE} exported to "
            f"s3://{EXPORT_BUCKET}/exports/{EXPORTED_TABLE}/") in out
    listed = boto3_client(fresh_standin, "s3").list_objects_v2(
        Bucket=EXPORT_BUCKET, Prefix=f"exports/{EXPORTED_TABLE}/")
    assert listed.get("KeyCount", 0) >= 1
