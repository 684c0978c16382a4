"""A local stand-in for AWS: moto's server plus a fake of the AWS Backup job APIs moto lacks.

Used by `ddb-backupd demo`, `ddb-backupd sandbox` and the tests; never by `ddb-backupd run`
(an import-linter contract forbids it). See `docs/standin.md`.
"""

from daemon.standin.backup_fake import BackupFake
from daemon.standin.server import StandIn, client_env
from daemon.standin.store import FakeConfig

__all__ = ["BackupFake", "FakeConfig", "StandIn", "client_env"]
