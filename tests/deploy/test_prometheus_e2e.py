"""A real Prometheus scrapes the daemon running against the local AWS stand-in.

`ddb-backupd demo` runs the daemon on the stand-in and plays a wave of backup jobs that
crosses the warning and critical levels; Debian's `prometheus` (scripts/install-tools.sh)
scrapes it every second with config/prometheus/rules.yaml loaded. Through Prometheus's HTTP
API the tests check that the series equal the daemon's /status, that the rules load and
evaluate, that the threshold alert goes off, that every Grafana query runs, and that every
AWS call the daemon counted is granted by the IAM policy.
"""

from __future__ import annotations

import json
import re
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.deploy import iam
from tests.deploy.aws_calls import ACTION_OF, IAM_PREFIX
from tests.deploy.processes import free_port, get_json, http_get, started, wait_for
from tests.deploy.test_observability import (
    DASHBOARD,
    EXPORTED,
    RULES,
    dashboard_exprs,
)
from tests.deploy.tools import ROOT, tool

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
# The values Grafana sends with "All" selected (a label the series lack matches ".*").
GRAFANA_VARIABLES = {"$job": "ddb-backupd", "$__rate_interval": "1m", "$cluster": ".*",
                     "$namespace": ".*"}
LEVELS = {"ok": 0, "warning": 1, "critical": 2}
# Series the demo's event pipeline always produces: their queries must return data.
MUST_HAVE_DATA = ("backupd_backup_running_bytes", "backupd_backup_limit_bytes",
                  "backupd_threshold_level", "backupd_backup_jobs_running",
                  "backupd_events_total", "backupd_aws_api_calls_total", "backupd_leader",
                  "backupd_consumer_up", "backupd_build_info",
                  "backupd_last_reconcile_timestamp_seconds")


@dataclass
class Stack:
    daemon: str
    prometheus: str

    def query(self, promql: str) -> list[dict[str, Any]]:
        url = f"{self.prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        body = get_json(url)
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result


def prometheus_config(target: str) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "ddb-backupd", "static_configs": [{"targets": [target]}]}],
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    prometheus = tool("prometheus")
    work = tmp_path_factory.mktemp("prometheus-e2e")
    port, prom_port = free_port(), free_port()
    (work / "prometheus.yml").write_text(yaml.safe_dump(prometheus_config(f"127.0.0.1:{port}")))
    demo_cmd = [sys.executable, "-m", "daemon", "demo", "--seconds", "120", "--port", str(port)]
    prom_cmd = [prometheus, f"--config.file={work / 'prometheus.yml'}",
                f"--storage.tsdb.path={work / 'data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"]
    with started(demo_cmd, work / "demo.log", cwd=work) as demo, \
            started(prom_cmd, work / "prometheus.log", cwd=work) as prom:
        s = Stack(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{prom_port}")
        wait_for("prometheus ready", lambda: http_get(f"{s.prometheus}/-/ready")[0] == 200,
                 20, prom)
        wait_for("daemon /readyz", lambda: http_get(f"{s.daemon}/readyz")[0] == 200, 45, demo)
        wait_for("first successful scrape", lambda: s.query('up{job="ddb-backupd"} == 1'), 15)
        yield s


def status_level(status: dict[str, Any]) -> int | None:
    """The threshold level /status reports, as the gauge's number (None: not reported)."""
    level = (status.get("limit") or {}).get("level")
    return None if level is None else LEVELS[level]


def scraped_after(stack: Stack, moment: float) -> bool:
    result = stack.query('timestamp(up{job="ddb-backupd"})')
    return bool(result) and float(result[0]["value"][1]) > moment


def by_group(stack: Stack, metric: str) -> dict[tuple[str, str, str, str], float]:
    return {(r["metric"]["vault"], r["metric"]["resource_type"], r["metric"]["region"],
             r["metric"]["account"]): float(r["value"][1]) for r in stack.query(metric)}


@dataclass
class Moment:
    """/status and the scraped series at one scrape taken while /status stood still."""

    status: dict[str, Any]
    size: dict[tuple[str, str, str, str], float]
    jobs: dict[tuple[str, str, str, str], float]
    level: float
    limit: float


@pytest.fixture(scope="module")
def moment(stack: Stack) -> Moment:
    """The demo keeps moving: read /status, wait for a scrape, read /status again; if both
    reads agree, the scrape in between saw the same state."""
    for _ in range(20):
        before = get_json(f"{stack.daemon}/status")
        at = time.time()
        wait_for("a scrape after reading /status",
                 lambda at=at: scraped_after(stack, at), 10)  # type: ignore[misc]
        size = by_group(stack, "backupd_backup_running_bytes")
        jobs = by_group(stack, "backupd_backup_jobs_running")
        (level,) = stack.query("backupd_threshold_level")
        (limit,) = stack.query("backupd_backup_limit_bytes")
        after = get_json(f"{stack.daemon}/status")
        if before["jobs"] == after["jobs"] and status_level(before) == status_level(after):
            return Moment(before, size, jobs, float(level["value"][1]),
                          float(limit["value"][1]))
    pytest.fail("/status never stood still across a scrape")


def test_running_bytes_and_jobs_series_equal_status(moment: Moment) -> None:
    jobs = moment.status["jobs"]
    groups = {(g["vault"], g["resource_type"], g["region"], g["account"]): g
              for g in jobs["by_group"]}
    assert set(groups) <= set(moment.size)
    for key, value in moment.size.items():
        assert value == groups.get(key, {}).get("bytes", 0), key
        assert moment.jobs[key] == groups.get(key, {}).get("jobs", 0), key
    assert sum(moment.size.values()) == jobs["running_bytes"]
    assert sum(moment.jobs.values()) == jobs["running"]
    assert moment.limit == moment.status["limit"]["limit_bytes"]


def test_threshold_level_series_equals_status(moment: Moment) -> None:
    level = status_level(moment.status)
    assert level is not None, "/status reports no threshold level (limit.level)"
    assert moment.level == level


def test_rules_load_and_evaluate_without_error(stack: Stack) -> None:
    expected = [g["name"] for g in yaml.safe_load(RULES.read_text())["groups"]]

    def evaluated() -> list[dict[str, Any]] | None:
        groups = get_json(f"{stack.prometheus}/api/v1/rules")["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        done = all(not r["lastEvaluation"].startswith("0001") for r in rules)
        return groups if rules and done else None

    groups = wait_for("every rule evaluated once", evaluated, 15)
    assert [g["name"] for g in groups] == expected
    for rule in (r for g in groups for r in g["rules"]):
        assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))


def test_the_demos_wave_sets_off_the_concurrent_bytes_alert(stack: Stack) -> None:
    def threshold_alerts() -> list[str] | None:
        alerts = get_json(f"{stack.prometheus}/api/v1/alerts")["data"]["alerts"]
        names = [a["labels"]["alertname"] for a in alerts
                 if a["labels"]["alertname"].startswith("BackupdConcurrentBackupBytes")]
        return names or None

    assert wait_for("a pending or firing threshold alert", threshold_alerts, 30)


def test_a_healthy_daemon_sets_off_no_health_alert(stack: Stack) -> None:
    """The rules see one leader, a consuming replica and a scraped target: no false alarm."""
    assert [float(r["value"][1]) for r in stack.query("sum(backupd_leader)")] == [1.0]
    assert [float(r["value"][1]) for r in stack.query("max(backupd_consumer_up)")] == [1.0]
    alerts = get_json(f"{stack.prometheus}/api/v1/alerts")["data"]["alerts"]
    unhealthy = {"BackupdDown", "BackupdAbsent", "BackupdNoLeader", "BackupdConsumerNotReady",
                 "BackupdReconcileStale", "BackupdPoisonMessages", "BackupdAwsApiErrors",
                 "BackupdFreshnessMissing", "BackupdTableBackupStale"}
    assert not [a["labels"] for a in alerts if a["labels"]["alertname"] in unhealthy]


def substituted(expr: str) -> str:
    """`expr` as Grafana sends it to Prometheus."""
    promql = expr
    for variable, value in sorted(GRAFANA_VARIABLES.items(), key=lambda kv: -len(kv[0])):
        promql = promql.replace(variable, value)
    assert "$" not in promql, f"unknown Grafana variable in {expr}"
    return promql


def dashboard_queries() -> list[str]:
    return [substituted(expr) for expr in dashboard_exprs()]


def must_have_data(promql: str) -> bool:
    """Queries over only the series the demo always has, unfiltered by outcome."""
    names = set(re.findall(r"\bbackupd_\w+", promql))
    return bool(names) and names <= set(MUST_HAVE_DATA) and "outcome!=" not in promql


def test_every_dashboard_query_runs(stack: Stack) -> None:
    for promql in dashboard_queries():
        result = stack.query(promql)  # asserts status "success"
        if must_have_data(promql):
            assert result, f"no data for {promql}"


def test_dashboard_job_variable_finds_the_daemon(stack: Stack) -> None:
    variables = json.loads(DASHBOARD.read_text())["templating"]["list"]
    (job,) = [v for v in variables if v["name"] == "job"]
    match = re.fullmatch(r"label_values\((\w+(?:\{[^}]*\})?), (\w+)\)", job["definition"])
    assert match, job["definition"]
    url = (f"{stack.prometheus}/api/v1/label/{match[2]}/values?"
           + urllib.parse.urlencode({"match[]": substituted(match[1])}))
    assert "ddb-backupd" in get_json(url)["data"]


def test_daemon_exposes_every_metric_the_rules_and_dashboard_use(stack: Stack) -> None:
    text = http_get(f"{stack.daemon}/metrics")[1].decode()
    families = set(re.findall(r"^# TYPE (\w+) (\w+)", text, re.MULTILINE))
    exposed = set()
    for name, kind in families:
        exposed.add(name)
        if kind == "counter":
            exposed.add(f"{name}_total")
        if kind == "histogram":
            exposed.add(f"{name}_bucket")
        if kind == "info":
            exposed.add(f"{name}_info")
    missing = sorted(EXPORTED - exposed)
    assert not missing, f"the daemon does not expose {missing}"


def test_every_aws_call_the_daemon_counted_is_granted_by_the_policy(stack: Stack) -> None:
    policy = iam.load(iam.POLICY)
    counted = stack.query("sum by (service, operation) (backupd_aws_api_calls_total) > 0")
    assert counted
    for series in counted:
        service, operation = series["metric"]["service"], series["metric"]["operation"]
        action = f"{IAM_PREFIX[service]}:{operation}"
        action = ACTION_OF.get(action, action)
        assert iam.decision(action, policy) == "Allow", f"{action} is called but not granted"


def test_prometheus_config_of_the_docs_matches_the_one_tested() -> None:
    """docs/deploy.md's scrape job has the job name the rules expect."""
    assert "job_name: ddb-backupd" in (ROOT / "docs/deploy.md").read_text()
