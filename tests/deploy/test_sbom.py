"""`make sbom`: a CycloneDX SBOM of the runtime environment that lists every locked package.

The target is run as a user runs it, but with the runtime packages from the offline
wheelhouse of scripts/install-tools.sh (PIP_SOURCE) and its output in a temporary directory.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.deploy import locks, sbom
from tests.deploy.tools import ROOT, TOOLS, missing, run

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    house = TOOLS / "wheelhouse"
    if not (house / ".lock").exists() or (house / ".lock").read_bytes() != locks.RUNTIME.read_bytes():
        missing("a .tools/wheelhouse of requirements/runtime.txt")
    venv = Path(sys.prefix)
    if not (venv / "bin/cyclonedx-py").exists():
        missing("cyclonedx-py in the dev venv (make venv)")
    work = tmp_path_factory.mktemp("sbom")
    out = work / "sbom.cdx.json"
    proc = run(["make", "--no-print-directory", "-o", f"{venv}/bin/ddb-backupd", "sbom",
                f"VENV={venv}", f"RUNTIME_VENV={work / 'runtime'}",
                f"SBOM_WHEELS={work / 'wheels'}", f"SBOM={out}",
                f"PIP_SOURCE=--no-index --find-links {house}"], cwd=ROOT, timeout=300)
    assert f"sbom: {out}: " in proc.stdout
    return dict(json.loads(out.read_text()))


def test_sbom_is_cyclonedx_json_of_the_daemon(document: dict[str, Any]) -> None:
    assert document["bomFormat"] == "CycloneDX"
    assert document["metadata"]["component"]["name"] == "ddb-backupd"
    assert document["metadata"]["component"]["type"] == "application"


def test_sbom_lists_every_locked_runtime_package_at_its_version_and_nothing_else(
        document: dict[str, Any]) -> None:
    assert sbom.problems(document) == []
    assert set(sbom.components(document)) == set(locks.pins(locks.RUNTIME))


def test_sbom_check_notices_a_missing_or_wrong_package(document: dict[str, Any]) -> None:
    broken = copy.deepcopy(document)
    broken["components"].pop()
    broken["components"][0]["version"] = "0.0.0"
    found = sbom.problems(broken)
    assert any(line.endswith("locked, not in the SBOM") for line in found), found
    assert any("SBOM 0.0.0" in line for line in found), found


def test_sbom_is_reproducible(document: dict[str, Any]) -> None:
    """No timestamp or random serial number: the same lock gives the same SBOM."""
    assert "timestamp" not in document["metadata"]
    assert "serialNumber" not in document
