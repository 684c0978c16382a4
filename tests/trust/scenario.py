"""A realistic run on the stand-in, shared by the fault, crash, replica and privilege tests.

Four tables backed up every minute (`rate(1 minute)`, keep the last 2), a wave of AWS Backup
jobs whose events reach SQS (some fail, some abort), a restore rotation and an export of
`orders-production`, alerts to SNS. `World` creates it and reads back the truth from AWS;
`check_*` functions say what a trustworthy daemon must have left behind. The least-privilege
run adds a backup plan, an RDS instance with a snapshot exported on a schedule
(`add_rds`), and restores by hand (tests/trust/on_demand.py).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from daemon.core.events.decode import OPEN_STATES

TABLES = ("orders-production", "customers-production", "audit-log", "carts")
SCHEDULE = "minutely"
KEEP_LAST = 2
SSM_PARAMETER = "/trust/orders-staging-arn"
BUCKET = "trust-exports"
VAULT = "ops"
SLOT0 = datetime(2026, 11, 24, 5, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/backupd-restore"
GIB = 2**30
HELD_SECONDS = 86400.0  # a held job: running until the test finishes it
PLAN = "trust-plan"
PLAN_VAULT = "trust-plan-vault"
RDS_DB = "billing"
RDS_RULE = "billing-parquet"
RDS_PREFIX = "rds"
RDS_ROLE = "arn:aws:iam::123456789012:role/backupd-rds-export"
RDS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# The wave: (table, final state) of the AWS Backup jobs the test starts.
WAVE = (("orders-production", "COMPLETED"), ("customers-production", "COMPLETED"),
        ("audit-log", "FAILED"), ("carts", "ABORTED"), ("customers-production", "COMPLETED"),
        ("carts", "COMPLETED"))


@dataclass
class World:
    """The resources of the run, and direct (un-proxied) clients to read the truth."""

    endpoint: str
    region: str = "us-east-1"
    queue_url: str = ""
    topic_arn: str = ""
    tables: dict[str, str] = field(default_factory=dict)  # name -> ARN
    rds_snapshot: str = ""  # ARN of the DB snapshot a scheduled export takes (`add_rds`)
    creds: tuple[str, str] = ("testing", "testing")  # an admin's, once IAM is enforced

    def client(self, service: str) -> Any:
        key, secret = self.creds
        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint,
                            aws_access_key_id=key, aws_secret_access_key=secret)

    def settings(self, endpoint: str | None = None, **overrides: Any) -> dict[str, Any]:
        """The daemon's settings for this run, as a dict (Settings(**it) or `env(it)`)."""
        base: dict[str, Any] = {
            "region": self.region, "queue_url": self.queue_url,
            "alert_topic_arn": self.topic_arn, "reconcile_seconds": 5,
            "shutdown_grace_seconds": 5,
            "queue": {"wait_seconds": 1, "visibility_timeout_seconds": 10},
            "http": {"host": "127.0.0.1", "port": 0},
            "cloudwatch": {"interval_seconds": 1},
            "aws": {"endpoint_url": endpoint or self.endpoint},
            "scheduler": {"tick_seconds": 0.5, "discovery_interval_seconds": 1,
                          "retention_interval_seconds": 1, "api_calls_per_second": 200,
                          "spread_seconds": 0},
            "schedules": [{"name": SCHEDULE, "expression": "rate(1 minute)",
                           "tables": list(TABLES), "retention": {"keep_last": KEEP_LAST}}],
            "restores": [{"name": "staging", "source_pattern": "^orders-production$",
                          "replacement": "orders-staging", "ssm_parameter": SSM_PARAMETER,
                          "keep_last": 1}],
            "exports": [{"name": "lake", "source_pattern": "^orders-production$",
                         "bucket": BUCKET, "prefix": "exports"}],
            "tasks": {"poll_initial_seconds": 0.1, "poll_max_seconds": 0.5,
                      "rescan_seconds": 5, "restore_role_arn": ROLE},
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                base[key] = {**base[key], **value}
            else:
                base[key] = value
        return base

    def backup_plan(self) -> dict[str, Any]:
        """A backup plan kept as code: a vault made and locked, a rule, a selection of the
        tables (the least-privilege run adds it; the others leave plans out)."""
        return {"name": PLAN,
                "vault": {"name": PLAN_VAULT, "create": True,
                          "lock": {"min_retention_days": 1, "max_retention_days": 35}},
                "rules": [{"name": "nightly", "expression": "cron(0 3 ? * * *)",
                           "lifecycle": {"delete_after_days": 35}}],
                "selections": [{"name": "tables", "iam_role_arn": ROLE,
                                "resources": sorted(self.tables.values())}]}

    def rds_export(self) -> dict[str, Any]:
        """An RDS export on a schedule (every minute): the newest snapshot of the instance,
        as Parquet, with the role RDS assumes and the export's key (`add_rds` made them)."""
        return {"name": RDS_RULE, "kind": "rds", "source_pattern": f"^{RDS_DB}$",
                "on_backup": False, "schedule": "rate(1 minute)", "bucket": BUCKET,
                "prefix": RDS_PREFIX, "iam_role_arn": RDS_ROLE, "kms_key_id": RDS_KEY}

    # -- the truth, read from AWS ---------------------------------------------------------
    def rds_exported(self) -> bool:
        """RDS has an export task of the snapshot into the bucket, and the daemon's marker of
        it says it succeeded (the task was polled to its end)."""
        tasks = self.client("rds").describe_export_tasks()["ExportTasks"]
        if not any(t["SourceArn"] == self.rds_snapshot and t["S3Bucket"] == BUCKET
                   for t in tasks):
            return False
        s3 = self.client("s3")
        done = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{RDS_PREFIX}/_backupd/{RDS_RULE}/done/")
        markers = [json.loads(s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read())
                   for o in done.get("Contents", [])]
        return any(m["state"] == "succeeded" and m["plan"]["source"] == self.rds_snapshot
                   for m in markers)

    def plan_made(self) -> bool:
        """The plan, its selection and its locked vault exist, all marked as the daemon's."""
        backup = self.client("backup")
        plans = [p for p in backup.list_backup_plans()["BackupPlansList"]
                 if p["BackupPlanName"] == PLAN]
        if len(plans) != 1:
            return False
        tags = backup.list_tags(ResourceArn=plans[0]["BackupPlanArn"])["Tags"]
        selections = backup.list_backup_selections(
            BackupPlanId=plans[0]["BackupPlanId"])["BackupSelectionsList"]
        try:
            vault = backup.describe_backup_vault(BackupVaultName=PLAN_VAULT)
        except backup.exceptions.ResourceNotFoundException:
            return False
        return (tags.get("backupd:managed-by") == "ddb-backupd" and vault.get("Locked") is True
                and [s["SelectionName"] for s in selections] == ["backupd-tables"])

    def backups(self) -> list[dict[str, Any]]:
        ddb, out, kwargs = self.client("dynamodb"), [], {"BackupType": "USER"}
        while True:
            page = ddb.list_backups(**kwargs)
            out += page["BackupSummaries"]
            if "LastEvaluatedBackupArn" not in page:
                return out
            kwargs["ExclusiveStartBackupArn"] = page["LastEvaluatedBackupArn"]

    def slots(self) -> Counter[tuple[str, str]]:
        """(table, backup name) -> how many backups carry it (>1 is a doubled slot)."""
        prefix = f"backupd-{SCHEDULE}-"
        return Counter((b["TableName"], b["BackupName"]) for b in self.backups()
                       if b["BackupName"].startswith(prefix))

    def queue_depth(self) -> int:
        attrs = self.client("sqs").get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
        return sum(int(v) for v in attrs["Attributes"].values())

    def ssm_target(self) -> str | None:
        ssm = self.client("ssm")
        try:
            return str(ssm.get_parameter(Name=SSM_PARAMETER)["Parameter"]["Value"])
        except ssm.exceptions.ParameterNotFound:
            return None

    def exported(self) -> list[str]:
        """Keys of exported data (not the daemon's own `_backupd/` markers)."""
        listed = self.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="exports/")
        return [o["Key"] for o in listed.get("Contents", [])
                if not o["Key"].startswith("exports/_backupd/")]


def build_world(standin: Any, make_table: Any, make_queue: Any, make_topic: Any,
                make_vault: Any) -> World:
    """Create the run's resources on a fresh stand-in."""
    from daemon.standin.pitr_clock import install  # noqa: PLC0415 - stand-in only

    install()
    world = World(endpoint=standin.endpoint_url, region=standin.region)
    for name in TABLES:
        ref = make_table(name, items=[{"pk": f"{name}-{i}"} for i in range(5)],
                         pitr=name == "orders-production", size_bytes=GIB)
        world.tables[name] = ref.arn
    world.queue_url = make_queue("trust-events", dlq=True)
    world.topic_arn = make_topic("trust-alerts")
    make_vault(VAULT)
    world.client("s3").create_bucket(Bucket=BUCKET)
    standin.backup.set_event_target(world.queue_url)
    return world


def add_rds(world: World) -> None:
    """A PostgreSQL instance (`RDS_DB`) with one available snapshot, for `World.rds_export`."""
    rds = world.client("rds")
    rds.create_db_instance(DBInstanceIdentifier=RDS_DB, DBInstanceClass="db.t3.micro",
                           Engine="postgres", MasterUsername="billing",
                           MasterUserPassword="not-a-secret-1", AllocatedStorage=20)
    world.rds_snapshot = rds.create_db_snapshot(
        DBInstanceIdentifier=RDS_DB, DBSnapshotIdentifier=f"{RDS_DB}-nightly")[
        "DBSnapshot"]["DBSnapshotArn"]


def start_wave(fake: Any, world: World, *, duration: float = 1.0,
               held: Collection[int] = ()) -> list[str]:
    """Start the wave of AWS Backup jobs; returns their ids. The jobs at the `held` indexes
    of WAVE stay RUNNING until the test ends them (`fake.finish`)."""
    return [fake.inject_job(world.tables[table], VAULT, final_state=state, size_bytes=GIB,
                            duration=HELD_SECONDS if i in held else duration + i * 0.2).job_id
            for i, (table, state) in enumerate(WAVE)]


def slot_names(count: int) -> list[str]:
    return [f"backupd-{SCHEDULE}-{SLOT0 + timedelta(minutes=m):%Y%m%d%H%M}"
            for m in range(count)]


# -- what must hold at the end ----------------------------------------------------------
def check_one_backup_per_slot(world: World) -> list[str]:
    return [f"{table} {name}: {n} backups" for (table, name), n in world.slots().items()
            if n != 1]


def check_retention(world: World, slots_run: int) -> list[str]:
    """Exactly the newest KEEP_LAST slots remain for every table: nothing kept was deleted,
    nothing expired was left."""
    kept = set(slot_names(slots_run)[-KEEP_LAST:])
    have: dict[str, set[str]] = {t: set() for t in TABLES}
    for table, name in world.slots():
        have[table].add(name)
    return [f"{t}: has {sorted(have[t])}, policy keeps {sorted(kept)}"
            for t in TABLES if have[t] != kept]


def check_retention_of_seen(world: World, seen: Mapping[str, set[str]], last_slot: str,
                            ) -> list[str]:
    """When slots may legitimately be missed (the daemon was down for all of one), the
    policy's backups are the newest KEEP_LAST of those that ever existed (`seen`, polled
    during the run), and the last slot must be among them (its catch-up run)."""
    have: dict[str, set[str]] = {t: set() for t in TABLES}
    for table, name in world.slots():
        have[table].add(name)
    problems = []
    for table in TABLES:
        kept = set(sorted(seen.get(table, set()) | have[table])[-KEEP_LAST:])
        if have[table] != kept or last_slot not in have[table]:
            problems.append(f"{table}: has {sorted(have[table])}, policy keeps {sorted(kept)}"
                            f" and the last slot {last_slot}")
    return problems


def check_jobs_final(fake: Any, final_state: Mapping[str, str | None]) -> list[str]:
    """Every job the wave started is final in AWS and in the daemon's tracker, the same."""
    problems = []
    for job in fake.jobs():
        if job.state in OPEN_STATES:
            problems.append(f"{job.job_id}: still {job.state} in AWS")
        elif job.job_id in final_state and final_state[job.job_id] != job.state:
            problems.append(f"{job.job_id}: {job.state} in AWS, "
                            f"{final_state[job.job_id]} in the tracker")
    return problems


def env(settings: Mapping[str, Any]) -> dict[str, str]:
    """Settings as BACKUPD_* environment variables (lists as JSON, sections with `__`)."""
    out: dict[str, str] = {}
    for key, value in settings.items():
        name = f"BACKUPD_{key.upper()}"
        if isinstance(value, dict):
            for sub, inner in value.items():
                out[f"{name}__{sub.upper()}"] = _text(inner)
        elif value is not None:
            out[name] = _text(value)
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)
