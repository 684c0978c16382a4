"""Finding the external tools the deployment checks run (installed by scripts/install-tools.sh).

A missing tool skips the test on a laptop, with the command that installs it, but fails it in
CI (`CI=true`): there a skipped check would pass silently what it never checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = Path(os.environ.get("BACKUPD_TOOLS_DIR", ROOT / ".tools"))
INSTALL_HINT = "run scripts/install-tools.sh"


def in_ci() -> bool:
    """CI sets CI=true; there every tool must be present."""
    return os.environ.get("CI", "").lower() in {"true", "1", "yes"}


def missing(what: str) -> None:
    """Skip (laptop) or fail (CI) because `what` is not installed."""
    message = f"{what} is not installed: {INSTALL_HINT}"
    if in_ci():
        pytest.fail(f"{message} (CI must not skip this check)")
    pytest.skip(message)


def tool(name: str) -> str:
    """Path of `name` in .tools/bin, else on PATH; skips or fails when absent."""
    local = TOOLS / "bin" / name
    if local.exists() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which(name)
    if found is None:
        missing(name)
    assert found is not None
    return found


def run(args: Sequence[str], *, check: bool = True, timeout: float = 60,
        **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a tool, capturing text output; with `check`, fail the test showing its output."""
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                          check=False, **kwargs)  # type: ignore[call-overload]
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {proc.returncode}\n"
                    f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    return proc
