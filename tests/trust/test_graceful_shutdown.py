"""SIGTERM to a real `ddb-backupd run`: intake stops, messages still in work are handed back
(visible again at once), the lease is released, the last CloudWatch batch is flushed, and the
process exits 0 within shutdown_grace_seconds; a second signal exits at once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from .faultproxy import Call, FaultPlan, ThreadedFaultProxy
from .procs import Daemon, wait
from .scenario import World, build_world, env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
GRACE = 4.0


def hang(call: Call) -> bool:
    """Deletes hang: a handled message stays in work until SQS confirms its deletion."""
    return call.operation == "DeleteMessageBatch"


def daemon_env(world: World, proxy_url: str, standin: Any) -> dict[str, str]:
    settings = world.settings(
        aws={"endpoint_url": proxy_url}, restores=[], exports=[], schedules=[],
        shutdown_grace_seconds=GRACE, cloudwatch={"interval_seconds": 600},
        queue={"wait_seconds": 1, "visibility_timeout_seconds": 120},
        leader={"enabled": True, "create_table": True})
    return {**standin.env(), **env(settings)}


def start(world: World, proxy: Any, standin: Any, log: Path) -> Daemon:
    daemon = Daemon.start(daemon_env(world, proxy.url, standin), log, module=False)
    wait("leader and ready", lambda: daemon.metrics().get("backupd_leader") == 1
         and daemon.get("/readyz")[0] == 200, 30, (daemon,))
    proxy.plan = FaultPlan(rate=1.0, kinds={"timeout": 1.0}, timeout_seconds=60, applies=hang)
    for arn in world.tables.values():
        standin.backup.inject_job(arn, "ops", duration=30)
    wait("messages in work", lambda: daemon.metrics().get("backupd_messages_in_flight", 0) > 0,
         20, (daemon,), explain=lambda: dict(proxy.calls))
    return daemon


def lease_holders(world: World) -> list[dict[str, Any]]:
    return list(world.client("dynamodb").scan(TableName="ddb-backupd-leader")["Items"])


def test_sigterm_hands_work_back_releases_the_lease_and_exits_0_in_time(
        fresh_standin: Any, make_table: Any, make_queue: Any, make_topic: Any, make_vault: Any,
        tmp_path: Path) -> None:
    world = build_world(fresh_standin, make_table, make_queue, make_topic, make_vault)
    with ThreadedFaultProxy(world.endpoint) as proxy:
        daemon = start(world, proxy, fresh_standin, tmp_path / "daemon.log")
        flushed_before = proxy.calls[Call("cloudwatch", "PutMetricData")]
        signalled = time.monotonic()
        code = daemon.terminate(timeout=GRACE + 10)
        took = time.monotonic() - signalled
        flushed = proxy.calls[Call("cloudwatch", "PutMetricData")] - flushed_before
    attrs = world.client("sqs").get_queue_attributes(QueueUrl=world.queue_url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    print(f"stopped {took:.1f} s after SIGTERM (grace {GRACE} s)")
    assert code == 0, daemon.output()[-2000:]
    assert took < GRACE + 3  # the grace, plus the interpreter's own exit
    assert int(attrs["ApproximateNumberOfMessages"]) > 0  # handed back ...
    assert int(attrs["ApproximateNumberOfMessagesNotVisible"]) == 0  # ... visible at once
    assert lease_holders(world) == []  # released, not left to expire
    assert flushed >= 1  # the last CloudWatch batch
    assert "daemon.stopped" in daemon.output()


def test_a_second_signal_exits_at_once(fresh_standin: Any, make_table: Any, make_queue: Any,
                                       make_topic: Any, make_vault: Any, tmp_path: Path) -> None:
    world = build_world(fresh_standin, make_table, make_queue, make_topic, make_vault)
    with ThreadedFaultProxy(world.endpoint) as proxy:
        daemon = start(world, proxy, fresh_standin, tmp_path / "daemon.log")
        daemon.proc.send_signal(15)
        time.sleep(0.3)
        signalled = time.monotonic()
        code = daemon.terminate(timeout=GRACE + 10)
        took = time.monotonic() - signalled
    assert code != 0
    assert took < GRACE / 2
    assert "daemon.forced_exit" in daemon.output()
