"""What several commands share: loading the configuration or reporting every error in it, and
saying so when a command needs the local AWS stand-in that this installation lacks."""

from __future__ import annotations

import sys

from daemon.config.load import ConfigError, load_settings
from daemon.config.settings import Settings


def settings_or_report() -> Settings | None:
    """The Settings, or None after printing every error to stderr (the caller exits 2)."""
    try:
        return load_settings()
    except ConfigError as exc:
        print(f"invalid configuration: {len(exc.errors)} error(s)", file=sys.stderr)
        for line in exc.errors:
            print(f"  - {line}", file=sys.stderr)
        return None


def missing_extra(exc: ImportError) -> bool:
    """Whether `exc` is a third-party package of an optional extra missing (the container image
    has no moto), rather than a broken import of the daemon's own code."""
    return exc.name is not None and exc.name.partition(".")[0] != "daemon"


def report_missing_standin(command: str, exc: ImportError) -> int:
    """Tell the user `command` needs the stand-in extra; the exit code (2)."""
    print(f"ddb-backupd {command}: needs the local AWS stand-in, which this installation lacks "
          f"(no module {exc.name!r}; the container image ships without it).\n"
          "Install it with: pip install 'ddb-backupd[standin]'", file=sys.stderr)
    return 2
