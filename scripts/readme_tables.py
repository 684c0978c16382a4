"""Regenerate the README's generated parts between their markers: the configuration and
metrics tables (from the code) and the sections kept in docs/*.md (`<!-- include:docs/x.md -->`).

Usage: python scripts/readme_tables.py [--check]   (--check exits 1 when the README is stale)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from daemon.config.reference import markdown_table as config_table
from daemon.obs.reference import markdown_table as metrics_table

README = Path(__file__).resolve().parents[1] / "README.md"
TABLES = {"config-table": config_table, "metrics-table": metrics_table}


def render(text: str) -> str:
    for name, build in TABLES.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
        text = pattern.sub(lambda m, build=build: m.group(1) + build() + m.group(2), text)
    include = re.compile(r"(<!-- include:(\S+?):start -->\n).*?(<!-- include:\2:end -->)", re.S)
    return include.sub(lambda m: m.group(1) + _section(m.group(2)) + m.group(3), text)


def _section(path: str) -> str:
    """A docs file without its first heading, its other headings one level deeper."""
    source = README.parent / path
    if not source.exists():
        return ""
    lines = source.read_text(encoding="utf-8").splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    out, fenced = [], False
    for line in lines:
        fenced ^= line.startswith("```")
        out.append("#" + line if line.startswith("#") and not fenced else line)
    return "\n".join(out).strip("\n") + "\n"


def main() -> int:
    current = README.read_text(encoding="utf-8")
    fresh = render(current)
    if "--check" in sys.argv:
        return 0 if fresh == current else 1
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
