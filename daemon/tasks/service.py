"""What the restore and export services share: the rules that hear a completed backup, and
the loop that runs their passes while this replica leads."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Protocol

import structlog

from daemon.core.tasks.scope import Origin, in_scope
from daemon.kernel.bus import BackupCompleted
from daemon.kernel.supervisor import sleep_or_stop
from daemon.tasks.runner import TaskRunner

log = structlog.get_logger(__name__)


class Scoped(Protocol):
    """A restore or export rule: the vaults and accounts it listens to (empty: any)."""

    @property
    def vaults(self) -> Collection[str]: ...

    @property
    def accounts(self) -> Collection[str]: ...


def rules_for[R: Scoped](rules: Iterable[R], item: BackupCompleted) -> list[R]:
    """The rules whose vaults and accounts cover where this backup was made."""
    origin = Origin.of(item.vault, item.region, item.resource_arn, item.recovery_point_arn)
    return [r for r in rules if in_scope(r.vaults, r.accounts, origin)]


async def run_while_leading(runner: TaskRunner, stop: asyncio.Event,
                            one_pass: Callable[[], Awaitable[object]], *, rules: Collection[str],
                            failed: str, wait: Callable[[], float],
                            outcome: Callable[[bool], None] | None = None) -> None:
    """Whenever the runner accepts tasks (this replica leads), run `one_pass`, then wait
    `wait()` seconds, until stopped; without `rules`, only wait for the stop. A pass that
    raises is logged as event `failed` and the loop goes on; `outcome` hears whether each
    pass succeeded."""
    if not rules:
        await stop.wait()
        return
    while await runner.wait_accepting(stop):
        try:
            await one_pass()
            ok = True
        except Exception:
            log.exception(failed)
            ok = False
        if outcome is not None:
            outcome(ok)
        if await sleep_or_stop(wait(), stop):
            return
