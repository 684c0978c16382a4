"""`ddb-backupd restore` by hand during a run: the operator's command, in the daemon's role and
with its configuration file, restoring the newest backup of a table and an AWS Backup
recovery point while the daemon works.

The command runs in-process (`daemon.cli.main`, as tests/cli/test_restore_e2e.py drives it)
on a thread of its own: it has its own event loop (`asyncio.run`), the daemon keeps its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from dataclasses import dataclass
from typing import Any

from daemon.cli import main

from .scenario import World

LEDGER = "ledger"  # a table no schedule or rule covers: its one backup is the operator's
LEDGER_COPY = "ledger-by-hand"
POINT_COPY = "customers-by-hand"
POINT_OF = "customers-production"  # its recovery points come from the wave
TIMEOUT_SECONDS = 60  # of each command: generous, the machine may be loaded
POINT_WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class Outcome:
    """How one command ended: its exit code, and what it printed (progress lines on stdout,
    the reason of a failure on stderr)."""

    code: int
    output: str


def add_ledger(world: World, make_table: Any) -> None:
    """The table `--table ... --latest` restores, with one native backup of it."""
    make_table(LEDGER, items=[{"pk": f"entry-{i}"} for i in range(3)])
    world.client("dynamodb").create_backup(TableName=LEDGER, BackupName="before-migration")


def restored(world: World, name: str) -> bool:
    """Whether the copy `name` exists and is ACTIVE."""
    ddb = world.client("dynamodb")
    try:
        return bool(ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE")
    except ddb.exceptions.ResourceNotFoundException:
        return False


async def restore_by_hand(world: World, fake: Any) -> dict[str, Outcome]:
    """Both commands, one after the other (they share stdout): the newest backup of LEDGER,
    then a COMPLETED recovery point of POINT_OF; each waits for its table to be ACTIVE."""
    async with asyncio.timeout(POINT_WAIT_SECONDS):  # the wave's jobs end within seconds
        while (point := _point(world, fake)) is None:
            await asyncio.sleep(0.3)
    commands = {
        "restore_by_table": ["--table", LEDGER, "--latest", "--target", LEDGER_COPY],
        "restore_by_point": ["--recovery-point", point, "--target", POINT_COPY]}
    return {name: await asyncio.to_thread(
        _command, [*argv, "--wait", "--timeout", str(TIMEOUT_SECONDS)])
        for name, argv in commands.items()}


def _point(world: World, fake: Any) -> str | None:
    return next((p.arn for p in fake.recovery_points()
                 if p.resource_arn == world.tables[POINT_OF] and p.status == "COMPLETED"), None)


def _command(argv: list[str]) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["restore", *argv])
    return Outcome(code, out.getvalue() + err.getvalue())
