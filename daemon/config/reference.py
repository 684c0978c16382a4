"""The configuration reference derived from the Settings model: every env var, type, default, why.

Used by `config/example.env` (kept in step by a test) and the table of docs/configuration.md
(`scripts/readme_tables.py`), so the documentation cannot drift from the code.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from daemon.config.settings import ENV_PREFIX, Settings


@dataclass(frozen=True, slots=True)
class EnvVar:
    """One environment variable of the configuration."""

    name: str
    type: str
    default: str
    description: str
    secret: bool


def env_vars(model: type[BaseModel] = Settings, prefix: str = ENV_PREFIX) -> Iterator[EnvVar]:
    """Every variable, sections flattened with `__`; lists are one JSON-valued variable."""
    for name, info in model.model_fields.items():
        section = _section(info.annotation)
        if section is not None:
            yield from env_vars(section, f"{prefix}{name.upper()}__")
            continue
        yield EnvVar(f"{prefix}{name.upper()}", _type_name(info.annotation), _default(info),
                     (info.description or "").strip(), _is_secret(info.annotation))


def _section(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _is_secret(annotation: Any) -> bool:
    return SecretStr in (typing.get_args(annotation) or (annotation,))


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is list:
        return "JSON list"
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " | ".join(_type_name(a) for a in args) + " (optional)"
    if origin is typing.Literal:
        return " | ".join(str(a) for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    return getattr(annotation, "__name__", str(annotation))


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value: Any = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return "(required)"
    else:
        value = info.default
    if value is None:
        return ""
    if isinstance(value, BaseModel):
        return json.dumps(value.model_dump(mode="json"))
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def example_env() -> str:
    """The text of config/example.env: every variable, commented, with its default."""
    lines = ["# ddb-backupd: every setting as an environment variable (generated from the",
             "# Settings model by `python -m daemon.config.reference`; a test keeps it in step).",
             "# Lists are JSON. A YAML file named by BACKUPD_CONFIG_FILE may hold the same keys;",
             "# the environment wins.", ""]
    for var in env_vars():
        lines.append(f"# {var.description} [{var.type}]" if var.description else f"# [{var.type}]")
        lines.append(f"#{var.name}={var.default}")
    return "\n".join(lines) + "\n"


def markdown_table() -> str:
    """docs/configuration.md's reference table: one row per variable."""
    rows = ["| variable | type | default | what it is for |", "|---|---|---|---|"]
    for var in env_vars():
        default = f"`{var.default}`" if var.default else ""
        text = var.description.replace("|", "\\|")
        rows.append(f"| `{var.name}` | {var.type} | {default} | {text} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    import sys

    print(markdown_table() if "--markdown" in sys.argv else example_env(), end="")  # noqa: T201
