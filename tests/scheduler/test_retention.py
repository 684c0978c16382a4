"""Retention selection: restic's forget rules, the floors no policy overrides, and stability."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.scheduling.retention import BackupRecord, Decision, RetentionPolicy, Status, select

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def backup(created: datetime, status: Status = "AVAILABLE", owned: bool = True,
           arn: str | None = None) -> BackupRecord:
    return BackupRecord(arn or f"arn:{created.isoformat()}", created, status, owned)


def daily(days: int, hour: int = 5) -> list[BackupRecord]:
    return [backup(datetime(2026, 11, 24, hour, tzinfo=UTC) - timedelta(days=d))
            for d in range(days)]


def actions(decisions: list[Decision]) -> list[str]:
    return [d.action for d in decisions]


def kept(decisions: list[Decision]) -> set[str]:
    return {d.arn for d in decisions if d.action == "keep"}


def test_keep_last_keeps_the_newest_n_and_lists_newest_first() -> None:
    decisions = select(daily(5)[::-1], RetentionPolicy(keep_last=2), NOW)
    assert actions(decisions) == ["keep", "keep", "delete", "delete", "delete"]
    assert [d.created for d in decisions] == sorted((d.created for d in decisions), reverse=True)
    assert decisions[0].reasons == ("keep_last", "floor:newest")
    assert decisions[2].reasons == ("expired",)


def test_keep_days_counts_back_from_now() -> None:
    decisions = select(daily(6), RetentionPolicy(keep_days=3), NOW)
    # created 05:00 on Nov 24, 23, 22, 21 (= now - 3 days 7 h: too old), ...
    assert actions(decisions) == ["keep", "keep", "keep", "delete", "delete", "delete"]


def test_keep_daily_keeps_the_newest_of_each_day() -> None:
    mornings = daily(4, hour=5)                          # Nov 24, 23, 22, 21 at 05:00
    evenings = [backup(b.created + timedelta(hours=12)) for b in mornings[1:]]
    decisions = {d.arn: d for d in select([*mornings, *evenings],
                                          RetentionPolicy(keep_daily=2), NOW)}
    assert decisions[mornings[0].arn].action == "keep"   # Nov 24 05:00
    assert decisions[evenings[0].arn].action == "keep"   # Nov 23 17:00 beats 05:00
    assert decisions[mornings[1].arn].action == "delete"
    assert decisions[evenings[1].arn].action == "delete"  # Nov 22: a third day


def test_weeks_are_iso_weeks() -> None:
    # 2026-11-29 is a Sunday (ISO week 48), 2026-11-30 a Monday (week 49).
    sunday = backup(datetime(2026, 11, 29, 5, tzinfo=UTC))
    saturday = backup(datetime(2026, 11, 28, 5, tzinfo=UTC))
    monday = backup(datetime(2026, 11, 30, 5, tzinfo=UTC))
    decisions = select([sunday, saturday, monday], RetentionPolicy(keep_weekly=2),
                       datetime(2026, 12, 1, tzinfo=UTC))
    assert kept(decisions) == {monday.arn, sunday.arn}


def test_periods_are_read_in_the_schedules_time_zone() -> None:
    # 23:30 UTC on Nov 23 is Nov 24 in Paris: with keep_daily 1 only one of them survives.
    late = backup(datetime(2026, 11, 23, 23, 30, tzinfo=UTC))
    early = backup(datetime(2026, 11, 24, 3, tzinfo=UTC))
    policy = RetentionPolicy(keep_daily=2)
    assert kept(select([late, early], policy, NOW, ZoneInfo("Europe/Paris"))) == {early.arn}
    assert kept(select([late, early], policy, NOW, UTC)) == {late.arn, early.arn}


def test_gfs_rules_combine_and_each_kept_backup_names_its_rules() -> None:
    backups = daily(400)
    policy = RetentionPolicy(keep_daily=7, keep_weekly=4, keep_monthly=12, keep_yearly=2)
    decisions = select(backups, policy, NOW)
    kept_rows = [d for d in decisions if d.action == "keep"]
    assert decisions[0].reasons == ("keep_daily", "keep_weekly", "keep_monthly", "keep_yearly",
                                    "floor:newest")
    assert sum("keep_daily" in d.reasons for d in kept_rows) == 7
    assert sum("keep_weekly" in d.reasons for d in kept_rows) == 4
    assert sum("keep_monthly" in d.reasons for d in kept_rows) == 12
    assert sum("keep_yearly" in d.reasons for d in kept_rows) == 2
    assert len(kept_rows) < 7 + 4 + 12 + 2


def test_the_newest_available_backup_is_kept_even_when_every_rule_expired_it() -> None:
    old = daily(3, hour=5)
    decisions = select([backup(b.created - timedelta(days=30), arn=b.arn) for b in old],
                       RetentionPolicy(keep_days=1), NOW)
    assert actions(decisions) == ["keep", "delete", "delete"]
    assert decisions[0].reasons == ("floor:newest",)


def test_in_progress_and_foreign_backups_are_never_deleted_nor_counted() -> None:
    creating = backup(NOW - timedelta(minutes=1), status="CREATING")
    foreign = backup(NOW - timedelta(hours=1), owned=False)
    ours = daily(3)
    decisions = {d.arn: d for d in select([creating, foreign, *ours],
                                          RetentionPolicy(keep_last=1), NOW)}
    assert decisions[creating.arn].reasons == ("floor:in-progress",)
    assert decisions[foreign.arn].reasons == ("floor:not-owned",)
    assert decisions[ours[0].arn].reasons == ("keep_last", "floor:newest")
    assert [decisions[b.arn].action for b in ours[1:]] == ["delete", "delete"]


def test_adopt_existing_lets_rules_prune_backups_the_daemon_did_not_create() -> None:
    foreign = [backup(b.created, owned=False, arn=b.arn) for b in daily(3)]
    policy = RetentionPolicy(keep_last=1, adopt_existing=True)
    assert actions(select(foreign, policy, NOW)) == ["keep", "delete", "delete"]


def test_max_deletes_removes_the_oldest_first_and_leaves_the_rest_for_later() -> None:
    decisions = select(daily(6), RetentionPolicy(keep_last=1), NOW, max_deletes=2)
    assert actions(decisions) == ["keep", "keep", "keep", "keep", "delete", "delete"]
    assert decisions[1].reasons == ("floor:max-deletes",)


def test_without_rules_everything_is_kept() -> None:
    decisions = select(daily(3), RetentionPolicy(), NOW)
    assert actions(decisions) == ["keep"] * 3
    assert decisions[1].reasons == ("no-policy",)


def test_deleted_backups_are_reported_and_left_alone() -> None:
    gone = backup(NOW - timedelta(days=9), status="DELETED")
    decisions = select([gone, *daily(2)], RetentionPolicy(keep_last=1), NOW)
    assert decisions[-1].reasons == ("already-deleted",)
    assert decisions[-1].action == "keep"


def test_only_keep_days_is_recognised_for_aws_backup_lifecycles() -> None:
    assert RetentionPolicy(keep_days=3).only_keep_days()
    assert not RetentionPolicy(keep_days=3, keep_weekly=2).only_keep_days()
    assert not RetentionPolicy().only_keep_days()


# --- properties over every input ---------------------------------------------------------

records = st.builds(
    BackupRecord,
    arn=st.uuids().map(str),
    created=st.datetimes(datetime(2024, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC)),
    status=st.sampled_from(["AVAILABLE", "AVAILABLE", "AVAILABLE", "CREATING", "DELETED"]),
    owned=st.booleans(),
)
counts = st.none() | st.integers(1, 6)
policies = st.builds(RetentionPolicy, keep_days=st.none() | st.integers(1, 400),
                     keep_last=counts, keep_hourly=counts, keep_daily=counts,
                     keep_weekly=counts, keep_monthly=counts, keep_yearly=counts,
                     adopt_existing=st.booleans())
zones = st.sampled_from([UTC, ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")])


@settings(max_examples=100, deadline=None)
@given(backups=st.lists(records, max_size=40, unique_by=lambda b: b.arn), policy=policies,
       zone=zones, cap=st.none() | st.integers(0, 5))
def test_floors_hold_for_every_input(backups: list[BackupRecord], policy: RetentionPolicy,
                                     zone: ZoneInfo, cap: int | None) -> None:
    decisions = select(backups, policy, NOW, zone, max_deletes=cap)
    by_arn = {b.arn: b for b in backups}
    deleted = [by_arn[d.arn] for d in decisions if d.action == "delete"]
    assert sorted(d.arn for d in decisions) == sorted(by_arn)
    assert all(b.status == "AVAILABLE" for b in deleted)
    assert policy.adopt_existing or all(b.owned for b in deleted)
    assert cap is None or len(deleted) <= cap
    eligible = [b for b in backups if b.status == "AVAILABLE"
                and (b.owned or policy.adopt_existing)]
    if eligible:
        newest = max(eligible, key=lambda b: (b.created, b.arn))
        assert newest not in deleted
    assert all(d.reasons for d in decisions)


@settings(max_examples=100, deadline=None)
@given(backups=st.lists(records, max_size=40, unique_by=lambda b: b.arn), policy=policies,
       zone=zones)
def test_planning_again_after_the_deletions_deletes_nothing_more(
        backups: list[BackupRecord], policy: RetentionPolicy, zone: ZoneInfo) -> None:
    first = select(backups, policy, NOW, zone)
    survivors = [b for b in backups if b.arn in kept(first)]
    assert actions(select(survivors, policy, NOW, zone)).count("delete") == 0


@settings(max_examples=60, deadline=None)
@given(backups=st.lists(records, max_size=40, unique_by=lambda b: b.arn), policy=policies,
       zone=zones)
def test_a_backup_any_single_rule_keeps_is_kept(backups: list[BackupRecord],
                                                policy: RetentionPolicy, zone: ZoneInfo) -> None:
    together = kept(select(backups, policy, NOW, zone))
    for rule in ("keep_days", "keep_last", "keep_hourly", "keep_daily", "keep_weekly",
                 "keep_monthly", "keep_yearly"):
        if getattr(policy, rule) is None:
            continue
        alone = RetentionPolicy(adopt_existing=policy.adopt_existing,
                                **{rule: getattr(policy, rule)})
        assert kept(select(backups, alone, NOW, zone)) <= together


@pytest.mark.parametrize("bad", [{"keep_last": 0}, {"keep_days": -1}, {"keep_forever": 1}])
def test_invalid_policies_are_rejected(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        RetentionPolicy(**bad)


def naive_period_walk(backups: list[BackupRecord], rule: str, count: int,
                      zone: ZoneInfo) -> set[str]:
    """restic's walk, literally: newest first, keep the first backup of each new period key."""
    key_of = {"keep_hourly": lambda t: (t.year, t.month, t.day, t.hour),
              "keep_daily": lambda t: (t.year, t.month, t.day),
              "keep_weekly": lambda t: tuple(t.isocalendar())[:2],
              "keep_monthly": lambda t: (t.year, t.month),
              "keep_yearly": lambda t: (t.year,)}[rule]
    kept, last = set(), None
    for b in sorted(backups, key=lambda b: (b.created, b.arn), reverse=True):
        key = key_of(b.created.astimezone(zone))
        if key != last and len(kept) < count:
            kept.add(b.arn)
        last = key
    return kept


@settings(max_examples=100, deadline=None)
@given(created=st.lists(st.datetimes(datetime(2025, 10, 20), datetime(2026, 11, 10),
                                     timezones=st.just(UTC)), max_size=60),
       rule=st.sampled_from(["keep_hourly", "keep_daily", "keep_weekly", "keep_monthly",
                             "keep_yearly"]),
       count=st.integers(1, 8),
       zone=st.sampled_from([ZoneInfo("UTC"), ZoneInfo("America/New_York"),
                             ZoneInfo("Australia/Lord_Howe"), ZoneInfo("Asia/Kathmandu")]))
def test_period_rules_match_the_literal_restic_walk(created: list[datetime], rule: str,
                                                   count: int, zone: ZoneInfo) -> None:
    """The bisecting walk keeps exactly what the backup-by-backup walk keeps, DST included."""
    records = [backup(c, arn=f"b{i}") for i, c in enumerate(created)]
    decisions = select(records, RetentionPolicy(**{rule: count}), NOW, zone)
    by_rule = {d.arn for d in decisions if rule in d.reasons}
    assert by_rule == naive_period_walk(records, rule, count, zone)
