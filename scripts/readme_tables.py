"""Regenerate the documentation's generated parts, from the code: the configuration table of
docs/configuration.md, the metrics table of docs/metrics.md (between their markers), and the
JSON Schema of GET /status, docs/status.schema.json (the whole file).

Usage: python scripts/readme_tables.py [--check]   (--check exits 1 when a page is stale)
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from daemon.config.reference import markdown_table as config_table
from daemon.kernel.status_model import json_schema
from daemon.obs.reference import markdown_table as metrics_table

ROOT = Path(__file__).resolve().parents[1]
# page -> (marker, builder): each page holds exactly one generated table between its markers
TABLES: dict[Path, tuple[str, Callable[[], str]]] = {
    ROOT / "docs" / "configuration.md": ("config-table", config_table),
    ROOT / "docs" / "metrics.md": ("metrics-table", metrics_table),
}
# file -> builder of its whole text
FILES: dict[Path, Callable[[], str]] = {
    ROOT / "docs" / "status.schema.json": lambda: json.dumps(json_schema(), indent=2) + "\n",
}


def render_table(text: str, marker: str, build: Callable[[], str]) -> str:
    """`text` with the table between `<!-- marker:start -->` and `<!-- marker:end -->` rebuilt."""
    pattern = re.compile(rf"(<!-- {marker}:start -->\n).*?(<!-- {marker}:end -->)", re.S)
    fresh, count = pattern.subn(lambda m: m.group(1) + build() + m.group(2), text)
    if count != 1:
        raise ValueError(f"want exactly one <!-- {marker}:start/end --> pair, found {count}")
    return fresh


def fresh_pages() -> dict[Path, str]:
    """Every generated page's text as it should be now."""
    pages = {page: render_table(page.read_text(encoding="utf-8"), marker, build)
             for page, (marker, build) in TABLES.items()}
    return pages | {path: build() for path, build in FILES.items()}


def main() -> int:
    pages = fresh_pages()
    stale = [page for page, text in pages.items()
             if not page.exists() or text != page.read_text(encoding="utf-8")]
    if "--check" in sys.argv:
        sys.stderr.writelines(f"stale: {page.relative_to(ROOT)}\n" for page in stale)
        return 1 if stale else 0
    for page in stale:
        page.write_text(pages[page], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
