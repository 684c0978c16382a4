"""The daemon as a process, killed with SIGKILL at seeded points of a realistic run and
restarted: after one reconcile the tracker equals AWS's truth, no backup is doubled, no
restore or export is lost (a trigger consumed just before a kill is caught up from AWS's
list of completed backups). Four seeds of five kills each: twenty kill points."""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from .daemon_proc import set_clock
from .procs import Daemon, wait
from .scenario import (
    GIB,
    SLOT0,
    VAULT,
    World,
    build_world,
    check_one_backup_per_slot,
    check_retention_of_seen,
    env,
    slot_names,
    start_wave,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
KILLS = 5
SLOTS = 3


def daemon_env(world: World, standin: Any, clock: Path) -> dict[str, str]:
    return {**standin.env(), **env(world.settings()), "TRUST_CLOCK_FILE": str(clock)}


def tags_of(ddb: Any, arn: str) -> dict[str, str]:
    """Every tag (ListTagsOfResource pages; moto appends re-written keys, last one wins)."""
    out: dict[str, str] = {}
    kwargs = {"ResourceArn": arn}
    while True:
        page = ddb.list_tags_of_resource(**kwargs)
        out.update({t["Key"]: t["Value"] for t in page["Tags"]})
        if not page.get("NextToken"):
            return out
        kwargs["NextToken"] = page["NextToken"]


def restoring_tables(world: World) -> list[str]:
    """Restored copies still tagged `restoring`: work a crash left half done."""
    ddb = world.client("dynamodb")
    left = []
    for name in ddb.list_tables()["TableNames"]:
        try:
            tags = tags_of(ddb, ddb.describe_table(TableName=name)["Table"]["TableArn"])
        except ddb.exceptions.ResourceNotFoundException:  # rotated away meanwhile
            continue
        if tags.get("backupd:state") == "restoring":
            left.append(name)
    return left


class SlotWatcher(threading.Thread):
    """Polls the backups all run long: which slots existed, even those retention removed."""

    def __init__(self, world: World) -> None:
        super().__init__(daemon=True)
        self.world, self.seen = world, defaultdict(set)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.3):
            for table, name in self.world.slots():
                self.seen[table].add(name)


def unfinished_restores(world: World) -> list[str]:
    return [*([] if world.ssm_target() else ["SSM parameter never published"]),
            *(f"{t} left restoring" for t in restoring_tables(world))]


def tracker_matches_aws(daemon: Daemon, fake: Any) -> bool:
    """The daemon's running jobs and bytes (its tracker, on /status) equal the fake's."""
    open_jobs = [j for j in fake.jobs() if j.state in ("CREATED", "PENDING", "RUNNING")]
    status, _ = daemon.get("/readyz")
    running = daemon.total("backupd_backup_jobs_running")
    size = daemon.total("backupd_backup_running_bytes")
    return status == 200 and running == len(open_jobs) and size == len(open_jobs) * GIB


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_sigkill_at_seeded_points_loses_and_doubles_nothing(
        seed: int, fresh_standin: Any, make_table: Any, make_queue: Any, make_topic: Any,
        make_vault: Any, tmp_path: Path) -> None:
    rng = random.Random(seed)
    world = build_world(fresh_standin, make_table, make_queue, make_topic, make_vault)
    fake = fresh_standin.backup
    clock = tmp_path / "clock"
    set_clock(clock, SLOT0 + timedelta(seconds=1))
    # held open across every crash: the restarted tracker must find them in AWS
    for table in ("orders-production", "audit-log"):
        fake.inject_job(world.tables[table], VAULT, size_bytes=GIB, duration=float("inf"))
    start_wave(fake, world)
    environment, log = daemon_env(world, fresh_standin, clock), tmp_path / "daemon.log"
    watcher = SlotWatcher(world)
    watcher.start()
    slot = 0
    for kill in range(KILLS):
        daemon = Daemon.start(environment, log)
        if kill % 2 == 1 and slot < SLOTS - 1:  # the run moves on while processes die
            slot += 1
            set_clock(clock, SLOT0 + timedelta(minutes=slot, seconds=1))
        wait("the process to come up", lambda d=daemon: d.proc.poll() is None, 5)
        at = rng.uniform(0.3, 5.0)  # the seeded kill point, from start-up to mid-run
        try:
            daemon.proc.wait(at)
        except Exception:  # still running, as it should be: now kill it
            daemon.kill()
        else:
            raise AssertionError(f"daemon exited by itself\n{daemon.output()[-3000:]}")
    set_clock(clock, SLOT0 + timedelta(minutes=SLOTS - 1, seconds=1))
    final = Daemon.start(environment, log)
    try:
        last = slot_names(SLOTS)[-1]
        wait("retention converged, one backup per slot", lambda: not (
            check_retention_of_seen(world, watcher.seen, last)
            or check_one_backup_per_slot(world)), 40, (final,))
        wait("tracker equal to AWS after a reconcile", lambda: tracker_matches_aws(final, fake),
             30, (final,))
        wait("queue drained", lambda: world.queue_depth() == 0, 30, (final,))
        wait("restore published, nothing left restoring",
             lambda: not unfinished_restores(world), 40, (final,),
             lambda: unfinished_restores(world))
        # a backup whose event was consumed just before a kill: the rescan's catch-up finds it
        wait("the wave's export written", world.exported, 30, (final,))
        code = final.terminate(timeout=15)
    finally:
        watcher.done.set()
        if final.proc.poll() is None:
            final.kill()
    assert code == 0
    assert check_one_backup_per_slot(world) == []
    assert check_retention_of_seen(world, watcher.seen, last) == []
