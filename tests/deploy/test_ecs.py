"""ECS: the Fargate task definition is a valid RegisterTaskDefinition request and runs the image safely.

The shape is checked with botocore's own validator against the `ecs` service model's
RegisterTaskDefinition input (unknown keys, wrong types, missing members all fail), so
`aws ecs register-task-definition --cli-input-json file://config/ecs/task-definition.json`
accepts it. The other tests pin what a safe deployment of this image needs.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from daemon.config.load import load_settings, unknown_env_vars
from daemon.config.settings import HttpSettings, Settings
from tests.deploy import dockerfile, iam
from tests.deploy.shapes import shape_errors
from tests.deploy.tools import ROOT

TASK = json.loads((ROOT / "config/ecs/task-definition.json").read_text())
EXECUTION_POLICY = json.loads((ROOT / "config/ecs/execution-role-policy.json").read_text())
CONTAINER: dict[str, Any] = TASK["containerDefinitions"][0]
# Fargate's valid cpu -> memory (MiB) combinations, for the sizes this daemon needs.
FARGATE_MEMORY = {"256": range(512, 2049, 512), "512": range(1024, 4097, 1024),
                  "1024": range(2048, 8193, 1024), "2048": range(4096, 16385, 1024)}


def test_is_a_valid_register_task_definition_request() -> None:
    assert shape_errors("ecs", "RegisterTaskDefinition", TASK) is None


def test_runs_on_fargate_with_a_valid_size() -> None:
    assert TASK["requiresCompatibilities"] == ["FARGATE"]
    assert TASK["networkMode"] == "awsvpc"
    assert int(TASK["memory"]) in FARGATE_MEMORY[TASK["cpu"]]


def test_task_role_is_separate_from_the_execution_role() -> None:
    """The daemon's AWS permissions never mix with the agent's (pull image, read secrets)."""
    assert TASK["taskRoleArn"].startswith("arn:aws:iam::")
    assert TASK["executionRoleArn"].startswith("arn:aws:iam::")
    assert TASK["taskRoleArn"] != TASK["executionRoleArn"]


def test_container_runs_the_image_as_its_non_root_user_with_a_read_only_root() -> None:
    assert CONTAINER["user"] == dockerfile.stages()[-1].args("USER")[-1]
    assert CONTAINER["readonlyRootFilesystem"] is True
    assert CONTAINER["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
    assert CONTAINER["command"] == ["run"]


def test_only_tmp_is_writable() -> None:
    volumes = {v["name"] for v in TASK["volumes"]}
    assert [(m["containerPath"], m["readOnly"]) for m in CONTAINER["mountPoints"]] == [
        ("/tmp", False)]
    assert CONTAINER["mountPoints"][0]["sourceVolume"] in volumes


def test_health_check_and_port_use_the_daemons_http_port() -> None:
    port = HttpSettings.model_fields["port"].default
    assert [p["containerPort"] for p in CONTAINER["portMappings"]] == [port]
    check = " ".join(CONTAINER["healthCheck"]["command"])
    assert CONTAINER["healthCheck"]["command"][0] == "CMD"
    assert f"127.0.0.1:{port}/healthz" in check


def test_stop_timeout_exceeds_the_shutdown_grace() -> None:
    """ECS sends SIGKILL after stopTimeout: the daemon must have drained by then."""
    grace = Settings.model_fields["shutdown_grace_seconds"].default
    env = {e["name"]: e["value"] for e in CONTAINER["environment"]}
    grace = float(env.get("BACKUPD_SHUTDOWN_GRACE_SECONDS", grace))
    assert grace < CONTAINER["stopTimeout"] <= 120


def test_logs_go_to_cloudwatch_logs_without_blocking_the_daemon() -> None:
    logs = CONTAINER["logConfiguration"]
    assert logs["logDriver"] == "awslogs"
    assert {"awslogs-group", "awslogs-region", "awslogs-stream-prefix"} <= set(logs["options"])
    assert logs["options"]["mode"] == "non-blocking"


def test_secrets_come_from_ssm_and_secrets_manager() -> None:
    sources = {s["valueFrom"].split(":")[2] for s in CONTAINER["secrets"]}
    assert sources == {"ssm", "secretsmanager"}


def test_environment_and_secrets_are_settings_the_daemon_knows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every variable is a real setting, and with the secrets' values the config loads."""
    env = {e["name"]: e["value"] for e in CONTAINER["environment"]}
    env |= {s["name"]: "[]" for s in CONTAINER["secrets"]}  # the secrets hold JSON lists
    assert unknown_env_vars(env) == []
    for name in [k for k in os.environ if k.upper().startswith("BACKUPD_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(env)
    assert settings.queue_url == env["BACKUPD_QUEUE_URL"]
    assert settings.leader.enabled is True


def test_execution_role_can_read_exactly_the_referenced_secrets() -> None:
    for secret in CONTAINER["secrets"]:
        arn = secret["valueFrom"]
        action = ("ssm:GetParameters" if ":ssm:" in arn else "secretsmanager:GetSecretValue")
        resources = [r for s in iam.statements(EXECUTION_POLICY) if action in s["Action"]
                     for r in iam.as_list(s["Resource"])]
        assert arn in resources, f"{action} on {arn}"


@pytest.mark.parametrize("name", ["trust-ecs-tasks", "trust-eks-irsa", "trust-eks-pod-identity"])
def test_trust_policies_let_only_their_platform_assume_the_role(name: str) -> None:
    policy = json.loads((ROOT / f"config/iam/{name}.json").read_text())
    (statement,) = iam.statements(policy)
    assert statement["Effect"] == "Allow"
    assert "sts:AssumeRole" in str(statement["Action"])
    assert "*" not in json.dumps(statement["Principal"])
