"""The reconcile without an Organization: each account of `accounts:` listed through its own
client (the shared one for the daemon's account, an assumed role's for a member: moto's STS;
the stand-in answers ListBackupJobs and DescribeBackupJob for the caller's account). A
restart rebuilds the three accounts' jobs; a member whose role is refused is skipped, its
jobs left as they were, the others rebuilt; a member's job that ended unheard is closed by
DescribeBackupJob in its account, and one that began and ended between passes is listed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from structlog.testing import capture_logs

from daemon.aws.session import AwsClients
from daemon.events.listers import Lister
from daemon.events.wire import wire
from tests.fixtures.roles import RefusingSts
from tests.fixtures.standin import member_client
from tests.pipeline.helpers import backup_event, context, settings
from tests.pipeline.test_daemon import get, running, until

pytestmark = pytest.mark.e2e
GIB = 2**30
OWN, B, C = "123456789012", "222222222222", "333333333333"  # OWN: the stand-in's account
REGION = "us-east-1"
TEMPLATE = "arn:aws:iam::{account}:role/ddb-backupd-member"
OPEN = {"CREATED", "PENDING", "RUNNING"}
HOLD = float("inf")


def member_table(standin: Any, fake: Any, account: str, name: str, size: int) -> str:
    """A table of `size` bytes made in `account` with its assumed role's credentials."""
    ddb = member_client(standin, "dynamodb", account, role_arn_template=TEMPLATE)
    table = ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    fake.set_table_size(name, size)
    arn: str = table["TableDescription"]["TableArn"]
    assert arn.split(":")[4] == account
    return arn


@pytest.fixture
def estate(aws_env: dict[str, str], fresh_standin: Any, backup_fake: Any,
           make_vault: Callable[..., Any], make_table: Callable[..., Any]) -> dict[str, Any]:
    """Three accounts with a table each: the own (4 GiB), B (5 GiB) and C (6 GiB)."""
    del aws_env
    vault = make_vault()
    return {"fake": backup_fake, "vault": vault.name, "tables": {
        OWN: make_table(size_bytes=4 * GIB).arn,
        B: member_table(fresh_standin, backup_fake, B, "orders-b", 5 * GIB),
        C: member_table(fresh_standin, backup_fake, C, "orders-c", 6 * GIB)}}


def start(estate: dict[str, Any], account: str, **job: Any) -> Any:
    """A job AWS Backup started in `account` (held running unless told otherwise)."""
    vault = estate["vault"] if account == OWN else "ops"
    return estate["fake"].inject_job(estate["tables"][account], vault,
                                     **{"duration": HOLD, **job})


def roles(**extra: Any) -> Any:
    """Member roles and three served accounts, no Organization."""
    return settings(**{"organization": {"role_arn_template": TEMPLATE},
                       "accounts": [OWN, B, C], **extra})


def totals(tracker: Any) -> dict[str, tuple[int, int]]:
    """(jobs, bytes) per account with open jobs."""
    return {account: (t.jobs, t.bytes) for (account, _), t in tracker.scope_totals().items()
            if t.jobs}


async def test_a_restart_rebuilds_every_configured_account_through_its_role(
        estate: dict[str, Any]) -> None:
    fake = estate["fake"]
    jobs = {OWN: start(estate, OWN), B: [start(estate, B), start(estate, B)], C: start(estate, C)}
    async with running(roles()) as (daemon, base):
        await until(daemon.kernel.board.ready)  # ready only after the first reconcile
        tracker = daemon.kernel.tracker
        assert {j.job_id for j in tracker.open_jobs()} == {j.job_id for j in fake.jobs()}
        await until(lambda: totals(tracker) == {
            OWN: (1, 4 * GIB), B: (2, 10 * GIB), C: (1, 6 * GIB)})
        _, body = await get(base + "/status")
        reconcile = json.loads(body)["reconcile"]
        assert reconcile["mode"] == "member_roles"
        assert reconcile["accounts"] == [OWN, B, C]
        assert reconcile["last_pass"] == {OWN: "ok", B: "ok", C: "ok"}
    # While the daemon is down (no events): the own job and one of B's end, C starts another.
    fake.finish(jobs[OWN].job_id, "COMPLETED")
    fake.finish(jobs[B][0].job_id, "COMPLETED")
    start(estate, C)
    async with running(roles()) as (daemon, _):
        await until(daemon.kernel.board.ready)
        tracker = daemon.kernel.tracker
        truth = {j.job_id for j in fake.jobs() if j.state in OPEN}
        assert len(truth) == 3
        assert {j.job_id for j in tracker.open_jobs()} == truth
        await until(lambda: totals(tracker) == {B: (1, 5 * GIB), C: (2, 12 * GIB)})
        calls = daemon.kernel.metrics.registry.get_sample_value
        assert calls("backupd_aws_api_calls_total", {
            "service": "sts", "operation": "AssumeRole", "outcome": "ok"}) == 2, \
            "one role per member account; the own account needs none"


async def test_a_member_whose_role_is_refused_is_skipped_and_its_jobs_left_open(
        estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    fake = estate["fake"]
    served = {start(estate, OWN).job_id, start(estate, B).job_id}
    refused = start(estate, C)
    real = AwsClients.sts

    async def sts(self: AwsClients) -> Any:
        return RefusingSts(await real(self), {C})

    monkeypatch.setattr(AwsClients, "sts", sts)
    async with context(roles()) as (env, _):
        events = wire(env.settings, env.aws, env.kernel)
        # C's job known from its event, then ended unheard: not listing C is not its end
        await events.pipeline.handle(backup_event(refused.job_id, "RUNNING", table="orders-c",
                                                  account=C))
        fake.finish(refused.job_id, "COMPLETED")
        with capture_logs() as logs:
            await events.reconciler.run_once()
        tracker = env.tracker
        assert {j.job_id for j in tracker.open_jobs()} == served | {refused.job_id}
        assert {account for account, (jobs, _) in totals(tracker).items() if jobs} == {
            OWN, B, C}
        skipped = [line for line in logs if line["event"] == "reconcile.account_skipped"]
        assert [line["account"] for line in skipped] == [C]
        assert TEMPLATE.format(account=C) in skipped[0]["reason"]
        assert not [line for line in logs if line["event"] == "reconcile.job_unknown"]
        done = next(line for line in logs if line["event"] == "reconcile.done")
        assert (done["vanished"], done["skipped"]) == (0, [C])
        status = env.board.snapshot()
        assert status["reconcile"]["last_pass"].keys() == {OWN, B, C}
        assert status["reconcile"]["last_pass"][B] == "ok"
        assert "cannot be assumed" in status["reconcile"]["last_pass"][C]
        assert "AccessDenied" in status["member_accounts"][C]
        assert env.board.health["reconciler"].ready, "a skipped member fails no pass"


async def test_a_member_whose_listing_is_refused_is_skipped_the_others_rebuilt(
        estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A member role without backup:ListBackupJobs: C's listing fails, the pass goes on."""
    served = {start(estate, OWN).job_id, start(estate, B).job_id}
    start(estate, C)
    real = Lister.jobs

    async def jobs(self: Lister, query: Any) -> Any:
        if self.account == C:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not "
                                         "authorized to perform: backup:ListBackupJobs"}},
                              "ListBackupJobs")
        return await real(self, query)

    monkeypatch.setattr(Lister, "jobs", jobs)
    async with context(roles()) as (env, _):
        events = wire(env.settings, env.aws, env.kernel)
        await events.reconciler.run_once()
        assert {j.job_id for j in env.tracker.open_jobs()} == served
        last_pass = env.board.snapshot()["reconcile"]["last_pass"]
        assert (last_pass[OWN], last_pass[B]) == ("ok", "ok")
        assert last_pass[C].startswith("ListBackupJobs failed: ")
        assert "AccessDeniedException" in last_pass[C]


async def test_every_role_refused_fails_the_pass(
        estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    real = AwsClients.sts

    async def sts(self: AwsClients) -> Any:
        return RefusingSts(await real(self), {B, C})

    monkeypatch.setattr(AwsClients, "sts", sts)
    async with context(roles(accounts=[B, C])) as (env, _):
        events = wire(env.settings, env.aws, env.kernel)
        with pytest.raises(RuntimeError, match=f"no account could be listed: {B}: its role"):
            await events.reconciler.run_once()
        assert not env.board.health["reconciler"].ready


async def test_a_members_job_that_ended_unheard_is_closed_in_its_account(
        estate: dict[str, Any]) -> None:
    fake = estate["fake"]
    job = start(estate, B)
    async with context(roles()) as (env, _):
        events = wire(env.settings, env.aws, env.kernel)
        calls = env.metrics.registry.get_sample_value
        await events.pipeline.handle(backup_event(job.job_id, "RUNNING", table="orders-b",
                                                  account=B))
        fake.finish(job.job_id, "FAILED", status_message="Access denied")  # its events lost
        # the first pass lists no history: only DescribeBackupJob in B can tell how it ended
        assert await events.reconciler.run_once() == 1
        tracker = env.tracker
        assert tracker.finished_state(job.job_id) == "FAILED"
        assert calls("backupd_aws_api_calls_total", {
            "service": "backup", "operation": "DescribeBackupJob", "outcome": "ok"}) == 1
        failed = [r.alert for r in env.alerts.recent if r.alert.event == "job.failed"]
        assert [a.body["account"] for a in failed] == [B]
        # A job that begins and ends between two passes, unheard: the next pass lists it
        # among the jobs ended since (ListBackupJobs ByCompleteAfter in B's account).
        brief = start(estate, B, duration=0.0, final_state="ABORTED")
        await until(lambda: fake.jobs(state="ABORTED") != [])
        await events.reconciler.run_once()
        assert tracker.finished_state(brief.job_id) == "ABORTED"
        assert not totals(tracker)
