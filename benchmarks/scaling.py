"""Memory and speed against the number of tracked jobs (1 k, 10 k, 100 k).

Each size runs in a fresh child process (`--child N`), so one size's freed memory cannot
hide another's: import and warm the decoder, read VmRSS, decode + apply N RUNNING backup
jobs (each on its own table, the worst case for sharing strings), collect garbage, read
VmRSS again; then time decode + apply of the mixed corpus on top of those N jobs.
`bytes_per_tracked_job` is the 100 k point: (RSS with 100 000 jobs - RSS with 0) / 100 000.
The points are also written to `benchmarks/scaling.json` for `benchmarks/plot.py`.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import time

from benchmarks.common import ROOT, Figure, Target, exit_with, figure, rss_bytes
from benchmarks.corpus import Corpus
from benchmarks.decode_apply import decode_apply

SIZES = (1_000, 10_000, 100_000)
SCALING_JSON = ROOT / "benchmarks" / "scaling.json"
MIX_JOBS = 2_500  # ~10 000 mixed bodies timed on top of the filled table


def child(jobs: int) -> dict[str, float]:
    """Measured in this (fresh) process: RSS growth and events/s with `jobs` tracked."""
    mixed = Corpus(seed=3).bodies(MIX_JOBS)
    decode_apply(mixed[:1000])  # validators built, caches warm
    gc.collect()
    before = rss_bytes()
    table = decode_apply(Corpus(seed=4).running(jobs))  # type: ignore[arg-type]
    gc.collect()
    after = rss_bytes()
    assert len(table) == jobs, f"{len(table)} tracked, {jobs} expected"
    times = []
    for _ in range(3):
        gc.collect()
        start = time.process_time()
        decode_apply(mixed, table)
        times.append(time.process_time() - start)
    return {"jobs": jobs, "rss_before": before, "rss_after": after,
            "bytes_per_job": (after - before) / jobs, "events_per_s": len(mixed) / min(times)}


def measure(sizes: tuple[int, ...] = SIZES) -> list[dict[str, float]]:
    points = []
    for jobs in sizes:
        out = subprocess.run([sys.executable, "-m", "benchmarks.scaling", "--child", str(jobs)],
                             check=True, capture_output=True, text=True, cwd=ROOT).stdout
        points.append(json.loads(out.strip().splitlines()[-1]))
    return points


def run() -> list[Figure]:
    points = measure()
    SCALING_JSON.write_text(json.dumps(points, indent=1) + "\n", encoding="utf-8")
    last = points[-1]
    trend = "; ".join(f"{int(p['jobs']):,} jobs: {p['bytes_per_job']:.0f} B/job, "
                      f"{p['events_per_s']:,.0f} events/s" for p in points)
    return [figure("bytes_per_tracked_job", last["bytes_per_job"], "B/job", Target("<=", 1024),
                   note=trend, rss_0_mb=round(last["rss_before"] / 2**20, 1),
                   rss_100k_mb=round(last["rss_after"] / 2**20, 1))]


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]))))
        sys.exit(0)
    exit_with(run)
