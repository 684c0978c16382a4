"""The README keeps its promises: the two commands first, every setting and metric documented."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from daemon.config.reference import env_vars
from daemon.obs.reference import metric_rows

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_the_readme_starts_with_the_demo_and_test_commands() -> None:
    first_block = README.split("```")[1]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert commands[1:3] == ["make demo", "make test"]


def test_every_environment_variable_is_documented() -> None:
    missing = [v.name for v in env_vars() if f"`{v.name}`" not in README]
    assert not missing, "regenerate with: python -m daemon.config.reference --markdown"


def test_every_metric_is_documented() -> None:
    missing = [name for name, *_ in metric_rows() if f"`{name}`" not in README]
    assert not missing, "regenerate with: python -m daemon.obs.reference"


def test_generated_tables_are_fresh() -> None:
    path = Path(__file__).resolve().parents[1] / "scripts" / "readme_tables.py"
    spec = importlib.util.spec_from_file_location("readme_tables", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.render(README) == README, "run: python scripts/readme_tables.py"
