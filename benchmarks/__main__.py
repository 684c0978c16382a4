"""`python -m benchmarks` (`make bench`): run every benchmark, print the table, write results.

Writes `benchmarks/results.json`: one object per figure key (`value`, `unit`, `baseline`,
`baseline_unit`, `ratio`, `target`, `ok`, `note`, and details), plus `_run` (machine, date,
seconds per benchmark). Exit 1 when a target is missed or a figure is missing (a benchmark
that broke proves nothing); exit 0 when every target is met. The CPU-bound benchmarks run
first, before any server thread exists in this process.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from datetime import UTC, datetime

from benchmarks.common import ROOT, Figure, machine, missing, table

# module -> the figure keys it produces, in the order of docs/performance.md's table
BENCHMARKS = {
    "decode_apply": ("decode_apply_events_per_s", "decode_apply_vs_json_loads"),
    "org_decode_apply": ("org_decode_apply_events_per_s", "org_metrics_bytes"),
    "bench_scheduler": ("schedule_tick_10k_tables_ms", "retention_100k_backups_ms"),
    "freshness_seed": ("freshness_seed_10k_tables_s",),
    "scaling": ("bytes_per_tracked_job",),
    "sqs_e2e": ("sqs_e2e_vs_bare_loop",),
    "cloudwatch_calls": ("cloudwatch_calls_per_min_1000_jobs",
                         "seed_monitor_calls_per_min_1000_jobs"),
    "alert_latency": ("alert_latency_p99_s",),
    "process": ("rss_idle_mb", "ready_s"),
    "api_calls": ("api_calls_per_job",),
}
ORDER = (
    "decode_apply_events_per_s", "decode_apply_vs_json_loads", "org_decode_apply_events_per_s",
    "org_metrics_bytes", "sqs_e2e_vs_bare_loop",
    "cloudwatch_calls_per_min_1000_jobs", "seed_monitor_calls_per_min_1000_jobs",
    "alert_latency_p99_s", "rss_idle_mb", "bytes_per_tracked_job", "schedule_tick_10k_tables_ms",
    "retention_100k_backups_ms", "freshness_seed_10k_tables_s", "ready_s", "api_calls_per_job",
)
RESULTS = ROOT / "benchmarks" / "results.json"


def run_one(name: str, keys: tuple[str, ...]) -> list[Figure]:
    """One benchmark module's figures; a module that is absent or fails yields MISSING ones."""
    try:
        module = importlib.import_module(f"benchmarks.{name}")
    except ImportError as exc:
        return [missing(key, f"benchmarks/{name}.py not importable ({exc})") for key in keys]
    try:
        figures: list[Figure] = module.run()
    except Exception as exc:
        traceback.print_exc()
        return [missing(key, f"benchmarks.{name} failed: {exc!r}"[:300]) for key in keys]
    got = {f["key"] for f in figures}
    return figures + [missing(key, f"benchmarks.{name} did not report it")
                      for key in keys if key not in got]


def plot() -> None:
    """docs/performance.png from the scaling points just measured (needs matplotlib: dev extra)."""
    try:
        from benchmarks.plot import main as plot_main  # noqa: PLC0415
    except ImportError as exc:
        print(f"plot skipped: {exc} (pip install -e '.[dev]')", flush=True)
        return
    plot_main()


def main() -> int:
    info = machine()
    print(f"ddb-backupd benchmarks on {info['cores']} cores, {info['cpu']}, "
          f"Python {info['python']}", flush=True)
    figures: list[Figure] = []
    seconds: dict[str, float] = {}
    for name, keys in BENCHMARKS.items():
        print(f"-- {name} ...", flush=True)
        start = time.monotonic()
        figures.extend(run_one(name, keys))
        seconds[name] = round(time.monotonic() - start, 1)
        print(f"   {name}: {seconds[name]:.0f} s", flush=True)
    rank = {key: i for i, key in enumerate(ORDER)}
    figures.sort(key=lambda f: rank.get(f["key"], len(ORDER)))
    run_info = {"machine": info, "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                "seconds": seconds, "total_seconds": round(sum(seconds.values()), 1)}
    doc = {"_run": run_info, **{f["key"]: {k: v for k, v in f.items() if k != "key"}
                                for f in figures}}
    RESULTS.write_text(json.dumps(doc, indent=1, default=str) + "\n", encoding="utf-8")
    plot()
    print()
    print(table(figures))
    print(f"\n{len(figures)} figures in {run_info['total_seconds']:.0f} s; written to "
          f"{RESULTS.relative_to(ROOT)}")
    bad = [f["key"] for f in figures if not f["ok"]]
    if bad:
        print(f"targets missed or missing: {', '.join(bad)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
