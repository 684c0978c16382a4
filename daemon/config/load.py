"""Loading the Settings tree and reporting every error in it, field by field, without a traceback."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from daemon.config.settings import CONFIG_FILE_ENV, ENV_PREFIX, Settings

SECRET_HINTS = ("secret", "token", "password", "access_key")


class ConfigError(Exception):
    """The configuration is invalid; `errors` holds one readable line per problem."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment (and the YAML file it names); raise ConfigError.

    pydantic-settings reads `os.environ` itself; `env` (default: `os.environ`) is what the
    misspelling check reads and what the error lines quote as the source of a value.
    """
    env = os.environ if env is None else env
    _check_file(env.get(CONFIG_FILE_ENV))
    unknown = unknown_env_vars(env)
    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigError([*unknown, *(_line(err, env) for err in exc.errors())]) from None
    except SettingsError as exc:
        raise ConfigError([*unknown, _settings_error(exc)]) from None
    if unknown:
        raise ConfigError(unknown)
    return settings


def unknown_env_vars(env: Mapping[str, str]) -> list[str]:
    """Top-level BACKUPD_* variables that set nothing (a typo would be silently ignored).

    Unknown keys inside a section (BACKUPD_QUEUE__TYPO) are reported by validation itself.
    """
    fields = Settings.model_fields
    errors = []
    for key in sorted(env):
        upper = key.upper()
        if not upper.startswith(ENV_PREFIX) or upper == CONFIG_FILE_ENV:
            continue
        top = upper[len(ENV_PREFIX):].split("__")[0].lower()
        if top not in fields:
            errors.append(f"{key}: unknown setting (no field {top!r}; check the spelling)")
    return errors


def _check_file(path: str | None) -> None:
    """Name the file and the problem when the YAML file cannot be used at all."""
    if not path:
        return
    import yaml  # noqa: PLC0415 - only with a config file: an env-only start does not pay for it

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{CONFIG_FILE_ENV}={path}: cannot read the file ({exc.strerror})"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{CONFIG_FILE_ENV}={path}: not valid YAML ({exc})"]) from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError([f"{CONFIG_FILE_ENV}={path}: the top level must be a mapping of settings"])


def env_var(loc: Sequence[str | int]) -> str:
    """The environment variable that sets a field: nested sections join with `__`."""
    names: list[str] = []
    for part in loc:
        if isinstance(part, int):
            break  # list items are set through their list's variable (JSON)
        names.append(str(part).upper())
    return ENV_PREFIX + "__".join(names)


def field_path(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        text = str(part) if str(part).isprintable() else repr(str(part))  # one line per error
        out += f"[{part}]" if isinstance(part, int) else (f".{text}" if out else text)
    return out


def _line(err: Mapping[str, Any], env: Mapping[str, str]) -> str:
    loc = tuple(err.get("loc", ()))
    path = field_path(loc) or "(settings)"
    var = env_var(loc)
    source = f"env {var}" if _env_has(env, var) else f"env {var} or config file key {path}"
    msg = str(err.get("msg", "invalid"))
    if err.get("type") == "extra_forbidden":
        msg = "unknown setting (check the spelling)"
    shown = "" if _is_secret(path) or err.get("type") == "missing" else _shown(err.get("input"))
    return f"{path}: {msg} ({source}{shown})"


def _env_has(env: Mapping[str, str], var: str) -> bool:
    return any(key.upper() == var for key in env)


def _is_secret(path: str) -> bool:
    return any(hint in path.lower() for hint in SECRET_HINTS)


def _shown(value: object) -> str:
    if isinstance(value, dict | list) or value is None:
        return ""
    text = repr(value)
    return f", got {text[:60]}{'...' if len(text) > 60 else ''}"


def _settings_error(exc: SettingsError) -> str:
    """pydantic-settings fails before validation when a complex value is not JSON."""
    text = str(exc)
    field = text.split('"')[1] if text.count('"') >= 2 else "?"
    return (f"{field}: value is not valid JSON (env {ENV_PREFIX}{field.upper()}); "
            "lists and sections set through the environment are JSON")
