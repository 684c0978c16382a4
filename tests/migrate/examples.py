"""The migration examples: one config/examples/<sample>.yaml and docs/migrate/<sample>.md each."""

from __future__ import annotations

from tests.deploy.tools import ROOT

EXAMPLES = ROOT / "config/examples"
GUIDES = ROOT / "docs/migrate"
SAMPLES = ("backup-monitor", "scheduled-backups", "restore-rotator", "export-actions",
           "backup-plan")
