"""No secret leaks: a canary in the credentials (environment and config file) never shows in
the logs, /status, /metrics, /healthz, /readyz, or `check-config`'s output or errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .procs import ROOT, Daemon, base_env, wait
from .scenario import World, build_world, env, start_wave

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
CANARY = "CANARYs3cr3tZq9vX2"  # unique enough that any occurrence is a leak
PAGES = ("/status", "/metrics", "/healthz", "/readyz")


def secret_env(world: World, endpoint: str, config: Path) -> dict[str, str]:
    """Credentials with the canary everywhere a secret can be given."""
    config.write_text(f"aws:\n  session_token: {CANARY}-from-file\n", encoding="utf-8")
    return {**env(world.settings(log_level="debug", aws={"endpoint_url": endpoint})),
            "AWS_ACCESS_KEY_ID": "AKIACANARYTEST", "AWS_SECRET_ACCESS_KEY": f"{CANARY}-env",
            "AWS_SESSION_TOKEN": f"{CANARY}-token", "AWS_REGION": world.region,
            "BACKUPD_AWS__ACCESS_KEY_ID": "AKIACANARYTEST",
            "BACKUPD_AWS__SECRET_ACCESS_KEY": f"{CANARY}-setting",
            "BACKUPD_CONFIG_FILE": str(config)}


def check_config(environment: dict[str, str]) -> str:
    run = subprocess.run([sys.executable, "-m", "daemon", "check-config"], cwd=ROOT, check=False,
                         env=base_env(environment), capture_output=True, text=True, timeout=60)
    return run.stdout + run.stderr


def test_the_canary_secret_never_shows(fresh_standin: Any, make_table: Any, make_queue: Any,
                                       make_topic: Any, make_vault: Any, tmp_path: Path) -> None:
    world = build_world(fresh_standin, make_table, make_queue, make_topic, make_vault)
    environment = secret_env(world, fresh_standin.endpoint_url, tmp_path / "config.yaml")
    seen = {"check-config": check_config(environment),
            "check-config errors": check_config({**environment, "BACKUPD_AWS__MAX_ATTEMPTS": "x",
                                                 "BACKUPD_AWS__SESSION_TOKEN": ""})}
    daemon = Daemon.start(environment, tmp_path / "daemon.log", module=False)
    try:
        start_wave(fresh_standin.backup, world)  # events, a failure alert, a restore, an export
        wait("the daemon to handle the wave", lambda: world.queue_depth() == 0
             and daemon.total("backupd_events_total") >= 6, 40, (daemon,))
        for page in PAGES:
            seen[page] = daemon.get(page)[1]
    finally:
        code = daemon.terminate(timeout=30)
    seen["logs"] = daemon.output()
    leaks = {where: text.count(CANARY) for where, text in seen.items() if CANARY in text}
    assert code == 0
    assert "secret_access_key" in seen["check-config"]  # the field is shown, masked
    assert "invalid configuration" in seen["check-config errors"]
    assert all(seen[page] for page in PAGES)
    assert leaks == {}
