"""The kernel: the services of the process that every capability is wired from.

Built once by the composition root (`daemon.app`) and handed to each capability's `wire()`,
which gives every component it builds only the collaborators that component uses. What a
capability hands back (`Wired`) is what `app.py` runs: nothing is added to or replaced in
a component after it is built.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from daemon.aws.accounts import MemberSessions
from daemon.core.clock import Clock
from daemon.core.events.tracker import JobTable
from daemon.kernel.bus import CompletionBus
from daemon.kernel.datums import DatumSources
from daemon.kernel.outbox import AlertOutbox
from daemon.kernel.status import StatusBoard
from daemon.kernel.supervisor import Component
from daemon.obs.metrics import Metrics

OnAcquire = Callable[[], Awaitable[object]]


class Leadership:
    """Whether this replica leads now: written by the leader gate, read by whoever must know
    (a follower exports no job gauges, so a sum over replicas counts each job once)."""

    def __init__(self, leading: bool = False) -> None:
        self._leading = leading

    def is_leader(self) -> bool:
        return self._leading

    def set(self, leading: bool) -> None:
        self._leading = leading


@dataclass(frozen=True, slots=True)
class Kernel:
    """The process's shared services. `tracker` holds the backup jobs AWS runs now: the
    events capability writes it, the scheduler's admission control and /status read it.
    `datums` carries CloudWatch datums from any capability (scheduling's freshness and
    coverage) to the events capability's one batched PutMetricData, neither importing the
    other."""

    clock: Clock
    metrics: Metrics
    bus: CompletionBus
    board: StatusBoard
    alerts: AlertOutbox
    tracker: JobTable
    leadership: Leadership
    datums: DatumSources = field(default_factory=DatumSources)
    members: MemberSessions | None = None  # member accounts' roles, when an organization is set

    def is_leader(self) -> bool:
        return self.leadership.is_leader()


@dataclass(frozen=True, kw_only=True)
class Wired:
    """What one capability adds to the process: components that run while this replica
    leads, what a new leader does first, and the work to wait for after a stop."""

    leader: tuple[Component, ...] = ()
    on_acquire: OnAcquire | None = None
    settle: Callable[[], Awaitable[None]] | None = None
