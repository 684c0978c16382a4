"""The README keeps its promises: the two commands first, a landing page that links every docs page."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_starts_with_the_demo_and_test_commands() -> None:
    first_block = README.split("```")[1]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert commands[1:3] == ["make demo", "make test"]


def test_the_readme_is_a_landing_page() -> None:
    """Under 300 lines: what the daemon does, a picture and links; the detail is in docs/."""
    lines = len(README.splitlines())
    assert lines < 300, f"README.md has {lines} lines: move the detail to a page in docs/"


def test_the_readme_links_every_docs_page() -> None:
    unlinked = sorted(page.name for page in (ROOT / "docs").glob("*.md")
                      if f"](docs/{page.name})" not in README)
    assert not unlinked, (f"README.md does not link {', '.join(f'docs/{n}' for n in unlinked)}: "
                          "add them to its Documentation table")
