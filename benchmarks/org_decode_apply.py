"""An Organization's events through decode + apply, against one account's, and its scrape size.

`org_decode_apply_events_per_s`: 100 accounts with 100 backup jobs each (10 000 jobs) through
`decode` and `JobTable.apply`. Every account's jobs come from the realistic corpus
(`benchmarks.corpus`, one seed per account, all delivery shapes), delivered round-robin
across accounts, the opening events of every job first, so that all 100 jobs of every account
are open at once (10 000 open jobs, 100 accounts) before the first one ends. The baseline is
the same bodies with every account the same one, measured in the same run, interleaved: the
goal is to stay within 10 % of it (accounts are one more key of the same totals, not a
slower path).

`org_metrics_bytes`: the size of a /metrics scrape (the whole registry the daemon serves:
every metric family, plus the tracker's gauges) with those 10 000 jobs open in 100 accounts.
The job gauges hold one series per (vault, resource type, region, account) and the threshold
level and limit one per (account, region), so the size grows with accounts x vaults, never
with jobs; its bound is `BOUND_BYTES` (256 KiB), which 100 accounts with 4 vaults each stay
well under. `max_accounts` caps the accounts that grow it.

`python -m benchmarks.org_decode_apply` runs it alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import zip_longest

from prometheus_client import CollectorRegistry, generate_latest

from benchmarks.common import Figure, Target, best_of, exit_with, figure
from benchmarks.corpus import ACCOUNT, Corpus
from benchmarks.decode_apply import check, decode_apply
from daemon.core.errors import DecodeError
from daemon.core.events.decode import OPEN_STATES, decode
from daemon.core.events.tracker import JobTable
from daemon.obs.collector import ScopeLevel, TrackerCollector
from daemon.obs.metrics import Metrics

ACCOUNTS = 100
JOBS_PER_ACCOUNT = 100
REPEAT = 7
BOUND_BYTES = 256 * 1024
FIFTY_TIB = 50 * 2**40


def account_id(n: int) -> str:
    return f"{100000000000 + n:012d}"


def opening(body: str) -> bool:
    """An event of a job still open (it opens the job, or keeps it open)."""
    try:
        return decode(body).state in OPEN_STATES
    except DecodeError:
        return False


def organization(accounts: int = ACCOUNTS, jobs: int = JOBS_PER_ACCOUNT,
                 ) -> tuple[list[str], list[str]]:
    """(bodies of `accounts` accounts, the same bodies in one account), in delivery order."""
    per_account = [Corpus(seed=n).bodies(jobs) for n in range(accounts)]
    order = _delivery_order(per_account)
    named = [[body.replace(ACCOUNT, account_id(n)) for body in bodies]
             for n, bodies in enumerate(per_account)]
    return [named[n][i] for n, i in order], [per_account[n][i] for n, i in order]


def _delivery_order(per_account: Sequence[Sequence[str]]) -> list[tuple[int, int]]:
    """(account, body) pairs: every account's opening events round-robin, then the rest."""
    first = [[(n, i) for i, b in enumerate(bodies) if opening(b)]
             for n, bodies in enumerate(per_account)]
    opened = {pair for pairs in first for pair in pairs}
    rest = [[(n, i) for i in range(len(bodies)) if (n, i) not in opened]
            for n, bodies in enumerate(per_account)]
    return [pair for group in (first, rest) for row in zip_longest(*group) for pair in row
            if pair is not None]


def measure(org: Sequence[str], single: Sequence[str], repeat: int = REPEAT,
            ) -> dict[str, float]:
    """Best-of CPU times (s) of decode + apply of both streams, interleaved."""
    best = {"org": float("inf"), "single": float("inf")}
    for _ in range(repeat):
        best["single"] = min(best["single"], best_of(lambda: decode_apply(single), 1))
        best["org"] = min(best["org"], best_of(lambda: decode_apply(org), 1))
    return best


def scrape_bytes(table: JobTable) -> int:
    """The /metrics body with `table`'s jobs: every family the daemon registers, and its
    tracker collector with a level and a limit per (account, region)."""
    metrics = Metrics(CollectorRegistry())
    metrics.registry.register(TrackerCollector(
        table, lambda: 0, FIFTY_TIB, ratios={"warning": 0.8, "critical": 0.9},
        levels=lambda: [ScopeLevel(a, r, 0, FIFTY_TIB) for a, r in sorted(table.scope_totals())]))
    return len(generate_latest(metrics.registry))


def run() -> list[Figure]:
    org, single = organization()
    check(org)
    check(single)
    opened = [b for b in org if opening(b)]
    peak = decode_apply(opened)
    accounts = {account for account, _ in peak.scope_totals()}
    if len(accounts) != ACCOUNTS or peak.running_jobs_total() < ACCOUNTS * JOBS_PER_ACCOUNT * 0.7:
        raise RuntimeError(f"the stream opens {peak.running_jobs_total()} backup jobs in "
                           f"{len(accounts)} accounts, not {ACCOUNTS} accounts' worth")
    t = measure(org, single)
    n = len(org)
    org_per_s, single_per_s = n / t["org"], n / t["single"]
    size = scrape_bytes(peak)
    empty = scrape_bytes(JobTable())
    open_jobs = len(peak.open_jobs())
    return [
        figure("org_decode_apply_events_per_s", org_per_s, "events/s",
               Target(">=", round(0.9 * single_per_s)), baseline=single_per_s,
               baseline_unit="events/s, one account", ratio=org_per_s / single_per_s,
               note=(f"{n} bodies of {ACCOUNTS} accounts x {JOBS_PER_ACCOUNT} jobs; "
                     f"{open_jobs} jobs open at once ({peak.running_jobs_total()} backups); "
                     f"goal: within 10 % of one account's {single_per_s:,.0f}/s"),
               bodies=n),
        figure("org_metrics_bytes", size, "bytes", Target("<=", BOUND_BYTES),
               baseline=empty, baseline_unit="bytes, no jobs", ratio=size / empty,
               note=(f"/metrics with {ACCOUNTS} accounts, {len(peak.totals())} groups, "
                     f"{open_jobs} open jobs; {(size - empty) / ACCOUNTS:,.0f} bytes per "
                     f"account; bound {BOUND_BYTES} bytes"),
               groups=len(peak.totals())),
    ]


if __name__ == "__main__":
    exit_with(run)
