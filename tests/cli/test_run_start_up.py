"""`ddb-backupd run` starts with the cyclic garbage collector off, and the daemon turns it
back on once ready (after collecting and freezing what start-up built)."""

from __future__ import annotations

import argparse
import asyncio
import gc
from collections.abc import Iterator

import pytest

from daemon import app
from daemon.cli import common
from daemon.cli import run as run_command
from daemon.kernel.status import StatusBoard


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    yield
    gc.enable()
    gc.unfreeze()


def test_start_up_runs_without_the_collector_and_gives_it_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []

    def invalid_settings() -> None:
        seen.append(gc.isenabled())

    monkeypatch.setattr(common, "settings_or_report", invalid_settings)
    assert run_command.run(argparse.Namespace(dry_run=False)) == 2
    assert seen == [False]
    assert gc.isenabled()


async def test_once_ready_the_daemon_collects_freezes_and_enables_the_collector() -> None:
    board = StatusBoard()
    board.set_health("config", True)
    gc.disable()
    await asyncio.wait_for(app._freeze_when_ready(board, asyncio.Event()), timeout=5)
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
