"""What `/status` and `/readyz` report: each component registers a section and its health.

A section is computed at request time and validated through its model
(`daemon.kernel.status_model`), which also gives every time one format. A section that does
not fit its model, or whose provider raises, is left out and named in the document's
`errors` (and logged once): one bad section never takes the whole document down, and the
tests, which read `errors`, catch it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from pydantic import BaseModel, TypeAdapter, ValidationError

from daemon import __version__
from daemon.core.clock import Clock, SystemClock
from daemon.kernel.status_model import SECTIONS, ComponentHealth, StatusDocument

log = structlog.get_logger(__name__)
Provider = Callable[[], Mapping[str, Any] | BaseModel]


@dataclass(slots=True)
class Health:
    """Readiness of one component, with a short human reason when not ready."""

    ready: bool
    detail: str | None = None


@dataclass
class StatusBoard:
    """Sections of `/status` (read at request time) and the readiness of every component."""

    clock: Clock = field(default_factory=SystemClock)
    sections: dict[str, Provider] = field(default_factory=dict)
    health: dict[str, Health] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic, init=False)
    _logged: set[str] = field(default_factory=set, init=False, repr=False)

    def add(self, name: str, provider: Provider) -> None:
        """Register a `/status` section computed at request time (a model's field name)."""
        self.sections[name] = provider

    def set_health(self, component: str, ready: bool, detail: str | None = None) -> None:
        self.health[component] = Health(ready, detail)

    def ready(self) -> bool:
        return bool(self.health) and all(h.ready for h in self.health.values())

    def document(self) -> StatusDocument:
        """The `/status` document now: every section through its model."""
        parts: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for name, provider in self.sections.items():
            try:
                parts[name] = _section(name, provider())
            except Exception as exc:
                errors[name] = self._failed(name, exc)
        return StatusDocument(
            version=__version__, generated_at=self.clock.now(),
            uptime_seconds=round(time.monotonic() - self.started, 1), ready=self.ready(),
            components={name: ComponentHealth(ready=h.ready, detail=h.detail)
                        for name, h in self.health.items()},
            errors=errors, **parts)

    def snapshot(self) -> dict[str, Any]:
        """The document as JSON-ready data (what GET /status serves)."""
        return self.document().model_dump(mode="json")

    def _failed(self, name: str, exc: Exception) -> str:
        reason = _reason(exc)
        if name not in self._logged:  # once: the page asks every few seconds
            self._logged.add(name)
            log.error("status.section_failed", section=name, reason=reason)
        return reason


def _section(name: str, value: Mapping[str, Any] | BaseModel) -> Any:
    adapter = _adapter(name)
    if adapter is None:
        raise LookupError(f"{name!r} is not a section of the /status document "
                          "(daemon/kernel/status_model.py)")
    return adapter.validate_python(value)


@functools.cache
def _adapter(name: str) -> TypeAdapter[Any] | None:
    """The section's validator, built at the first `/status` that has it."""
    field = StatusDocument.model_fields.get(name)
    if name not in SECTIONS or field is None or field.annotation is None:
        return None
    return TypeAdapter(field.annotation)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or '-'}: {e['msg']}"
                         for e in exc.errors()[:3])
    return f"{type(exc).__name__}: {exc}"
