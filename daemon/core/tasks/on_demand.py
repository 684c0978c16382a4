"""What an on-demand restore (`ddb-backupd restore`) restores, and into which table (pure).

`--table NAME --latest` takes the newest usable backup of the table among its native
DynamoDB backups and its AWS Backup recovery points (one listing may hold the same ARN as
the other: AWS Backup's DynamoDB recovery points without advanced features are native
backups). The target is `--target` when given, else the name the first matching restore
rule gives the backup (so a copy sits where the rotation would put it), else
`<table>-restored-YYYYMMDD-HH-mm-ss` of the backup's creation time: the same backup always
maps to the same name, so running the command again finds the copy it started.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from daemon.core.tasks.naming import NamingError, restore_name, suffix, table_name_problem
from daemon.core.tasks.restore_triggers import RestoreRuleLike, recovery_point_kind

# Native backups say AVAILABLE when usable; AWS Backup recovery points say COMPLETED.
USABLE = frozenset({"AVAILABLE", "COMPLETED"})
DEFAULT_INFIX = "-restored"

Engine = Literal["native", "aws-backup"]


@dataclass(frozen=True, slots=True)
class Source:
    """One backup of a table that could be restored."""

    arn: str
    table: str
    created: datetime
    status: str
    vault: str | None = None

    @property
    def engine(self) -> Engine | None:
        """How it is restored: RestoreTableFromBackup, StartRestoreJob, or not at all."""
        kind = recovery_point_kind(self.arn)
        if kind == "dynamodb-backup":
            return "native"
        return "aws-backup" if kind == "aws-backup" else None


@dataclass(frozen=True, slots=True)
class Target:
    """The restored table's name and where it came from: `--target`, a rule, the default."""

    name: str
    naming: str


def newest_usable(sources: Iterable[Source]) -> Source | None:
    """The newest AVAILABLE/COMPLETED backup that can be restored (ties: the ARN decides, so
    the answer does not depend on listing order)."""
    usable = [s for s in sources if s.status in USABLE and s.engine is not None]
    return max(usable, key=lambda s: (s.created, s.arn), default=None)


def choose_target(source: Source, rules: Iterable[RestoreRuleLike],
                  explicit: str | None = None) -> Target:
    """The table to restore into; `NamingError` when the name is not a valid table name."""
    if explicit is not None:
        problem = table_name_problem(explicit)
        if problem:
            raise NamingError(f"--target {explicit!r} is not a valid DynamoDB table name: "
                              f"{problem}")
        return Target(explicit, "--target")
    for rule in rules:
        try:
            name = restore_name(rule.source_pattern, rule.replacement, source.table,
                                source.created)
        except NamingError:
            continue
        return Target(name, f"rule {rule.name}")
    name = f"{source.table}{DEFAULT_INFIX}{suffix(source.created)}"
    problem = table_name_problem(name)
    if problem:
        raise NamingError(f"{name!r} is not a valid DynamoDB table name: {problem}; "
                          "give one with --target")
    return Target(name, "default")
