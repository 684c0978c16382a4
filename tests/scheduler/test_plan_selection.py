"""Coverage's reading of a backup plan's selection: which DynamoDB tables it takes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from daemon.app import build_kernel
from daemon.core.clock import FakeClock
from daemon.core.scheduling.plan_selection import PlanSelection
from daemon.obs.metrics import Metrics
from daemon.scheduling.wire import wire
from tests.scheduler.conftest import settings_for

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/"


def selection(**kw: object) -> PlanSelection:
    base: dict[str, object] = {"resources": (), "not_resources": (), "tags": {},
                               "conditions": ()}
    return PlanSelection.build("us-east-1", **{**base, **kw})  # type: ignore[arg-type]


def test_arn_patterns_match_tables_of_this_region_by_name() -> None:
    sel = selection(resources=[ARN + "orders-*"], not_resources=[ARN + "orders-tmp"])
    assert sel.selects("orders-a")
    assert not sel.selects("orders-tmp")
    assert not sel.selects("users")
    assert not selection(resources=["arn:aws:dynamodb:eu-west-1:*:table/*"]).selects("orders")
    assert not selection(resources=["arn:aws:rds:us-east-1:*:db:*"]).selects("orders")
    assert selection(resources=["*"]).selects("anything")
    assert not selection(resources=["*"]).needs_tags


def test_tags_select_any_and_conditions_must_all_hold() -> None:
    sel = selection(tags={"backup": "daily"},
                    conditions=[("not_equals", "env", "dev"), ("like", "team", "data-*")])
    assert sel.needs_tags
    assert sel.selects("t", {"backup": "daily", "env": "prod", "team": "data-eng"})
    assert not sel.selects("t", {"backup": "daily", "env": "dev", "team": "data-eng"})
    assert not sel.selects("t", {"backup": "daily", "env": "prod", "team": "web"})
    assert not sel.selects("t", {"backup": "weekly", "team": "data-eng"})
    assert not selection(resources=["*"], conditions=[("not_like", "env", "d*")]).selects(
        "t", {"env": "dev"})


def test_scheduling_wire_adds_each_plan_selection_to_coverage() -> None:
    plan = {"name": "nightly", "vault": {"name": "ops"},
            "rules": [{"name": "daily", "expression": "cron(0 5 * * ? *)",
                       "lifecycle": {"delete_after_days": 7}}],
            "selections": [{"name": "orders",
                            "iam_role_arn": "arn:aws:iam::123456789012:role/backup",
                            "resources": [ARN + "orders-*"]}]}
    settings = settings_for([{"name": "d", "expression": "rate(1 day)", "tables": ["users"]}],
                            backup_plans=[plan])

    class NoAws:  # wire() builds nothing that calls AWS
        dynamodb = backup = sns = cloudwatch = None

    kernel = build_kernel(settings, NoAws(), Metrics(CollectorRegistry()),  # type: ignore[arg-type]
                          FakeClock())
    coverage = wire(settings, NoAws(), kernel).coverage  # type: ignore[arg-type]
    assert coverage is not None
    assert set(coverage.selectors) == {"schedule:d", "plan:nightly/orders"}
    assert coverage.selectors["plan:nightly/orders"].selects("orders-a")
