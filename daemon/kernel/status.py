"""What `/status` and `/readyz` report: each component registers a section and its health."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Provider = Callable[[], Mapping[str, Any]]


@dataclass(slots=True)
class Health:
    """Readiness of one component, with a short human reason when not ready."""

    ready: bool
    detail: str | None = None


@dataclass
class StatusBoard:
    """Sections of `/status` (read at request time) and the readiness of every component."""

    sections: dict[str, Provider] = field(default_factory=dict)
    health: dict[str, Health] = field(default_factory=dict)

    def add(self, name: str, provider: Provider) -> None:
        """Register a `/status` section computed at request time."""
        self.sections[name] = provider

    def set_health(self, component: str, ready: bool, detail: str | None = None) -> None:
        self.health[component] = Health(ready, detail)

    def ready(self) -> bool:
        return bool(self.health) and all(h.ready for h in self.health.values())

    def snapshot(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: dict(provider()) for name, provider in self.sections.items()}
        out["components"] = {name: {"ready": h.ready, "detail": h.detail}
                             for name, h in self.health.items()}
        return out
