"""Reading the hash-locked requirements (requirements/*.txt, written by `make lock`).

A lock file is pip's requirements format as uv writes it: `name==version \\` followed by one
`--hash=sha256:...` line per file of that release, and `# via` comments.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.tools import ROOT

REQUIREMENTS = ROOT / "requirements"
RUNTIME = REQUIREMENTS / "runtime.txt"
DEV = REQUIREMENTS / "dev.txt"
BUILD = REQUIREMENTS / "build.txt"
PYPROJECT = ROOT / "pyproject.toml"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


@dataclass(frozen=True)
class Pin:
    """One locked release: its canonical name, exact version and the hashes of its files."""

    name: str
    version: str
    hashes: frozenset[str]


def pins(path: Path) -> dict[str, Pin]:
    """Canonical name -> Pin, for every requirement of the lock file."""
    out: dict[str, Pin] = {}
    name = version = None
    hashes: set[str] = set()
    for line in [*path.read_text().splitlines(), ""]:
        if (match := PIN.match(line)) or not line.startswith(" "):
            if name is not None and version is not None:
                out[name] = Pin(name, version, frozenset(hashes))
            name = version = None
            hashes = set()
        if match:
            name, version = canonicalize_name(match[1]), match[2]
        hashes.update(HASH.findall(line))
    return out


def pyproject() -> dict[str, object]:
    return tomllib.loads(PYPROJECT.read_text())


def runtime_requirements() -> list[Requirement]:
    return [Requirement(r) for r in pyproject()["project"]["dependencies"]]  # type: ignore[index]


def dev_requirements() -> list[Requirement]:
    """The dev extra, without the project's own extras it names (ddb-backupd[standin])."""
    extras = pyproject()["project"]["optional-dependencies"]  # type: ignore[index]
    return [Requirement(r) for group in extras.values() for r in group
            if canonicalize_name(Requirement(r).name) != "ddb-backupd"]


def build_requirements() -> list[Requirement]:
    return [Requirement(r) for r in pyproject()["build-system"]["requires"]]  # type: ignore[index]
