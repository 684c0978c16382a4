"""The issue's case end to end: backups stop, the daemon restarts, and the alerts still fire.

The whole daemon (the composition root's `run_daemon`) restarts against the stand-in three
days after the last backups of a daily schedule, outside its start window, so nothing is
backed up. What it serves on /metrics once /readyz says ready is fed to `promtool test rules`
with the alerting rules of config/prometheus/rules.yaml: the no-recent-backup alerts fire.
Before the seed, `backupd_schedule_last_success_timestamp_seconds` was absent after every
restart and no such alert could fire.
"""

from __future__ import annotations

import asyncio
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from daemon.app import Daemon, run_daemon
from daemon.core.clock import FakeClock
from daemon.kernel.http import HttpServer
from daemon.obs.metrics import Metrics
from tests.deploy.tools import ROOT, run, tool
from tests.scheduler.conftest import settings_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
RULES = ROOT / "config/prometheus/rules.yaml"
FRESHNESS = ("backupd_table_last_backup_timestamp_seconds",
             "backupd_schedule_last_success_timestamp_seconds",
             "backupd_schedule_expected_interval_seconds",
             "backupd_schedule_oldest_backup_age_seconds", "backupd_schedule_late_tables")
STARTED_AT = 300  # promtool's clock (seconds since 0) at which the daemon's /metrics is read


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


async def restarted_daemon_metrics(clock: FakeClock) -> str:
    """Start the daemon, wait until it is ready, return its /metrics text, stop it."""
    settings = settings_for(
        [{"name": "daily", "expression": "cron(0 5 * * ? *)", "tables": ["orders-*"]}],
        http={"host": "127.0.0.1", "port": 0})
    stop, ready = asyncio.Event(), asyncio.Event()
    daemons: list[Daemon] = []

    async def on_ready(wired: Daemon) -> None:
        daemons.append(wired)
        ready.set()

    daemon = asyncio.create_task(run_daemon(settings, metrics=Metrics(CollectorRegistry()),
                                            clock=clock, stop=stop, on_ready=on_ready))
    try:
        await ready.wait()
        server = next(c for c in daemons[0].components if isinstance(c, HttpServer))
        async with asyncio.timeout(30):
            while server.port is None or (await asyncio.to_thread(
                    get, f"http://127.0.0.1:{server.port}/readyz"))[0] != 200:
                await asyncio.sleep(0.1)
        return (await asyncio.to_thread(get, f"http://127.0.0.1:{server.port}/metrics"))[1]
    finally:
        stop.set()
        await daemon


def input_series(metrics_text: str, now: datetime) -> list[dict[str, str]]:
    """The freshness samples as promtool series, the daemon's `now` moved to STARTED_AT."""
    shift = now.timestamp() - STARTED_AT
    out = []
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name not in FRESHNESS:
                continue
            value = sample.value - shift if sample.name.endswith("_timestamp_seconds") else \
                sample.value
            labels = ", ".join(f'{k}="{v}"' for k, v in sorted(
                {**sample.labels, "job": "ddb-backupd", "instance": "new"}.items()))
            out.append({"series": f"{sample.name}{{{labels}}}", "values": f"{value}x30"})
    return out


def rules_without_annotations(tmp_path: Path) -> Path:
    """The shipped rules, annotations left out (only the expressions are under test here)."""
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    return path


async def test_the_no_recent_backup_alerts_fire_after_a_restart_when_backups_stopped(
        aws_env: dict[str, str], make_table: Any, ddb: Any, tmp_path: Path) -> None:
    del aws_env
    slot = datetime.now(UTC).replace(hour=5, minute=0, second=0, microsecond=0)
    for table in ("orders-a", "orders-b"):
        make_table(table)
        ddb.create_backup(TableName=table, BackupName=f"backupd-daily-{slot:%Y%m%d%H%M}")
    restart = slot + timedelta(days=3, hours=3)  # past the slot's window: nothing is started
    text = await restarted_daemon_metrics(FakeClock(restart))
    series = input_series(text, restart)
    assert any(s["series"].startswith("backupd_schedule_last_success") for s in series), (
        "the schedule's last success is seeded from AWS before the daemon is ready")
    firing = {"labels": {"severity": "critical", "job": "ddb-backupd", "schedule": "daily"}}
    test = {
        "rule_files": [str(rules_without_annotations(tmp_path))],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": [
            {"eval_time": "20m", "alertname": "BackupdNoRecentSuccessfulBackup",
             "exp_alerts": [{"exp_labels": firing["labels"]}]},
            {"eval_time": "20m", "alertname": "BackupdTableBackupStale",
             "exp_alerts": [{"exp_labels": {**firing["labels"], "table": table}}
                            for table in ("orders-a", "orders-b")]},
            {"eval_time": "20m", "alertname": "BackupdFreshnessMissing", "exp_alerts": []},
        ]}],
    }
    path = tmp_path / "restart.test.yaml"
    path.write_text(yaml.safe_dump(test))
    proc = run([tool("promtool"), "test", "rules", str(path)])
    assert "SUCCESS" in proc.stdout
