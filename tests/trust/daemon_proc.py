"""`python -m tests.trust.daemon_proc`: `ddb-backupd run`, with the wall clock read from a file.

The crash and replica tests kill and restart the daemon as a real process, yet must move
its schedule through minute slots in seconds. `TRUST_CLOCK_FILE` names a file holding an ISO
time that replaces the system clock (re-read on every call, so the test moves time for every
process at once); everything else is `ddb-backupd run` exactly.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path


class FileClock:
    """Wall time as written in a file (real time while the file is missing or empty)."""

    def __init__(self, path: str) -> None:
        self._path = Path(path)

    def now(self) -> datetime:
        try:
            text = self._path.read_text(encoding="utf-8").strip()
        except OSError:
            text = ""
        return datetime.fromisoformat(text) if text else datetime.now(UTC)


def set_clock(path: Path, when: datetime) -> None:
    """Move every daemon reading `path` to `when` (atomically: no reader sees half a time)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(when.isoformat(), encoding="utf-8")
    tmp.replace(path)


def main() -> int:
    import daemon.app  # noqa: PLC0415 - patched before the command imports it

    path = os.environ.get("TRUST_CLOCK_FILE")
    if path:
        daemon.app.SystemClock = lambda: FileClock(path)  # type: ignore[assignment,misc,return-value]
    from daemon.cli import main as cli  # noqa: PLC0415

    return cli(["run"])


if __name__ == "__main__":
    sys.exit(main())
