"""What to do about one configured plan, given what AWS holds: the steps, and why.

`decide(desired, observed)` is the whole decision; the reconciler only reads AWS into an
`Observed` and carries out the steps in order. Its answers:

- **missing** — no plan of that name: create the vault if asked (and lock it), the plan, its
  selections;
- **in_sync** — the plan, its selections and the vault's lock are as configured;
- **changed** — something differs: update the plan (a new plan version), replace each
  selection that differs (AWS has no UpdateBackupSelection), delete the daemon's selections
  no longer configured, re-lock the vault. The cause is **drift** when the plan still carries
  the fingerprint of this configuration (someone changed AWS), else **configuration**;
- **conflict** — plans of that name exist and none is the daemon's: nothing is touched;
- **blocked** — the vault does not exist and the configuration says not to create it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from daemon.core.alerts import Alert
from daemon.core.plans.desired import DesiredPlan, DesiredVault
from daemon.core.plans.diff import (
    Difference,
    LockState,
    lock_differences,
    plan_differences,
    selection_differences,
    selection_view,
)
from daemon.core.plans.ownership import (
    applied_fingerprint,
    owns_plan,
    owns_selection,
    owns_vault,
)
from daemon.core.plans.wire import BackupPlanDocument, BackupSelectionDocument

State = Literal["in_sync", "missing", "changed", "conflict", "blocked"]
Cause = Literal["drift", "configuration"]
StepKind = Literal["create_vault", "lock_vault", "create_plan", "update_plan", "tag_plan",
                   "create_selection", "delete_selection"]
STEP_KINDS: tuple[StepKind, ...] = ("create_vault", "lock_vault", "create_plan", "update_plan",
                                    "tag_plan", "create_selection", "delete_selection")
ALERT_DIFFERENCES = 20


@dataclass(frozen=True, slots=True)
class ObservedVault:
    """A vault as AWS describes it, with its tags."""

    name: str
    tags: Mapping[str, str]
    lock: LockState | None


@dataclass(frozen=True, slots=True)
class ObservedSelection:
    """A selection of a plan; its document is read only when it is the daemon's."""

    selection_id: str
    name: str
    document: BackupSelectionDocument | None = None


@dataclass(frozen=True, slots=True)
class ObservedPlan:
    """A live plan of the configured name; document and selections read only when owned."""

    plan_id: str
    arn: str
    version_id: str
    tags: Mapping[str, str]
    document: BackupPlanDocument | None = None
    selections: tuple[ObservedSelection, ...] = ()


@dataclass(frozen=True, slots=True)
class Observed:
    """What AWS holds for one configured plan: its vault and every plan of its name."""

    vault: ObservedVault | None
    plans: tuple[ObservedPlan, ...]


@dataclass(frozen=True, slots=True)
class Step:
    """One write, in the order they must run; `target` names the vault, plan or selection."""

    kind: StepKind
    target: str
    selection_id: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision about one plan: its state, why, what differs and the steps that fix it."""

    plan: str
    state: State
    cause: Cause | None = None
    differences: tuple[Difference, ...] = ()
    steps: tuple[Step, ...] = ()
    plan_id: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def drifted(self) -> bool:
        """AWS was changed behind the daemon's back (not the configuration)."""
        return self.cause == "drift"


def decide(desired: DesiredPlan, observed: Observed) -> Verdict:
    """The verdict about one configured plan (see the module docstring)."""
    name = desired.name
    owned = [p for p in observed.plans if owns_plan(p.tags, name)]
    if observed.plans and not owned:
        return Verdict(name, "conflict", plan_id=observed.plans[0].plan_id, notes=(
            f"a backup plan named {name} exists without the daemon's tags: it is left alone",))
    vault_steps, vault_diffs, notes = _vault(desired.vault, observed.vault)
    if vault_steps is None:
        return Verdict(name, "blocked", notes=notes)
    if not owned:
        steps = [*vault_steps, Step("create_plan", name),
                 *(Step("create_selection", s.name) for s in desired.selections)]
        return Verdict(name, "missing", differences=tuple(vault_diffs), steps=tuple(steps),
                       notes=notes)
    plan, *others = owned
    notes += tuple(f"another plan of the daemon is named {name} too ({p.plan_id}): left alone"
                   for p in others)
    diffs, steps = list(vault_diffs), list(vault_steps)
    assert plan.document is not None, "an owned plan's document is always read"
    if plan_diffs := plan_differences(desired.document, plan.document):
        diffs += plan_diffs
        steps.append(Step("update_plan", name))
    selection_diffs, selection_steps = _selections(desired.selections, plan.selections)
    diffs += selection_diffs
    steps += selection_steps
    current = applied_fingerprint(plan.tags) == desired.fingerprint
    if not diffs:
        retag = () if current else (Step("tag_plan", name),)
        return Verdict(name, "in_sync", steps=retag, plan_id=plan.plan_id, notes=notes)
    if not current:
        steps.append(Step("tag_plan", name))
    return Verdict(name, "changed", "drift" if current else "configuration", tuple(diffs),
                   tuple(steps), plan.plan_id, notes)


def _vault(desired: DesiredVault, observed: ObservedVault | None
           ) -> tuple[list[Step] | None, list[Difference], tuple[str, ...]]:
    """Steps for the vault (None: blocked), its differences, and notes."""
    if observed is None:
        if not desired.create:
            return None, [], (f"vault {desired.name} does not exist and create is false",)
        steps = [Step("create_vault", desired.name)]
        return steps + ([Step("lock_vault", desired.name)] if desired.lock else []), [], ()
    if desired.lock is None:
        return [], [], ()
    if not owns_vault(observed.tags, desired.name):
        note = (f"vault {desired.name} was not created by the daemon: its Vault Lock is left "
                "as it is")
        return [], [], (note,)
    diffs = lock_differences(desired.lock, observed.lock)
    return ([Step("lock_vault", desired.name)] if diffs else []), diffs, ()


def _selections(desired: Sequence[BackupSelectionDocument],
                observed: Sequence[ObservedSelection]) -> tuple[list[Difference], list[Step]]:
    """Replace each owned selection that differs, create the missing, delete the extra.

    Deletions come first: a selection's name is unique within its plan.
    """
    ours: dict[str, list[ObservedSelection]] = {}
    for selection in observed:
        if owns_selection(selection.name):
            ours.setdefault(selection.name, []).append(selection)
    diffs: list[Difference] = []
    deletes: list[Step] = []
    creates: list[Step] = []
    for want in desired:
        have = sorted(ours.pop(want.name, []), key=lambda s: bool(_differ(want, s)))
        if not have:
            diffs.append(Difference(f"Selections[{want.name}]", None, selection_view(want)))
            creates.append(Step("create_selection", want.name))
            continue
        keep, *extra = have
        if changed := _differ(want, keep):
            diffs += changed
            deletes.append(Step("delete_selection", want.name, keep.selection_id))
            creates.append(Step("create_selection", want.name))
        for duplicate in extra:
            diffs.append(Difference(f"Selections[{want.name}]", _seen(duplicate), None))
            deletes.append(Step("delete_selection", want.name, duplicate.selection_id))
    for name, left in sorted(ours.items()):
        for selection in left:
            diffs.append(Difference(f"Selections[{name}]", _seen(selection), None))
            deletes.append(Step("delete_selection", name, selection.selection_id))
    return diffs, deletes + creates


def _differ(want: BackupSelectionDocument, have: ObservedSelection) -> list[Difference]:
    if have.document is None:
        return [Difference(f"Selections[{want.name}]", None, selection_view(want))]
    return selection_differences(want, have.document)


def _seen(selection: ObservedSelection) -> Any:
    return selection_view(selection.document) if selection.document else selection.selection_id


class DriftEpisodes:
    """Plans drifting now. An episode starts the first pass that sees drift and ends at the
    first pass that sees none, so one episode raises one alert however long it lasts.

    Kept in memory: after a restart a drift still present starts a new episode (one alert).
    """

    def __init__(self) -> None:
        self._open: set[str] = set()

    def update(self, plan: str, drifted: bool) -> bool:
        """Record this pass's answer; True when it starts an episode."""
        if not drifted:
            self._open.discard(plan)
            return False
        if plan in self._open:
            return False
        self._open.add(plan)
        return True

    def drifting(self, plan: str) -> bool:
        return plan in self._open


def drift_alert(verdict: Verdict, *, repairing: bool) -> Alert:
    """The one SNS alert of a drift episode: which plan, which fields, what is done about it."""
    fields = [d.field for d in verdict.differences]
    return Alert(
        "warning", "backup_plan_drift",
        f"Backup plan drift: {verdict.plan} ({len(fields)} field(s) changed in AWS)",
        {"plan": verdict.plan, "plan_id": verdict.plan_id, "fields": fields,
         "differences": [{"field": d.field, "actual": d.actual, "desired": d.desired}
                         for d in verdict.differences[:ALERT_DIFFERENCES]],
         "action": "restoring the configured plan" if repairing
         else "none (dry run): the plan is left as it is"})
