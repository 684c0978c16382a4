"""Regenerate docs/status-page.png: the status page of the demo, in headless Chromium.

Usage: .venv/bin/python scripts/screenshot.py [--out docs/status-page.png] [--at 44]

Runs `ddb-backupd demo` on a free port, waits until the demo has run `--at` seconds (at 44 s
the second wave of jobs is running past the warning level, with the first wave in the
history and its alerts listed), then opens the page with its refresh paused and writes a
screenshot. Needs Debian's Chromium (scripts/install-tools.sh installs it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.deploy.processes import free_port  # noqa: E402 - after the path is set
from tests.status.chromium import chromium, install_chromium  # noqa: E402


def status(url: str) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(f"{url}/status", timeout=2) as answer:
            return dict(json.loads(answer.read()))
    except OSError:
        return None


def wait_until(url: str, seconds: float, proc: subprocess.Popen[bytes]) -> None:
    """Until the daemon has been up `seconds` (the demo's story starts with it)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the demo exited {proc.returncode}")
        doc = status(url)
        if doc is not None and float(str(doc["uptime_seconds"])) >= seconds:
            return
        time.sleep(0.2)
    sys.exit("the demo did not come up within 120 s")


async def shoot(binary: str, url: str, out: Path) -> list[str]:
    async with chromium(binary) as page:
        await page.navigate(f"{url}/?refresh=0")
        await page.wait_for("document.body.dataset.asOf")
        await page.screenshot(out)
        return page.problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "status-page.png")
    parser.add_argument("--at", type=float, default=44.0, help="Seconds into the demo.")
    args = parser.parse_args()
    binary = install_chromium()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as work, (Path(work) / "demo.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "daemon", "demo", "--seconds", "180",
                                 "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                                cwd=work)
        try:
            wait_until(url, args.at, proc)
            problems = asyncio.run(shoot(binary, url, args.out))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    if problems:
        print("the page reported problems:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
