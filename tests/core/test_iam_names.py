"""IAM name patterns: as narrow as IAM's `*` and `?` allow, never narrower than the rule."""

from __future__ import annotations

from datetime import UTC, datetime
from fnmatch import fnmatchcase

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.iam_names import (
    covering,
    glob_names,
    partition,
    regex_names,
    restored_names,
    template_names,
)
from daemon.core.tasks.naming import NamingError, compile_pattern, restore_name

AT = datetime(2026, 11, 24, 5, 0, 7, tzinfo=UTC)
NAME_CHARS = "ab-._"


@pytest.mark.parametrize(("glob", "expected"), [
    ("orders-*", "orders-*"),
    ("orders-??", "orders-??"),
    ("*", "*"),
    ("orders-[ab]-*", "orders-?-*"),
    ("orders-[!x]", "orders-?"),
    ("**x", "*x"),
    ("orders-[", "*"),  # an unclosed class: fnmatch reads a literal '[', no table has one
])
def test_a_glob_keeps_its_wildcards_and_a_class_is_one_character(glob: str,
                                                                 expected: str) -> None:
    assert glob_names(glob) == expected


@pytest.mark.parametrize(("pattern", "expected"), [
    ("^orders-production$", "orders-production"),
    (r"\Aorders\z", "orders"),
    ("^orders-", "orders-*"),
    ("-production$", "*-production"),
    ("^orders-(.*)-production$", "orders-*-production"),
    (r"^orders\.v2-", "orders.v2-*"),
    ("^orders-x?", "orders-*"),  # the quantified character may be absent
    ("^ab{2}c$", "a*c"),
    (r"^orders-\d+$", "orders-*"),
    ("^orders-[a-z]+-prod$", "orders-*-prod"),
    ("^orders-[]x]-prod$", "orders-*-prod"),  # a ']' first in a class belongs to it
    ("^(?P<env>prod)-x$", "*-x"),
    ("orders", "*"),  # unanchored: anywhere in the name
    ("(?i)^orders-", "*"),  # case-insensitive: IAM matches case
    ("^a(?i)b$", "*"),
    ("^orders-|^carts-", "*"),
    (r"^orders-\x41$", "*"),  # escapes with arguments are not read here
    (r"^orders\-x$", "orders-x"),
])
def test_a_regex_becomes_its_anchored_literal_head_and_tail(pattern: str, expected: str) -> None:
    assert regex_names(pattern) == expected


@pytest.mark.parametrize(("pattern", "replacement", "expected"), [
    ("^orders-(.*)-production$", "orders-$1-staging", "orders-*-staging"),
    ("^(orders)-production$", "${1}-staging", "*-staging"),
    ("^orders-production$", "orders-staging", "orders-staging"),
    ("(?i)-production$", "-staging", "*-staging"),  # what precedes the match stays
    ("^orders-", "staging-", "staging-*"),  # what follows the match stays
    ("-production", "-staging", "*-staging*"),
])
def test_a_restored_name_is_the_replacement_with_what_the_pattern_leaves_and_the_time(
        pattern: str, replacement: str, expected: str) -> None:
    assert restored_names(pattern, replacement) == f"{expected}-????????-??-??-??"


def test_templates_covering_and_partitions() -> None:
    assert template_names("/staging/{table}/arn") == "/staging/*/arn"
    assert covering(["t/orders-*", "t/orders-eu", "t/orders-*/backup/*", "t/carts"]) == \
        ["t/carts", "t/orders-*"]
    assert covering(["t/a?", "t/ab"]) == ["t/a?", "t/ab"]  # only a literal head covers
    assert [partition(r) for r in ("eu-west-1", "cn-north-1", "us-gov-west-1")] == \
        ["aws", "aws-cn", "aws-us-gov"]


# -- never narrower than the rule ----------------------------------------------------------
names = st.text(NAME_CHARS, min_size=3, max_size=12)
literal = st.text(NAME_CHARS, min_size=1, max_size=4).map(
    lambda s: s.replace(".", r"\."))
piece = st.one_of(literal, st.sampled_from([
    "(.*)", "([ab]+)", r"(\d*)", "a?", "(?P<n>b*)", "[-_]", ".", "(?:ab)*", "b{1,2}"]))
patterns = st.builds(lambda head, body, tail: head + "".join(body) + tail,
                     st.sampled_from(["", "^", r"\A", "(?i)", "(?i)^"]),
                     st.lists(piece, min_size=1, max_size=4),
                     st.sampled_from(["", "$", r"\z"]))
templates = st.lists(st.one_of(st.text("ab-", min_size=1, max_size=3),
                               st.sampled_from(["$0", "$1", "${1}", "${n}"])),
                     min_size=1, max_size=4).map("".join)


@settings(max_examples=400, deadline=None)
@given(patterns, names)
def test_every_name_a_regex_matches_matches_its_pattern(pattern: str, name: str) -> None:
    try:
        compiled = compile_pattern(pattern)
    except NamingError:  # a group name drawn twice
        return
    if compiled.search(name):
        assert fnmatchcase(name, regex_names(pattern)), regex_names(pattern)


@settings(max_examples=400, deadline=None)
@given(patterns, templates, names)
def test_every_name_a_restore_rule_gives_matches_its_pattern(pattern: str, template: str,
                                                             name: str) -> None:
    try:
        restored = restore_name(pattern, template, name, AT)
    except NamingError:
        return
    assert fnmatchcase(restored, restored_names(pattern, template)), \
        restored_names(pattern, template)


@settings(max_examples=200, deadline=None)
@given(st.text(NAME_CHARS + "*?[]!", min_size=1, max_size=8), names)
def test_every_name_a_glob_selects_matches_its_pattern(glob: str, name: str) -> None:
    if fnmatchcase(name, glob):
        assert fnmatchcase(name, glob_names(glob))
