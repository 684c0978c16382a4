"""Turns state changes into messages: EventBridge events to the target, vault notifications to SNS.

Payloads are rendered at the moment of the change (under the store's lock) and only sent
later from the outbox, so an event always describes the state it announces.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from daemon.standin import events
from daemon.standin.models import BackupJob, RecoveryPoint, RestoreJob
from daemon.standin.moto_bridge import MotoBridge
from daemon.standin.store import EventTarget, Store, utcnow


class Emitter:
    """Posts the messages one state change produces into the store's outbox."""

    def __init__(self, store: Store, bridge: MotoBridge) -> None:
        self._store = store
        self._bridge = bridge

    def backup_changed(self, job: BackupJob, now: datetime) -> None:
        """`Backup Job State Change` plus the vault notification, if any (lock held)."""
        self.event(events.backup_job_event(job, now))
        wanted = self._wanted(job.region, job.vault_name)
        if wanted is not None:
            note = events.backup_notification(job, wanted[1])
            if note is not None:
                self._notify(wanted[0], *note)

    def restore_changed(self, job: RestoreJob, vault_name: str | None, now: datetime) -> None:
        """`Restore Job State Change` plus the vault notification, if any (lock held)."""
        self.event(events.restore_job_event(job, now))
        wanted = self._wanted(job.region, vault_name) if vault_name else None
        if wanted is not None:
            note = events.restore_notification(job, wanted[1])
            if note is not None:
                self._notify(wanted[0], *note)

    def recovery_point_changed(self, rp: RecoveryPoint, now: datetime) -> None:
        """`Recovery Point State Change` (lock held)."""
        self.event(events.recovery_point_event(rp, now))

    def event(self, event: dict[str, Any] | str) -> None:
        """Send one event body (dict or raw string) to the target, and to every rule matching
        its account, as EventBridge would."""
        st = self._store
        account = event.get("account") if isinstance(event, dict) else None
        targets = [rule.target for rule in st.rules if account in rule.accounts]
        if st.target is not None:
            targets.insert(0, st.target)
        body = event if isinstance(event, str) else json.dumps(event)
        for target in targets:
            st.post(self._sender(target, body))

    def _sender(self, target: EventTarget, body: str) -> Any:
        bridge, region = self._bridge, self._store.region
        if target.sns_wrapped:
            topic = target.topic_arn or f"arn:aws:sns:{region}:{bridge.home}:backup-events"
            body = events.sns_envelope(body, topic, utcnow())
        return lambda: bridge.send_to_queue(target.queue_url, body, region)

    def _wanted(self, region: str, vault: str) -> tuple[str, frozenset[str]] | None:
        return self._store.notifications.get((region, vault))

    def _notify(self, topic_arn: str, message: str, attributes: dict[str, str]) -> None:
        bridge = self._bridge
        self._store.post(lambda: bridge.publish(topic_arn, message, events.SUBJECT, attributes))

