"""`python -m benchmarks.plot`: events/s and memory against tracked jobs (1 k / 10 k / 100 k).

Reads the points `benchmarks/scaling.py` wrote (`benchmarks/scaling.json`; measured first if
absent) and draws `docs/performance.png` (shown in the README and docs/performance.md): decode
+ apply speed stays flat as the table grows (dict lookups), memory grows by a few hundred bytes
per tracked job.
"""

from __future__ import annotations

import json

import matplotlib as mpl

mpl.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from benchmarks.common import ROOT, machine
from benchmarks.scaling import SCALING_JSON, measure

PNG = ROOT / "docs" / "performance.png"
MB = 2**20


def points() -> list[dict[str, float]]:
    if SCALING_JSON.exists():
        return list(json.loads(SCALING_JSON.read_text(encoding="utf-8")))
    measured = measure()
    SCALING_JSON.write_text(json.dumps(measured, indent=1) + "\n", encoding="utf-8")
    return measured


def draw(data: list[dict[str, float]]) -> None:
    jobs = [p["jobs"] for p in data]
    fig, (speed, memory) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    speed.plot(jobs, [p["events_per_s"] for p in data], marker="o", color="tab:blue",
               label="measured")
    speed.axhline(50_000, linestyle="--", color="tab:red", label="target 50 000/s")
    speed.set(xscale="log", xlabel="tracked running jobs", ylabel="events/s (one core)",
              title="decode + apply, mixed events", ylim=(0, None))
    speed.legend(loc="lower right")
    memory.plot(jobs, [p["rss_after"] / MB for p in data], marker="o", color="tab:green",
                label="process RSS")
    memory.plot(jobs, [(p["rss_before"] + 1024 * p["jobs"]) / MB for p in data],
                linestyle="--", color="tab:red", label="budget: 1 KiB per job")
    memory.set(xscale="log", xlabel="tracked running jobs", ylabel="MB",
               title="memory of the tracker process", ylim=(0, None))
    memory.legend(loc="upper left")
    info = machine()
    fig.suptitle(f"ddb-backupd job tracker - {info['cores']} cores, {info['cpu']}", fontsize=9)
    fig.tight_layout()
    PNG.parent.mkdir(exist_ok=True)
    fig.savefig(PNG)
    plt.close(fig)


def main() -> None:
    draw(points())
    print(f"plot written to {PNG.relative_to(ROOT)}", flush=True)


if __name__ == "__main__":
    main()
