"""The image's Python environment, built cheaply from the development venv, to time it in.

The image holds the runtime lock (requirements/runtime.txt) and the daemon, nothing else; the
development venv holds development tools as well, some of which the daemon's libraries pick
up when present (structlog imports `rich`, 3 MB and 30 ms, when it is installed). A process
measured in the development venv would carry them: the image's does not. This builds a venv
(no pip) whose site-packages holds exactly the runtime lock's distributions and the daemon,
as symbolic links to the files the development venv installed (same versions, same hashes,
same compiled bytecode, no download), and a compiled copy of the daemon's package:
`build/bench-runtime-venv/bin/python`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path, PurePosixPath

from benchmarks.common import ROOT

VENV = ROOT / "build" / "bench-runtime-venv"
LOCK = ROOT / "requirements" / "runtime.txt"
PROJECT = "ddb-backupd"
PACKAGE = "daemon"
EDITABLE = "__editable__"
PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", re.MULTILINE)


def locked_names(lock: Path = LOCK) -> list[str]:
    """The distributions the runtime lock pins (the image installs exactly these)."""
    return PINNED.findall(lock.read_text(encoding="utf-8"))


def top_level_entries(name: str) -> set[PurePosixPath]:
    """The site-packages entries distribution `name` installed: its top-level folders and
    files, and the bytecode of its top-level modules (in site-packages/__pycache__)."""
    try:
        files = distribution(name).files or []
    except PackageNotFoundError as exc:
        raise RuntimeError(f"{name} (in {LOCK.name}) is not installed in the development venv: "
                           "run `make venv`") from exc
    entries: set[PurePosixPath] = set()
    for file in files:
        path = PurePosixPath(str(file))
        if path.parts[0] == "..":  # scripts under bin/: the benchmark runs `python -m daemon`
            continue
        entries.add(path if path.parts[0] == "__pycache__" else PurePosixPath(path.parts[0]))
    return entries


def runtime_python() -> str:
    """The interpreter of a fresh runtime-only venv (rebuilt on each call: about a second)."""
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--symlinks", str(VENV)],
                   check=True)
    source = Path(distribution("msgspec").locate_file(""))  # the development site-packages
    target = Path(subprocess.run(
        [str(VENV / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True).stdout.strip())
    (target / "__pycache__").mkdir(exist_ok=True)
    for name in [*locked_names(), PROJECT]:
        for entry in top_level_entries(name):
            link = target / entry
            if entry.name.startswith(EDITABLE):  # the editable install: see below
                continue
            if (source / entry).exists() and not link.exists():
                link.symlink_to(source / entry)
    # The image installs the daemon's wheel and compiles it: its package lies in site-packages
    # with its bytecode. The development venv's editable install reaches the source tree
    # through a finder that site imports at every start (~10 ms), and where
    # PYTHONDONTWRITEBYTECODE is set every start compiled the daemon's ~80 modules again
    # (~50 ms): the image does neither. Run it from outside the source tree (`cwd=`), or
    # `python -m daemon` imports the tree's package instead.
    shutil.copytree(ROOT / PACKAGE, target / PACKAGE,
                    ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([str(VENV / "bin" / "python"), "-m", "compileall", "-q", str(target / PACKAGE)],
                   check=True)
    return str(VENV / "bin" / "python")
