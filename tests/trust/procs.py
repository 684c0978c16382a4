"""Daemon processes for the crash, replica, privilege and leak tests: start, scrape, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
NOISE = ("retention.applied", "discovery.refreshed", "cloudwatch.", "reconcile.done")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The parent's environment without any BACKUPD_/AWS_ setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BACKUPD_", "AWS_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return {**env, **extra}


@dataclass
class Daemon:
    """One `ddb-backupd run` process (through tests.trust.daemon_proc) and its HTTP port."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @classmethod
    def start(cls, env: Mapping[str, str], log: Path, *, module: bool = True) -> Daemon:
        port = free_port()
        cmd = ([sys.executable, "-m", "tests.trust.daemon_proc"] if module
               else [sys.executable, "-m", "daemon", "run"])
        out = log.open("ab")
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                env=base_env({**env, "BACKUPD_HTTP__PORT": str(port),
                                              "BACKUPD_HTTP__HOST": "127.0.0.1"}))
        out.close()
        return cls(proc, port, log)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return int(r.status), r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except (urllib.error.URLError, OSError):
            return 0, ""

    def metrics(self) -> dict[str, float]:
        """Every sample as `name{label="value",...}` -> value (labels sorted)."""
        status, text = self.get("/metrics")
        if status != 200:
            return {}
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
                out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
        return out

    def total(self, name: str) -> float:
        """Sum of every sample of one metric name (all label sets)."""
        return sum(v for k, v in self.metrics().items() if k.split("{")[0] == name)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def wait(what: str, check: Callable[[], Any], seconds: float,
         daemons: tuple[Daemon, ...] = (), explain: Callable[[], Any] | None = None) -> Any:
    """Poll `check` until it returns something truthy; fail saying what (and `explain()`),
    with the end of the daemons' logs."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    tails = "\n".join("\n".join(line for line in d.output().splitlines()
                                if not any(n in line for n in NOISE))[-3000:] for d in daemons)
    why = f" ({explain()})" if explain is not None else ""
    raise AssertionError(f"{what}: not within {seconds:.0f} s{why}\n{tails}")
