"""The docs pages keep their promises: every setting and metric documented, generated parts fresh."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from daemon.config.reference import env_vars
from daemon.obs.reference import metric_rows
from tests.deploy.aws_calls import required_actions, scan

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


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


def _cited_names(text: str) -> set[str]:
    """Repository paths (`daemon/...`, `tests/...`, `config/...`, ...) and `daemon.x.y` dotted
    names a page cites in backticks; placeholders such as `daemon/<capability>/` are skipped."""
    paths = re.findall(r"`((?:daemon|tests|benchmarks|scripts|config|helm|docs)/[^`\s<]*)`", text)
    dotted = re.findall(r"`(daemon(?:\.\w+)+)", text)
    return set(paths) | set(dotted)


def _exists(name: str) -> bool:
    """A path (or glob) names files; a dotted name a module, an attribute of one, or a log event."""
    if "/" in name:
        return any(ROOT.glob(name.rstrip("/")))
    parts = name.split(".")
    obj: object = importlib.import_module(parts[0])
    for cut, part in enumerate(parts[1:], start=2):
        if hasattr(obj, part):
            obj = getattr(obj, part)
            continue
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            return _is_log_event(name)
    return True


def _is_log_event(name: str) -> bool:
    return any(f'"{name}"' in path.read_text(encoding="utf-8")
               for path in (ROOT / "daemon").rglob("*.py"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_pages_cite_only_files_and_modules_that_exist(page: Path) -> None:
    """A path or a `daemon.x` name in the docs names real files and code."""
    missing = sorted(n for n in _cited_names(page.read_text(encoding="utf-8")) if not _exists(n))
    assert not missing, f"{page.relative_to(ROOT)} cites what does not exist: {missing}"


def called_from(wheres: set[str]) -> str:
    """The 'called from' cell of docs/deploy.md's table of AWS calls, from the source scan."""
    direct = {w.split(":")[0] for w in wheres if " (for " not in w}
    via = {w.split(":")[0] for w in wheres if " (for " in w}
    cell = ", ".join(sorted(m.removeprefix("daemon/") for m in direct | via))
    if direct:
        return cell
    checked_for = sorted({w.split(" (for ")[1].rstrip(")") for w in wheres})
    return f"{cell} (AWS checks it for {', '.join(f'`{a}`' for a in checked_for)})"


def test_deployment_docs_say_where_each_aws_call_is_made() -> None:
    """The 'called from' column of docs/deploy.md equals what tests/deploy/aws_calls.py reads."""
    rows = dict(re.findall(r"^\| `([\w-]+:\w+)` \| [^|]+ \| ([^|]+) \|$",
                           (DOCS / "deploy.md").read_text(encoding="utf-8"), re.M))
    wrong = [f"| `{action}` | ... | {called_from(wheres)} |"
             for action, wheres in sorted(required_actions(scan()[0]).items())
             if rows.get(action, "").strip() != called_from(wheres)]
    assert not wrong, "docs/deploy.md: make these rows say:\n" + "\n".join(wrong)


def _map_rows() -> list[str]:
    """The modules docs/architecture.md's module map names, one per table row, in order."""
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    section = text.split("\n## Module map\n", 1)[-1].split("\n## ", 1)[0]
    return re.findall(r"^\| `(daemon/[\w/]+\.py)` \|", section, re.M)


def _modules() -> set[str]:
    """Every module under daemon/ but the packages' __init__.py and __main__.py."""
    return {str(path.relative_to(ROOT)) for path in (ROOT / "daemon").rglob("*.py")
            if path.name not in ("__init__.py", "__main__.py")}


def _first_line(module: str) -> str:
    return (ast.get_docstring(ast.parse((ROOT / module).read_text(encoding="utf-8"))) or "").split("\n")[0]


def test_the_module_map_names_every_module() -> None:
    missing = sorted(_modules() - set(_map_rows()))
    rows = "\n".join(f"| `{m}` | {_first_line(m)} |" for m in missing)
    assert not missing, ("docs/architecture.md's module map lacks these modules; add a row for "
                         f"each under its capability:\n{rows}")


def test_the_module_map_names_only_modules_that_exist() -> None:
    extra = sorted(set(_map_rows()) - _modules())
    assert not extra, ("docs/architecture.md's module map names modules that do not exist; "
                       f"rename or remove their rows: {extra}")


def test_the_module_map_names_each_module_once() -> None:
    rows = _map_rows()
    twice = sorted({m for m in rows if rows.count(m) > 1})
    assert not twice, f"docs/architecture.md's module map has more than one row for: {twice}"


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
    return {_anchor(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_between_pages_resolve(page: Path) -> None:
    """Every relative link names a file that exists and, after `#`, one of its headings."""
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists() or (anchor and linked.suffix == ".md"
                                   and anchor not in _anchors(linked)):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} links to what does not exist: {broken}"
