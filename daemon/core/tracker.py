"""The job tracker: job id -> state of every running AWS Backup job (pure, no I/O).

In-memory only: lost on restart by design and rebuilt from AWS (ListBackupJobs) at start.
Interface (being built): JobTable.apply(event) -> Transition | None, set_size, totals,
running_bytes_total, running_jobs_total, open_jobs, get, diff(listed) for reconciles.
"""

from __future__ import annotations


class JobTable:
    """Job id -> tracked job, with totals per (vault, resource type, region) kept incrementally."""
