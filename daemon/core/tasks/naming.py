"""What a restored table is called: Go's `regexp.ReplaceAllString`, then the backup's UTC time.

The Step Functions rotator this daemon replaces was configured with Go regexps and Go
replacement templates, so rules written for it must give the same names here: `$0`, `$1`,
`${name}`, `$$`, and Go's rule that a name is the *longest* run of letters, digits and `_`
(`$1x` means `${1x}`, an unknown group, which expands to nothing). Empty matches next to
a previous match are skipped as Go does (Python's `re.sub` does not).

`check_rule` is the check-config half: a rule is rejected when it could produce an invalid
DynamoDB table name whatever the source table. Lengths depend on the source name, so a
too-long result is found at restore time (`restore_name` raises `NamingError`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

TABLE_NAME = re.compile(r"[A-Za-z0-9_.\-]{3,255}")
TABLE_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
MAX_TABLE_NAME = 255
SUFFIX_FORMAT = "-%Y%m%d-%H-%M-%S"
SUFFIX_LENGTH = len("-YYYYMMDD-HH-mm-ss")
# Go spellings that Python's `re` writes differently: `\z` (end of text) and `(?<name>`.
_GO_END = re.compile(r"(?<!\\)((?:\\\\)*)\\z")
_GO_NAMED = re.compile(r"\(\?<(?=[A-Za-z_])")


class NamingError(ValueError):
    """The rule cannot name a restored table for this input; the text says why."""


@dataclass(frozen=True, slots=True)
class Ref:
    """One `$` reference of a template: a group number, or a group name."""

    number: int | None
    name: str


Piece = str | Ref


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a Go (RE2) pattern with Python's engine; `NamingError` when it is not valid."""
    source = _GO_NAMED.sub("(?P<", _GO_END.sub(r"\1\\Z", pattern))
    try:
        return re.compile(source)
    except re.error as exc:
        raise NamingError(f"source_pattern {pattern!r} is not a valid regular expression: "
                          f"{exc}") from exc


def parse_template(template: str) -> list[Piece]:
    """Split a Go replacement template into literal text and group references."""
    pieces: list[Piece] = []
    literal: list[str] = []
    rest = template
    while (at := rest.find("$")) >= 0:
        literal.append(rest[:at])
        rest = rest[at + 1:]
        if rest.startswith("$"):
            literal.append("$")
            rest = rest[1:]
            continue
        found = _extract(rest)
        if found is None:  # malformed: Go keeps the `$` as text
            literal.append("$")
            continue
        ref, rest = found
        pieces.extend(["".join(literal), ref])
        literal = []
    literal.append(rest)
    pieces.append("".join(literal))
    return [p for p in pieces if p != ""]


def _extract(text: str) -> tuple[Ref, str] | None:
    """Go's `extract`: a leading `name` or `{name}`; None when malformed."""
    brace = text.startswith("{")
    body = text[1:] if brace else text
    end = 0
    while end < len(body) and _is_name_char(body[end]):
        end += 1
    if end == 0 or (brace and not body[end:].startswith("}")):
        return None
    name = body[:end]
    rest = body[end + 1:] if brace else body[end:]
    return Ref(_group_number(name), name), rest


def _is_name_char(char: str) -> bool:
    """Go's unicode.IsLetter || unicode.IsDigit || '_'."""
    category = unicodedata.category(char)
    return char == "_" or category.startswith("L") or category == "Nd"


def _group_number(name: str) -> int | None:
    """A name of ASCII digits without a leading zero (below 1e8) is a group number."""
    if not name.isascii() or not name.isdigit() or (len(name) > 1 and name[0] == "0"):
        return None
    return int(name) if len(name) <= 8 else None


def expand(pieces: list[Piece], match: re.Match[str]) -> str:
    """One match's replacement; references to absent or unmatched groups give ''."""
    out: list[str] = []
    for piece in pieces:
        if isinstance(piece, str):
            out.append(piece)
        elif piece.number is not None:
            if piece.number <= (match.re.groups or 0):
                out.append(match.group(piece.number) or "")
        elif piece.name in match.re.groupindex:
            out.append(match.group(piece.name) or "")
    return "".join(out)


def replace_all(pattern: re.Pattern[str], template: str, text: str) -> str:
    """Go's `Regexp.ReplaceAllString(text, template)`."""
    pieces = parse_template(template)
    out: list[str] = []
    last_end = search_at = 0
    while search_at <= len(text):
        match = pattern.search(text, search_at)
        if match is None:
            break
        start, end = match.span()
        out.append(text[last_end:start])
        if end > last_end or start == 0:  # skip an empty match abutting the previous one
            out.append(expand(pieces, match))
        last_end = end
        search_at = search_at + 1 if end <= search_at else end
    out.append(text[last_end:])
    return "".join(out)


def suffix(created: datetime) -> str:
    """`-YYYYMMDD-HH-mm-ss` of the backup's creation time, in UTC."""
    if created.tzinfo is None:
        raise NamingError("the backup time must carry a timezone")
    return created.astimezone(UTC).strftime(SUFFIX_FORMAT)


def restore_name(pattern: str | re.Pattern[str], replacement: str, table: str,
                 created: datetime) -> str:
    """The restored table's name, or `NamingError` (no match, or not a valid table name)."""
    compiled = compile_pattern(pattern) if isinstance(pattern, str) else pattern
    if compiled.search(table) is None:
        raise NamingError(f"source_pattern {compiled.pattern!r} does not match table {table!r}")
    name = replace_all(compiled, replacement, table) + suffix(created)
    problem = table_name_problem(name)
    if problem:
        raise NamingError(f"{name!r} is not a valid DynamoDB table name: {problem}")
    return name


def table_name_problem(name: str) -> str | None:
    """Why `name` is not a valid DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -), or None."""
    bad = sorted(set(name) - TABLE_NAME_CHARS)
    if bad:
        return f"characters {''.join(bad)!r} are not allowed (only A-Z a-z 0-9 _ . -)"
    if not 3 <= len(name) <= MAX_TABLE_NAME:
        return f"{len(name)} characters (3 to {MAX_TABLE_NAME} allowed)"
    return None


def check_rule(pattern: str, replacement: str) -> list[str]:
    """Every reason the rule can give an invalid name whatever the table; [] when sound."""
    try:
        compiled = compile_pattern(pattern)
    except NamingError as exc:
        return [str(exc)]
    problems: list[str] = []
    literal = ""
    for piece in parse_template(replacement):
        if isinstance(piece, str):
            literal += piece
        elif not _group_exists(compiled, piece):
            problems.append(_unknown_group(piece))
    bad = sorted(set(literal) - TABLE_NAME_CHARS)
    if bad:
        problems.append(f"replacement {replacement!r} puts {''.join(bad)!r} into every name; "
                        "table names allow only A-Z a-z 0-9 _ . -")
    if len(literal) + SUFFIX_LENGTH > MAX_TABLE_NAME:
        problems.append(f"replacement text plus the {SUFFIX_LENGTH}-character time suffix is "
                        f"longer than {MAX_TABLE_NAME} characters")
    return problems


def _group_exists(compiled: re.Pattern[str], ref: Ref) -> bool:
    if ref.number is not None:
        return ref.number <= compiled.groups
    return ref.name in compiled.groupindex


def _unknown_group(ref: Ref) -> str:
    hint = ""
    digits = len(ref.name) - len(ref.name.lstrip("0123456789"))
    if ref.number is None and digits:
        group, text = ref.name[:digits], ref.name[digits:]
        hint = (f" (Go reads ${ref.name} as ${{{ref.name}}}; write ${{{group}}}{text} "
                f"for group {group} followed by {text!r})")
    return (f"replacement refers to group {ref.name!r}, which source_pattern does not "
            f"define; it would expand to nothing{hint}")
