"""`python -m benchmarks.report`: the last run (`benchmarks/results.json`) as a Markdown table.

What `docs/performance.md` shows, so the documentation is pasted from a run, never typed.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from benchmarks.__main__ import ORDER, RESULTS
from benchmarks.common import num

OK = {True: "yes", False: "**no**", None: "missing"}


def cell(value: float | None, unit: str | None = "") -> str:
    return "—" if value is None else f"{num(value)} {unit or ''}".strip()


def markdown(doc: dict[str, Any]) -> str:
    run = doc["_run"]
    info = run["machine"]
    lines = [
        (f"Run of {run['finished']} on {info['cores']} cores, {info['cpu']}, Python "
         f"{info['python']}; the suite took {run['total_seconds']:.0f} s."), "",
        "| figure | value | baseline (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for key in ORDER:
        f = doc.get(key)
        if f is None:
            lines.append(f"| `{key}` | — | — | — | — | missing |")
            continue
        lines.append(f"| `{key}` | {cell(f['value'], f['unit'])} | "
                     f"{cell(f['baseline'], f['baseline_unit'])} | {cell(f['ratio'])} | "
                     f"{f['target']} | {OK[f['ok']]} |")
    return "\n".join(lines)


def main() -> int:
    if not RESULTS.exists():
        print("no benchmarks/results.json yet: run `make bench` first", file=sys.stderr)
        return 2
    print(markdown(json.loads(RESULTS.read_text(encoding="utf-8"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
