"""CloudWatch cost: PutMetricData calls per minute with 1 000 running jobs, and the seed's model.

`cloudwatch_calls_per_min_1000_jobs`: the daemon's `CloudWatchPublisher` against moto with a
tracker of 1 000 running backup jobs in 30 groups (10 vaults x 3 resource types), plus the
freshness and coverage datums of 10 schedules (seeded from the stand-in as at start), over 10
minutes of simulated time (a fake clock; one `run_once` per interval, as `run` does between
its sleeps); jobs finish and new ones start between intervals. Calls are read from the
daemon's own `backupd_aws_api_calls_total`. Target: at most one call per interval.

`seed_monitor_calls_per_min_1000_jobs`: the per-job Lambda + Step Functions monitor this
daemon replaces, computed from its design (stated as a model, not measured): every running
job has its own state machine that every 60 s invokes a Lambda (1 invocation), which calls
PutMetricData (1 call), and walks Wait -> Invoke -> Choice (3 state transitions).
"""

from __future__ import annotations

import asyncio
import itertools

from benchmarks.common import REPORTED, Figure, Target, exit_with, figure
from benchmarks.inprocess import api_calls, daemon_context, quiet_logging, settings
from benchmarks.sandbox import Sandbox
from daemon.core.clock import FakeClock
from daemon.core.events.decode import JobEvent
from daemon.core.events.tracker import JobTable
from daemon.obs.metrics import Metrics
from daemon.scheduling.wire import wire as wire_scheduling

JOBS = 1_000
SCHEDULES = 10
MINUTES = 10
INTERVAL = 60.0
TYPES = ("DynamoDB", "RDS", "EFS")
SEED_PER_JOB_MINUTE = {"lambda_invocations": 1, "put_metric_data": 1, "state_transitions": 3}


def running(job: int, clock: FakeClock, state: str = "RUNNING") -> JobEvent:
    """A backup job event of job number `job` (its group follows from the number)."""
    return JobEvent(
        kind="backup_job", job_id=f"job-{job:07d}", state=state,
        resource_arn=f"arn:aws:dynamodb:us-east-1:123456789012:table/t-{job:07d}",
        resource_type=TYPES[job % 3], vault=f"vault-{job % 10}", region="us-east-1",
        account="123456789012", size_bytes=(job % 97 + 1) * 2**30, time=clock.now())


async def publish_for(url: str) -> tuple[float, int]:
    """(PutMetricData calls, datums per interval) over MINUTES of simulated time."""
    clock = FakeClock()
    metrics = Metrics()
    s = settings(url, cloudwatch={"interval_seconds": INTERVAL}, schedules=[
        {"name": f"s{i}", "expression": "rate(1 hour)", "tables": [f"t{i}-*"]}
        for i in range(SCHEDULES)])
    async with daemon_context(s, metrics=metrics, clock=clock) as bench:
        scheduling = wire_scheduling(s, bench.aws, bench.kernel)
        catalog, freshness, coverage = (scheduling.catalog, scheduling.freshness,
                                        scheduling.coverage)
        assert coverage is not None
        await catalog.run_once()
        await freshness.seed()
        await coverage.run_once()
        tracker: JobTable = bench.kernel.tracker
        numbers = itertools.count()
        open_jobs = [next(numbers) for _ in range(JOBS)]
        for job in open_jobs:
            tracker.apply(running(job, clock))
        publisher = bench.events.cloudwatch
        assert publisher is not None
        before = api_calls(metrics).get("cloudwatch.PutMetricData", 0.0)
        for _ in range(MINUTES):
            clock.advance(INTERVAL)
            for _ in range(JOBS // 10):  # a tenth of the jobs finish, as many start
                tracker.apply(running(open_jobs.pop(0), clock, "COMPLETED"))
                open_jobs.append(next(numbers))
                tracker.apply(running(open_jobs[-1], clock))
            assert tracker.running_jobs_total() == JOBS
            await publisher.run_once()
        calls = api_calls(metrics).get("cloudwatch.PutMetricData", 0.0) - before
        ok = metrics.registry.get_sample_value("backupd_cloudwatch_batches_total",
                                               {"outcome": "ok"})
        if ok != MINUTES:
            raise RuntimeError(f"{ok} of {MINUTES} PutMetricData batches succeeded")
        accounts = {account for *_, account in tracker.totals()}
        return calls, (2 * len(tracker.totals()) + 2 * len(accounts) + 2
                       + len(bench.kernel.datums.collect(clock.now())))


def run() -> list[Figure]:
    quiet_logging()
    with Sandbox() as sb:
        calls, datums = asyncio.run(publish_for(sb.url))
    simulated_minutes = MINUTES * INTERVAL / 60
    per_min = calls / simulated_minutes
    seed = {k: v * JOBS for k, v in SEED_PER_JOB_MINUTE.items()}
    return [
        figure("cloudwatch_calls_per_min_1000_jobs", per_min, "calls/min",
               Target("<=", 60 / INTERVAL),
               note=f"{int(calls)} PutMetricData calls in {MINUTES} simulated minutes, "
                    f"{datums} datums each, interval {INTERVAL:.0f} s", datums_per_call=datums),
        figure("seed_monitor_calls_per_min_1000_jobs", seed["put_metric_data"], "calls/min",
               REPORTED, ratio=seed["put_metric_data"] / per_min if per_min else None,
               note=f"model: per running job per minute 1 Lambda invocation, 1 PutMetricData, "
                    f"3 state transitions -> {seed['lambda_invocations']} invocations, "
                    f"{seed['put_metric_data']} PutMetricData, {seed['state_transitions']} "
                    f"transitions per minute; ratio = seed / daemon", model=seed),
    ]


if __name__ == "__main__":
    exit_with(run)
