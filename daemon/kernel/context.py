"""What every component is built from: passed down from the one composition root (app.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from daemon.aws.session import AwsClients
from daemon.config.settings import Settings
from daemon.core.clock import Clock
from daemon.core.events.tracker import JobTable
from daemon.kernel.bus import CompletionBus
from daemon.kernel.outbox import AlertOutbox
from daemon.kernel.status import StatusBoard
from daemon.kernel.supervisor import Component
from daemon.obs.metrics import Metrics


@dataclass
class AppContext:
    """Shared services. `leader_components` run only on the leader; `components` everywhere."""

    settings: Settings
    clock: Clock
    metrics: Metrics
    clients: AwsClients
    tracker: JobTable
    bus: CompletionBus
    board: StatusBoard
    alerts: AlertOutbox
    components: list[Component] = field(default_factory=list)
    leader_components: list[Component] = field(default_factory=list)
    # True while this replica leads (set by the leader gate): followers export no job gauges.
    is_leader: Callable[[], bool] = field(default=lambda: True)
