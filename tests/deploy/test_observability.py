"""Observability as code: Prometheus rules (promtool), the Grafana dashboard, CloudWatch alarms.

Every dashboard query is run against a real Prometheus in test_prometheus_e2e.py; here the
files are checked for shape and for naming only metrics the daemon exports.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from daemon.config.settings import FIFTY_TIB, CloudWatchSettings, Settings
from daemon.core.events.tracker import JobTable
from daemon.events.cloudwatch import datums
from daemon.scheduling.coverage import UNPROTECTED_DATUM
from daemon.scheduling.freshness import LATE_DATUM, OLDEST_AGE_DATUM
from tests.deploy.shapes import resolve, shape_errors
from tests.deploy.tools import ROOT, run, tool

RULES = ROOT / "config/prometheus/rules.yaml"
RULES_TEST = ROOT / "config/prometheus/rules.test.yaml"
DASHBOARD = ROOT / "config/grafana/ddb-backupd.json"
ALARMS = ROOT / "config/cloudwatch/alarms.json"

# What the daemon exports (families; counters add _total, histograms _bucket/_sum/_count).
EXPORTED = {
    "backupd_account_threshold_level", "backupd_account_limit_bytes",
    "backupd_backup_jobs_running", "backupd_backup_running_bytes", "backupd_backup_limit_bytes",
    "backupd_threshold_level", "backupd_backup_jobs_finished_total", "backupd_events_total",
    "backupd_aws_api_calls_total", "backupd_alerts_published_total", "backupd_consumer_up",
    "backupd_last_reconcile_timestamp_seconds", "backupd_build_info", "backupd_leader",
    "backupd_scheduled_backups_total", "backupd_retention_deletions_total",
    "backupd_schedule_next_run_timestamp_seconds",
    "backupd_schedule_last_success_timestamp_seconds",
    "backupd_schedule_expected_interval_seconds", "backupd_schedule_missed_slots_total",
    "backupd_backups_deferred_total", "backupd_admission_queue_length", "backupd_tasks_running",
    "backupd_task_duration_seconds_bucket", "backupd_tasks_total",
    "backupd_restored_copy_age_seconds", "backupd_task_rescans_total",
    "backupd_tasks_caught_up_total", "backupd_tasks_queued", "backupd_memory_limit_bytes",
    "backupd_threshold_ratio", "backupd_aws_api_retries_total",
    "backupd_aws_api_call_duration_seconds_bucket",
    "backupd_table_last_backup_timestamp_seconds", "backupd_schedule_oldest_backup_age_seconds",
    "backupd_schedule_late_tables", "backupd_schedule_tables_without_backup",
    "backupd_coverage_gap_tables",
}
METRIC = re.compile(r"\bbackupd_[a-z_]+\b")
# Every dashboard query is filtered by the cluster, namespace and job variables.
SELECTOR = '{cluster=~"$cluster", namespace=~"$namespace", job=~"$job"'


def alerting_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def dashboard_panels() -> list[dict[str, Any]]:
    return [p for p in json.loads(DASHBOARD.read_text())["panels"] if p["type"] != "row"]


def dashboard_exprs() -> list[str]:
    return [t["expr"] for p in dashboard_panels() for t in p["targets"]]


# --- Prometheus rules -------------------------------------------------------------------

def test_promtool_accepts_the_rules() -> None:
    proc = run([tool("promtool"), "check", "rules", str(RULES)])
    assert "SUCCESS" in proc.stdout


def test_promtool_unit_tests_of_the_rules_pass() -> None:
    proc = run([tool("promtool"), "test", "rules", str(RULES_TEST)])
    assert "SUCCESS" in proc.stdout


def test_every_alert_is_unit_tested_firing() -> None:
    cases = yaml.safe_load(RULES_TEST.read_text())["tests"]
    fired = {case["alertname"] for test in cases for case in test.get("alert_rule_test", [])
             if case.get("exp_alerts")}
    assert {rule["alert"] for rule in alerting_rules()} <= fired


@pytest.mark.parametrize("rule", alerting_rules(), ids=lambda r: r["alert"])
def test_alert_has_a_severity_and_says_what_to_do(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in {"info", "warning", "critical"}
    assert rule["annotations"]["summary"]
    assert len(rule["annotations"]["description"]) > 40


@pytest.mark.parametrize("needed", [
    r"backupd_threshold_level\) == 1", r"backupd_threshold_level\) == 2",
    "backupd_backup_jobs_finished_total", "backupd_schedule_missed_slots_total",
    r"2 \* max by \(job, schedule\) \(backupd_schedule_expected_interval_seconds\)",
    "backupd_consumer_up", "aws_sqs_approximate_number_of_messages_visible_maximum",
    r'up\{job="ddb-backupd"\} == 0',
    (r'process_resident_memory_bytes\{job="ddb-backupd"\} / backupd_memory_limit_bytes'
     r'\{job="ddb-backupd"\}\s*\) > 0.9'),
    r"time\(\) - max by \(job, schedule, table\) \(backupd_table_last_backup_timestamp_seconds\)",
    r"max by \(job, schedule\) \(backupd_schedule_oldest_backup_age_seconds\)",
    r"unless on \(job, schedule\) \(\s*backupd_schedule_oldest_backup_age_seconds",
    "backupd_coverage_gap_tables",
])
def test_rules_cover_what_the_issue_asks_for(needed: str) -> None:
    assert any(re.search(needed, rule["expr"]) for rule in alerting_rules()), needed


def test_rules_and_dashboard_name_only_exported_metrics() -> None:
    used = {m for text in [RULES.read_text(), *dashboard_exprs()] for m in METRIC.findall(text)}
    assert used <= EXPORTED, f"not exported by the daemon: {sorted(used - EXPORTED)}"


# --- Grafana dashboard ------------------------------------------------------------------

def test_dashboard_panels_have_unique_ids_and_do_not_overlap() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for p in panels:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"])
                for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells, f"{p['title']} overlaps another panel"
        cells |= mine


def test_dashboard_queries_go_through_the_datasource_variable() -> None:
    for panel in dashboard_panels():
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
            assert SELECTOR in target["expr"], target["expr"]


@pytest.mark.parametrize("needed", [
    r"sum by \(vault, resource_type\) \(backupd_backup_jobs_running",
    r"backupd_backup_jobs_finished_total", r"backupd_schedule_last_success_timestamp_seconds",
    r"backupd_tasks_running", r"backupd_task_duration_seconds_bucket",
    r'backupd_aws_api_calls_total\{[^}]*job=~"\$job", outcome!="ok"\}',
    r"backupd_aws_api_retries_total", r"backupd_aws_api_call_duration_seconds_bucket",
    r"process_resident_memory_bytes", r"backupd_memory_limit_bytes",
])
def test_dashboard_shows_what_the_issue_asks_for(needed: str) -> None:
    assert re.search(needed, "\n".join(dashboard_exprs())), needed


def test_dashboard_plots_running_bytes_against_the_limit_and_both_levels() -> None:
    def plots_all(panel: dict[str, Any]) -> bool:
        exprs = " ".join(t["expr"] for t in panel["targets"])
        return all(part in exprs for part in (
            "sum(backupd_backup_running_bytes", "max(backupd_backup_limit_bytes",
            "max by (level) (backupd_threshold_ratio"))
    assert any(plots_all(p) for p in dashboard_panels() if p["type"] == "timeseries")


def test_dashboard_filters_by_cluster_and_namespace_found_in_the_data() -> None:
    variables = {v["name"]: v for v in json.loads(DASHBOARD.read_text())["templating"]["list"]}
    assert list(variables) == ["datasource", "cluster", "namespace", "job"]
    for name in ("cluster", "namespace", "job"):
        assert variables[name]["type"] == "query"
        assert re.fullmatch(rf"label_values\(backupd_build_info(\{{[^}}]*\}})?, {name}\)",
                            variables[name]["definition"]), variables[name]["definition"]
        assert variables[name]["allValue"] == ".*"  # also matches series without the label
    assert 'namespace=~"$namespace"' in variables["job"]["definition"]


def test_dashboard_hard_codes_none_of_the_daemons_threshold_settings() -> None:
    """The levels come from backupd_threshold_ratio, not from copies of the settings."""
    dashboard = json.loads(DASHBOARD.read_text())
    assert not [v for v in dashboard["templating"]["list"] if v["type"] in {"custom", "constant"}]
    ratios = {Settings.model_fields[f].default for f in ("warning_ratio", "critical_ratio")}
    (share,) = [p for p in dashboard_panels() if p["title"] == "Share of the concurrent limit"]
    steps = share["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps] == [None]
    assert not [p["title"] for p in dashboard_panels()
                for s in p.get("fieldConfig", {}).get("defaults", {})
                .get("thresholds", {}).get("steps", []) if s["value"] in ratios]
    configs = {t["options"]["configRefId"]: t["options"]["mappings"][0]["handlerKey"]
               for t in share["transformations"] if t["id"] == "configFromData"}
    sources = {t["refId"]: t["expr"] for t in share["targets"]}
    assert configs == {"B": "threshold1", "C": "threshold1"}
    assert all("backupd_threshold_ratio" in sources[ref] for ref in configs)


# --- CloudWatch alarms ------------------------------------------------------------------

def alarm_template() -> dict[str, Any]:
    return json.loads(ALARMS.read_text())


def resolved_alarms() -> dict[str, dict[str, Any]]:
    template = alarm_template()
    params = {k: v.get("Default") for k, v in template["Parameters"].items()}
    params["AlarmTopicArn"] = "arn:aws:sns:us-east-1:123456789012:backup-alerts"
    conditions = {"HasTopic": True}
    return {name: resolve(res["Properties"], params, conditions)
            for name, res in template["Resources"].items()
            if res["Type"] == "AWS::CloudWatch::Alarm"}


@pytest.mark.parametrize("name", sorted(resolved_alarms()))
def test_alarm_properties_are_a_valid_put_metric_alarm_request(name: str) -> None:
    props = resolved_alarms()[name]
    props["Threshold"] = float(props["Threshold"])
    assert shape_errors("cloudwatch", "PutMetricAlarm", props) is None


def test_alarms_watch_the_series_the_daemon_publishes() -> None:
    published = {(d["MetricName"], tuple(x["Name"] for x in d["Dimensions"]))
                 for d in datums(JobTable(), datetime.now(UTC))}
    # scheduling's datums (tests/scheduler/test_freshness_e2e.py checks their names and
    # dimensions against what the components publish)
    published |= {(LATE_DATUM, ()), (LATE_DATUM, ("Schedule",)),
                  (OLDEST_AGE_DATUM, ("Schedule",)), (UNPROTECTED_DATUM, ())}
    namespace = CloudWatchSettings.model_fields["namespace"].default
    template = alarm_template()
    assert template["Parameters"]["Namespace"]["Default"] == namespace
    ours = [a for a in resolved_alarms().values() if a.get("Namespace") == namespace]
    assert {a["MetricName"] for a in ours} == {"ConcurrentBackupBytes", "RunningBackupJobs",
                                               LATE_DATUM, UNPROTECTED_DATUM}
    for alarm in ours:  # the account-wide series: no dimensions, no metric math
        assert (alarm["MetricName"], ()) in published
        assert "Dimensions" not in alarm


def test_the_oldest_backup_alarm_takes_the_maximum_over_the_schedules() -> None:
    """A Metrics Insights query over every Schedule's OldestBackupAgeSeconds: one alarm for
    all schedules, whatever they are called."""
    alarm = resolved_alarms()["OldestBackupTooOld"]
    (query,) = alarm["Metrics"]
    assert query["Expression"] == (
        f'SELECT MAX({OLDEST_AGE_DATUM}) FROM SCHEMA("BackupMonitoring", Schedule)')
    assert alarm["Threshold"] == 2 * 86400


def test_the_freshness_alarms_treat_missing_data_as_a_problem_by_default() -> None:
    """Like the absent() guards of the Prometheus rules: no freshness published alarms."""
    alarms = resolved_alarms()
    assert alarms["BackupsLate"]["TreatMissingData"] == "breaching"
    assert alarms["OldestBackupTooOld"]["TreatMissingData"] == "breaching"
    assert alarm_template()["Parameters"]["FreshnessMissingData"]["AllowedValues"] == [
        "breaching", "notBreaching"]


def test_alarm_thresholds_default_to_the_daemons_levels() -> None:
    fields = Settings.model_fields
    params = alarm_template()["Parameters"]
    limit = fields["limit_bytes"].default
    assert limit == FIFTY_TIB
    assert params["WarningBytes"]["Default"] == int(limit * fields["warning_ratio"].default)
    assert params["CriticalBytes"]["Default"] == int(limit * fields["critical_ratio"].default)


def test_a_silent_daemon_and_a_filling_dead_letter_queue_raise_alarms() -> None:
    alarms = resolved_alarms()
    assert alarms["DaemonSilent"]["TreatMissingData"] == "breaching"
    dlq = alarms["DeadLetterQueueNotEmpty"]
    assert (dlq["Namespace"], dlq["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")


def test_every_json_and_yaml_file_under_config_parses() -> None:
    for path in (ROOT / "config").rglob("*"):
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix in {".yaml", ".yml"}:
            list(yaml.safe_load_all(path.read_text()))
