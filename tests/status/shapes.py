"""Freshness and coverage sections as their producers write them (daemon/scheduling/
freshness.py and coverage.py serialise with `schedule_json` and `age_json`), for boards the
status tests fill by hand. The demo's daemon runs the producers themselves."""

from __future__ import annotations

from datetime import UTC, datetime

from daemon.core.scheduling.freshness import ScheduleFreshness, TableAge
from daemon.scheduling.freshness import age_json, schedule_json

_AGE = TableAge("orders-13", datetime(2026, 12, 1, 5, tzinfo=UTC),
                datetime(2026, 12, 1, 5, tzinfo=UTC), 284400.0, late=True)
_NEVER = TableAge("scratch-2", None, datetime(2026, 12, 2, 11, tzinfo=UTC), 176400.0, late=True)
AGE, NEVER = age_json(_AGE), age_json(_NEVER)
FRESHNESS = {
    "seeded": True, "seeded_at": "2026-12-04T12:00:36Z", "seed_seconds": 35.5,
    "window_start": "2026-12-02T11:00:00Z", "listed_until": "2026-12-04T12:00:00Z",
    "lookback_seconds": 176400.0, "late_factor": 2.0, "tables_with_backup": 10000,
    "schedules": {"nightly": schedule_json(ScheduleFreshness(
        "nightly", 86400.0, tables=50, late=2, without_backup=3, oldest=_AGE,
        late_tables=(_AGE, _NEVER)))}}
COVERAGE = {
    "evaluated_at": "2026-12-04T12:01:00Z", "tables": 10000, "rpo_seconds": 86400.0,
    "selectors": ["schedule:nightly"],
    "gaps": {"unselected": {"count": 2, "tables": ["scratch", "users"]},
             "pitr_off": {"count": 0, "tables": []},
             "rpo_breached": {"count": 1, "tables": [AGE]}},
    "undecided": {"tags_unknown": 0, "pitr_unknown": 0}}
