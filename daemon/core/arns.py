"""ARNs, read one way: `arn:partition:service:region:account:resource` (pure).

The resource keeps its own separators: `table/orders/backup/01234-abcd` (DynamoDB),
`recovery-point:UUID` and `backup-vault:NAME` (AWS Backup), `db:ID` and `snapshot:rds:ID`
(RDS; an automated snapshot's id has a colon of its own). As in botocore's `ArnParser`,
text that does not start with `arn:` or has fewer than six fields is not an ARN; here that
is None, never an exception, since ARNs arrive in events and a bad one must not fail its
message.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class Arn:
    """The five fields of an ARN; `str()` gives the ARN back."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @property
    def resource_type(self) -> str:
        """`table` of `table/T/...`, `snapshot` of `snapshot:ID`; '' when the resource is
        a bare name (an SNS topic, an S3 bucket)."""
        return _typed(self.resource)[0]

    @property
    def resource_id(self) -> str:
        """What follows the type and its first separator, separators kept: `T/backup/ID`,
        `rds:ID`; the whole resource when it has no type."""
        return _typed(self.resource)[1]

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


@lru_cache(maxsize=4096)
def parse(text: str | None) -> Arn | None:
    """The ARN in `text`, or None when it is not one. Cached: the same tables come back with
    every event and every listing."""
    if not text:
        return None
    fields = text.split(":", 5)
    if len(fields) < 6 or fields[0] != "arn":
        return None
    return Arn(fields[1], fields[2], fields[3], fields[4], fields[5])


def table_name(arn: str | None) -> str | None:
    """`T` of a DynamoDB table ARN `...:table/T`, or of one of its backups, exports or
    streams (`table/T/backup/ID`); None for anything else."""
    parsed = parse(arn)
    if parsed is None or parsed.service != "dynamodb" or not parsed.resource.startswith("table/"):
        return None
    return parsed.resource.split("/", 2)[1] or None


def table_arn(arn: str | None) -> str | None:
    """The ARN of the DynamoDB table that `arn` (the table, a backup, an export) belongs to."""
    parsed, name = parse(arn), table_name(arn)
    if parsed is None or name is None:
        return None
    return str(replace(parsed, resource=f"table/{name}"))


def is_table(arn: str | None) -> bool:
    """A DynamoDB table's own ARN (not one of its backups, exports or streams)."""
    parsed, name = parse(arn), table_name(arn)
    return parsed is not None and name is not None and parsed.resource == f"table/{name}"


def is_dynamodb_backup(arn: str | None) -> bool:
    """A native DynamoDB backup (`...:table/T/backup/ID`): RestoreTableFromBackup takes it."""
    parsed = parse(arn)
    return (parsed is not None and table_name(arn) is not None
            and "/backup/" in parsed.resource)


def rds_identifier(arn: str | None) -> str | None:
    """The DB instance or cluster identifier of `arn:aws:rds:r:a:db:ID` / `...:cluster:ID`."""
    parsed = parse(arn)
    if parsed is None or parsed.service != "rds" or parsed.resource_type not in ("db", "cluster"):
        return None
    return parsed.resource_id or None


def short_name(arn: str | None) -> str | None:
    """What people (and AWS Backup's `ResourceName`) call a resource: a DynamoDB table's
    name, else the resource's last `/` or `:` segment (`vol-0b5a`, `example-database`)."""
    if (name := table_name(arn)) is not None:
        return name
    parsed = parse(arn)
    if parsed is None:
        return None
    return parsed.resource.replace(":", "/").rsplit("/", 1)[-1] or None


def _typed(resource: str) -> tuple[str, str]:
    """(type, id) of a resource, split at its first `/` or `:`; ('', resource) if neither."""
    cut = min((i for i in (resource.find("/"), resource.find(":")) if i >= 0), default=-1)
    return ("", resource) if cut < 0 else (resource[:cut], resource[cut + 1:])
