"""The daemon as a process: time to ready and idle memory of `ddb-backupd run`.

Measured: the daemon with what a small deployment configures (an SQS queue; CloudWatch
publishing on by default; no schedule, no restore or export rule).
Baseline, in the same run against the same stand-in: the same daemon with every capability
configured (a schedule, a restore rule, an export rule as well), i.e. what every start cost
while all capabilities were wired and imported whatever the configuration asked for.

`ready_s`: from spawning `python -m daemon run` (what the `ddb-backupd` script runs) to
`/readyz` answering 200: config loaded, AWS answered, the first reconcile done, the consumer
polling; its CPU time by then is reported too (wall time on a shared machine also counts
other processes). `rss_idle_mb`: VmRSS of that process after it has sat idle for a few
seconds. The daemon runs in the image's environment, the runtime lock alone
(benchmarks/runtime_env.py): development tools that libraries pick up when installed
(structlog imports `rich`) are not in the image, so not in the figures. Median of a few
starts each, the two configurations alternating. Reported beside them: the floors of any
Python service (`python -c pass` to exit; a bare `python -c 'import asyncio'` kept alive)
and of the libraries the daemon runs on (a Python that imported them and waits), in the
same environment.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

from benchmarks.common import Figure, Target, exit_with, figure, median, rss_bytes
from benchmarks.runtime_env import runtime_python
from benchmarks.sandbox import Sandbox, wait_http

STARTS = 5
IDLE_SECONDS = 3.0
MB = 2**20
BUCKET = "bench-process-exports"
LIBRARIES = "aioboto3, aiohttp.web, pydantic_settings, structlog, prometheus_client, msgspec"
EVERYTHING = {
    "schedules": '[{"name": "daily", "tables": ["*"], "expression": "rate(1 day)"}]',
    "restores": '[{"name": "staging", "source_pattern": "-production$", '
                '"replacement": "-staging"}]',
    "exports": f'[{{"name": "lake", "source_pattern": "-production$", "bucket": "{BUCKET}"}}]',
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_daemon(python: str, sb: Sandbox, queue_url: str,
                 **settings: str) -> tuple[float, float, float, float]:
    """(seconds to /readyz 200, idle RSS in bytes, seconds to /healthz 200, CPU seconds
    used by /readyz 200) of one start."""
    port = free_port()
    env = sb.daemon_env(queue_url=queue_url, http__host="127.0.0.1", http__port=str(port),
                        **settings)
    start = time.monotonic()
    proc = subprocess.Popen([python, "-m", "daemon", "run"], env=env, cwd=Path(python).parents[1],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        alive = wait_http(f"http://127.0.0.1:{port}/healthz", timeout=90) - start
        ready = wait_http(f"http://127.0.0.1:{port}/readyz", timeout=90) - start
        cpu = cpu_seconds(proc.pid)
        time.sleep(IDLE_SECONDS)
        rss = rss_bytes(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return ready, rss, alive, cpu


def python_start(python: str) -> float:
    """Seconds for `python -c pass` to start and exit: the floor of any Python service."""
    start = time.monotonic()
    subprocess.run([python, "-c", "pass"], check=True)
    return time.monotonic() - start


def idle_rss(python: str, modules: str) -> int:
    """VmRSS of a Python that imported `modules` and waits (measured once it says it has:
    on a loaded machine the imports can take longer than any fixed wait)."""
    proc = subprocess.Popen(
        [python, "-c", f"import {modules}, sys; print('imported', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        if proc.stdout.readline().strip() != "imported":
            raise RuntimeError(f"`import {modules}` failed in {python}")
        time.sleep(0.2)
        return rss_bytes(proc.pid)
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)


def run() -> list[Figure]:
    small: list[tuple[float, float, float, float]] = []
    full: list[tuple[float, float, float, float]] = []
    python = runtime_python()
    with Sandbox() as sb:
        queue_url = sb.queue("bench-process")
        sb.client("s3").create_bucket(Bucket=BUCKET)
        for _ in range(STARTS):
            small.append(start_daemon(python, sb, queue_url))
            full.append(start_daemon(python, sb, queue_url, **EVERYTHING))
    ready, base_ready = median(r[0] for r in small), median(r[0] for r in full)
    rss, base_rss = median(r[1] for r in small) / MB, median(r[1] for r in full) / MB
    alive, cpu = median(r[2] for r in small), median(r[3] for r in small)
    floor_start = median(python_start(python) for _ in range(5))
    floor_rss = median(idle_rss(python, "asyncio") for _ in range(3)) / MB
    libraries_rss = median(idle_rss(python, LIBRARIES) for _ in range(3)) / MB
    how = (f"runtime lock's environment; median of {STARTS} starts each; queue only "
           "(CloudWatch on) vs baseline every capability configured (+ schedule, restore and export rules)")
    return [
        figure("rss_idle_mb", rss, "MB", Target("<=", 60), baseline=base_rss,
               baseline_unit="MB every capability", ratio=rss / base_rss,
               python_asyncio_mb=round(floor_rss, 1), libraries_mb=round(libraries_rss, 1),
               note=f"{how}, {IDLE_SECONDS:.0f} s idle after ready; a bare python+asyncio "
                    f"holds {floor_rss:.1f} MB, the libraries imported alone "
                    f"({LIBRARIES}) {libraries_rss:.1f} MB"),
        figure("ready_s", ready, "s", Target("<=", 0.5), baseline=base_ready,
               baseline_unit="s every capability", ratio=ready / base_ready,
               healthz_s=round(alive, 3), python_start_s=round(floor_start, 4),
               cpu_s=round(cpu, 3), baseline_cpu_s=round(median(r[3] for r in full), 3),
               note=f"{how}; /healthz after {alive:.2f} s, /readyz after "
                    + ", ".join(f"{r[0]:.2f}" for r in small) + f" s, {cpu:.2f} s of CPU "
                    f"by then; `python -c pass` takes {floor_start:.3f} s"),
    ]


if __name__ == "__main__":
    exit_with(run)
