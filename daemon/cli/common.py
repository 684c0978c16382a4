"""What several commands share: loading the configuration or reporting every error in it."""

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
