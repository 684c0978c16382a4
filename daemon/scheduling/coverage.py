"""Coverage: the discovered tables nothing protects, found every `coverage.interval_seconds`.

Three gaps, decided by the pure core (`coverage`): a table no selector selects (the enabled
schedules' and the configured backup plans' selections, each added with `add_selector`), a table
with point-in-time recovery off that an export rule needs it on, and a table whose newest
good backup is older than the RPO. PITR is read with DescribeContinuousBackups, only for the
tables a rule needs it on, at most once an hour per table. Gaps go to /metrics, /status, the
CloudWatch batch (`UnprotectedTables`) and, when `coverage.alert` is on, one SNS alert per
pass naming the tables that entered a gap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from daemon.aws.errors import error_code
from daemon.aws.throttle import Throttle
from daemon.config.freshness import CoverageSettings
from daemon.core.alerts import Alert
from daemon.core.clock import Clock
from daemon.core.scheduling.freshness import (
    GAP_SAMPLE,
    GAPS,
    Coverage,
    Selects,
    TableFacts,
    coverage,
    new_gaps,
)
from daemon.kernel.datums import Datum, datum
from daemon.kernel.outbox import AlertOutbox
from daemon.kernel.status import StatusBoard
from daemon.kernel.supervisor import sleep_or_stop
from daemon.obs.metrics_freshness import FreshnessMetrics
from daemon.scheduling.discovery import TableCatalog
from daemon.scheduling.freshness import FreshnessTracker, age_json, iso

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb.client import DynamoDBClient

    from daemon.aws.session import Connect

log = structlog.get_logger(__name__)
PITR_MAX_AGE = timedelta(hours=1)
ALERT_NAMES = 100
GONE_CODES = frozenset({"TableNotFoundException", "ResourceNotFoundException"})
UNPROTECTED_DATUM = "UnprotectedTables"


class CoverageWatch:
    """Evaluates coverage once freshness is seeded, then every `interval_seconds`."""

    name = "coverage"

    def __init__(self, settings: CoverageSettings, *, catalog: TableCatalog,
                 freshness: FreshnessTracker, pitr_needed: Callable[[str], bool],
                 dynamodb: Connect[DynamoDBClient], throttle: Throttle, metrics: FreshnessMetrics,
                 board: StatusBoard, alerts: AlertOutbox, clock: Clock) -> None:
        self._settings = settings
        self._catalog = catalog
        self._freshness = freshness
        self._pitr_needed = pitr_needed
        self._dynamodb = dynamodb
        self._throttle = throttle
        self._alerts = alerts
        self._clock = clock
        self.selectors: dict[str, Selects] = {}
        self._pitr: dict[str, tuple[bool, datetime]] = {}
        self.last: Coverage | None = None
        self.evaluated_at: datetime | None = None
        board.add("coverage", self.status)
        metrics.watch_coverage(lambda: self.last)

    def add_selector(self, source: str, selector: Selects) -> None:
        """Count the tables `selector` selects as protected (`schedule:<name>`, `plan:<id>`)."""
        self.selectors[source] = selector

    async def run(self, stop: asyncio.Event) -> None:
        """Evaluate once freshness is seeded, then every interval; a new term starts blank."""
        self.last = None
        try:
            while not self._freshness.seeded.is_set():
                if await sleep_or_stop(0.5, stop):
                    return
            while not stop.is_set():
                try:
                    await self.run_once()
                except Exception as exc:
                    log.warning("coverage.failed", error=str(exc), code=error_code(exc))
                if await sleep_or_stop(self._settings.interval_seconds, stop):
                    return
        finally:
            self.last = None

    async def run_once(self) -> Coverage:
        """Check PITR where needed, sort the tables into gaps, report and maybe alert."""
        found = await self.check()
        if self._settings.alert:
            self._alert(new_gaps(self.last, found))
        self.last, self.evaluated_at = found, self._clock.now()
        log.info("coverage.evaluated", tables=found.tables, **found.counts(),
                 tags_unknown=found.tags_unknown, pitr_unknown=found.pitr_unknown)
        return found

    async def check(self) -> Coverage:
        """The gaps now, after reading PITR where it is needed and not known (what `plan`
        prints; nothing is recorded or alerted)."""
        await self._check_pitr(self._clock.now())
        return self.evaluate(self._clock.now())

    def evaluate(self, now: datetime) -> Coverage:
        """The gaps now, from what discovery, freshness and the PITR checks know (no I/O)."""
        horizon = self._freshness.horizon or now
        facts = [TableFacts(t.name, t.tags, t.created, self._pitr_of(t.name))
                 for t in self._catalog.tables.values()]
        return coverage(facts, list(self.selectors.values()), pitr_needed=self._pitr_needed,
                        newest=self._freshness.book, horizon=horizon, now=now,
                        rpo_seconds=self._settings.rpo_seconds, exclude=self._settings.exclude)

    def _pitr_of(self, table: str) -> bool | None:
        known = self._pitr.get(table)
        return None if known is None else known[0]

    async def _check_pitr(self, now: datetime) -> None:
        """DescribeContinuousBackups for the tables a rule needs PITR on, when not fresh."""
        wanted = [name for name in self._catalog.tables if self._pitr_needed(name)]
        for gone in set(self._pitr) - set(wanted):
            del self._pitr[gone]
        stale = [name for name in wanted
                 if name not in self._pitr or now - self._pitr[name][1] > PITR_MAX_AGE]
        if stale:
            ddb = await self._dynamodb()
            await asyncio.gather(*(self._describe_pitr(ddb, name, now) for name in stale))

    async def _describe_pitr(self, ddb: Any, table: str, now: datetime) -> None:
        try:
            out = await self._throttle.call(ddb.describe_continuous_backups, TableName=table)
        except Exception as exc:
            if error_code(exc) not in GONE_CODES:
                log.warning("coverage.pitr_check_failed", table=table, error=str(exc))
            return
        desc = out["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
        self._pitr[table] = (desc.get("PointInTimeRecoveryStatus") == "ENABLED", now)

    def _alert(self, entered: dict[str, list[str]]) -> None:
        if not entered:
            return
        counts = ", ".join(f"{len(names)} {gap}" for gap, names in entered.items())
        self._alerts.submit(Alert(
            "warning", "coverage_gap", f"Tables in a coverage gap: {counts}",
            {gap: names[:ALERT_NAMES] for gap, names in entered.items()}
            | {"counts": {gap: len(names) for gap, names in entered.items()}}))

    def datums(self, now: datetime) -> list[Datum]:
        """CloudWatch: `UnprotectedTables` (no schedule or plan selects them)."""
        if self.last is None:
            return []
        return [datum(UNPROTECTED_DATUM, len(self.last.unselected), "Count", now)]

    def status(self) -> dict[str, Any]:
        """The `/status` section `coverage` (bounded: GAP_SAMPLE tables named per gap)."""
        cov = self.last
        gaps: dict[str, Any] = {}
        if cov is not None:
            names = {"unselected": list(cov.unselected), "pitr_off": list(cov.pitr_off)}
            for gap in GAPS:
                listed: list[Any] = ([age_json(a) for a in cov.rpo_breached[:GAP_SAMPLE]]
                                     if gap == "rpo_breached" else names[gap][:GAP_SAMPLE])
                gaps[gap] = {"count": cov.counts()[gap], "tables": listed}
        return {
            "evaluated_at": iso(self.evaluated_at),
            "tables": None if cov is None else cov.tables,
            "rpo_seconds": self._settings.rpo_seconds,
            "selectors": sorted(self.selectors),
            "gaps": gaps,
            "undecided": None if cov is None else {"tags_unknown": cov.tags_unknown,
                                                   "pitr_unknown": cov.pitr_unknown},
        }
