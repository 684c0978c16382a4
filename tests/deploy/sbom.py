"""Checking the SBOM `make sbom` writes against the runtime lock.

The SBOM (CycloneDX JSON, from `cyclonedx-py environment`) describes the runtime venv as the
image has it. It must name the daemon as its main component and list every package of
requirements/runtime.txt at the locked version, with a package URL, and nothing else.

`.venv/bin/python -m tests.deploy.sbom dist/sbom.cdx.json` (the last step of `make sbom`)
prints the component count, or every discrepancy and exits 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from daemon import __version__
from tests.deploy import locks


def components(sbom: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Canonical name -> component, for every component of the SBOM (nested ones too)."""
    out: dict[str, dict[str, Any]] = {}
    pending = list(sbom.get("components", []))
    while pending:
        component = pending.pop()
        out[canonicalize_name(component["name"])] = component
        pending.extend(component.get("components", []))
    return out


def problems(sbom: dict[str, Any], lock: Path = locks.RUNTIME) -> list[str]:
    """What is wrong with the SBOM, measured against the lock; empty when nothing is."""
    found: list[str] = []
    if sbom.get("bomFormat") != "CycloneDX":
        found.append(f"bomFormat is {sbom.get('bomFormat')!r}, not CycloneDX")
    main = sbom.get("metadata", {}).get("component", {})
    if (main.get("name"), main.get("version")) != ("ddb-backupd", __version__):
        found.append(f"main component is {main.get('name')} {main.get('version')}, "
                     f"not ddb-backupd {__version__}")
    listed = components(sbom)
    pinned = locks.pins(lock)
    for name, pin in sorted(pinned.items()):
        component = listed.get(name)
        if component is None:
            found.append(f"{name}=={pin.version}: locked, not in the SBOM")
        elif component.get("version") != pin.version:
            found.append(f"{name}: locked {pin.version}, SBOM {component.get('version')}")
        elif not str(component.get("purl", "")).startswith(f"pkg:pypi/{name}@{pin.version}"):
            found.append(f"{name}: purl {component.get('purl')!r}")
    found.extend(f"{name}: in the SBOM, not locked" for name in sorted(set(listed) - set(pinned))
                 if name != "ddb-backupd")
    return found


def main(path: str) -> int:
    sbom = json.loads(Path(path).read_text())
    found = problems(sbom)
    for line in found:
        sys.stderr.write(f"sbom: {line}\n")
    if not found:
        sys.stdout.write(f"sbom: {path}: {len(components(sbom))} components, every package of "
                         f"{locks.RUNTIME.relative_to(locks.ROOT)} at its locked version\n")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
