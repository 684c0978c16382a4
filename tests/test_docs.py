"""The docs pages keep their promises: every setting and metric documented, generated parts fresh."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from daemon.config.reference import env_vars
from daemon.obs.reference import metric_rows

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _tables_script() -> ModuleType:
    path = ROOT / "scripts" / "readme_tables.py"
    spec = importlib.util.spec_from_file_location("readme_tables", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_environment_variable_is_documented() -> None:
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = [v.name for v in env_vars() if f"| `{v.name}` |" not in page]
    assert not missing, f"docs/configuration.md lacks {missing}: run python scripts/readme_tables.py"


def test_every_metric_is_documented() -> None:
    page = (DOCS / "metrics.md").read_text(encoding="utf-8")
    missing = [name for name, *_ in metric_rows() if f"| `{name}` |" not in page]
    assert not missing, f"docs/metrics.md lacks {missing}: run python scripts/readme_tables.py"


def test_generated_parts_are_fresh() -> None:
    stale = [str(page.relative_to(ROOT)) for page, text in _tables_script().fresh_pages().items()
             if text != page.read_text(encoding="utf-8")]
    assert not stale, f"stale: {stale}: run python scripts/readme_tables.py"
