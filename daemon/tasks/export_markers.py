"""The daemon's own markers of exports: small JSON objects next to the exported data.

AWS remembers exports, but not why they were made: which rule, which recovery point to
delete once the export COMPLETED, which incremental window it covered. A marker records
that, under `<prefix>/_backupd/<rule>/`:

- `open/<token>.json` from just before the export starts until it ends: what a restarted
  daemon resumes (ListObjectsV2 of `open/` is cheap, however many exports came before);
- `done/<token>.json` once it ended (succeeded or failed): the same trigger never exports
  twice;
- `last/<name>.json`: where the previous incremental export of a table stopped.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from daemon.aws.errors import error_code
from daemon.config.tasks import ExportRule
from daemon.core.tasks.exports import ExportPlan

if TYPE_CHECKING:
    from types_aiobotocore_s3.client import S3Client
    from types_aiobotocore_s3.type_defs import ListObjectsV2RequestTypeDef

    from daemon.aws.session import Connect

MarkerState = Literal["starting", "running", "succeeded", "failed"]
MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


@dataclass
class Marker:
    """One export's record: its plan, where it is, and what it did."""

    plan: ExportPlan
    state: MarkerState = "starting"
    export_id: str | None = None
    window: tuple[datetime, datetime] | None = None
    source_deleted: bool = False
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.state in ("succeeded", "failed")

    def to_json(self) -> str:
        body = asdict(self)
        body["plan"]["at"] = self.plan.at.isoformat()
        body["window"] = [t.isoformat() for t in self.window] if self.window else None
        return json.dumps(body, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Marker:
        body = json.loads(text)
        plan = dict(body.pop("plan"))
        plan["at"] = datetime.fromisoformat(plan["at"])
        window = body.pop("window")
        return cls(plan=ExportPlan(**plan), window=(
            datetime.fromisoformat(window[0]), datetime.fromisoformat(window[1]))
            if window else None, **body)


class MarkerStore:
    """Reads and writes markers in each rule's bucket."""

    def __init__(self, s3: Connect[S3Client]) -> None:
        self._s3 = s3

    @staticmethod
    def _base(rule: ExportRule) -> str:
        return "/".join(p for p in (rule.prefix, "_backupd", rule.name) if p)

    async def _read(self, bucket: str, key: str) -> bytes | None:
        s3 = await self._s3()
        try:
            resp = await s3.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in MISSING:
                return None
            raise
        async with resp["Body"] as stream:
            data: bytes = await stream.read()
        return data

    async def get(self, rule: ExportRule, token: str) -> Marker | None:
        """The export's marker, finished or open; None when it never started."""
        for folder in ("done", "open"):
            data = await self._read(rule.bucket, f"{self._base(rule)}/{folder}/{token}.json")
            if data is not None:
                return Marker.from_json(data)
        return None

    async def save(self, rule: ExportRule, marker: Marker) -> None:
        """Write an open marker; a finished one moves to `done/` (then `open/` is removed)."""
        s3 = await self._s3()
        base, token = self._base(rule), marker.plan.token
        folder = "done" if marker.finished else "open"
        await s3.put_object(Bucket=rule.bucket, Key=f"{base}/{folder}/{token}.json",
                            Body=marker.to_json().encode(), ContentType="application/json")
        if marker.finished:
            await s3.delete_object(Bucket=rule.bucket, Key=f"{base}/open/{token}.json")

    async def open_markers(self, rule: ExportRule) -> list[Marker]:
        """Every export of the rule that a previous run left unfinished."""
        s3 = await self._s3()
        prefix, out = f"{self._base(rule)}/open/", []
        kwargs: ListObjectsV2RequestTypeDef = {"Bucket": rule.bucket, "Prefix": prefix}
        while True:
            resp = await s3.list_objects_v2(**kwargs)
            for item in resp.get("Contents", []):
                data = await self._read(rule.bucket, item["Key"])
                if data is not None:
                    out.append(Marker.from_json(data))
            if not resp.get("IsTruncated"):
                return out
            kwargs["ContinuationToken"] = resp["NextContinuationToken"]

    async def last_end(self, rule: ExportRule, name: str) -> datetime | None:
        """Where the previous incremental export of `name` stopped."""
        data = await self._read(rule.bucket, f"{self._base(rule)}/last/{name}.json")
        return datetime.fromisoformat(json.loads(data)["to"]) if data else None

    async def set_last_end(self, rule: ExportRule, name: str, end: datetime) -> None:
        s3 = await self._s3()
        await s3.put_object(Bucket=rule.bucket, Key=f"{self._base(rule)}/last/{name}.json",
                            Body=json.dumps({"to": end.isoformat()}).encode(),
                            ContentType="application/json")
