"""`ddb-backupd demo --accounts N`: the demo as one deployment for an Organization.

Besides the demo's own account (the stand-in's), N-1 member accounts each get a table, made
with the member's own credentials (STS AssumeRole of the role the daemon assumes there too),
and one backup job of it a few seconds in, whose events reach the same queue as a central
event bus would forward them. The daemon reads each member table's size through the
member's role (`organization.role_arn_template`) and keeps totals, levels and alerts per
account: one member goes to WARNING, one to CRITICAL, the others stay OK, each against its
own limit and independently of the demo's own account. The live lines show every account.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import boto3

from daemon.app import Daemon
from daemon.standin import StandIn

GIB = 2**30
ROLE_TEMPLATE = "arn:aws:iam::{account}:role/ddb-backupd-target"
LEVELS = {0: "ok", 1: "WARNING", 2: "CRITICAL"}
SIZES_GIB = (85, 95, 20)  # the first member warns, the second is critical, the rest are ok
START_AT, DURATION = 3.0, 25.0


def member_ids(accounts: int) -> list[str]:
    """The member accounts of `--accounts N` (the demo's own account is the first of N)."""
    return [str(n) * 12 for n in range(1, accounts)]


def table_name(account: str) -> str:
    return f"tenant-{account[-4:]}-orders"


def size_gib(index: int) -> int:
    return SIZES_GIB[min(index, len(SIZES_GIB) - 1)]


def setup(standin: StandIn, members: list[str]) -> None:
    """A table in each member account, made with that account's assumed-role credentials."""
    sts = boto3.client("sts", region_name=standin.region, endpoint_url=standin.endpoint_url,
                       aws_access_key_id="testing",
                       aws_secret_access_key="testing")  # noqa: S106 - the stand-in's dummy
    for index, account in enumerate(members):
        creds = sts.assume_role(RoleArn=ROLE_TEMPLATE.format(account=account),
                                RoleSessionName="demo-setup")["Credentials"]
        ddb = boto3.client("dynamodb", region_name=standin.region,
                           endpoint_url=standin.endpoint_url,
                           aws_access_key_id=creds["AccessKeyId"],
                           aws_secret_access_key=creds["SecretAccessKey"],
                           aws_session_token=creds["SessionToken"])
        ddb.create_table(TableName=table_name(account), BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        standin.backup.set_table_size(table_name(account), size_gib(index) * GIB)


def settings(members: list[str]) -> dict[str, Any]:
    """What the daemon's settings add for the members (nothing without any)."""
    return {"organization": {"enabled": True, "role_arn_template": ROLE_TEMPLATE}} \
        if members else {}


async def waves(standin: StandIn, members: list[str], started: float,
                stop: asyncio.Event) -> None:
    """One backup job of each member's table, `START_AT` seconds in."""
    delay = START_AT - (time.monotonic() - started)
    if delay > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
    if stop.is_set():
        return
    fake = standin.backup
    for index, account in enumerate(members):
        arn = f"arn:aws:dynamodb:{fake.region}:{account}:table/{table_name(account)}"
        fake.inject_job(arn, "member-vault", state="CREATED",
                        size_bytes=size_gib(index) * GIB, duration=DURATION)
        print(f"[t+{time.monotonic() - started:4.0f}s] AWS Backup starts a job in member "
              f"account {account}: {table_name(account)} ({size_gib(index)} GiB)", flush=True)


def line(daemon: Daemon) -> str:
    """Every account's running bytes and level, as the daemon keeps them."""
    totals = daemon.kernel.tracker.scope_totals()
    levels = {(s.labels["account"], s.labels["region"]): int(s.value)
              for family in daemon.kernel.metrics.registry.collect()
              if family.name == "backupd_account_threshold_level" for s in family.samples}
    parts = [f"{account} {total.bytes / GIB:5.1f} GiB {LEVELS[levels.get((account, region), 0)]}"
             for (account, region), total in sorted(totals.items())]
    return "         accounts: " + (" | ".join(parts) or "(no jobs yet)")
