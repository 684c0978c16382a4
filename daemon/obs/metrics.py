"""The one metrics facade: intention-named methods; components never touch Prometheus objects.

Each feature keeps its group of metrics in its own module (`metrics_*.py`); this root owns
the registry and composes the groups. Tests pass their own CollectorRegistry and read values
back with `registry.get_sample_value`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from daemon.obs.metrics_freshness import FreshnessMetrics
from daemon.obs.metrics_leader import LeaderMetrics
from daemon.obs.metrics_plans import PlanMetrics
from daemon.obs.metrics_runtime import register_runtime
from daemon.obs.metrics_scheduler import SchedulerMetrics
from daemon.obs.metrics_tasks import TaskMetrics

AWS_OUTCOMES = ("ok", "throttled", "client_error", "server_error", "network_error")
EVENT_KINDS = ("backup_job", "restore_job", "copy_job", "recovery_point", "ignored", "unknown")
EVENT_OUTCOMES = ("handled", "ignored", "poison", "retry")
SEVERITIES = ("info", "warning", "critical")
DROP_REASONS = ("overflow", "refused")
FINISHED_STATES = ("COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL")
COMMON_RESOURCE_TYPES = ("DynamoDB", "RDS", "Aurora")
# Few buckets: enough to tell fast calls from slow ones and from retried or long-polled ones.
AWS_CALL_BUCKETS = (0.05, 0.25, 1.0, 5.0, 30.0)


class AwsMetrics:
    """AWS API calls by service, operation and outcome; their retries and their duration."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._calls = Counter("backupd_aws_api_calls", "AWS API calls made, by outcome.",
                              ["service", "operation", "outcome"], registry=registry)
        self._retries = Counter("backupd_aws_api_retries",
                                "Retries botocore made inside AWS API calls (throttles and "
                                "transient errors it absorbed; RetryAttempts of each answer).",
                                ["service", "operation"], registry=registry)
        self._duration = Histogram("backupd_aws_api_call_duration_seconds",
                                   "Duration of AWS API calls, retries included (SQS's "
                                   "ReceiveMessage long-polls for up to 20 s).",
                                   ["service"], buckets=AWS_CALL_BUCKETS, registry=registry)
        self._member = Gauge("backupd_account_session_up",
                             "1 while the role of a member account can be assumed "
                             "(organization.role_arn_template), 0 while it cannot.",
                             ["account"], registry=registry)

    def member_session(self, account: str, up: bool) -> None:
        self._member.labels(account).set(1 if up else 0)

    def call(self, service: str, operation: str, outcome: str) -> None:
        self._calls.labels(service, operation, outcome).inc()

    def retried(self, service: str, operation: str, attempts: int) -> None:
        if attempts > 0:
            self._retries.labels(service, operation).inc(attempts)

    def took(self, service: str, seconds: float) -> None:
        self._duration.labels(service).observe(seconds)


class EventMetrics:
    """The SQS consumer, the decoder, the tracker's finished jobs, reconciles."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._events = Counter("backupd_events", "SQS messages by decoded kind and outcome.",
                               ["kind", "outcome"], registry=registry)
        for kind in EVENT_KINDS:
            for outcome in EVENT_OUTCOMES:
                self._events.labels(kind, outcome)
        self._finished = Counter("backupd_backup_jobs_finished",
                                 "Backup jobs that reached a final state.",
                                 ["state", "resource_type"], registry=registry)
        for state in FINISHED_STATES:  # from 0, so increase() sees the first failure
            for resource_type in COMMON_RESOURCE_TYPES:
                self._finished.labels(state, resource_type)
        self._reconciles = Counter("backupd_reconciles", "Reconcile passes against ListBackupJobs.",
                                   ["outcome"], registry=registry)
        self._repaired = Counter("backupd_reconcile_repairs",
                                 "Tracker entries a reconcile added, closed or corrected.",
                                 registry=registry)
        self._last_reconcile = Gauge("backupd_last_reconcile_timestamp_seconds",
                                     "Unix time of the last successful reconcile.",
                                     registry=registry)
        self._consumer_up = Gauge("backupd_consumer_up",
                                  "1 while the SQS consumer polls without error (or is "
                                  "disabled: no queue configured).",
                                  registry=registry)
        self._in_flight = Gauge("backupd_messages_in_flight", "SQS messages being handled now.",
                                registry=registry)
        self._cw_batches = Counter("backupd_cloudwatch_batches", "PutMetricData batches sent.",
                                   ["outcome"], registry=registry)
        for outcome in ("ok", "error"):
            self._reconciles.labels(outcome)
            self._cw_batches.labels(outcome)

    def message(self, kind: str, outcome: str) -> None:
        self._events.labels(kind, outcome).inc()

    def job_finished(self, state: str, resource_type: str) -> None:
        self._finished.labels(state, resource_type).inc()

    def reconciled(self, ok: bool, repairs: int, at_unix: float) -> None:
        self._reconciles.labels("ok" if ok else "error").inc()
        if ok:
            self._repaired.inc(repairs)
            self._last_reconcile.set(at_unix)

    def consumer_up(self, up: bool) -> None:
        self._consumer_up.set(1 if up else 0)

    def in_flight(self, count: int) -> None:
        self._in_flight.set(count)

    def cloudwatch_batch(self, ok: bool) -> None:
        self._cw_batches.labels("ok" if ok else "error").inc()


class AlertMetrics:
    """Alerts published to SNS, by severity; those that never will be, by reason."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._published = Counter("backupd_alerts_published", "Alerts published to SNS.",
                                  ["severity"], registry=registry)
        self._failed = Counter("backupd_alerts_failed", "Alerts SNS did not accept (retried).",
                               ["severity"], registry=registry)
        self._dropped = Counter("backupd_alerts_dropped",
                                "Alerts dropped: the outbox was full (overflow), or SNS refused "
                                "them for good (refused).", ["reason"], registry=registry)
        for severity in SEVERITIES:
            self._published.labels(severity)
            self._failed.labels(severity)
        for reason in DROP_REASONS:
            self._dropped.labels(reason)

    def published(self, severity: str) -> None:
        self._published.labels(severity).inc()

    def failed(self, severity: str) -> None:
        self._failed.labels(severity).inc()

    def dropped(self, reason: str) -> None:
        self._dropped.labels(reason).inc()


class Metrics:
    """Root of the facade: owns the registry and every group of metrics."""

    def __init__(self, registry: CollectorRegistry | None = None, *, revision: str = "") -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        register_runtime(self.registry, revision)
        self.aws = AwsMetrics(self.registry)
        self.events = EventMetrics(self.registry)
        self.alerts = AlertMetrics(self.registry)
        self.scheduler = SchedulerMetrics(self.registry)
        self.freshness = FreshnessMetrics(self.registry)
        self.tasks = TaskMetrics(self.registry)
        self.leader = LeaderMetrics(self.registry)
        self.plans = PlanMetrics(self.registry)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
