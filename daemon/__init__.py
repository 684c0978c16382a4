"""ddb-backupd: one asyncio daemon for DynamoDB (and RDS) backups with AWS Backup."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ddb-backupd")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
