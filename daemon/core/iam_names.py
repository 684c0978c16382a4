"""IAM resource name patterns for the names the configuration chooses by rule (pure).

IAM matches resource names with two wildcards, `*` (any run) and `?` (one character), and
nothing else. The configuration chooses tables by globs, by Go regular expressions and by
the names restore rules give their copies; each is turned here into the narrowest IAM
pattern that still matches every name the rule can match, and into `*` where IAM cannot
say more (a regex with alternation, classes of case, an unusual escape). A pattern may be
wider than its rule, never narrower: a narrower one would refuse a call the daemon makes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from daemon.core.tasks.naming import Ref, parse_template

# -YYYYMMDD-HH-mm-ss, the time suffix of every restored copy (naming.SUFFIX_FORMAT)
RESTORED_SUFFIX = "-????????-??-??-??"
# Go escapes that stand for one character of a class (no argument follows them)
_CLASS_ESCAPES = frozenset("dDwWsSbB")
_START, _END, _OTHER = "start", "end", "other"
# `(?P<name>`, `(?<name>` and `(?:` group without changing how letters match; other `(?`
# forms set flags (`(?i)`: case-insensitive), which IAM's case-sensitive match cannot follow
_FLAGS = re.compile(r"\(\?(?!P<|<|:)")
_LEADING_FLAGS = re.compile(r"^\(\?[A-Za-z]+\)")


def partition(region: str) -> str:
    """The ARN partition of a region: `aws`, or the China, GovCloud and ISO partitions."""
    for prefix, name in (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"),
                         ("us-isob-", "aws-iso-b"), ("us-iso-", "aws-iso")):
        if region.startswith(prefix):
            return name
    return "aws"


def glob_names(glob: str) -> str:
    """A table glob (fnmatch: `*`, `?`, `[seq]`) as IAM writes it: a `[seq]` is one `?`."""
    pattern = re.sub(r"\[!?\]?[^\]]*\]", "?", glob)
    return "*" if "[" in pattern else _squeeze(pattern)


def regex_names(pattern: str) -> str:
    """Every name a Go regex finds a match in (search, not full match), as one IAM pattern:
    its anchored literal head and tail around `*`, the name itself when the regex is one
    anchored literal, else `*`."""
    tokens = None if "|" in pattern or _FLAGS.search(pattern) else _tokens(pattern)
    if not tokens:
        return "*"
    if tokens[0] == _START and tokens[-1] == _END and all(len(t) == 1 for t in tokens[1:-1]):
        return "".join(tokens[1:-1])
    head = _literal_run(tokens[1:]) if tokens[0] == _START else ""
    tail = _literal_run(tokens[-2::-1])[::-1] if tokens[-1] == _END else ""
    return _squeeze(f"{head}*{tail}")


def restored_names(source_pattern: str, replacement: str) -> str:
    """Every name a restore rule can give a copy: Go's ReplaceAllString of the source table
    (the unmatched parts of the name stay unless the pattern is anchored at that end), group
    references as `*`, then the `-YYYYMMDD-HH-mm-ss` suffix as `?`s."""
    # flags change which names match, not where a match may start or end
    bare = _LEADING_FLAGS.sub("", source_pattern)
    tokens = (None if "|" in bare else _tokens(bare)) or [_OTHER]
    starts, ends = tokens[0] == _START, tokens[-1] == _END
    body = "".join("*" if isinstance(p, Ref) else p for p in parse_template(replacement))
    return _squeeze(f"{'' if starts else '*'}{body}{'' if ends else '*'}") + RESTORED_SUFFIX


def template_names(template: str) -> str:
    """An SSM parameter name template: `{table}` (any source table) as `*`."""
    return _squeeze(template.replace("{table}", "*"))


def covering(patterns: Iterable[str]) -> list[str]:
    """The patterns, sorted and without duplicates, less those a `<literal>*` one among
    them already covers (`orders-*` covers `orders-eu-*` and `orders-eu`)."""
    unique = sorted(set(patterns))
    prefixes = [p[:-1] for p in unique if p.endswith("*") and not _wild(p[:-1])]
    return [p for p in unique
            if not any(p != f"{head}*" and p.startswith(head) for head in prefixes)]


def _tokens(pattern: str) -> list[str] | None:
    """The regex as tokens: one character for a literal, `start`/`end` for `^`/`\\A` and
    `$`/`\\z`, `other` for anything else; None for an escape this reading does not know."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            token = _escape(pattern[i + 1:i + 2])
            if token is None:
                return None
            out.append(token)
            i += 2
            continue
        if char == "[":
            i = _class_end(pattern, i)
            out.append(_OTHER)
            continue
        if char in "*+?{" and out and len(out[-1]) == 1:
            out[-1] = _OTHER  # a quantified literal may be absent or repeated
        out.append(_special(char, at_start=not out))
        i += 1
    return out


def _escape(char: str) -> str | None:
    if char == "A":
        return _START
    if char == "z":
        return _END
    if char in _CLASS_ESCAPES:
        return _OTHER
    if not char or char.isalnum():
        return None  # \x41, \pL, \Q...: a reading of their own; give up rather than guess
    return char


def _special(char: str, *, at_start: bool) -> str:
    if char == "^":
        return _START if at_start else _OTHER
    if char == "$":
        return _END
    return _OTHER if char in ".()*+?{}" else char


def _class_end(pattern: str, start: int) -> int:
    """The index after the `]` that closes the class opened at `start` (a `]` first in the
    class, or escaped, is part of it)."""
    i = start + 1
    if pattern[i:i + 1] == "^":
        i += 1
    if pattern[i:i + 1] == "]":
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


def _literal_run(tokens: list[str]) -> str:
    run = []
    for token in tokens:
        if len(token) != 1:
            break
        run.append(token)
    return "".join(run)


def _wild(text: str) -> bool:
    return "*" in text or "?" in text


def _squeeze(pattern: str) -> str:
    return re.sub(r"\*+", "*", pattern)
