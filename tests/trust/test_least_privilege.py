"""Least privilege, enforced: the scenario passes with credentials of a user holding only
config/iam/policy.json, and with only the policy `ddb-backupd iam-policy` generates from the
run's configuration (moto's IAM enforcement on); without any one exercised statement of the
shipped policy, a call is refused with an error naming the denied action, the features that
need it fail, and nothing else breaks. The features include a scheduled RDS export and
`ddb-backupd restore` run by hand, in the same role and configuration, during the run."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml
from moto.core.authorization import enable_iam_authentication
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from daemon.app import Daemon, run_daemon
from daemon.config.iam_policy import policy_for
from daemon.config.settings import Settings
from daemon.core.clock import FakeClock
from daemon.obs.metrics import Metrics

from .on_demand import LEDGER_COPY, POINT_COPY, Outcome, add_ledger, restore_by_hand, restored
from .privilege import (
    NEEDS,
    NOT_EXERCISED,
    POLICY,
    STATEMENTS,
    make_users,
    may_fail,
    names_denial,
    only_in,
)
from .scenario import (
    GIB,
    SLOT0,
    TABLES,
    WAVE,
    World,
    add_rds,
    build_world,
    check_jobs_final,
    check_one_backup_per_slot,
    slot_names,
    start_wave,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
EXERCISED = sorted(sid for sid in STATEMENTS if sid not in NOT_EXERCISED)
# every feature gets to act on slot 1 (a retention pass, a rotation) before the checks are read
SETTLE_SECONDS = 5.0
ORDERS_JOB = next(i for i, (table, _) in enumerate(WAVE) if table == "orders-production")
SLOT1_COPY = f"orders-staging-{SLOT0 + timedelta(minutes=1):%Y%m%d-%H-%M}"


def copies(world: World) -> list[dict[str, str]]:
    """Tags of every restored copy that finished (state done)."""
    ddb, out = world.client("dynamodb"), []
    for name in ddb.list_tables()["TableNames"]:
        if not name.startswith("orders-staging-"):
            continue
        try:
            arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
            tags: dict[str, str] = {}
            kwargs = {"ResourceArn": arn}
            while True:
                page = ddb.list_tags_of_resource(**kwargs)
                tags.update({t["Key"]: t["Value"] for t in page["Tags"]})
                if not page.get("NextToken"):
                    break
                kwargs["NextToken"] = page["NextToken"]
        except ddb.exceptions.ResourceNotFoundException:
            continue
        if tags.get("backupd:state") == "done":
            out.append(tags)
    return out


def checks(world: World, fake: Any, wired: Daemon, jobs: list[str],
           logs: list[dict[str, Any]], by_hand: dict[str, Outcome]) -> dict[str, bool]:
    """Every check of the run, by name (True: holds)."""
    value = wired.kernel.metrics.registry.get_sample_value
    last = slot_names(2)[-1]
    slots = world.slots()
    done = copies(world)
    return {
        "backups": all((t, last) in slots for t in TABLES) and not check_one_backup_per_slot(
            world),
        "retention": {n for _, n in slots} == {last},
        "events": world.queue_depth() == 0,
        "reconcile": (value("backupd_reconciles_total", {"outcome": "ok"}) or 0) > 0,
        "jobs": not check_jobs_final(fake, {j: wired.kernel.tracker.finished_state(j) for j in jobs})
        and all(wired.kernel.tracker.finished_state(j) for j in jobs),
        "alerts": (value("backupd_alerts_published_total", {"severity": "critical"}) or 0) > 0,
        "gauges": (value("backupd_cloudwatch_batches_total", {"outcome": "ok"}) or 0) > 0,
        "restore_native": any("/backup/" in t["backupd:source-backup"] for t in done)
        and world.ssm_target() is not None,
        "restore_job": any(":recovery-point:" in t["backupd:source-backup"] for t in done),
        # three restores (two slots, one wave job) and keep_last 2: one copy rotated away
        "rotation": any(e["event"] == "restore.copy_deleted" for e in logs),
        "export": bool(world.exported()),
        "export_scan": not any(e["event"] in {"export.pass_failed", "export.rescan_failed"}
                               for e in logs),
        "rds_export": world.rds_exported(),
        "restore_by_table": by_hand["restore_by_table"].code == 0 and restored(world,
                                                                              LEDGER_COPY),
        "restore_by_point": by_hand["restore_by_point"].code == 0 and restored(world,
                                                                              POINT_COPY),
        # created on the first pass, then only read (selections, tags, vault) on later ones
        "plans": world.plan_made() and (value("backupd_backup_plan_reconciles_total", {
            "outcome": "ok"}) or 0) >= 2 and not (value("backupd_backup_plan_reconciles_total", {
                "outcome": "error"}) or 0),
        "catch_up": all((value("backupd_task_rescans_total", {
            "kind": kind, "step": "catch_up", "outcome": "ok"}) or 0) > 0
            for kind in ("restore", "export")) and not any(
            e["event"] in {"restore.catch_up_failed", "export.catch_up_failed"} for e in logs),
    }


def scenario_settings(world: World, creds: tuple[str, str] | None = None) -> Settings:
    """The run's configuration; the daemon's credentials (`creds`) change no policy."""
    return Settings(**scenario_config(world, creds))


def scenario_config(world: World, creds: tuple[str, str] | None = None) -> dict[str, Any]:
    """The run's configuration as its file would hold it."""
    keys = {"access_key_id": creds[0], "secret_access_key": creds[1]} if creds else {}
    return world.settings(
        aws={**keys, "max_attempts": 2},
        # one replica: a renewal slowed by a loaded machine must not hand the lease round
        # (a leadership gap would hide jobs that start and end inside it from the reconcile)
        leader={"enabled": True, "create_table": True, "renew_deadline_seconds": 40,
                "lease_seconds": 60},
        schedules=[{**world.settings()["schedules"][0], "retention": {"keep_last": 1}}],
        restores=[{**world.settings()["restores"][0], "keep_last": 2}],
        exports=[*world.settings()["exports"], world.rds_export()],
        backup_plans=[world.backup_plan()])


async def run(world: World, fake: Any, creds: tuple[str, str], must_pass: set[str],
              config_file: Path, seconds: float = 40.0) -> tuple[dict[str, bool], str]:
    """The scenario under the daemon's credentials, with `ddb-backupd restore` run by hand
    (`config_file`: the configuration it reads); checks once `must_pass` hold (or time is
    up), with every log line the daemon wrote and everything the commands printed."""
    settings = scenario_settings(world, creds)
    await asyncio.to_thread(config_file.write_text, yaml.safe_dump(scenario_config(
        world, creds)), encoding="utf-8")
    clock, stop = FakeClock(SLOT0 + timedelta(seconds=1)), asyncio.Event()
    ready: asyncio.Future[Daemon] = asyncio.get_running_loop().create_future()

    async def on_ready(wired: Daemon) -> None:
        ready.set_result(wired)

    # tracebacks rendered, as in production's JSON lines: their last line names the action
    by_hand_run: asyncio.Task[dict[str, Outcome]] | None = None
    with capture_logs(processors=[structlog.processors.format_exc_info]) as logs:
        daemon = asyncio.create_task(run_daemon(
            settings, metrics=Metrics(CollectorRegistry()), clock=clock, stop=stop,
            on_ready=on_ready))
        try:
            wired = await ready
            # The wave's orders-production job (the newest backup of the restored table) is
            # held until slot 1's restore has begun: a restore of an older backup that
            # starts after a newer copy is done is skipped, and the rotation check needs
            # all three copies (slot 0, slot 1, the wave's recovery point).
            jobs = start_wave(fake, world, held=[ORDERS_JOB])
            # by hand, while the daemon runs: needs only the wave's recovery points
            by_hand_run = asyncio.create_task(restore_by_hand(world, fake))
            # slot 0 first (a leader that cannot reconcile acts only after its bounded tries)
            await until(lambda: all((t, slot_names(1)[0]) in world.slots() for t in TABLES),
                        30 if "backups" in must_pass else 8)
            clock.current = SLOT0 + timedelta(minutes=1, seconds=1)
            await until(lambda: any(n.startswith(SLOT1_COPY) for n in world.client(
                "dynamodb").list_tables()["TableNames"]), 15 if "rotation" in must_pass else 3)
            fake.finish(jobs[ORDERS_JOB], "COMPLETED", size_bytes=GIB)
            by_hand = await by_hand_run
            settled = asyncio.get_running_loop().time() + SETTLE_SECONDS
            await until(lambda: asyncio.get_running_loop().time() > settled and all(
                v for k, v in checks(world, fake, wired, jobs, logs, by_hand).items()
                if k in must_pass), seconds)
            results = checks(world, fake, wired, jobs, logs, by_hand)
        finally:
            if by_hand_run is not None:
                by_hand_run.cancel()  # done already, unless the run failed before it ended
            stop.set()
            await daemon
    printed = [o.output for o in by_hand.values()]
    return results, "\n".join([*(json.dumps(e, default=str) for e in logs), *printed])


async def until(condition: Callable[[], bool], seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            while not condition():
                await asyncio.sleep(0.3)
    except TimeoutError:
        pass  # the caller reads what held and what did not


@pytest.fixture
def privileged(fresh_standin: Any, aws_env: dict[str, str], make_table: Any, make_queue: Any,
               make_topic: Any, make_vault: Any, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> tuple[World, Any, Path]:
    """The scenario's world with an RDS instance and a table to restore by hand; the file
    `ddb-backupd restore` reads its configuration from."""
    world = build_world(fresh_standin, make_table, make_queue, make_topic, make_vault)
    add_rds(world)
    add_ledger(world, make_table)
    config_file = tmp_path / "ddb-backupd.yaml"
    monkeypatch.setenv("BACKUPD_CONFIG_FILE", str(config_file))
    return world, fresh_standin.backup, config_file


def test_every_statement_left_out_says_why_and_still_exists() -> None:
    """A renamed or removed statement must be taken off the list of those not exercised."""
    assert set(NOT_EXERCISED) <= set(STATEMENTS)
    assert all(reason for reason in NOT_EXERCISED.values())


@pytest.mark.parametrize("source", ["shipped", "generated"])
async def test_the_run_passes_on_exactly_the_policy(privileged: tuple[World, Any, Path],
                                                    source: str) -> None:
    """The shipped superset, and the policy generated from the run's own configuration:
    a statement the generator leaves out that the run needs fails this."""
    world, fake, config_file = privileged
    policy = POLICY if source == "shipped" else policy_for(scenario_settings(world))
    creds, admin = make_users(world.client("iam"), policy=policy)
    world.creds = admin
    with enable_iam_authentication():
        results, logs = await run(world, fake, creds, set(NEEDS), config_file)
    denied = sorted(set(re.findall(r"not authorized to perform: ([\w:]+)", logs)))
    assert denied == []
    assert results == dict.fromkeys(NEEDS, True)


@pytest.mark.parametrize("sid", EXERCISED)
async def test_without_one_statement_only_its_features_fail(
        privileged: tuple[World, Any, Path], sid: str) -> None:
    world, fake, config_file = privileged
    removed = only_in(sid)
    creds, admin = make_users(world.client("iam"), without=sid)
    world.creds = admin
    unaffected = {c for c in NEEDS if not may_fail(c, removed)}
    with enable_iam_authentication():
        results, logs = await run(world, fake, creds, unaffected, config_file, seconds=45)
    denied = {a for a in removed if names_denial(logs, a)}
    broken = {c for c, ok in results.items() if not ok}
    if not removed:  # moto grants by action; another statement grants all of these
        assert broken == set(), f"{sid}: no action of its own, yet {broken} failed"
        return
    assert denied, f"{sid}: no error names a denied action of {sorted(removed)}"
    assert broken, f"{sid}: nothing failed without {sorted(removed)} (a needless grant?)"
    assert broken <= {c for c in NEEDS if may_fail(c, removed)}, (
        f"{sid}: {sorted(broken - {c for c in NEEDS if may_fail(c, removed)})} broke too")
