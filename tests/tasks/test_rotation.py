"""Which restored copies rotation deletes: never the SSM target, never a foreign table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.tasks.rotation import (
    RestoredCopy,
    copy_tags,
    newest_done,
    select_rotation,
)

BASE = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)
RULE = "staging"


def copy(day: int, state: str = "done", *, rule: str = RULE, source: str = "orders-prod",
         status: str = "ACTIVE") -> RestoredCopy:
    when = BASE + timedelta(days=day)
    name = f"orders-staging-{when:%Y%m%d-%H-%M-%S}"
    tags = copy_tags(rule, source, f"arn:aws:dynamodb:r:1:table/{source}/backup/{day}", when,
                     "done")
    tags["backupd:state"] = state
    return RestoredCopy(name, f"arn:aws:dynamodb:r:1:table/{name}", status, tags)


def foreign(day: int) -> RestoredCopy:
    when = BASE + timedelta(days=day)
    name = f"orders-staging-{when:%Y%m%d-%H-%M-%S}"
    return RestoredCopy(name, f"arn:aws:dynamodb:r:1:table/{name}", "ACTIVE", {"team": "x"})


def deleted(decisions: list) -> list[str]:
    return [d.copy.name for d in decisions if d.action == "delete"]


def test_keeps_the_newest_copies_and_deletes_older_ones_oldest_first() -> None:
    copies = [copy(d) for d in (3, 1, 4, 2, 0)]
    decisions = select_rotation(copies, rule=RULE, source_table="orders-prod", keep_last=2,
                                protected=set())
    assert deleted(decisions) == [copy(0).name, copy(1).name, copy(2).name]
    assert {d.copy.name for d in decisions if d.action == "keep"} == {copy(3).name, copy(4).name}


def test_never_deletes_the_table_the_ssm_parameter_points_to() -> None:
    copies = [copy(d) for d in range(4)]
    decisions = select_rotation(copies, rule=RULE, source_table="orders-prod", keep_last=1,
                                protected={copy(0).arn})
    assert copy(0).name not in deleted(decisions)
    kept = next(d for d in decisions if d.copy.name == copy(0).name)
    assert kept.reasons == ("the SSM parameter points to it",)


def test_never_touches_tables_without_the_daemons_tags() -> None:
    copies = [foreign(0), foreign(1), copy(2)]
    decisions = select_rotation(copies, rule=RULE, source_table="orders-prod", keep_last=1,
                                protected=set())
    assert [d.copy.name for d in decisions] == [copy(2).name]


def test_other_rules_and_other_source_tables_are_rotated_separately() -> None:
    copies = [copy(0, rule="other"), copy(1, source="users-prod"), copy(2), copy(3)]
    decisions = select_rotation(copies, rule=RULE, source_table="orders-prod", keep_last=1,
                                protected=set())
    assert deleted(decisions) == [copy(2).name]


def test_copies_in_flight_are_kept_and_do_not_count() -> None:
    copies = [copy(0), copy(1), copy(2, "restoring")]
    decisions = select_rotation(copies, rule=RULE, source_table="orders-prod", keep_last=2,
                                protected=set())
    assert deleted(decisions) == []


def test_a_failed_copy_stays_until_a_newer_copy_succeeds() -> None:
    alone = select_rotation([copy(0), copy(1, "failed")], rule=RULE, source_table="orders-prod",
                            keep_last=1, protected=set())
    assert deleted(alone) == []
    superseded = select_rotation([copy(0, "failed"), copy(1)], rule=RULE,
                                 source_table="orders-prod", keep_last=1, protected=set())
    assert deleted(superseded) == [copy(0).name]


def test_tables_being_deleted_are_not_counted() -> None:
    copies = [copy(0), copy(1, status="DELETING"), copy(2)]
    decisions = select_rotation(copies, rule=RULE, source_table="orders-prod", keep_last=2,
                                protected=set())
    assert deleted(decisions) == []


def test_newest_done_gives_the_copy_whose_age_is_reported() -> None:
    assert newest_done([copy(0), copy(2), copy(3, "restoring"), foreign(5)], RULE) == copy(2)
    assert newest_done([foreign(1)], RULE) is None


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.sampled_from(["done", "failed", "restoring"]),
                          st.booleans(), st.booleans()), max_size=12, unique_by=lambda t: t[0]),
       st.integers(1, 4))
def test_rotation_safety_properties(specs: list, keep_last: int) -> None:
    """Whatever the copies: foreign tables, the SSM target and in-flight copies survive,
    and at least keep_last finished copies (or all of them) remain."""
    copies = [copy(day, state) if ours else foreign(day) for day, state, ours, _ in specs]
    protected = {c.arn for c, (*_, target) in zip(copies, specs, strict=True) if target}
    decisions = select_rotation(copies, rule=RULE, source_table="orders-prod",
                                keep_last=keep_last, protected=protected)
    gone = {d.copy.name for d in decisions if d.action == "delete"}
    for c in copies:
        if not c.managed or c.arn in protected or c.state == "restoring":
            assert c.name not in gone
    done = [c for c in copies if c.managed and c.state == "done"]
    assert len([c for c in done if c.name not in gone]) >= min(keep_last, len(done))


def test_keep_last_none_keeps_every_copy_failed_ones_included() -> None:
    copies = [copy(0), copy(1, "failed"), copy(2), copy(3), copy(4, "restoring")]
    decisions = select_rotation(copies, rule=RULE, source_table="orders-prod", keep_last=None,
                                protected=set())
    assert deleted(decisions) == []
    assert {d.copy.name for d in decisions} == {c.name for c in copies}
    kept = next(d for d in decisions if d.copy.name == copy(0).name)
    assert kept.reasons == ("rotation is off (keep_last: null keeps every copy)",)
