"""Restored table names: Go's ReplaceAllString semantics, the time suffix, and rule checks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.tasks.naming import (
    TABLE_NAME,
    NamingError,
    check_rule,
    compile_pattern,
    replace_all,
    restore_name,
    table_name_problem,
)

AT = datetime(2026, 11, 24, 5, 0, 7, tzinfo=UTC)


@pytest.mark.parametrize(("pattern", "template", "text", "expected"), [
    # Go's own documentation examples (regexp.ExampleRegexp_ReplaceAllString)
    (r"a(x*)b", "T", "-ab-axxb-", "-T-T-"),
    (r"a(x*)b", "$1", "-ab-axxb-", "--xx-"),
    (r"a(x*)b", "$1W", "-ab-axxb-", "---"),
    (r"a(x*)b", "${1}W", "-ab-axxb-", "-W-xxW-"),
    # $0, $$, names, malformed references kept as text
    (r"-prod$", "$0-copy", "orders-prod", "orders-prod-copy"),
    (r"(?P<env>prod)", "${env}uction", "orders-prod", "orders-production"),
    (r"(?<env>prod)", "${env}", "orders-prod", "orders-prod"),
    (r"x", "$$", "axb", "a$b"),
    (r"x", "$", "axb", "a$b"),
    (r"x", "${", "axb", "a${b"),
    (r"x", "${1", "axb", "a${1b"),
    (r"x", "$-", "axb", "a$-b"),
    (r"(x)", "$01", "axb", "ab"),  # leading zero: a name, and no group has it
    (r"(x)", "$9", "axb", "ab"),  # absent group: nothing
    (r"(x)?y", "[$1]", "y", "[]"),  # unmatched group: nothing
    # empty matches: Go skips one abutting the previous match, Python's re.sub does not
    (r"a*", "X", "baaac", "XbXcX"),
    (r"x*", "-", "abxd", "-a-b-d-"),
    (r"^", "pre-", "orders", "pre-orders"),
    (r"$", "-post", "orders", "orders-post"),
    (r"(?i)-PRODUCTION\z", "-staging", "orders-production", "orders-staging"),
])
def test_replace_all_follows_go(pattern: str, template: str, text: str, expected: str) -> None:
    assert replace_all(compile_pattern(pattern), template, text) == expected


def test_restore_name_appends_the_backup_time_in_utc() -> None:
    """The issue's example: orders-production at 2026-11-24 05:00:07 becomes a staging copy."""
    assert restore_name("(?i)-production$", "-staging", "orders-production", AT) == \
        "orders-staging-20261124-05-00-07"
    local = AT.astimezone(timezone(timedelta(hours=-8)))
    assert restore_name("(?i)-production$", "-staging", "orders-production", local) == \
        "orders-staging-20261124-05-00-07"


def test_restore_name_refuses_a_table_the_pattern_does_not_match() -> None:
    with pytest.raises(NamingError, match="does not match"):
        restore_name("-prod$", "-qa", "orders-dev", AT)


def test_restore_name_refuses_a_result_longer_than_dynamodb_allows() -> None:
    with pytest.raises(NamingError, match="255"):
        restore_name("$", "", "t" * 240, AT)


def test_restore_name_refuses_a_naive_time() -> None:
    with pytest.raises(NamingError, match="timezone"):
        restore_name("x", "y", "xxx", datetime(2026, 1, 1))


@pytest.mark.parametrize(("pattern", "replacement", "problem"), [
    ("(", "x", "not a valid regular expression"),
    ("-prod$", "/qa", "'/'"),
    ("-prod$", "$$", "'$'"),
    ("(.*)-prod", "$1x-qa", "write ${1}x for group 1"),
    ("-prod", "${env}", "group 'env'"),
    ("-prod", "x" * 240, "longer than 255"),
])
def test_check_rule_rejects_rules_that_cannot_give_valid_names(
        pattern: str, replacement: str, problem: str) -> None:
    assert any(problem in p for p in check_rule(pattern, replacement))


@pytest.mark.parametrize(("pattern", "replacement"), [
    ("(?i)-production$", "-staging"), ("^(?P<base>.+)-prod$", "${base}-qa"),
    ("(.*)", "$1.copy"), ("-prod", "$0"),
])
def test_check_rule_accepts_sound_rules(pattern: str, replacement: str) -> None:
    assert check_rule(pattern, replacement) == []


table_names = st.text(alphabet="abcXYZ019_.-", min_size=3, max_size=255)
patterns = st.sampled_from([
    "-prod$", "(?i)-PROD", "^(.*)-(prod|production)$", "(?P<base>[a-z]+)", "[0-9]+", "x*",
    "^", "$", "a|b", "(a)(b)?", ".", "(?i)^orders", "(", "[.]"])
replacements = st.text(alphabet="ab-_.$/{}019 xé", max_size=20)


@settings(max_examples=250, deadline=None)
@given(pattern=patterns, replacement=replacements, table=table_names,
       seconds=st.integers(0, 4_000_000_000))
def test_every_name_is_valid_or_the_rule_is_rejected(
        pattern: str, replacement: str, table: str, seconds: int) -> None:
    """A rule check-config accepts never yields an invalid name; any rule fails cleanly."""
    created = datetime.fromtimestamp(seconds, UTC)
    accepted = not check_rule(pattern, replacement)
    try:
        name = restore_name(pattern, replacement, table, created)
    except NamingError as exc:
        reason = str(exc)
    else:
        assert TABLE_NAME.fullmatch(name), name
        assert table_name_problem(name) is None
        return
    if accepted:  # only the input (no match, too long), never the rule, can be at fault
        assert "does not match" in reason or "characters (3 to 255" in reason


@settings(max_examples=150, deadline=None)
@given(pattern=st.sampled_from(["a+", "(b)c", "[a-c]{2}", "(?i)X", "(a)|(b)"]),
       pieces=st.lists(st.one_of(st.text(alphabet="xyz-_", min_size=1, max_size=3),
                                 st.integers(0, 2)), max_size=5),
       text=st.text(alphabet="abcxX", max_size=30))
def test_replacement_agrees_with_python_re_sub_where_both_are_defined(
        pattern: str, pieces: list[str | int], text: str) -> None:
    """Patterns that never match empty: Go's and Python's substitution are the same."""
    compiled = re.compile(pattern)
    pieces = [p for p in pieces if isinstance(p, str) or p <= compiled.groups]
    go = "".join(p if isinstance(p, str) else f"${{{p}}}" for p in pieces)
    py = "".join(p if isinstance(p, str) else f"\\g<{p}>" for p in pieces)
    assert replace_all(compiled, go, text) == compiled.sub(py, text)
