"""The composition root wires, and imports, only the capabilities the configuration asks for.

Each case wires a daemon in a fresh interpreter (this one has imported everything already)
and reads which of the daemon's modules it loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

WIRE = """
import json, sys
from daemon.app import build_kernel, wire
from daemon.aws.session import AwsClients
from daemon.config.settings import Settings
from daemon.core.clock import SystemClock
from daemon.obs.metrics import Metrics

settings = Settings(**json.loads(sys.argv[1]))
metrics = Metrics()
aws = AwsClients(settings.aws, settings.region, metrics)  # clients open on first use: none here
daemon = wire(settings, aws, build_kernel(settings, aws, metrics, SystemClock()))
gate = daemon.components[-1]
print(json.dumps({"modules": sorted(m for m in sys.modules if m.startswith("daemon.")),
                  "leader": [c.name for c in gate._components]}))
"""
MINIMAL: dict[str, Any] = {"cloudwatch": {"enabled": False}}
EVERYTHING: dict[str, Any] = {
    "queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/events",
    "schedules": [{"name": "daily", "tables": ["*"], "expression": "rate(1 day)"}],
    "restores": [{"name": "staging", "source_pattern": "-production$",
                  "replacement": "-staging"}],
    "exports": [{"name": "lake", "source_pattern": ".*", "bucket": "exports-bucket"}],
}
OPTIONAL = {
    "daemon.events.consumer": "consumer", "daemon.events.cloudwatch": "cloudwatch",
    "daemon.scheduling.wire": "scheduler", "daemon.scheduling.scheduler": "scheduler",
    "daemon.scheduling.retention": "retention", "daemon.tasks.wire": "tasks",
    "daemon.tasks.runner": "tasks", "daemon.tasks.restores": "restores",
    "daemon.tasks.exports": "exports", "daemon.tasks.export_markers": "exports",
}


def wired(settings: dict[str, Any]) -> dict[str, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("BACKUPD_")}
    out = subprocess.run([sys.executable, "-c", WIRE, json.dumps(settings)], env=env,
                         capture_output=True, text=True, check=True, timeout=60)
    result: dict[str, list[str]] = json.loads(out.stdout)
    return result


def test_a_minimal_configuration_imports_no_optional_capability() -> None:
    """No queue, no schedule, no restore or export rule, CloudWatch off: none of their
    modules is imported, and the leader runs the reconciler, the alerts and the thresholds."""
    got = wired(MINIMAL)
    assert sorted(set(OPTIONAL) & set(got["modules"])) == []
    assert not [m for m in got["modules"] if m.startswith(("daemon.scheduling", "daemon.tasks"))]
    # nor the pure core of plans and of freshness, which only their metrics would name
    assert not {"daemon.core.plans.reconcile", "daemon.core.scheduling.freshness"} & set(
        got["modules"])
    assert got["leader"] == ["reconciler", "thresholds", "alerts"]


def test_every_configured_capability_is_wired_and_imported() -> None:
    got = wired(EVERYTHING)
    assert set(OPTIONAL) <= set(got["modules"])
    assert set(OPTIONAL.values()) <= set(got["leader"])


@pytest.mark.parametrize(("extra", "absent"), [
    ({"restores": EVERYTHING["restores"]}, "daemon.tasks.exports"),
    ({"exports": EVERYTHING["exports"]}, "daemon.tasks.restores"),
    ({"schedules": [{**EVERYTHING["schedules"][0], "enabled": False}]},
     "daemon.scheduling.scheduler"),
])
def test_one_side_of_a_capability_does_not_import_the_other(
        extra: dict[str, Any], absent: str) -> None:
    assert absent not in wired({**MINIMAL, **extra})["modules"]
