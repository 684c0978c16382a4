"""Wiring of the high-availability capability: the leader gate around the leader components.

Always wired: with election off the gate simply runs the components (this replica leads).
The gate writes the kernel's `Leadership`, which whoever must know reads.
"""

from __future__ import annotations

from collections.abc import Sequence

from daemon.aws.session import AwsClients
from daemon.config.settings import Settings
from daemon.ha.gate import LeaderGate, resolve_identity
from daemon.ha.lease_table import LeaseTable
from daemon.kernel.kernel import Kernel, OnAcquire
from daemon.kernel.supervisor import Component


def wire(settings: Settings, aws: AwsClients, kernel: Kernel, work: Sequence[Component], *,
         on_acquire: OnAcquire | None) -> LeaderGate:
    """The gate that runs `work` while this replica leads, `on_acquire` first. The lease's
    times are the wall clock's, whichever clock the schedules run on."""
    cfg = settings.leader
    return LeaderGate(cfg, LeaseTable(aws.dynamodb, cfg.table, cfg.lease_name),
                      kernel.metrics.leader, kernel.board, work,
                      identity=resolve_identity(cfg.identity), leadership=kernel.leadership,
                      on_acquire=on_acquire)
