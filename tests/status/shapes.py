"""Sections whose producers live on other branches, as their documentation shapes them."""

from __future__ import annotations

# As the table-freshness work (issue 13, parts 1-3) documents its sections.
AGE = {"table": "orders-13", "last_backup": "2026-12-01T05:00:00Z",
       "since": "2026-12-01T05:00:00Z", "age_seconds": 284400.0}
NEVER = {"table": "scratch-2", "last_backup": None, "since": "2026-12-02T11:00:00Z",
         "age_seconds": 176400.0}
FRESHNESS = {
    "seeded": True, "seeded_at": "2026-12-04T12:00:36Z", "seed_seconds": 35.5,
    "window_start": "2026-12-02T11:00:00Z", "listed_until": "2026-12-04T12:00:00Z",
    "lookback_seconds": 176400.0, "late_factor": 2.0, "tables_with_backup": 10000,
    "schedules": {"nightly": {"interval_seconds": 86400.0, "tables": 50, "late": 2,
                              "without_backup": 3, "oldest": AGE, "late_tables": [AGE, NEVER]}}}
COVERAGE = {
    "evaluated_at": "2026-12-04T12:01:00Z", "tables": 10000, "rpo_seconds": 86400.0,
    "selectors": ["schedule:nightly"],
    "gaps": {"unselected": {"count": 2, "tables": ["scratch", "users"]},
             "pitr_off": {"count": 0, "tables": []},
             "rpo_breached": {"count": 1, "tables": [AGE]}},
    "undecided": {"tags_unknown": 0, "pitr_unknown": 0}}
