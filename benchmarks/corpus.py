"""Realistic SQS message bodies: what a queue fed by AWS Backup receives during a backup wave.

Each job goes through its states as AWS Backup reports them (backup: CREATED, PENDING,
RUNNING, then COMPLETED/FAILED/ABORTED/EXPIRED/PARTIAL, ABORTING before ABORTED, a
Recovery Point State Change after a completion; restores and copies likewise). A job's
events arrive the way its queue is fed: raw EventBridge events, the same inside an SNS
envelope, or AWS Backup vault notifications (plain text plus message attributes). Jobs
overlap in time, deliveries are slightly out of order and 2 % are duplicated, as SQS
standard queues deliver. The shapes follow the AWS Backup developer guide's examples and
`daemon/standin/events.py`. Deterministic for a given seed.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
START = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
VAULTS = ("Default", "daily-vault", "weekly-vault", "compliance-vault")
TERMINAL_WEIGHTS = (("COMPLETED", 80), ("FAILED", 6), ("ABORTED", 4), ("EXPIRED", 4),
                    ("PARTIAL", 6))
KIND_WEIGHTS = (("backup", 80), ("restore", 10), ("copy", 10))
DELIVERY_WEIGHTS = (("eventbridge", 45), ("sns", 40), ("notification", 15))
NOTIFY = {"RUNNING": "An AWS Backup job was started.",
          "COMPLETED": "An AWS Backup job was completed successfully.",
          "FAILED": "An AWS Backup job failed.", "ABORTED": "An AWS Backup job was aborted.",
          "EXPIRED": "An AWS Backup job failed to complete in time.",
          "PARTIAL": "An AWS Backup job was completed with some failures."}


def iso_ms(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_s(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class Corpus:
    """Builds the bodies of `jobs` overlapping jobs (seeded, so every run sees the same)."""

    def __init__(self, seed: int = 8) -> None:
        self.rng = random.Random(seed)

    def bodies(self, jobs: int) -> list[str]:
        """Every message body of `jobs` jobs, in (roughly) the order SQS would deliver them."""
        timed: list[tuple[float, str]] = []
        for _ in range(jobs):
            timed.extend(self._job())
        timed.sort(key=lambda item: item[0] + self.rng.uniform(0, 2))  # a little disorder
        out = [body for _, body in timed]
        for i in self.rng.sample(range(len(out)), len(out) // 50):  # at-least-once delivery
            out.append(out[i])
        return out

    def running(self, jobs: int) -> Iterator[str]:
        """Bodies of `jobs` distinct open backup jobs, each RUNNING with its table's size."""
        for i in range(jobs):
            table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/tenant-{i:06d}-orders"
            yield json.dumps(self._backup_event(self._uuid(), "RUNNING", table, VAULTS[i % 4],
                                                START + timedelta(seconds=i), size=None))

    # -- one job ---------------------------------------------------------------------------
    def _job(self) -> list[tuple[float, str]]:
        kind = self._pick(KIND_WEIGHTS)
        delivery = self._pick(DELIVERY_WEIGHTS)
        if kind != "backup" and delivery == "notification":
            delivery = "sns"  # vault notifications are modelled for backup jobs only
        t0 = self.rng.uniform(0, 3600)
        steps = {"backup": self._backup_steps, "restore": self._restore_steps,
                 "copy": self._copy_steps}[kind](t0)
        return [(t, self._deliver(event, delivery)) for t, event in steps]

    def _deliver(self, event: dict[str, Any], delivery: str) -> str:
        body = json.dumps(event)
        if delivery == "eventbridge":
            return body
        time = event["time"] if "time" in event else iso_s(START)
        if delivery == "sns" or event["detail-type"] != "Backup Job State Change":
            return sns_envelope(body, time, self._uuid())
        detail = event["detail"]
        text = NOTIFY.get(detail["state"])
        if text is None:
            return sns_envelope(body, time, self._uuid())
        text += f" Resource ARN : {detail['resourceArn']}. BackupJob ID : {detail['backupJobId']}"
        attributes = {"EventType": "BACKUP_JOB", "State": detail["state"], "AccountId": ACCOUNT,
                      "Id": detail["backupJobId"], "StartTime": detail["creationDate"]}
        return sns_envelope(text, time, self._uuid(), subject="Notification from AWS Backup",
                            attributes=attributes)

    def _backup_steps(self, t0: float) -> list[tuple[float, dict[str, Any]]]:
        job_id, table, vault = self._uuid(), self._table(), self.rng.choice(VAULTS)
        end = self._pick(TERMINAL_WEIGHTS)
        states = ["CREATED", "PENDING", "RUNNING"] if self.rng.random() < 0.3 else [
            "CREATED", "RUNNING"]
        states += ["ABORTING", end] if end == "ABORTED" else [end]
        size = self.rng.randrange(2**20, 2**40)
        out = []
        for i, state in enumerate(states):
            t = t0 + 60 * i
            out.append((t, self._backup_event(job_id, state, table, vault, START + timedelta(
                seconds=t), size=size if state in ("COMPLETED", "PARTIAL") else None)))
        if end == "COMPLETED":
            out.append((t0 + 60 * len(states), self._recovery_point(table, vault, t0)))
        return out

    def _backup_event(self, job_id: str, state: str, table: str, vault: str, at: datetime,
                      size: int | None) -> dict[str, Any]:
        created = START if at < START + timedelta(minutes=2) else at - timedelta(minutes=2)
        detail: dict[str, Any] = {"backupJobId": job_id, "state": state,
                                  "creationDate": iso_ms(created)}
        if state != "CREATED":
            detail |= {
                "backupVaultArn": self._vault_arn(vault), "backupVaultName": vault,
                "iamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole",
                "resourceArn": table, "resourceType": "DynamoDB",
                "startBy": iso_ms(created + timedelta(hours=8)),
                "percentDone": "100.0" if state == "COMPLETED" else "0.0"}
        if size is not None:
            detail |= {"backupSizeInBytes": str(size), "bytesTransferred": str(size),
                       "completionDate": iso_ms(at)}
        if state in ("FAILED", "ABORTED", "EXPIRED", "PARTIAL"):
            detail["statusMessage"] = f"Backup job {state.lower()}: see the AWS Backup console"
        return self._event("Backup Job State Change", at, [table], detail)

    def _recovery_point(self, table: str, vault: str, t0: float) -> dict[str, Any]:
        arn = f"arn:aws:backup:{REGION}:{ACCOUNT}:recovery-point:{self._uuid()}"
        at = START + timedelta(seconds=t0 + 200)
        return self._event("Recovery Point State Change", at, [arn], {
            "backupVaultArn": self._vault_arn(vault), "backupVaultName": vault,
            "creationDate": iso_ms(at), "resourceArn": table, "resourceType": "DynamoDB",
            "status": "COMPLETED", "recoveryPointArn": arn})

    def _restore_steps(self, t0: float) -> list[tuple[float, dict[str, Any]]]:
        job_id, point = self._uuid(), f"arn:aws:backup:{REGION}:{ACCOUNT}:recovery-point:{self._uuid()}"
        end = self.rng.choice(("COMPLETED", "COMPLETED", "COMPLETED", "FAILED", "ABORTED"))
        out = []
        for i, status in enumerate(("CREATED", "RUNNING", end)):
            at = START + timedelta(seconds=t0 + 90 * i)
            detail: dict[str, Any] = {
                "restoreJobId": job_id, ("state" if status == "CREATED" else "status"): status,
                "backupSizeInBytes": str(self.rng.randrange(2**20, 2**36)),
                "creationDate": iso_ms(START + timedelta(seconds=t0)), "resourceType": "DynamoDB",
                "recoveryPointArn": point, "sourceResourceArn": self._table(),
                "backupVaultArn": self._vault_arn(self.rng.choice(VAULTS)),
                "iamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole",
                "percentDone": 100.0 if status == "COMPLETED" else 0.0}
            if status == "COMPLETED":
                detail["createdResourceArn"] = f"{self._table()}-restored"
            out.append((t0 + 90 * i, self._event("Restore Job State Change", at, [point], detail)))
        return out

    def _copy_steps(self, t0: float) -> list[tuple[float, dict[str, Any]]]:
        job_id, table = self._uuid(), self._table()
        end = self.rng.choice(("COMPLETED", "COMPLETED", "COMPLETED", "FAILED", "PARTIAL"))
        out = []
        for i, state in enumerate(("CREATED", "RUNNING", end)):
            at = START + timedelta(seconds=t0 + 120 * i)
            detail: dict[str, Any] = {
                "state": state, "resourceArn": table, "resourceType": "DynamoDB",
                "sourceBackupVaultArn": self._vault_arn("Default"),
                "destinationBackupVaultArn": f"arn:aws:backup:us-west-2:{ACCOUNT}:backup-vault:dr",
                "destinationRecoveryPointArn": {},
                "creationDate": iso_ms(START + timedelta(seconds=t0))}
            if state != "CREATED":  # AWS sends no copyJobId with CREATED
                detail["copyJobId"] = job_id
            if state == "COMPLETED":
                detail["destinationRecoveryPointArn"] = (
                    f"arn:aws:backup:us-west-2:{ACCOUNT}:recovery-point:{self._uuid()}")
                detail["backupSizeInBytes"] = str(self.rng.randrange(2**20, 2**36))
            out.append((t0 + 120 * i, self._event("Copy Job State Change", at, [table], detail)))
        return out

    # -- small parts -----------------------------------------------------------------------
    def _pick(self, weights: tuple[tuple[str, int], ...]) -> str:
        names, w = zip(*weights, strict=True)
        return str(self.rng.choices(names, weights=w)[0])

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4)).upper()

    def _table(self) -> str:
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/tenant-{self.rng.randrange(5000):04d}-orders"

    def _event(self, detail_type: str, at: datetime, resources: list[str],
               detail: dict[str, Any]) -> dict[str, Any]:
        return {"version": "0", "id": self._uuid().lower(), "detail-type": detail_type,
                "source": "aws.backup", "account": ACCOUNT, "time": iso_s(at), "region": REGION,
                "resources": resources, "detail": detail}

    @staticmethod
    def _vault_arn(vault: str) -> str:
        return f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:{vault}"


def sns_envelope(message: str, time: str, message_id: str, *, subject: str | None = None,
                 attributes: dict[str, str] | None = None) -> str:
    """The SNS envelope SQS receives from a topic subscription (raw delivery off)."""
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:backup-events"
    body: dict[str, Any] = {
        "Type": "Notification", "MessageId": message_id, "TopicArn": topic, "Message": message,
        "Timestamp": time.replace("Z", ".000Z") if "." not in time else time,
        "SignatureVersion": "1", "Signature": "RkFLRQ==" * 43,
        "SigningCertURL": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-a86cb10b4e1f29c941702d737128f7b6.pem",
        "UnsubscribeURL": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe"
                          f"&SubscriptionArn={topic}:{message_id}"}
    if subject:
        body["Subject"] = subject
    if attributes:
        body["MessageAttributes"] = {k: {"Type": "String", "Value": v}
                                     for k, v in attributes.items()}
    return json.dumps(body)
