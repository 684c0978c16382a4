"""The job tracker: idempotent, order-tolerant, with totals that always add up."""

from __future__ import annotations

import gc
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from daemon.core.events.decode import JobEvent
from daemon.core.events.tracker import JobTable, Totals, TrackedJob

T0 = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
ACCOUNT = "111122223333"
GROUP = ("ops", "DynamoDB", "eu-west-1", ACCOUNT)


def ev(job_id: str = "job-1", state: str = "RUNNING", *, at: int = 0, size: int | None = None,
       kind: str = "backup_job", vault: str | None = "ops", resource_type: str | None = "DynamoDB",
       region: str | None = "eu-west-1", account: str | None = ACCOUNT) -> JobEvent:
    """An event `at` seconds after T0."""
    return JobEvent(kind=kind, job_id=job_id, state=state,  # type: ignore[arg-type]
                    resource_arn=f"arn:aws:dynamodb:eu-west-1:111122223333:table/{job_id}",
                    resource_type=resource_type, vault=vault, region=region,
                    account=account, size_bytes=size, time=T0 + timedelta(seconds=at))


def test_the_first_event_of_a_job_is_new_and_counts_toward_its_group() -> None:
    table = JobTable()
    transition = table.apply(ev(size=100))
    assert transition is not None
    assert (transition.new, transition.finished, transition.previous_state) == (True, False, None)
    assert table.totals() == {GROUP: Totals(1, 100)}
    assert (table.running_jobs_total(), table.running_bytes_total()) == (1, 100)


def test_a_duplicate_changes_nothing() -> None:
    table = JobTable()
    table.apply(ev(size=100))
    assert table.apply(ev(size=100)) is None
    assert table.totals() == {GROUP: Totals(1, 100)}


def test_a_job_that_completes_leaves_the_totals_and_reports_finished() -> None:
    table = JobTable()
    table.apply(ev(size=100))
    transition = table.apply(ev(state="COMPLETED", at=5, size=100))
    assert transition is not None
    assert (transition.previous_state, transition.state, transition.finished) == (
        "RUNNING", "COMPLETED", True)
    assert transition.job.size_bytes == 100
    assert table.totals() == {GROUP: Totals(0, 0)}
    assert table.get("job-1") is None
    assert table.finished_state("job-1") == "COMPLETED"


def test_a_late_running_after_completed_changes_nothing() -> None:
    table = JobTable()
    table.apply(ev(state="COMPLETED", at=10))
    assert table.apply(ev(state="RUNNING", at=5, size=100)) is None
    assert table.running_jobs_total() == 0


def test_terminal_states_are_final_even_against_another_terminal_state() -> None:
    table = JobTable()
    table.apply(ev(state="FAILED", at=10))
    assert table.apply(ev(state="COMPLETED", at=20)) is None
    assert table.finished_state("job-1") == "FAILED"


def test_a_job_first_seen_finished_is_new_and_finished() -> None:
    transition = JobTable().apply(ev(state="FAILED"))
    assert transition is not None
    assert (transition.new, transition.finished) == (True, True)


def test_states_only_move_forward() -> None:
    table = JobTable()
    table.apply(ev(state="RUNNING", at=10))
    assert table.apply(ev(state="PENDING", at=20)) is None
    assert table.apply(ev(state="CREATED", at=30)) is None
    job = table.get("job-1")
    assert job is not None
    assert job.state == "RUNNING"


def test_between_equal_states_the_later_event_sets_the_size() -> None:
    table = JobTable()
    table.apply(ev(at=20, size=200))
    assert table.apply(ev(at=10, size=100)) is None
    assert table.running_bytes_total() == 200


def test_at_the_same_time_the_larger_size_wins() -> None:
    table = JobTable()
    table.apply(ev(at=10, size=200))
    assert table.apply(ev(at=10, size=100)) is None
    assert table.running_bytes_total() == 200


def test_an_event_without_a_size_never_erases_one() -> None:
    table = JobTable()
    table.apply(ev(state="PENDING", at=1, size=300))
    table.apply(ev(state="RUNNING", at=2))
    assert table.running_bytes_total() == 300


def test_sparse_events_are_filled_by_later_ones_and_move_between_groups() -> None:
    table = JobTable()
    table.apply(ev(state="CREATED", vault=None, resource_type=None, region=None, account=None))
    unknown = ("unknown", "unknown", "unknown", "unknown")
    assert table.totals() == {unknown: Totals(1, 0)}
    table.apply(ev(state="RUNNING", at=5, size=50))
    assert table.totals() == {unknown: Totals(0, 0), GROUP: Totals(1, 50)}
    assert table.scope_totals() == {("unknown", "unknown"): Totals(0, 0),
                                    (ACCOUNT, "eu-west-1"): Totals(1, 50)}


def test_set_size_gives_a_size_until_an_event_brings_one() -> None:
    table = JobTable()
    table.apply(ev())
    assert table.set_size("job-1", 1000) is True
    assert table.running_bytes_total() == 1000
    table.apply(ev(at=5, size=700))
    assert table.set_size("job-1", 5000) is False
    assert table.running_bytes_total() == 700


def test_set_size_of_an_unknown_or_finished_job_does_nothing() -> None:
    table = JobTable()
    table.apply(ev(state="COMPLETED"))
    assert table.set_size("job-1", 10) is False
    assert table.set_size("nobody", 10) is False
    assert table.running_bytes_total() == 0


def test_restore_and_copy_jobs_are_tracked_but_do_not_count_as_backups() -> None:
    table = JobTable()
    assert table.apply(ev("r-1", kind="restore_job", size=10)) is not None
    assert table.apply(ev("c-1", kind="copy_job", size=10)) is not None
    assert table.running_jobs_total() == 0
    assert {j.job_id for j in table.open_jobs()} == {"r-1", "c-1"}
    assert table.open_jobs("backup_job") == []


def test_what_is_not_a_job_state_is_not_tracked() -> None:
    table = JobTable()
    assert table.apply(ev(kind="recovery_point", state="COMPLETED")) is None
    assert table.apply(ev(kind="ignored", state=None)) is None  # type: ignore[arg-type]
    assert table.apply(replace(ev(), job_id=None)) is None
    assert table.apply(ev(state="SLEEPING")) is None
    assert len(table) == 0


def test_finished_jobs_are_remembered_up_to_the_bound() -> None:
    table = JobTable(finished_memory=2)
    for job_id in ("a", "b", "c"):
        table.apply(ev(job_id, "COMPLETED"))
    assert table.finished_state("a") is None
    assert table.apply(ev("b", "RUNNING")) is None
    assert table.apply(ev("a", "RUNNING")) is not None  # forgotten: the reconciler repairs it


def test_diff_upserts_unknown_and_stale_jobs_and_names_vanished_ones() -> None:
    table = JobTable()
    table.apply(ev("same", size=10, at=5))
    table.apply(ev("behind", state="PENDING"))
    table.apply(ev("gone"))
    table.apply(ev("elsewhere", region="us-east-1"))
    table.apply(ev("done", state="COMPLETED"))
    listed = [ev("same", size=10, at=5), ev("behind", at=3), ev("new"), ev("done")]
    plan = table.diff(listed, region="eu-west-1")
    assert [e.job_id for e in plan.upserts] == ["behind", "new"]
    assert plan.vanished == ["gone"]
    assert table.get("behind").state == "PENDING"  # type: ignore[union-attr]  # diff changes nothing


def test_diff_without_a_region_considers_every_region() -> None:
    table = JobTable()
    table.apply(ev("elsewhere", region="us-east-1"))
    assert table.diff([]).vanished == ["elsewhere"]


def test_a_running_job_costs_well_under_a_kibibyte() -> None:
    events = [ev(f"{i:08d}-aaaa-bbbb-cccc-dddddddddddd", size=i) for i in range(5000)]
    gc.collect()
    tracemalloc.start()
    try:
        table = JobTable()
        before = tracemalloc.take_snapshot()
        for event in events:
            table.apply(event)
        grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    finally:
        tracemalloc.stop()
    assert grown / len(events) < 1024


# --- properties: any order, any duplication, same result; totals always add up ----------------

STATES = ["CREATED", "PENDING", "RUNNING", "ABORTING"]
TERMINAL = ["COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL"]


@st.composite
def histories(draw: st.DrawFn) -> list[JobEvent]:
    """Realistic job histories: states forward in time, sizes growing, one ending at most."""
    out: list[JobEvent] = []
    for n in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["backup_job", "backup_job", "restore_job"]))
        vault, region = draw(st.sampled_from(["a", "b"])), draw(st.sampled_from(["r1", "r2"]))
        account = draw(st.sampled_from(["111111111111", "222222222222", "333333333333"]))
        at, size = 0, draw(st.integers(0, 10))
        path = sorted(draw(st.lists(st.sampled_from(STATES), max_size=5)), key=STATES.index)
        if draw(st.booleans()):
            path.append(draw(st.sampled_from(TERMINAL)))
        for i, state in enumerate(path):
            at += draw(st.integers(0, 3))
            size += draw(st.integers(0, 5))
            sparse = i == 0 and draw(st.booleans())
            out.append(ev(f"j{n}", state, at=at, kind=kind,
                          size=None if sparse or draw(st.booleans()) else size,
                          vault=None if sparse else vault, region=None if sparse else region,
                          resource_type=None if sparse else "DynamoDB",
                          account=None if sparse else account))
    return out


def snapshot(table: JobTable, ids: set[str]) -> tuple[object, ...]:
    jobs = sorted((j.job_id, j.kind, j.state, j.size_bytes, j.group, j.updated, j.started)
                  for j in table.open_jobs())
    finished = sorted((i, table.finished_state(i)) for i in ids if table.finished_state(i))
    totals = {k: v for k, v in table.totals().items() if v != (0, 0)}
    return jobs, finished, totals, table.running_jobs_total(), table.running_bytes_total()


def recomputed(table: JobTable) -> tuple[dict[tuple[str, ...], Totals], int, int]:
    jobs: Counter[tuple[str, ...]] = Counter()
    size: Counter[tuple[str, ...]] = Counter()
    for job in table.open_jobs("backup_job"):
        jobs[job.group] += 1
        size[job.group] += job.size_bytes or 0
    return ({k: Totals(jobs[k], size[k]) for k in jobs}, sum(jobs.values()), sum(size.values()))


@settings(max_examples=150)
@given(histories(), st.randoms(use_true_random=False), st.data())
def test_shuffled_and_duplicated_streams_reach_the_ordered_streams_state(
        events: list[JobEvent], rng: object, data: st.DataObject) -> None:
    ordered = JobTable()
    for event in events:
        ordered.apply(event)
    stream = events + data.draw(st.lists(st.sampled_from(events), max_size=len(events))
                                if events else st.just([]))
    rng.shuffle(stream)  # type: ignore[attr-defined]
    shuffled = JobTable()
    for event in stream:
        shuffled.apply(event)
    ids = {e.job_id for e in events if e.job_id}
    assert snapshot(shuffled, ids) == snapshot(ordered, ids)


@settings(max_examples=100)
@given(histories(), st.randoms(use_true_random=False),
       st.lists(st.tuples(st.integers(0, 6), st.integers(0, 100)), max_size=5))
def test_totals_always_equal_a_recomputation_from_scratch(
        events: list[JobEvent], rng: object, sizes: list[tuple[int, int]]) -> None:
    rng.shuffle(events)  # type: ignore[attr-defined]
    table = JobTable()
    for i, event in enumerate(events):
        table.apply(event)
        for n, size in sizes[i:i + 1]:
            table.set_size(f"j{n}", size)
        want, jobs, size_total = recomputed(table)
        assert {k: v for k, v in table.totals().items() if v != (0, 0)} == want
        scopes: dict[tuple[str, str], Totals] = {}
        for (_, _, region, account), group in want.items():
            had = scopes.get((account, region), Totals(0, 0))
            scopes[account, region] = Totals(had.jobs + group.jobs, had.bytes + group.bytes)
        assert {k: v for k, v in table.scope_totals().items() if v != (0, 0)} == scopes
        assert (table.running_jobs_total(), table.running_bytes_total()) == (jobs, size_total)


@settings(max_examples=60)
@given(histories(), histories())
@example(  # a listing that names one job twice, the two entries differing only in size
    seen=[ev("j0", "CREATED", size=1), ev("j0", "PENDING", size=2)],
    listed=[ev("j0", "PENDING", at=1, size=1), ev("j0", "PENDING", at=1, size=2)])
def test_applying_the_upserts_of_a_diff_brings_the_table_level_with_the_listing(
        seen: list[JobEvent], listed: list[JobEvent]) -> None:
    table = JobTable()
    for event in seen:
        table.apply(event)
    plan = table.diff(listed)
    listed_ids = {e.job_id for e in listed if e.kind == "backup_job"}
    assert {j.job_id for j in table.open_jobs("backup_job")} - listed_ids == set(plan.vanished)
    for event in plan.upserts:
        table.apply(event)
    assert table.diff(listed).upserts == []


def test_tracked_jobs_keep_their_first_start() -> None:
    table = JobTable()
    table.apply(ev(at=50))
    table.apply(replace(ev(at=60), creation_date=T0))
    job = table.get("job-1")
    assert isinstance(job, TrackedJob)
    assert job.started == T0


@given(st.lists(st.tuples(st.integers(0, 30), st.sampled_from(["RUNNING", "COMPLETED"]),
                          st.none() | st.integers(0, 10**6)), max_size=60),
       st.integers(0, 12))
def test_largest_lists_the_open_backup_jobs_with_the_most_bytes_first(
        events: list[tuple[int, str, int | None]], n: int) -> None:
    """Whatever arrived, `largest(n)` is the top n of the open backup jobs by size."""
    table = JobTable()
    for at, (job, state, size) in enumerate(events):
        table.apply(ev(f"job-{job}", state, at=at, size=size))
    table.apply(ev("restore-1", kind="restore_job", size=10**9))
    largest = table.largest(n)
    sizes = sorted(((j.size_bytes or 0) for j in table.open_jobs("backup_job")), reverse=True)
    assert [j.size_bytes or 0 for j in largest] == sizes[:n]
    assert all(j.kind == "backup_job" for j in largest)


# --- accounts: a dimension of every total, and a bounded one ----------------------------------

def test_each_account_and_region_has_its_own_totals() -> None:
    table = JobTable()
    table.apply(ev("a", size=10, account="111111111111"))
    table.apply(ev("b", size=20, account="222222222222"))
    table.apply(ev("c", size=5, account="222222222222", region="us-east-1"))
    assert table.scope_totals() == {("111111111111", "eu-west-1"): Totals(1, 10),
                                    ("222222222222", "eu-west-1"): Totals(1, 20),
                                    ("222222222222", "us-east-1"): Totals(1, 5)}
    assert table.totals()[("ops", "DynamoDB", "eu-west-1", "222222222222")] == Totals(1, 20)
    assert table.scope_total(("333333333333", "eu-west-1")) == Totals(0, 0)


def test_accounts_past_the_cap_count_under_other_and_are_handed_out_once() -> None:
    table = JobTable(max_accounts=2)
    for n, account in enumerate(["111111111111", "222222222222", "333333333333",
                                 "444444444444", "333333333333", "111111111111"]):
        table.apply(ev(f"j{n}", size=1, account=account))
    assert table.scope_totals() == {("111111111111", "eu-west-1"): Totals(2, 2),
                                    ("222222222222", "eu-west-1"): Totals(1, 1),
                                    ("other", "eu-west-1"): Totals(3, 3)}
    assert table.take_folded() == ["333333333333", "444444444444"]
    table.apply(ev("j9", size=1, account="333333333333"))
    assert table.take_folded() == []


def test_an_account_learned_late_moves_the_job_to_its_group() -> None:
    table = JobTable()
    table.apply(ev(state="CREATED", size=7, account=None))
    assert table.scope_totals() == {("unknown", "eu-west-1"): Totals(1, 7)}
    assert table.apply(ev(state="CREATED", at=1, size=7)) is not None
    assert table.scope_totals() == {("unknown", "eu-west-1"): Totals(0, 0),
                                    (ACCOUNT, "eu-west-1"): Totals(1, 7)}


def test_only_jobs_of_the_accounts_a_listing_covered_can_vanish_from_it() -> None:
    table = JobTable()
    table.apply(ev("mine", account="111111111111"))
    table.apply(ev("theirs", account="222222222222"))
    table.apply(ev("nobodys", account=None))
    plan = table.diff([], accounts={"111111111111"})
    assert sorted(plan.vanished) == ["mine", "nobodys"]
    assert sorted(table.diff([]).vanished) == ["mine", "nobodys", "theirs"]
