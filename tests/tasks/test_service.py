"""What the restore and export services share: the loop of their passes while leading, and
the rules that hear a completed backup."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from daemon.kernel.bus import BackupCompleted
from daemon.tasks.runner import TaskRunner
from daemon.tasks.service import rules_for, run_while_leading
from tests.tasks.test_task_runner import context


async def test_passes_run_while_leading_and_a_failed_pass_does_not_end_the_loop() -> None:
    runner: TaskRunner = context().runner()
    stop = asyncio.Event()
    life = asyncio.create_task(runner.run(stop))
    results: list[bool] = []
    passes = 0

    async def one_pass() -> None:
        nonlocal passes
        passes += 1
        if passes == 1:
            raise RuntimeError("AWS said no")
        if passes == 3:
            stop.set()

    await asyncio.wait_for(run_while_leading(runner, stop, one_pass, rules=["r"],
                                             failed="test.pass_failed", wait=lambda: 0.0,
                                             outcome=results.append), timeout=5)
    await life
    assert results == [False, True, True]


async def test_without_rules_nothing_runs_until_the_stop() -> None:
    runner: TaskRunner = context().runner()
    stop = asyncio.Event()

    async def one_pass() -> None:
        raise AssertionError("no pass without rules")

    loop = asyncio.create_task(run_while_leading(runner, stop, one_pass, rules=[],
                                                 failed="test.pass_failed", wait=lambda: 0.0))
    await asyncio.sleep(0.01)
    assert not loop.done()
    stop.set()
    await asyncio.wait_for(loop, timeout=5)


@dataclass
class Rule:
    name: str
    vaults: list[str]
    accounts: list[str]


def test_rules_for_keeps_the_rules_whose_vaults_and_accounts_cover_the_backup() -> None:
    arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders"
    item = BackupCompleted(
        recovery_point_arn="arn:aws:backup:eu-west-1:111122223333:recovery-point:1",
        resource_arn=arn, resource_type="DynamoDB", created=datetime(2026, 1, 1, tzinfo=UTC),
        origin="event", vault="main", region="eu-west-1")
    rules: list[Any] = [Rule("any", [], []), Rule("main", ["main"], []),
                        Rule("other-vault", ["other"], []),
                        Rule("this-account", [], ["111122223333"]),
                        Rule("other-account", [], ["999999999999"])]
    assert [r.name for r in rules_for(rules, item)] == ["any", "main", "this-account"]
