"""ARN arithmetic the fake needs: which service a resource belongs to and what AWS calls it.

The fake reads ARNs on its own, not through `daemon.core.arns`: a stand-in that shared the
daemon's reader would agree with any mistake in it.
"""

from __future__ import annotations

# (service, resource prefix) -> AWS Backup's ResourceType
_TYPES = (
    ("dynamodb", "table/", "DynamoDB"),
    ("rds", "cluster:", "Aurora"),
    ("rds", "", "RDS"),
    ("ec2", "volume/", "EBS"),
    ("ec2", "instance/", "EC2"),
    ("elasticfilesystem", "", "EFS"),
    ("s3", "", "S3"),
    ("fsx", "", "FSx"),
)


def parts(arn: str) -> tuple[str, str, str, str]:
    """(service, region, account, resource) of an ARN; empty strings where absent."""
    fields = arn.split(":", 5)
    if len(fields) < 6 or fields[0] != "arn":
        return "", "", "", ""
    return fields[2], fields[3], fields[4], fields[5]


def resource_type(arn: str) -> str | None:
    """AWS Backup's `ResourceType` for a protected resource ARN, or None if unsupported."""
    service, _, _, resource = parts(arn)
    for svc, prefix, kind in _TYPES:
        if service == svc and resource.startswith(prefix):
            return kind
    return None


def dynamodb_table_name(arn: str) -> str | None:
    """`T` of `arn:aws:dynamodb:r:a:table/T` (also of a table's backup ARN)."""
    service, _, _, resource = parts(arn)
    if service != "dynamodb" or not resource.startswith("table/"):
        return None
    return resource.split("/")[1] or None


def resource_name(arn: str) -> str | None:
    """The resource's short name as AWS Backup reports it in `ResourceName`."""
    if (table := dynamodb_table_name(arn)) is not None:
        return table
    resource = parts(arn)[3]
    return resource.replace(":", "/").rsplit("/", 1)[-1] or None


def is_native_dynamodb_backup(arn: str) -> bool:
    """A DynamoDB backup ARN (`...:table/T/backup/ID`), restorable with RestoreTableFromBackup."""
    return dynamodb_table_name(arn) is not None and "/backup/" in arn


def recovery_point_arn(region: str, account: str, uuid: str) -> str:
    """AWS Backup's own recovery point ARN (advanced DynamoDB backups, EBS, EFS, ...)."""
    return f"arn:aws:backup:{region}:{account}:recovery-point:{uuid}"


def vault_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:backup:{region}:{account}:backup-vault:{name}"


def table_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:dynamodb:{region}:{account}:table/{name}"
