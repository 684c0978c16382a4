"""The CloudWatch series: which open backup jobs count, and the datums they become."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.core.events.monitor import Scope, Series, scoped_totals, series
from daemon.core.events.tracker import JobTable, Totals
from tests.core.test_tracker import ACCOUNT, ev

DDB = ("ops", "DynamoDB", "eu-west-1", ACCOUNT)
RDS = ("ops", "RDS", "eu-west-1", ACCOUNT)
DDB_RUNNING = Scope.of(["DynamoDB"], ["RUNNING"])


def table() -> JobTable:
    """Two DynamoDB jobs (RUNNING 100, PENDING 20), one RDS job RUNNING 7, one copy job."""
    t = JobTable()
    t.apply(ev("d1", "RUNNING", size=100))
    t.apply(ev("d2", "PENDING", size=20))
    t.apply(ev("r1", "RUNNING", size=7, resource_type="RDS"))
    t.apply(ev("c1", "RUNNING", size=1000, kind="copy_job"))
    return t


@pytest.mark.parametrize(("scope", "want"), [
    (Scope(), {DDB: Totals(2, 120), RDS: Totals(1, 7)}),
    (Scope.of([], ["CREATED", "PENDING", "RUNNING", "ABORTING"]),
     {DDB: Totals(2, 120), RDS: Totals(1, 7)}),
    (Scope.of(["DynamoDB"], ["CREATED", "PENDING", "RUNNING", "ABORTING"]),
     {DDB: Totals(2, 120)}),
    (Scope.of([], ["RUNNING"]), {DDB: Totals(1, 100), RDS: Totals(1, 7)}),
    (DDB_RUNNING, {DDB: Totals(1, 100)}),
    (Scope.of(["RDS"], ["PENDING"]), {RDS: Totals(0, 0)}),
    (Scope.of(["EFS"], ["RUNNING"]), {}),
])
def test_the_scope_counts_only_its_types_and_states(scope: Scope,
                                                     want: dict[object, Totals]) -> None:
    assert scoped_totals(table(), scope) == want


def test_every_type_in_every_open_state_is_the_trackers_own_totals() -> None:
    t = table()
    assert Scope().counts_all()
    assert scoped_totals(t, Scope()) == t.totals()
    assert not DDB_RUNNING.counts_all()


def test_a_group_whose_jobs_finished_stays_at_zero_and_an_unknown_type_is_not_counted() -> None:
    t = table()
    t.apply(ev("d1", "COMPLETED", size=100))
    t.apply(ev("u1", "RUNNING", size=5, resource_type=None))
    assert scoped_totals(t, DDB_RUNNING) == {DDB: Totals(0, 0)}
    assert scoped_totals(t, Scope.of([], ["RUNNING"]))[("ops", "unknown", "eu-west-1", ACCOUNT)] == (1, 5)


@given(st.lists(st.tuples(st.sampled_from(["DynamoDB", "RDS", "EFS"]),
                          st.sampled_from(["CREATED", "PENDING", "RUNNING", "ABORTING"]),
                          st.integers(0, 10**6)), max_size=30),
       st.sets(st.sampled_from(["DynamoDB", "RDS", "EFS"])),
       st.sets(st.sampled_from(["CREATED", "PENDING", "RUNNING", "ABORTING"]), min_size=1))
def test_scoped_totals_add_up_to_the_admitted_jobs(
        jobs: list[tuple[str, str, int]], types: set[str], states: set[str]) -> None:
    t = JobTable()
    for n, (rtype, state, size) in enumerate(jobs):
        t.apply(ev(f"j{n}", state, size=size, resource_type=rtype))
    got = scoped_totals(t, Scope.of(types, states))
    admitted = [(r, s) for r, s, _ in jobs if (not types or r in types) and s in states]
    assert sum(g.jobs for g in got.values()) == len(admitted)
    assert sum(g.bytes for g in got.values()) == sum(
        size for r, s, size in jobs if (not types or r in types) and s in states)


SAMPLE_DIMS = (("Region", "eu-west-1"), ("BackupType", "DynamoDB"), ("VaultName", "ops"))
DIMS = (*SAMPLE_DIMS, ("AccountId", ACCOUNT))
BY_ACCOUNT = (("AccountId", ACCOUNT),)


@pytest.mark.parametrize(("sample", "want"), [
    (False, [Series("ConcurrentBackupBytes", 100.0, "Bytes", DIMS),
             Series("RunningBackupJobs", 1.0, "Count", DIMS),
             Series("ConcurrentBackupBytes", 100.0, "Bytes", BY_ACCOUNT),
             Series("RunningBackupJobs", 1.0, "Count", BY_ACCOUNT),
             Series("ConcurrentBackupBytes", 100.0, "Bytes", ()),
             Series("RunningBackupJobs", 1.0, "Count", ())]),
    (True, [Series("ConcurrentBackupBytes", 100.0, "Bytes", DIMS),
            Series("RunningBackupJobs", 1.0, "Count", DIMS),
            Series("BackupJobSize", 100.0, "Bytes", SAMPLE_DIMS),
            Series("ConcurrentBackupBytes", 100.0, "Bytes", BY_ACCOUNT),
            Series("RunningBackupJobs", 1.0, "Count", BY_ACCOUNT),
            Series("ConcurrentBackupBytes", 100.0, "Bytes", ()),
            Series("RunningBackupJobs", 1.0, "Count", ())]),
])
def test_series_carry_the_samples_backup_job_size_only_when_asked(
        sample: bool, want: list[Series]) -> None:
    assert series({DDB: Totals(1, 100)}, sample_compatible=sample) == want


def test_the_account_totals_are_those_of_the_counted_groups() -> None:
    got = series(scoped_totals(table(), DDB_RUNNING))
    assert [s for s in got if not s.dims] == [Series("ConcurrentBackupBytes", 100.0, "Bytes", ()),
                                             Series("RunningBackupJobs", 1.0, "Count", ())]


def test_each_account_has_totals_of_its_own_and_the_sample_sums_the_accounts() -> None:
    other = ("ops", "DynamoDB", "eu-west-1", "999999999999")
    got = series({DDB: Totals(1, 100), other: Totals(2, 30)}, sample_compatible=True)
    by = {(s.name, s.dims): s.value for s in got}
    assert by["ConcurrentBackupBytes", (("AccountId", "999999999999"),)] == 30.0
    assert by["RunningBackupJobs", (("AccountId", ACCOUNT),)] == 1.0
    assert by["ConcurrentBackupBytes", (*SAMPLE_DIMS, ("AccountId", "999999999999"))] == 30.0
    assert by["BackupJobSize", SAMPLE_DIMS] == 130.0
    assert by["ConcurrentBackupBytes", ()] == 130.0
