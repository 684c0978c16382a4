"""The Helm chart: linted and rendered by helm, validated by kubernetes-validate, read by tests.

Scenarios are the chart's ci/*-values.yaml (the defaults, and every option on); each is
`helm lint --strict`ed and rendered with `helm template`, and every rendered document is
validated by `kubernetes-validate --strict` for a current Kubernetes. The Prometheus
Operator's kinds (not in Kubernetes' schemas) are checked by what they must do: the
PrometheusRule with the defaults is config/prometheus/rules.yaml, every rendering of it passes
promtool, its rules select the job the ServiceMonitor gives, and every alert links its
runbook section; the ServiceMonitor selects the Service's metrics port.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

try:  # libyaml's parser: the rendered dashboard is 40 kB of YAML
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader  # type: ignore[assignment]

from daemon import __version__
from daemon.cli import check_config
from daemon.config.settings import HttpSettings, Settings
from tests.deploy import chart, dockerfile
from tests.deploy.tools import ROOT, run, tool

CI_VALUES = sorted((chart.CHART / "ci").glob("*-values.yaml"))
ALL_ON = chart.CHART / "ci/all-values.yaml"
EXISTING_CONFIGMAP = chart.CHART / "ci/existing-configmap-values.yaml"
SHARDS = chart.CHART / "ci/shards-values.yaml"
KUBERNETES = "1.33.0"  # EKS standard support; kubernetes-validate carries up to its own version
OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}
RULES = ROOT / "config/prometheus/rules.yaml"
DASHBOARD = ROOT / "config/grafana/ddb-backupd.json"
EXAMPLE = ROOT / "config/examples/ddb-backupd.yaml"


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([tool("helm"), *args], check=check)


@functools.cache
def rendered_text(values: Path | None, *sets: str) -> str:
    args = ["template", "ddb-backupd", str(chart.CHART), "--namespace", "backups"]
    if values is not None:
        args += ["-f", str(values)]
    for item in sets:
        args += ["--set", item]
    return helm(*args).stdout


def rendered(values: Path | None = None, *sets: str) -> dict[str, dict[str, Any]]:
    """kind (or kind/name when a kind repeats) -> document (a fresh copy each call)."""
    return copy.deepcopy(_parsed(values, *sets))


@functools.cache
def _parsed(values: Path | None, *sets: str) -> dict[str, dict[str, Any]]:
    docs = [d for d in yaml.load_all(rendered_text(values, *sets), Loader=SafeLoader) if d]
    out: dict[str, dict[str, Any]] = {}
    for doc in docs:
        key = doc["kind"] if doc["kind"] not in out else f"{doc['kind']}/{doc['metadata']['name']}"
        out[key] = doc
    return out


def container(docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The daemon's container (sidecars aside)."""
    (main,) = [c for c in docs["Deployment"]["spec"]["template"]["spec"]["containers"]
               if c["name"] == "ddb-backupd"]
    return main


# --- the tools' verdicts ------------------------------------------------------------------

@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_helm_lint_strict_passes(values: Path) -> None:
    proc = helm("lint", "--strict", str(chart.CHART), "-f", str(values))
    assert "0 chart(s) failed" in proc.stdout


@pytest.fixture(scope="module")
def validation(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """kubernetes-validate's report lines per scenario (one run for all: it loads slowly)."""
    work = tmp_path_factory.mktemp("manifests")
    files = []
    for values in CI_VALUES:
        files.append(work / values.name)
        files[-1].write_text(rendered_text(values))
    proc = run([tool("kubernetes-validate"), "--strict", "-k", KUBERNETES, *map(str, files)],
               check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = (proc.stdout + proc.stderr).splitlines()
    return {f.name: [line for line in lines if f" {f} " in f" {line} "] for f in files}


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_every_rendered_document_is_valid_kubernetes(
        values: Path, validation: dict[str, list[str]]) -> None:
    lines = validation[values.name]
    kinds = {d["kind"] for d in yaml.load_all(rendered_text(values), Loader=SafeLoader) if d}
    assert len(lines) == sum(1 for d in yaml.load_all(rendered_text(values), Loader=SafeLoader)
                             if d), lines
    assert kinds
    for line in lines:
        if line.startswith("WARN"):
            assert any(f"kind {kind} " in line for kind in OPERATOR_KINDS), line
        else:
            assert line.startswith("INFO"), line
            assert " passed " in line, line


def test_kubernetes_validate_rejects_an_unknown_field(tmp_path: Path) -> None:
    """The validation above is strict: a misspelt field in the Deployment fails it."""
    docs = rendered()
    container(docs)["readOnlyRootFilesytem"] = True
    manifest = tmp_path / "broken.yaml"
    manifest.write_text(yaml.safe_dump(docs["Deployment"]))
    proc = run([tool("kubernetes-validate"), "--strict", "-k", KUBERNETES, str(manifest)],
               check=False)
    assert proc.returncode != 0


# --- values.schema.json ---------------------------------------------------------------------

@pytest.mark.parametrize(("setting", "complaint"), [
    ("replicaCount=two", "replicaCount"),
    ("image.pullPolicy=Sometimes", "pullPolicy"),
    ("unknownKey=1", "unknownKey"),
    ("service.bogus=1", "bogus"),
    ("serviceMonitor.enabled=maybe", "enabled"),
    ("config.typo=1", "typo"),
    ("config.queue.colour=red", "colour"),
    ("config.limit_bytes=lots", "limit_bytes"),
    ("config.schedules[0].name=x", "expression"),
    ("env[0].value=x", "name"),
])
def test_schema_rejects_wrong_types_and_unknown_keys(setting: str, complaint: str) -> None:
    proc = helm("template", "t", str(chart.CHART), "--set", setting, check=False)
    assert proc.returncode != 0
    assert "schema" in proc.stderr.lower() or complaint in proc.stderr
    assert complaint in proc.stderr


def beyond_bounds(node: dict[str, Any]) -> list[Any]:
    """For a bounded schema node, one value just past each of its bounds."""
    numeric = "integer" in node["type"] or "number" in node["type"]
    step = 1 if "integer" in node["type"] else 0.5
    values: list[Any] = []
    if numeric and "minimum" in node:
        values.append(node["minimum"] - step)
    if numeric and "exclusiveMinimum" in node:
        values.append(node["exclusiveMinimum"])
    if numeric and "maximum" in node:
        values.append(node["maximum"] + step)
    if numeric and "exclusiveMaximum" in node:
        values.append(node["exclusiveMaximum"])
    if "minLength" in node:
        values.append("x" * (node["minLength"] - 1))
    if "maxLength" in node:
        values.append("x" * (node["maxLength"] + 1))
    if "enum" in node:
        values.append("not-one-of-them")
    return values


def bound_cases() -> list[tuple[str, Any]]:
    """(dotted key under `config`, a value the Settings model refuses) for every bounded
    field of the top level and its sections (list items: see the cases below)."""
    cases: list[tuple[str, Any]] = []

    def walk(node: dict[str, Any], path: list[str]) -> None:
        for name, prop in node.get("properties", {}).items():
            if prop.get("type") == "object" and "properties" in prop:
                walk(prop, [*path, name])
            elif "type" in prop:
                cases.extend((".".join([*path, name]), v) for v in beyond_bounds(prop))

    walk(chart.config_schema(), [])
    return cases


def nested(key: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    node = out
    *parents, last = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return out


SCHEDULE = ("config.schedules[0].name=daily", "config.schedules[0].expression=rate(1 day)")


@pytest.mark.parametrize(("key", "value"), bound_cases(), ids=lambda v: str(v)[:24])
def test_schema_refuses_what_the_daemon_refuses_at_each_bound(key: str, value: Any) -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate(nested(key, value))
    proc = helm("template", "t", str(chart.CHART), "--set", f"config.{key}={value}", check=False)
    assert proc.returncode != 0, f"helm accepted config.{key}={value}"
    assert key.rsplit(".", 1)[-1] in proc.stderr


@pytest.mark.parametrize("setting", [
    "config.schedules[0].start_window_minutes=0", "config.schedules[0].engine=cron",
    "config.schedules[0].name=", "config.schedules[0].retention.keep_last=-1",
])
def test_schema_refuses_out_of_bounds_list_items(setting: str) -> None:
    schedule = [a for s in SCHEDULE for a in ("--set", s)]
    assert helm("template", "t", str(chart.CHART), *schedule).returncode == 0
    proc = helm("template", "t", str(chart.CHART), *schedule, "--set", setting, check=False)
    assert proc.returncode != 0, setting


def test_schema_bounds_are_those_of_the_settings_model() -> None:
    config = json.loads(chart.SCHEMA.read_text())["properties"]["config"]["properties"]
    assert config["queue"]["properties"]["wait_seconds"] == {
        "type": "integer", "minimum": 0, "maximum": 20}
    assert config["log_level"]["enum"] == ["debug", "info", "warning", "error"]
    assert config["scheduler"]["properties"]["admission_ratio"] == {
        "type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1}
    assert len(bound_cases()) > 40


def test_schema_of_config_follows_the_settings_model() -> None:
    schema = json.loads(chart.SCHEMA.read_text())
    assert schema["properties"]["config"] == chart.config_schema(), (
        "Settings changed: run .venv/bin/python -m tests.deploy.chart")
    assert set(schema["properties"]["config"]["properties"]) == set(Settings.model_fields)


def test_schema_knows_every_value_and_closes_every_section() -> None:
    schema = json.loads(chart.SCHEMA.read_text())
    values = yaml.safe_load(chart.VALUES.read_text())
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(values)
    for name, default in values.items():
        node = schema["properties"][name]
        if isinstance(default, dict) and node.get("properties"):
            assert node["additionalProperties"] is False, name
            assert set(default) <= set(node["properties"]), name


def test_readme_documents_every_value() -> None:
    documented = {v.key for v in chart.documented_values()}
    values = yaml.safe_load(chart.VALUES.read_text())
    assert set(chart.leaf_keys(values)) <= documented
    assert chart.readme_table() in chart.README.read_text(), (
        "values.yaml changed: run .venv/bin/python -m tests.deploy.chart")


# --- the Deployment -------------------------------------------------------------------------

@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_pod_runs_restricted(values: Path) -> None:
    docs = rendered(values)
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    ctx = container(docs)["securityContext"]
    uid, _, gid = dockerfile.stages()[-1].args("USER")[-1].partition(":")
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert (ctx["runAsUser"], ctx["runAsGroup"]) == (int(uid), int(gid))
    assert pod["automountServiceAccountToken"] is False


def test_only_tmp_and_the_config_are_mounted() -> None:
    docs = rendered()
    mounts = {m["mountPath"]: m for m in container(docs)["volumeMounts"]}
    assert set(mounts) == {"/tmp", "/etc/ddb-backupd"}
    assert mounts["/etc/ddb-backupd"]["readOnly"] is True
    volumes = {v["name"]: v for v in docs["Deployment"]["spec"]["template"]["spec"]["volumes"]}
    assert volumes[mounts["/tmp"]["name"]]["emptyDir"]["sizeLimit"]


def test_probes_hit_healthz_and_readyz_on_the_metrics_port() -> None:
    main = container(rendered())
    port = HttpSettings.model_fields["port"].default
    assert main["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert main["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    env = {e["name"]: e.get("value") for e in main["env"]}
    assert env["BACKUPD_HTTP__PORT"] == str(port)
    assert main["args"] == ["run"]


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_grace_period_exceeds_the_drain_budget(values: Path) -> None:
    docs = rendered(values)
    config = yaml.safe_load(docs["ConfigMap"]["data"]["config.yaml"]) if "ConfigMap" in docs else {}
    grace = config.get("shutdown_grace_seconds",
                       Settings.model_fields["shutdown_grace_seconds"].default)
    assert docs["Deployment"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > grace


def test_chart_refuses_a_grace_period_the_drain_does_not_fit_in() -> None:
    proc = helm("template", "t", str(chart.CHART), "--set", "terminationGracePeriodSeconds=20",
                check=False)
    assert proc.returncode != 0
    assert "must exceed config.shutdown_grace_seconds" in proc.stderr


def test_chart_refuses_two_replicas_without_leader_election() -> None:
    proc = helm("template", "t", str(chart.CHART), "--set", "replicaCount=2", check=False)
    assert proc.returncode != 0
    assert "leader" in proc.stderr
    docs = rendered(None, "replicaCount=2", "config.leader.enabled=true")
    assert docs["Deployment"]["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 0


def test_a_single_replica_is_replaced_not_doubled() -> None:
    assert rendered()["Deployment"]["spec"]["strategy"] == {"type": "Recreate"}


def test_config_is_mounted_from_the_configmap_and_env_from_values_and_secret() -> None:
    docs = rendered(ALL_ON)
    main = container(docs)
    env = {e["name"]: e for e in main["env"]}
    assert env["BACKUPD_CONFIG_FILE"]["value"] == "/etc/ddb-backupd/config.yaml"
    assert env["BACKUPD_LOG_LEVEL"]["value"] == "info"
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert main["envFrom"] == [{"secretRef": {"name": "ddb-backupd-env"}},
                               {"configMapRef": {"name": "ddb-backupd-overrides"}}]
    annotations = docs["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["checksum/config"]


def test_all_on_config_is_the_example_estate() -> None:
    values = yaml.safe_load(ALL_ON.read_text())
    assert values["config"] == yaml.safe_load(EXAMPLE.read_text())


def test_rendered_config_is_accepted_by_check_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(rendered(ALL_ON)["ConfigMap"]["data"]["config.yaml"])
    for name in [k for k in os.environ if k.upper().startswith("BACKUPD_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("BACKUPD_CONFIG_FILE", str(config))
    code = check_config.run(argparse.Namespace(now=None))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["leader"]["enabled"] is True


# --- ServiceAccount, Service, monitoring, PDB, NetworkPolicy -------------------------------

def test_service_account_carries_the_irsa_role() -> None:
    account = rendered(ALL_ON)["ServiceAccount"]
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith(
        "arn:aws:iam::")
    assert account["automountServiceAccountToken"] is False


def test_service_monitor_scrapes_the_service_as_the_job_the_rules_expect() -> None:
    docs = rendered(ALL_ON)
    monitor, service = docs["ServiceMonitor"], docs["Service"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["backups"]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    job = service["metadata"]["labels"][monitor["spec"]["jobLabel"]]
    assert 'job="ddb-backupd"' in RULES.read_text()
    assert job == "ddb-backupd"


def test_prometheus_rule_with_the_defaults_is_the_rules_file_of_config() -> None:
    spec = rendered(None, "prometheusRule.enabled=true")["PrometheusRule"]["spec"]
    assert spec == yaml.safe_load(RULES.read_text())
    assert RULES.read_text() == chart.default_rules(), (
        "files/rules.yaml or the chart changed: run .venv/bin/python -m tests.deploy.chart")


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_every_rendering_of_the_rules_passes_promtool(values: Path, tmp_path: Path) -> None:
    docs = rendered(values, "prometheusRule.enabled=true")
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(docs["PrometheusRule"]["spec"]))
    run([tool("promtool"), "check", "rules", str(rules)])


def alerts_of(docs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for group in docs["PrometheusRule"]["spec"]["groups"]
            for rule in group["rules"]}


@pytest.mark.parametrize(("sets", "job"), [
    ((), "ddb-backupd"),
    (("nameOverride=backups",), "backups"),
    (("prometheusRule.job=kubernetes-pods",), "kubernetes-pods"),
])
def test_rules_select_the_job_the_release_is_scraped_as(sets: tuple[str, ...], job: str) -> None:
    docs = rendered(None, "prometheusRule.enabled=true", "serviceMonitor.enabled=true", *sets)
    alerts = alerts_of(docs)
    assert f'up{{job="{job}"}}' in alerts["BackupdDown"]["expr"]
    assert f'absent(up{{job="{job}"}})' in alerts["BackupdAbsent"]["expr"]
    if "prometheusRule.job" not in " ".join(sets):  # the ServiceMonitor's job is the same
        monitor, service = docs["ServiceMonitor"], docs["Service"]
        assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == job


def test_every_alert_has_a_runbook_url_to_its_section_of_the_runbook() -> None:
    runbook = (ROOT / "docs/runbook.md").read_text()
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
               for h in re.findall(r"^##+ (.+)$", runbook, re.MULTILINE)}
    base = yaml.safe_load(chart.VALUES.read_text())["prometheusRule"]["runbookUrl"]
    alerts = alerts_of(rendered(None, "prometheusRule.enabled=true"))
    assert {rule["alert"] for rule in chart.source_alerts()} == set(alerts)
    for name, rule in alerts.items():
        url = rule["annotations"]["runbook_url"]
        assert url == f"{base}#{name.lower()}"
        assert name.lower() in anchors, f"docs/runbook.md has no section {name}"
    custom = alerts_of(rendered(ALL_ON))
    assert custom["BackupdDown"]["annotations"]["runbook_url"] == (
        "https://wiki.example.com/ddb-backupd/runbook#backupddown")


def test_rules_carry_the_additional_labels_without_losing_their_severity() -> None:
    alerts = alerts_of(rendered(ALL_ON))
    for rule in alerts.values():
        assert rule["labels"]["team"] == "platform"
        assert rule["labels"]["severity"] in {"warning", "critical"}
    assert alerts["BackupdNoLeader"]["labels"]["severity"] == "warning"


def test_disabled_alerts_are_left_out_and_unknown_names_refused() -> None:
    assert "BackupdTriggersLost" not in alerts_of(rendered(ALL_ON))
    assert "BackupdTriggersLost" in alerts_of(rendered(None, "prometheusRule.enabled=true"))
    proc = helm("template", "t", str(chart.CHART), "--set", "prometheusRule.enabled=true",
                "--set", "prometheusRule.disabled[0]=BackupdTypo", check=False)
    assert proc.returncode != 0
    assert "disabled" in proc.stderr


def test_thresholds_and_durations_can_be_overridden_per_alert() -> None:
    defaults = alerts_of(rendered(None, "prometheusRule.enabled=true"))
    custom = alerts_of(rendered(ALL_ON))
    assert defaults["BackupdAwsApiErrors"]["expr"].rstrip().endswith("> 0.1")
    assert custom["BackupdAwsApiErrors"]["expr"].rstrip().endswith("> 0.2")
    assert (defaults["BackupdAwsApiErrors"]["for"], custom["BackupdAwsApiErrors"]["for"]) == (
        "15m", "30m")
    assert custom["BackupdReconcileStale"]["expr"].endswith("> 3600")
    assert "{{ 3600 | humanizeDuration }}" in custom["BackupdReconcileStale"]["annotations"][
        "summary"]
    assert "%" not in json.dumps(custom).replace("humanizePercentage", "")


def test_a_threshold_for_an_alert_without_one_is_refused() -> None:
    proc = helm("template", "t", str(chart.CHART), "--set", "prometheusRule.enabled=true",
                "--set", "prometheusRule.alerts.BackupdDown.threshold=1", check=False)
    assert proc.returncode != 0
    assert "threshold" in proc.stderr


def test_schema_of_the_alert_overrides_follows_the_rules() -> None:
    schema = json.loads(chart.SCHEMA.read_text())["properties"]["prometheusRule"]["properties"]
    assert schema["alerts"] == chart.alerts_schema()
    assert schema["disabled"] == chart.disabled_schema()


def test_grafana_dashboard_configmap_carries_the_dashboard_of_config() -> None:
    docs = rendered(ALL_ON)
    dashboard = docs["ConfigMap/ddb-backupd-dashboard"]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["ddb-backupd.json"]) == json.loads(DASHBOARD.read_text())


@pytest.mark.parametrize(("copy", "original"), [("files/ddb-backupd.json", DASHBOARD)])
def test_chart_files_are_copies_of_config(copy: str, original: Path) -> None:
    assert (chart.CHART / copy).read_bytes() == original.read_bytes(), (
        f"cp {original.relative_to(ROOT)} {(chart.CHART / copy).relative_to(ROOT)}")


def test_monitoring_objects_are_off_by_default() -> None:
    assert not {"ServiceMonitor", "PrometheusRule", "NetworkPolicy"} & set(rendered())


def test_disruption_budget_selects_the_pods_and_lets_drains_proceed() -> None:
    docs = rendered()
    pdb = docs["PodDisruptionBudget"]
    pod_labels = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["spec"]["maxUnavailable"] == 1


def test_network_policy_opens_only_the_metrics_port_and_dns_and_https_out() -> None:
    policy = rendered(ALL_ON)["NetworkPolicy"]["spec"]
    (ingress,) = policy["ingress"]
    assert ingress["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert ingress["from"]
    ports = {(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]}
    assert ports == {(53, "UDP"), (53, "TCP"), (443, "TCP"), (80, "TCP")}
    (link_local,) = [rule for rule in policy["egress"] if rule["ports"][0]["port"] == 80]
    assert all(peer["ipBlock"]["cidr"].startswith(("169.254.", "fd00:ec2::"))
               for peer in link_local["to"])


def test_network_policy_lets_the_pod_reach_its_credentials_over_ipv4_and_ipv6() -> None:
    """EKS Pod Identity's agent answers on 169.254.170.23 and [fd00:ec2::23]; IMDS on
    169.254.169.254 and [fd00:ec2::254]. An IPv6 cluster's pods use the IPv6 ones."""
    policy = rendered(None, "networkPolicy.enabled=true")["NetworkPolicy"]["spec"]
    (link_local,) = [rule for rule in policy["egress"] if rule["ports"][0]["port"] == 80]
    cidrs = {peer["ipBlock"]["cidr"] for peer in link_local["to"]}
    assert cidrs == {"169.254.170.23/32", "fd00:ec2::23/128", "169.254.169.254/32",
                     "fd00:ec2::254/128"}
    (https,) = [rule for rule in policy["egress"] if rule["ports"][0]["port"] == 443]
    assert {peer["ipBlock"]["cidr"] for peer in https["to"]} == {"0.0.0.0/0", "::/0"}


def rendered_notes(tmp_path: Path, *args: str) -> str:
    """NOTES.txt as `helm install` prints it (which needs a cluster): rendered by helm
    template in a copy of the chart where the notes are a named template inside a ConfigMap."""
    copy = tmp_path / "chart"
    shutil.copytree(chart.CHART, copy)
    notes = (copy / "templates/NOTES.txt").read_text()
    (copy / "templates/NOTES.txt").unlink()
    (copy / "templates/_notes.tpl").write_text('{{- define "notes" -}}' + notes + "{{- end }}")
    (copy / "templates/notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: |\n"
        '    {{- include "notes" . | nindent 4 }}\n')
    out = helm("template", "ddb-backupd", str(copy), "--namespace", "backups",
               "--show-only", "templates/notes.yaml", *args).stdout
    return str(yaml.safe_load(out)["data"]["notes"])


def test_notes_tell_how_to_reach_the_daemon_and_give_it_aws_credentials(tmp_path: Path) -> None:
    notes = rendered_notes(tmp_path)
    assert "port-forward svc/ddb-backupd 9102" in notes
    assert "/readyz" in notes
    assert "create-pod-identity-association" in notes
    assert r"eks\.amazonaws\.com/role-arn" in notes


def test_chart_image_and_task_definition_carry_the_daemons_version() -> None:
    chart_meta = yaml.safe_load((chart.CHART / "Chart.yaml").read_text())
    assert chart_meta["appVersion"] == __version__
    args = dict(a.split("=", 1) for a in dockerfile.stages()[-1].args("ARG") if "=" in a)
    assert args["VERSION"] == __version__
    task = json.loads((ROOT / "config/ecs/task-definition.json").read_text())
    assert task["containerDefinitions"][0]["image"].endswith(f":{__version__}")


# --- extending the chart --------------------------------------------------------------------

def test_image_can_be_pinned_by_digest() -> None:
    digest = "sha256:" + "ab" * 32
    main = container(rendered(None, f"image.digest={digest}", "image.tag=1.2.3"))
    assert main["image"] == f"ddb-backupd:1.2.3@{digest}"
    assert container(rendered())["image"] == f"ddb-backupd:{__version__}"
    proc = helm("template", "t", str(chart.CHART), "--set", "image.digest=latest", check=False)
    assert proc.returncode != 0
    assert "digest" in proc.stderr


def test_common_labels_are_on_every_object_and_the_pods() -> None:
    docs = rendered(ALL_ON)
    for key, doc in docs.items():
        assert doc["metadata"]["labels"]["cost-center"] == "platform", key
    pod = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert pod["cost-center"] == "platform"
    assert "cost-center" not in docs["Deployment"]["spec"]["selector"]["matchLabels"]


def test_extra_volumes_mounts_init_and_sidecar_containers_are_added() -> None:
    docs = rendered(ALL_ON)
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    assert {v["name"] for v in pod["volumes"]} == {"config", "tmp", "corporate-ca"}
    mounts = {m["mountPath"] for m in container(docs)["volumeMounts"]}
    assert mounts == {"/etc/ddb-backupd", "/tmp", "/etc/ssl/corporate"}
    assert [c["name"] for c in pod["initContainers"]] == ["check-config"]
    assert pod["initContainers"][0]["args"] == ["check-config"]
    assert [c["name"] for c in pod["containers"]] == ["ddb-backupd", "log-shipper"]
    assert docs["Deployment"]["spec"]["revisionHistoryLimit"] == 5
    assert "initContainers" not in rendered()["Deployment"]["spec"]["template"]["spec"]


def test_settings_can_come_from_an_existing_configmap() -> None:
    docs = rendered(EXISTING_CONFIGMAP)
    assert "ConfigMap" not in docs
    volumes = {v["name"]: v for v in docs["Deployment"]["spec"]["template"]["spec"]["volumes"]}
    assert volumes["config"]["configMap"]["name"] == "ddb-backupd-settings"
    assert "checksum/config" not in docs["Deployment"]["spec"]["template"]["metadata"].get(
        "annotations", {})
    assert container(docs)["image"].endswith("@sha256:" + "0123456789abcdef" * 4)


def test_service_monitor_copies_target_labels_and_can_honor_labels() -> None:
    monitor = rendered(ALL_ON)["ServiceMonitor"]["spec"]
    assert monitor["targetLabels"] == ["team"]
    assert monitor["endpoints"][0]["honorLabels"] is True
    default = rendered(None, "serviceMonitor.enabled=true")["ServiceMonitor"]["spec"]
    assert "targetLabels" not in default
    assert default["endpoints"][0]["honorLabels"] is False


def test_chart_metadata_names_home_sources_icon_and_maintainers() -> None:
    meta = yaml.safe_load((chart.CHART / "Chart.yaml").read_text())
    assert meta["home"].startswith("https://")
    assert meta["sources"]
    assert all(source.startswith("https://") for source in meta["sources"])
    assert meta["maintainers"][0]["name"]
    icon = meta["icon"]
    assert icon.startswith("https://")
    assert (ROOT / icon.split("/main/", 1)[1]).exists(), "the icon is a file of the repository"
    assert icon.startswith(meta["home"].replace("github.com", "raw.githubusercontent.com"))


# --- shards -----------------------------------------------------------------------------------

SHARD_LABEL = "ddb-backupd/shard"


def shard_values() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load(SHARDS.read_text())
    return values


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def of_kind(docs: dict[str, dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """name -> document of one kind."""
    return {d["metadata"]["name"]: d for d in docs.values() if d["kind"] == kind}


def render_file(tmp_path: Path, values: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return helm("template", "ddb-backupd", str(chart.CHART), "-f", str(path), check=False)


def test_without_shards_one_deployment_carries_no_shard_label() -> None:
    text = rendered_text(None)
    assert SHARD_LABEL not in text
    assert [d["metadata"]["name"] for d in rendered().values()
            if d["kind"] in {"Deployment", "ConfigMap", "PodDisruptionBudget"}] == [
        "ddb-backupd"] * 3


def test_each_shard_has_its_configmap_deployment_and_pdb_selecting_only_its_pods() -> None:
    docs = rendered(SHARDS)
    names = [s["name"] for s in shard_values()["shards"]]
    for kind in ("ConfigMap", "Deployment", "PodDisruptionBudget"):
        assert sorted(of_kind(docs, kind)) == [f"ddb-backupd-{n}" for n in names], kind
    deployments = of_kind(docs, "Deployment")
    budgets = of_kind(docs, "PodDisruptionBudget")
    pods = {n: deployments[f"ddb-backupd-{n}"]["spec"]["template"]["metadata"]["labels"]
            for n in names}
    for name in names:
        deployment = deployments[f"ddb-backupd-{name}"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector[SHARD_LABEL] == name
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        assert volumes["config"]["configMap"]["name"] == f"ddb-backupd-{name}"
        budget = budgets[f"ddb-backupd-{name}"]["spec"]["selector"]["matchLabels"]
        for chosen in (selector, budget):
            assert [n for n in names if chosen.items() <= pods[n].items()] == [name]
    # The Service, and so the ServiceMonitor and NetworkPolicy, cover every shard's pods.
    for selector in (docs["Service"]["spec"]["selector"],
                     docs["ServiceMonitor"]["spec"]["selector"]["matchLabels"],
                     docs["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"]):
        assert SHARD_LABEL not in selector
        assert all(selector.items() <= labels.items() for labels in pods.values())
    # ... and label every series with its shard, which the alerts count leaders by.
    (endpoint,) = docs["ServiceMonitor"]["spec"]["endpoints"]
    assert endpoint["relabelings"] == [{
        "sourceLabels": ["__meta_kubernetes_pod_label_ddb_backupd_shard"],
        "targetLabel": "shard"}]
    alerts = alerts_of(rendered(SHARDS, "prometheusRule.enabled=true"))
    assert "by (job, shard)" in alerts["BackupdNoLeader"]["expr"]
    assert "relabelings" not in rendered(
        None, "serviceMonitor.enabled=true")["ServiceMonitor"]["spec"]["endpoints"][0]


def test_each_shard_runs_the_top_level_config_with_its_own_merged_over_it() -> None:
    values = shard_values()
    docs = rendered(SHARDS)
    configs = of_kind(docs, "ConfigMap")
    deployments = of_kind(docs, "Deployment")
    for shard in values["shards"]:
        name = f"ddb-backupd-{shard['name']}"
        config = yaml.safe_load(configs[name]["data"]["config.yaml"])
        assert config == deep_merge(values["config"], shard["config"])
        assert config["leader"] == {"enabled": True, "table": "ddb-backupd-leader",
                                    "lease_name": shard["config"]["leader"]["lease_name"]}
        assert deployments[name]["spec"]["replicas"] == shard.get(
            "replicaCount", values["replicaCount"])
    leases = [yaml.safe_load(c["data"]["config.yaml"])["leader"]["lease_name"]
              for c in configs.values()]
    assert len(set(leases)) == len(values["shards"]) == 2


@pytest.mark.parametrize("shard", [0, 1])
def test_each_shards_config_is_accepted_by_check_config(
        shard: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    name = f"ddb-backupd-{shard_values()['shards'][shard]['name']}"
    config = tmp_path / "config.yaml"
    config.write_text(of_kind(rendered(SHARDS), "ConfigMap")[name]["data"]["config.yaml"])
    for variable in [k for k in os.environ if k.upper().startswith("BACKUPD_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("BACKUPD_CONFIG_FILE", str(config))
    code = check_config.run(argparse.Namespace(now=None))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["leader"]["lease_name"] == shard_values()["shards"][shard]["config"][
        "leader"]["lease_name"]


def test_a_change_of_one_shards_config_restarts_only_that_shard() -> None:
    def checksums(*sets: str) -> dict[str, str]:
        return {name: d["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
                for name, d in of_kind(rendered(SHARDS, *sets), "Deployment").items()}

    before = checksums()
    after = checksums("shards[1].config.max_accounts=300")
    assert len(set(before.values())) == 2
    assert [name for name in before if before[name] != after[name]] == ["ddb-backupd-us-east-1-b"]


def test_shards_may_reuse_accounts_and_leases_where_they_cannot_meet(tmp_path: Path) -> None:
    values = shard_values()
    second = values["shards"][1]["config"]
    second["region"] = "eu-west-1"  # another region's jobs: the same account twice is fine
    second["accounts"] = values["shards"][0]["config"]["accounts"]
    second["leader"]["lease_name"] = "us-east-1-a"  # and its own lease table
    assert render_file(tmp_path, values).returncode == 0
    values = shard_values()
    values["shards"][1]["config"]["leader"] = {"lease_name": "us-east-1-a",
                                               "table": "another-lease-table"}
    assert render_file(tmp_path, values).returncode == 0
    values = shard_values()
    values["replicaCount"] = 1
    values["config"]["leader"]["enabled"] = False  # no election: the lease name is unused
    for shard in values["shards"]:
        shard.pop("replicaCount", None)
        shard["config"]["leader"]["lease_name"] = "one"
    assert render_file(tmp_path, values).returncode == 0


REFUSALS = {
    "duplicate name": (
        lambda v: v["shards"][1].update(name="us-east-1-a"),
        "shards: the name us-east-1-a is given twice"),
    "one lease": (
        lambda v: v["shards"][1]["config"]["leader"].update(lease_name="us-east-1-a"),
        ("shards us-east-1-a and us-east-1-b both elect their leader with leader.lease_name "
         "us-east-1-a")),
    "default lease": (
        lambda v: [s["config"].pop("leader") for s in v["shards"]],
        ("both elect their leader with leader.lease_name ddb-backupd in the table "
         "ddb-backupd-leader of us-east-1")),
    "overlapping accounts": (
        lambda v: v["shards"][1]["config"]["accounts"].append("222222222222"),
        ("shards us-east-1-a and us-east-1-b both serve account 222222222222 in region "
         "us-east-1")),
    "a shard of every account": (
        lambda v: v["shards"][1]["config"].pop("accounts"),
        ("shards us-east-1-a and us-east-1-b overlap in region us-east-1: a shard without "
         "config.accounts serves every account")),
    "one queue": (
        lambda v: v["shards"][1]["config"].update(
            queue_url=v["shards"][0]["config"]["queue_url"]),
        "shards us-east-1-a and us-east-1-b both poll queue_url"),
    "existing configmap": (
        lambda v: v.update(existingConfigMap="settings"),
        "shards need the chart's ConfigMaps"),
    "name too long": (
        lambda v: v.update(fullnameOverride="x" * 52),
        f"shard us-east-1-a: the object name {'x' * 52}-us-east-1-a is longer than 63"),
    "grace period of a shard": (
        lambda v: v["shards"][0]["config"].update(shutdown_grace_seconds=40),
        "shard us-east-1-a: terminationGracePeriodSeconds (30) must exceed"),
    "replicas without leader": (
        lambda v: v["shards"][1]["config"]["leader"].update(enabled=False),
        "shard us-east-1-b: replicaCount > 1 needs leader election"),
    "not a dns label": (
        lambda v: v["shards"][1].update(name="East_B"),
        "shards.1.name: Does not match pattern"),
    "unknown setting": (
        lambda v: v["shards"][1]["config"].update(lease_name="b"),
        "Additional property lease_name is not allowed"),
    "setting of a wrong type": (
        lambda v: v["shards"][1]["config"].update(max_accounts="many"),
        "shards.1.config.max_accounts: Invalid type"),
    "unnamed": (
        lambda v: v["shards"][1].pop("name"),
        "shards.1: name is required"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_chart_refuses_shards_that_would_do_one_anothers_work(case: str, tmp_path: Path) -> None:
    change, message = REFUSALS[case]
    values = shard_values()
    assert render_file(tmp_path, values).returncode == 0
    change(values)
    proc = render_file(tmp_path, values)
    assert proc.returncode != 0, case
    assert message in proc.stderr, proc.stderr


def test_a_shards_false_empty_or_zero_setting_overrides_the_top_level_one(
        tmp_path: Path) -> None:
    values = {"config": {"organization": {"enabled": True}, "accounts": ["111111111111"],
                         "alert_cooldown_seconds": 300, "max_accounts": 200},
              "shards": [{"name": "a", "config": {"organization": {"enabled": False},
                                                  "accounts": [],
                                                  "alert_cooldown_seconds": 0}}]}
    proc = render_file(tmp_path, values)
    assert proc.returncode == 0, proc.stderr
    (configmap,) = [d for d in yaml.safe_load_all(proc.stdout) if d and d["kind"] == "ConfigMap"]
    assert yaml.safe_load(configmap["data"]["config.yaml"]) == {
        "organization": {"enabled": False}, "accounts": [], "alert_cooldown_seconds": 0,
        "max_accounts": 200}


def test_notes_name_every_shards_deployment(tmp_path: Path) -> None:
    notes = rendered_notes(tmp_path, "-f", str(SHARDS))
    for shard in shard_values()["shards"]:
        assert f"rollout status deploy/ddb-backupd-{shard['name']}" in notes
    assert "exec deploy/ddb-backupd-us-east-1-a -- ddb-backupd check-config" in notes
    assert "deploy/ddb-backupd " not in notes


def test_shard_checks_assume_the_settings_models_defaults() -> None:
    helpers = (chart.CHART / "templates/_helpers.tpl").read_text()
    defaults = Settings.model_construct()
    assert f'get $config "region" | default "{defaults.region}"' in helpers
    assert f'dig "leader" "lease_name" "{defaults.leader.lease_name}" $config' in helpers
    assert f'dig "leader" "table" "{defaults.leader.table}" $config' in helpers
