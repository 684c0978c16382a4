"""Every AWS operation the daemon calls, per service: the only ones its clients are built with.

botocore builds a client from the whole service model (Backup: 99 operations, 367 shapes;
the daemon calls 24 of them), a method per operation and the shapes behind them, and keeps
it all for the life of the process. The lean data loader (botodata.py) keeps the operations
named here and the shapes they reach. `CALLS` is what the daemon's source calls
(tests/deploy/aws_calls.py reads it from the code; a test holds the two equal, so a new call
cannot be left out), `ON_OUR_BEHALF` what botocore itself calls through the daemon's clients.
"""

from __future__ import annotations

from collections.abc import Mapping

CALLS: Mapping[str, frozenset[str]] = {
    "backup": frozenset({
        "CreateBackupPlan", "CreateBackupSelection", "CreateBackupVault",
        "DeleteBackupSelection", "DeleteRecoveryPoint", "DescribeBackupJob",
        "DescribeBackupVault", "DescribeRecoveryPoint", "DescribeRestoreJob", "GetBackupPlan",
        "GetBackupSelection", "ListBackupJobs", "ListBackupPlans", "ListBackupSelections",
        "ListBackupVaults", "ListRecoveryPointsByBackupVault", "ListRecoveryPointsByResource",
        "ListRestoreJobs", "ListTags", "PutBackupVaultLockConfiguration", "StartBackupJob",
        "StartRestoreJob", "TagResource", "UpdateBackupPlan"}),
    "cloudwatch": frozenset({"PutMetricData"}),
    "dynamodb": frozenset({
        "CreateBackup", "CreateTable", "DeleteBackup", "DeleteItem", "DeleteTable",
        "DescribeBackup", "DescribeContinuousBackups", "DescribeExport", "DescribeTable",
        "ExportTableToPointInTime", "GetItem", "ListBackups", "ListExports", "ListTables",
        "ListTagsOfResource", "PutItem", "RestoreTableFromBackup", "Scan", "TagResource",
        "UpdateItem", "UpdateTable"}),
    "rds": frozenset({"DescribeDBClusterSnapshots", "DescribeDBSnapshots",
                      "DescribeExportTasks", "StartExportTask"}),
    "s3": frozenset({"DeleteObject", "GetObject", "ListObjectsV2", "PutObject"}),
    "sns": frozenset({"Publish"}),
    "sqs": frozenset({"ChangeMessageVisibilityBatch", "DeleteMessageBatch", "GetQueueAttributes",
                      "ReceiveMessage"}),
    "ssm": frozenset({"GetParameter", "PutParameter"}),
    "sts": frozenset({"AssumeRole", "GetCallerIdentity"}),
}

ON_OUR_BEHALF: Mapping[str, frozenset[str]] = {
    # credential providers of the session (a profile's role, a web identity: EKS/IRSA)
    "sts": frozenset({"AssumeRole", "AssumeRoleWithWebIdentity"}),
    # the region redirector (a bucket in another region) and S3 Express sessions
    "s3": frozenset({"HeadBucket", "CreateSession"}),
}
# Also kept whatever the lists say: a service's endpoint-discovery operation (botocore calls
# it when discovery is turned on) and every error shape (client.exceptions, error parsing).


def operations(service: str) -> frozenset[str]:
    """The operations of `service` its clients are built with."""
    return CALLS.get(service, frozenset()) | ON_OUR_BEHALF.get(service, frozenset())
