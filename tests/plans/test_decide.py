"""What to do about one plan: create what is missing, repair what drifted, touch nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.config.settings import Settings
from daemon.core.plans.desired import DesiredPlan, desired_plan
from daemon.core.plans.diff import LockState
from daemon.core.plans.ownership import (
    MANAGED_BY,
    TAG_MANAGED_BY,
    owns_plan,
    owns_selection,
    plan_tags,
    vault_tags,
)
from daemon.core.plans.reconcile import (
    DriftEpisodes,
    Observed,
    ObservedPlan,
    ObservedSelection,
    ObservedVault,
    Verdict,
    decide,
    drift_alert,
)
from tests.plans.specs import plan_spec


def desired(**overrides: Any) -> DesiredPlan:
    return desired_plan(Settings(backup_plans=[plan_spec(**overrides)]).backup_plans[0])


DESIRED = desired()
VAULT = ObservedVault("plans-vault", vault_tags("plans-vault"), LockState(7, 400, False))


def ours(want: DesiredPlan = DESIRED, *, tags: dict[str, str] | None = None,
         document: Any = None, selections: tuple[ObservedSelection, ...] | None = None,
         ) -> ObservedPlan:
    """The daemon's plan as AWS holds it after it applied `want`."""
    if selections is None:
        selections = tuple(ObservedSelection(f"sel-{s.name}", s.name, s) for s in want.selections)
    return ObservedPlan("plan-1", "arn:aws:backup:us-east-1:123456789012:backup-plan:plan-1",
                        "v1", plan_tags(want.name, want.fingerprint) if tags is None else tags,
                        want.document if document is None else document, selections)


def steps(verdict: Verdict) -> list[str]:
    return [f"{s.kind} {s.target}" + (f" {s.selection_id}" if s.selection_id else "")
            for s in verdict.steps]


def test_nothing_in_aws_creates_vault_lock_plan_and_selections_in_order() -> None:
    verdict = decide(DESIRED, Observed(None, ()))
    assert (verdict.state, verdict.cause) == ("missing", None)
    assert steps(verdict) == ["create_vault plans-vault", "lock_vault plans-vault",
                              "create_plan daily", "create_selection backupd-tables"]


def test_a_missing_vault_not_to_be_created_blocks_the_plan() -> None:
    spec = plan_spec(vault={"name": "elsewhere"})
    verdict = decide(desired(vault=spec["vault"]), Observed(None, ()))
    assert verdict.state == "blocked"
    assert verdict.steps == ()
    assert "does not exist" in verdict.notes[0]


def test_an_existing_vault_is_used_and_only_the_plan_is_created() -> None:
    verdict = decide(DESIRED, Observed(VAULT, ()))
    assert steps(verdict) == ["create_plan daily", "create_selection backupd-tables"]


def test_the_plan_as_configured_needs_nothing() -> None:
    verdict = decide(DESIRED, Observed(VAULT, (ours(),)))
    assert (verdict.state, verdict.steps, verdict.differences) == ("in_sync", (), ())


def test_a_plan_of_that_name_without_the_daemons_tags_is_never_touched() -> None:
    foreign = ObservedPlan("p-9", "arn:p-9", "v", {"team": "dba"})
    verdict = decide(DESIRED, Observed(None, (foreign,)))
    assert (verdict.state, verdict.steps) == ("conflict", ())
    assert "left alone" in verdict.notes[0]


@pytest.mark.parametrize("tags", [
    {TAG_MANAGED_BY: MANAGED_BY, "backupd:plan": "another"},
    {TAG_MANAGED_BY: "someone-else", "backupd:plan": "daily"},
    {"backupd:plan": "daily"},
])
def test_ownership_needs_both_tags(tags: dict[str, str]) -> None:
    assert not owns_plan(tags, "daily")
    assert decide(DESIRED, Observed(VAULT, (ours(tags=tags),))).state == "conflict"


def test_a_rule_edited_in_aws_is_drift_and_updates_the_plan() -> None:
    rules = list(DESIRED.document.rules)
    rules[0] = rules[0].model_copy(update={"start_window_minutes": 600})
    aws = DESIRED.document.model_copy(update={"rules": tuple(rules)})
    verdict = decide(DESIRED, Observed(VAULT, (ours(document=aws),)))
    assert (verdict.state, verdict.cause, verdict.drifted) == ("changed", "drift", True)
    assert [d.field for d in verdict.differences] == ["Rules[daily].StartWindowMinutes"]
    assert steps(verdict) == ["update_plan daily"]


def test_a_changed_configuration_is_not_drift_and_retags_the_plan() -> None:
    before = desired()
    after = desired(rules=[{**plan_spec()["rules"][0], "start_window_minutes": 120}])
    verdict = decide(after, Observed(VAULT, (ours(before),)))
    assert (verdict.state, verdict.cause, verdict.drifted) == ("changed", "configuration", False)
    assert steps(verdict) == ["update_plan daily", "tag_plan daily"]


def test_a_selection_edited_in_aws_is_replaced_delete_first() -> None:
    edited = DESIRED.selections[0].model_copy(update={"resources": ("*",)})
    plan = ours(selections=(ObservedSelection("s-1", edited.name, edited),))
    verdict = decide(DESIRED, Observed(VAULT, (plan,)))
    assert verdict.cause == "drift"
    assert [d.field for d in verdict.differences] == ["Selections[backupd-tables].Resources"]
    assert steps(verdict) == ["delete_selection backupd-tables s-1",
                              "create_selection backupd-tables"]


def test_selections_of_others_in_the_daemons_plan_are_left_alone() -> None:
    mine = DESIRED.selections[0]
    theirs = ObservedSelection("s-9", "hand-made", None)
    plan = ours(selections=(ObservedSelection("s-1", mine.name, mine), theirs))
    assert decide(DESIRED, Observed(VAULT, (plan,))).state == "in_sync"
    assert not owns_selection("hand-made")


def test_the_daemons_selections_no_longer_configured_or_doubled_are_deleted() -> None:
    mine = DESIRED.selections[0]
    plan = ours(selections=(ObservedSelection("s-1", mine.name, mine),
                            ObservedSelection("s-2", mine.name, mine),
                            ObservedSelection("s-3", "backupd-old", mine)))
    verdict = decide(DESIRED, Observed(VAULT, (plan,)))
    assert steps(verdict) == ["delete_selection backupd-tables s-2",
                              "delete_selection backupd-old s-3"]


def test_a_missing_selection_is_created() -> None:
    verdict = decide(DESIRED, Observed(VAULT, (ours(selections=()),)))
    assert steps(verdict) == ["create_selection backupd-tables"]
    assert [d.field for d in verdict.differences] == ["Selections[backupd-tables]"]


def test_the_daemons_vault_lock_is_kept_as_configured() -> None:
    loosened = ObservedVault("plans-vault", VAULT.tags, LockState(1, 400, False))
    verdict = decide(DESIRED, Observed(loosened, (ours(),)))
    assert verdict.cause == "drift"
    assert steps(verdict) == ["lock_vault plans-vault"]


def test_a_vault_the_daemon_did_not_create_keeps_its_lock() -> None:
    foreign = ObservedVault("plans-vault", {}, None)
    verdict = decide(DESIRED, Observed(foreign, (ours(),)))
    assert verdict.state == "in_sync"
    assert "left as it is" in verdict.notes[0]


def test_an_old_fingerprint_alone_only_retags() -> None:
    tags = {**plan_tags("daily", "0" * 16)}
    verdict = decide(DESIRED, Observed(VAULT, (ours(tags=tags),)))
    assert (verdict.state, steps(verdict)) == ("in_sync", ["tag_plan daily"])


@given(st.lists(st.booleans(), max_size=30))
def test_one_alert_per_drift_episode(passes: list[bool]) -> None:
    """An episode starts at a drifting pass after a clean one (or the first pass)."""
    episodes = DriftEpisodes()
    started = [episodes.update("daily", drifted) for drifted in passes]
    expected = [d and (i == 0 or not passes[i - 1]) for i, d in enumerate(passes)]
    assert started == expected


def test_the_drift_alert_names_the_plan_and_the_fields() -> None:
    rules = list(DESIRED.document.rules)
    rules[0] = rules[0].model_copy(update={"start_window_minutes": 600})
    aws = DESIRED.document.model_copy(update={"rules": tuple(rules)})
    alert = drift_alert(decide(DESIRED, Observed(VAULT, (ours(document=aws),))),
                        repairing=True)
    assert (alert.severity, alert.event) == ("warning", "backup_plan_drift")
    assert "daily" in alert.subject
    assert len(alert.subject) <= 100
    assert alert.body["fields"] == ["Rules[daily].StartWindowMinutes"]
    assert alert.body["differences"][0] == {"field": "Rules[daily].StartWindowMinutes",
                                            "actual": 600, "desired": 60}


def test_the_fingerprint_follows_the_configuration_only() -> None:
    assert desired().fingerprint == DESIRED.fingerprint
    assert desired(selections=[]).fingerprint != DESIRED.fingerprint
    assert desired(vault={"name": "plans-vault", "create": True}).fingerprint != \
        DESIRED.fingerprint
