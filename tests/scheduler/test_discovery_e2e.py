"""Table discovery: paginated ListTables, sizes and tags, tables that come and go."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from daemon.core.clock import FakeClock
from tests.scheduler.conftest import backup_names

pytestmark = pytest.mark.e2e
SLOT = datetime(2026, 11, 24, 5, tzinfo=UTC)


async def test_every_table_is_found_across_pages(instance, make_table):
    for i in range(105):
        make_table(f"t-{i:03d}")
    daemon = await instance([{"name": "all", "expression": "rate(1 day)", "tables": ["*"]}],
                            FakeClock(SLOT))
    await daemon.catalog.run_once()
    assert len(daemon.catalog.tables) == 105
    assert daemon.metric("backupd_discovered_tables") == 105


async def test_tables_are_selected_by_tag_and_size_comes_from_describe_table(
        instance, make_table, ddb):
    make_table("orders", tags={"backup": "daily"}, size_bytes=12345)
    make_table("scratch", tags={"backup": "never"})
    spec = {"name": "tagged", "expression": "rate(1 hour)", "tags": {"backup": "daily"}}
    daemon = await instance([spec], FakeClock(SLOT))
    await daemon.tick()
    assert daemon.catalog.get("orders").size_bytes == 12345
    assert backup_names(ddb) == ["backupd-tagged-202611240500@orders"]
    assert daemon.metric("backupd_schedule_selected_tables", schedule="tagged") == 1


async def test_a_schedule_follows_tables_that_appear_and_disappear(instance, make_table, ddb):
    make_table("orders-1")
    spec = {"name": "hourly", "expression": "rate(1 hour)", "tables": ["orders-*"],
            "exclude": ["*-tmp"]}
    daemon = await instance([spec], FakeClock(SLOT))
    await daemon.catalog.run_once()
    make_table("orders-2")
    make_table("orders-tmp")
    ddb.delete_table(TableName="orders-1")
    await daemon.tick()
    assert sorted(daemon.catalog.tables) == ["orders-2", "orders-tmp"]
    assert backup_names(ddb) == ["backupd-hourly-202611240500@orders-2"]
