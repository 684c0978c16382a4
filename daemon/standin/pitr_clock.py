"""Stand-in extension (restores/exports feature): PITR's latest restorable time moves with time.

moto sets `LatestRestorableDateTime` once, when PITR is enabled, and never moves it; AWS keeps
it a few minutes behind now. Exports at a backup's time wait until PITR has reached that
time, so with moto as is they would wait forever. `install()` makes moto report the current
time as the latest restorable time of every table with PITR enabled. Idempotent; call it
before serving (the tests of the tasks feature do; `StandIn.start` may too).
"""

from __future__ import annotations

from typing import Any

from moto.core.utils import unix_time
from moto.dynamodb.models import DynamoDBBackend

_MARK = "_backupd_pitr_clock"


def install() -> None:
    """Patch moto's DescribeContinuousBackups once per process."""
    original = DynamoDBBackend.describe_continuous_backups
    if getattr(original, _MARK, False):
        return

    def describe_continuous_backups(self: DynamoDBBackend, table_name: str) -> dict[str, Any]:
        result: dict[str, Any] = original(self, table_name)
        desc = result.get("PointInTimeRecoveryDescription", {})
        if desc.get("PointInTimeRecoveryStatus") == "ENABLED":
            desc["LatestRestorableDateTime"] = unix_time()
        return result

    setattr(describe_continuous_backups, _MARK, True)
    DynamoDBBackend.describe_continuous_backups = describe_continuous_backups  # type: ignore[method-assign]
