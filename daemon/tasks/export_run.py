"""One export, start to finish: marker -> PITR check -> start -> poll -> delete source -> done.

A restarted daemon resumes an export from its open marker: a marker still `starting` may or
may not have reached AWS, so the export is looked up (ListExports / DescribeExportTasks)
before it is started again; a `running` one is polled. The source recovery point is deleted
only after AWS says COMPLETED, never on failure: its own retention stays the failsafe.
"""

from __future__ import annotations

from daemon.config.tasks import ExportRule
from daemon.core.errors import PermanentError
from daemon.core.tasks.exports import (
    SUCCEEDED,
    TERMINAL,
    ExportPlan,
    check_export_time,
    incremental_window,
    rds_task_identifier,
)
from daemon.core.tasks.scope import Origin, in_scope
from daemon.tasks.export_aws import ExportAws
from daemon.tasks.export_markers import Marker, MarkerStore
from daemon.tasks.runner import State, Task, TaskRunner

PITR_WAIT_SECONDS = 3600.0  # AWS keeps LatestRestorableDateTime about 5 minutes behind now


class ExportRun:
    """The body of one export task."""

    def __init__(self, runner: TaskRunner, aws: ExportAws, markers: MarkerStore, *,
                 rule: ExportRule, plan: ExportPlan, timeout_seconds: float) -> None:
        self._runner, self._aws, self._markers = runner, aws, markers
        self._timeout_seconds = timeout_seconds
        self._rule, self._plan = rule, plan
        self._task: Task | None = None
        self._status: tuple[str, str | None] = ("", None)

    async def __call__(self, task: Task) -> State:
        self._task = task
        self._phase("starting", bucket=self._rule.bucket, prefix=self._plan.key_prefix)
        marker = await self._markers.get(self._rule, self._plan.token)
        if marker is not None and marker.finished:
            self._phase("skipped", detail=f"already exported ({marker.state})")
            return "skipped"
        if marker is None or marker.state == "starting":
            marker = await self._start(marker)
            if marker is None:
                return "skipped"
        self._phase("exporting", export_id=marker.export_id)
        await self._runner.poll(lambda: self._ended(marker), what=f"export {marker.export_id}",
                                within=self._timeout_seconds)
        return await self._conclude(marker)

    def _phase(self, phase: str, **facts: object) -> None:
        assert self._task is not None
        self._runner.set_phase(self._task, phase, **facts)

    async def _start(self, marker: Marker | None) -> Marker | None:
        """Write the marker, then start the export unless AWS already has it."""
        plan, rule = self._plan, self._rule
        if plan.kind == "rds":
            marker = marker or Marker(plan, export_id=rds_task_identifier(plan.rule, plan.token))
            await self._markers.save(rule, marker)
            assert marker.export_id is not None
            if await self._aws.rds_status(marker.export_id) is None:
                await self._aws.start_rds(plan, rule)
        else:
            resumed = marker is not None
            marker = marker or await self._new_dynamodb_marker()
            if marker is None:
                return None
            await self._markers.save(rule, marker)
            found = await self._aws.find_dynamodb(plan, rule) if resumed else None
            marker.export_id = found or await self._aws.start_dynamodb(plan, rule, marker.window)
        marker.state = "running"
        await self._markers.save(rule, marker)
        return marker

    async def _new_dynamodb_marker(self) -> Marker | None:
        """Check PITR (waiting for it to reach the export time); None: nothing to export yet."""
        plan, rule = self._plan, self._rule
        self._phase("checking_pitr")
        if rule.export_type == "full":

            async def caught_up() -> bool:
                pitr = await self._aws.pitr(plan.name)
                return check_export_time(plan.name, plan.at, pitr) == "ok"

            await self._runner.poll(caught_up, within=PITR_WAIT_SECONDS,
                                    what=f"PITR of table {plan.name} to reach {plan.at}")
            return Marker(plan)
        previous = await self._markers.last_end(rule, plan.name)
        window = incremental_window(plan.name, previous, plan.at, await self._aws.pitr(plan.name),
                                    rule.incremental_window_seconds)
        if window is None:
            self._phase("skipped", detail="less than 15 minutes since the previous export")
            return None
        return Marker(plan, window=window)

    async def _ended(self, marker: Marker) -> bool:
        assert marker.export_id is not None
        if self._plan.kind == "dynamodb":
            self._status = await self._aws.dynamodb_status(marker.export_id)
        else:
            found = await self._aws.rds_status(marker.export_id)
            if found is None:
                raise PermanentError(f"RDS export task {marker.export_id} has disappeared")
            self._status = found
        return self._status[0] in TERMINAL

    async def _conclude(self, marker: Marker) -> State:
        """Record the outcome; delete the source only after a COMPLETED export."""
        plan, rule = self._plan, self._rule
        status, reason = self._status
        if status not in SUCCEEDED:
            marker.state, marker.error = "failed", f"{status}: {reason or 'no reason given'}"
            await self._markers.save(rule, marker)
            kept = f"; source {plan.source} kept" if plan.source else ""
            raise PermanentError(f"export of {plan.name} ended {marker.error}{kept}")
        if (rule.delete_source_on_success and plan.source and plan.vault is not None
                and in_scope(rule.vaults, rule.accounts,
                             Origin.of(plan.vault, None, plan.resource_arn))):
            # only a recovery point in one of the rule's vaults (config requires them), never
            # a snapshot a schedule found by listing, nor one a marker of another config names
            self._phase("deleting_source", source=plan.source)
            await self._aws.delete_source(plan.source, plan.vault)
            marker.source_deleted = True
        if marker.window is not None:
            await self._markers.set_last_end(rule, plan.name, marker.window[1])
        marker.state = "succeeded"
        await self._markers.save(rule, marker)
        return "succeeded"
