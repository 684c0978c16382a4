"""A small reader of the Dockerfile and .dockerignore, for the checks hadolint does not make.

No Docker engine runs here, so the tests read what the image would be: its stages, the user,
the entrypoint, and which files the build context sends.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from tests.deploy.tools import ROOT

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


@dataclass
class Stage:
    """One FROM ... stage: its base image, name and instructions (keyword, argument text)."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[str]:
        return [text for kw, text in self.instructions if kw == keyword]


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, rest) per instruction, continuation lines joined, comments dropped."""
    logical = re.sub(r"\\\n", " ", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")))
    out = []
    for line in logical.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def stages(text: str | None = None) -> list[Stage]:
    """The stages of the Dockerfile, with global ARG defaults substituted into FROM."""
    parsed = instructions(text if text is not None else DOCKERFILE.read_text())
    defaults: dict[str, str] = {}
    result: list[Stage] = []
    for keyword, rest in parsed:
        if keyword == "ARG" and not result and "=" in rest:
            key, _, value = rest.partition("=")
            defaults[key] = value
        elif keyword == "FROM":
            parts = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: defaults.get(m[1], m[0]), parts[0])
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            result.append(Stage(base, name))
        elif result:
            result[-1].instructions.append((keyword, rest))
    return result


def exec_form(text: str) -> list[str]:
    """An instruction's JSON (exec) form, e.g. ENTRYPOINT ["ddb-backupd"]."""
    value = json.loads(text)
    assert isinstance(value, list), f"not exec form: {text}"
    return [str(v) for v in value]


def health_command(stage: Stage | None = None) -> list[str]:
    """The runtime stage's HEALTHCHECK command (exec form, after CMD)."""
    stage = stage or stages()[-1]
    (text,) = stage.args("HEALTHCHECK")
    _, _, command = text.partition(" CMD ")
    return exec_form(command.strip())


def copy_sources(stage: Stage) -> list[str]:
    """Paths a stage COPYs from the build context (not --from another stage)."""
    sources: list[str] = []
    for text in stage.args("COPY"):
        words = shlex.split(text)
        if any(w.startswith("--from") for w in words):
            continue
        sources.extend(w for w in words[:-1] if not w.startswith("--"))
    return sources


def ignored(path: str, patterns: list[str] | None = None) -> bool:
    """Whether .dockerignore keeps `path` out of the build context (last match wins)."""
    if patterns is None:
        patterns = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    verdict = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern.removeprefix("!").rstrip("/")
        if _matches(path, body):
            verdict = not negate
    return verdict


def _matches(path: str, pattern: str) -> bool:
    """Docker's rule: a pattern matches the path or any of its parent directories."""
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    regex = fnmatch.translate(pattern).replace(".*", "[^/]*").replace("[^/]*[^/]*", ".*")
    return any(re.fullmatch(regex, prefix) for prefix in prefixes)
