"""Restored copies and which of them to delete (pure): the rotation half of a restore rule.

A restored copy is a table this daemon made: it carries the tags below, written right after
the restore started, so a restarted daemon finds restores in flight and rotation never
touches a table it did not make. Rotation keeps, per rule and source table, the newest
`keep_last` finished copies (None: every copy, nothing is deleted); it never deletes the
table an SSM parameter points to, a copy still being restored, or a table without this
daemon's tags.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

TAG_MANAGED = "backupd:managed"
TAG_RULE = "backupd:rule"
TAG_SOURCE_TABLE = "backupd:source-table"
TAG_SOURCE_BACKUP = "backupd:source-backup"
TAG_BACKUP_TIME = "backupd:backup-time"
TAG_STATE = "backupd:state"
MANAGED = "restore"
CopyState = Literal["restoring", "done", "failed"]
STATES: frozenset[str] = frozenset({"restoring", "done", "failed"})
GONE_STATUSES = frozenset({"DELETING", "ARCHIVING", "ARCHIVED"})


def copy_tags(rule: str, source_table: str, source_backup: str, backup_time: datetime,
              state: CopyState) -> dict[str, str]:
    """The tags that make a table one of this daemon's restored copies."""
    return {TAG_MANAGED: MANAGED, TAG_RULE: rule, TAG_SOURCE_TABLE: source_table,
            TAG_SOURCE_BACKUP: source_backup,
            TAG_BACKUP_TIME: backup_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            TAG_STATE: state}


@dataclass(frozen=True, slots=True)
class RestoredCopy:
    """A table as seen in AWS: name, ARN, status, tags, and what DynamoDB says it came from."""

    name: str
    arn: str
    status: str
    tags: Mapping[str, str]
    restored_from: str | None = None  # DescribeTable RestoreSummary.SourceBackupArn

    @property
    def managed(self) -> bool:
        """True only for tables this daemon made (a foreign table never is)."""
        return self.tags.get(TAG_MANAGED) == MANAGED and self.state is not None

    @property
    def rule(self) -> str | None:
        return self.tags.get(TAG_RULE)

    @property
    def source_table(self) -> str | None:
        return self.tags.get(TAG_SOURCE_TABLE)

    @property
    def source_backup(self) -> str | None:
        return self.tags.get(TAG_SOURCE_BACKUP)

    @property
    def state(self) -> CopyState | None:
        value = self.tags.get(TAG_STATE)
        return value if value in STATES else None  # type: ignore[return-value]

    @property
    def backup_time(self) -> datetime | None:
        raw = self.tags.get(TAG_BACKUP_TIME)
        try:
            return datetime.fromisoformat(raw).astimezone(UTC) if raw else None
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class RotationDecision:
    """Keep or delete one restored copy, with the reasons (shown in logs and /status)."""

    copy: RestoredCopy
    action: Literal["keep", "delete"]
    reasons: tuple[str, ...]


def copies_of(copies: Iterable[RestoredCopy], rule: str, source_table: str) -> list[RestoredCopy]:
    """This rule's copies of one source table that still exist, newest backup first."""
    own = [c for c in copies if c.managed and c.rule == rule and c.source_table == source_table
           and c.status not in GONE_STATUSES]
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(own, key=lambda c: (c.backup_time or epoch, c.name), reverse=True)


def select_rotation(copies: Iterable[RestoredCopy], *, rule: str, source_table: str,
                    keep_last: int | None, protected: Collection[str],
                    ) -> list[RotationDecision]:
    """Decide every copy of (rule, source table): deletions come oldest first.

    `protected` holds names or ARNs never to delete (the SSM parameter's current value).
    Foreign tables are not in the result at all: they are not this rotation's business.
    """
    keep: list[RotationDecision] = []
    delete: list[RotationDecision] = []
    finished = 0
    for copy in copies_of(copies, rule, source_table):
        reason = _keep_reason(copy, protected, finished, keep_last)
        if copy.state == "done":
            finished += 1
        if reason is None:
            delete.append(RotationDecision(copy, "delete", _delete_reasons(copy, keep_last)))
        else:
            keep.append(RotationDecision(copy, "keep", (reason,)))
    return keep + delete[::-1]


def _keep_reason(copy: RestoredCopy, protected: Collection[str], finished: int,
                 keep_last: int | None) -> str | None:
    """Why a copy stays; `finished` counts the done copies newer than it."""
    if copy.name in protected or copy.arn in protected:
        return "the SSM parameter points to it"
    if copy.state == "restoring":
        return "restore still in flight"
    if keep_last is None:
        return "rotation is off (keep_last: null keeps every copy)"
    if copy.state == "done" and finished < keep_last:
        return f"among the newest {keep_last} restored copies"
    if copy.state == "failed" and finished == 0:
        return "failed, kept for inspection until a newer copy succeeds"
    return None


def _delete_reasons(copy: RestoredCopy, keep_last: int | None) -> tuple[str, ...]:
    if copy.state == "failed":
        return ("failed restore, superseded by a newer copy",)
    return (f"older than the newest {keep_last} restored copies",)


def newest_done(copies: Iterable[RestoredCopy], rule: str) -> RestoredCopy | None:
    """The newest finished copy of a rule, any source table (its age is a metric)."""
    done = [c for c in copies if c.managed and c.rule == rule and c.state == "done"
            and c.backup_time is not None and c.status not in GONE_STATUSES]
    return max(done, key=lambda c: c.backup_time or datetime.min.replace(tzinfo=UTC),
               default=None)
