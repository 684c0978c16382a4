"""Two replicas on one `ddb-backupd sandbox`: exactly one leads at any time, the follower takes
over within 20 s of the leader's SIGKILL (at once after a SIGTERM, which releases the lease),
followers export no job gauges, and no backup is doubled across a handover."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from daemon.standin import client_env

from .daemon_proc import set_clock
from .procs import ROOT, Daemon, base_env, wait
from .scenario import SLOT0, TABLES, World, check_one_backup_per_slot, env, slot_names

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
FAILOVER_LIMIT = 20.0
LEASE = 15.0  # the defaults: renew 5 s, step down after 10 s, expire after 15 s


class LeaderWatch(threading.Thread):
    """Asks every live replica's /status who leads, ten times a second, for the whole test."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.replicas: list[Daemon] = []
        self.most_at_once = 0
        self.done = threading.Event()

    def leaders(self) -> list[Daemon]:
        out = []
        for d in list(self.replicas):
            status, body = d.get("/status")
            if status == 200 and json.loads(body)["leader"]["leader"]:
                out.append(d)
        return out

    def run(self) -> None:
        while not self.done.wait(0.1):
            self.most_at_once = max(self.most_at_once, len(self.leaders()))


def start_sandbox() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "daemon", "sandbox"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=base_env({}))
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def create_world(url: str) -> World:
    world = World(endpoint=url)
    ddb = world.client("dynamodb")
    for name in TABLES:
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    world.queue_url = world.client("sqs").create_queue(QueueName="events")["QueueUrl"]
    return world


def replica_env(world: World, clock: Path) -> dict[str, str]:
    settings = world.settings(alert_topic_arn=None, restores=[], exports=[],
                              cloudwatch={"enabled": False},
                              schedules=[{**world.settings()["schedules"][0],
                                          "retention": {"keep_last": 5}}],
                              leader={"enabled": True, "create_table": True})
    return {**client_env(world.endpoint), **env(settings), "TRUST_CLOCK_FILE": str(clock)}


def slot_done(world: World, minute: int) -> bool:
    name = slot_names(minute + 1)[-1]
    return all((t, name) in world.slots() for t in TABLES)


JOB_GAUGES = ("backupd_backup_jobs_running", "backupd_backup_running_bytes",
              "backupd_backup_limit_bytes", "backupd_threshold_level")


def job_gauges(d: Daemon) -> list[str]:
    """The tracker collector's samples a replica exports (none at all on a follower)."""
    return [k for k in d.metrics() if k.split("{")[0] in JOB_GAUGES]


def test_one_leader_and_failover_within_20_seconds(tmp_path: Path) -> None:
    sandbox, url = start_sandbox()
    watch, started = LeaderWatch(), []
    try:
        world = create_world(url)
        clock = tmp_path / "clock"
        set_clock(clock, SLOT0 + timedelta(seconds=1))
        environment = replica_env(world, clock)
        started.extend(Daemon.start({**environment, "POD_NAME": name}, tmp_path / f"{name}.log")
                       for name in ("a", "b"))
        watch.replicas = list(started)
        watch.start()
        leader = wait("a leader", lambda: (watch.leaders() or [None])[0], 30, tuple(started))
        follower = next(d for d in started if d is not leader)
        wait("slot 0 backed up by the leader", lambda: slot_done(world, 0), 20, (leader,))
        follower_gauges = job_gauges(follower)
        follower_ready = follower.get("/readyz")
        follower_flag = follower.metrics().get("backupd_leader")

        set_clock(clock, SLOT0 + timedelta(minutes=1, seconds=1))  # slot 1 starts ...
        time.sleep(0.3)  # ... and the leader dies in the middle of it
        killed_at = time.monotonic()
        leader.kill()
        watch.replicas.remove(leader)
        wait("the follower to take over", lambda: follower in watch.leaders(), 30, (follower,))
        failover = time.monotonic() - killed_at
        wait("slot 1 finished by the new leader", lambda: slot_done(world, 1), 20, (follower,))

        third = Daemon.start({**environment, "POD_NAME": "c"}, tmp_path / "c.log")
        started.append(third)
        watch.replicas.append(third)
        wait("the third replica to follow", lambda: third.metrics().get("backupd_leader") == 0,
             30, (third,))
        set_clock(clock, SLOT0 + timedelta(minutes=2, seconds=1))
        wait("slot 2 backed up", lambda: slot_done(world, 2), 20, (follower,))
        stopped_at = time.monotonic()
        code = follower.terminate(timeout=30)
        watch.replicas.remove(follower)
        wait("the third replica to take over", lambda: third in watch.leaders(), 30, (third,))
        handover = time.monotonic() - stopped_at
        doubled = check_one_backup_per_slot(world)
    finally:
        watch.done.set()
        for d in started:
            if d.proc.poll() is None:
                d.kill()
        sandbox.terminate()
        sandbox.wait(10)
    print(f"failover after SIGKILL: {failover:.1f} s; handover after SIGTERM: {handover:.1f} s")
    assert watch.most_at_once == 1
    assert failover < FAILOVER_LIMIT
    assert code == 0
    # released, not left to expire: without the release a follower waits >= lease - renew
    assert handover < LEASE / 2
    assert doubled == []
    assert follower_flag == 0
    assert follower_gauges == []  # a Prometheus sum() never counts a job twice
    assert follower_ready[0] == 200, follower_ready  # a follower serves, and is ready


