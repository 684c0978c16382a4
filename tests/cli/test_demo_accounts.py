"""`ddb-backupd demo --accounts 3`: two member accounts beside the demo's own, each with its
own level, its table's size read through its role, its alert naming it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from daemon.cli.demo_accounts import member_ids
from daemon.cli.demo_scenario import Scenario, demo_settings

pytestmark = pytest.mark.e2e


async def test_the_demo_with_three_accounts_levels_and_alerts_each_member(
        fresh_standin: Any, aws_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    scenario = Scenario(fresh_standin, members=member_ids(3))
    scenario.setup()
    code = await scenario.play(demo_settings(scenario, port=0), seconds=12)
    assert code == 0
    out = capsys.readouterr().out
    warning, critical = scenario.members
    assert f"AWS Backup starts a job in member account {warning}" in out
    assert re.search(rf"{warning}\s+85\.0 GiB WARNING", out), out
    assert re.search(rf"{critical}\s+95\.0 GiB CRITICAL", out), out
    named = {(a.get("event"), a.get("account")) for a in scenario.alerts}
    assert {("threshold.warning", warning), ("threshold.critical", critical)} <= named
