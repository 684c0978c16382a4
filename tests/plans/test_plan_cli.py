"""`ddb-backupd plan` shows what the plans reconciler would change, and changes nothing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from daemon.cli import main
from tests.plans.conftest import edit_plan, plan_named
from tests.plans.specs import plan_spec

pytestmark = pytest.mark.e2e


async def plan_lines(capsys: pytest.CaptureFixture[str]
                     ) -> tuple[int, list[dict[str, Any]], str]:
    """`ddb-backupd plan` as a user runs it (its own event loop, hence its own thread)."""
    capsys.readouterr()  # what the test printed before (the reconciler's log lines)
    code = await asyncio.to_thread(main, ["plan", "--now", "2026-11-24T05:30:00Z"])
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    return code, [r for r in rows if "backup_plan" in r], err


async def test_plan_lists_what_would_be_created_and_creates_nothing(
        capsys, aws_env, backup, monkeypatch):
    monkeypatch.setenv("BACKUPD_BACKUP_PLANS", json.dumps([plan_spec()]))
    code, [row], err = await plan_lines(capsys)
    assert code == 0
    assert (row["backup_plan"], row["state"], row["cause"]) == ("daily", "missing", None)
    assert row["steps"] == ["create_vault plans-vault", "lock_vault plans-vault",
                            "create_plan daily", "create_selection backupd-tables"]
    assert "no enabled schedule" in err
    assert backup.list_backup_plans()["BackupPlansList"] == []
    assert backup.list_backup_vaults()["BackupVaultList"] == []


async def test_plan_shows_each_drifted_field_and_leaves_the_plan_as_it_is(
        capsys, aws_env, backup, reconciler, monkeypatch):
    await (await reconciler([plan_spec()])).reconciler.run_once()
    plan_id = plan_named(backup, "daily")["BackupPlanId"]
    version = edit_plan(backup, plan_id, lambda doc: doc["Rules"][1]["Lifecycle"].update(
        DeleteAfterDays=400))
    monkeypatch.setenv("BACKUPD_BACKUP_PLANS", json.dumps([plan_spec()]))
    code, [row], _ = await plan_lines(capsys)
    assert code == 0
    assert (row["state"], row["cause"], row["plan_id"]) == ("changed", "drift", plan_id)
    assert row["changes"] == [{"field": "Rules[monthly].Lifecycle.DeleteAfterDays",
                               "actual": 400, "desired": 365}]
    assert row["steps"] == ["update_plan daily"]
    assert plan_named(backup, "daily")["VersionId"] == version


async def test_plan_says_when_nothing_would_change(capsys, aws_env, reconciler, monkeypatch):
    await (await reconciler([plan_spec()])).reconciler.run_once()
    monkeypatch.setenv("BACKUPD_BACKUP_PLANS", json.dumps([plan_spec()]))
    _, [row], _ = await plan_lines(capsys)
    assert (row["state"], row["changes"], row["steps"]) == ("in_sync", [], [])
