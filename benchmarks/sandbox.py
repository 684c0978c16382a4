"""The local AWS stand-in in its own process (`ddb-backupd sandbox`), and clients for it.

Benchmarks that time the daemon against moto run moto in a separate process, as AWS is in
production: in the daemon's process moto's server thread would compete for the GIL and
the figure would measure both together.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from types import TracebackType
from typing import Any

import boto3

REGION = "us-east-1"


class Sandbox:
    """`with Sandbox() as sb:` serves moto + the AWS Backup fake; `sb.url`, `sb.env`."""

    def __init__(self) -> None:
        self.url = ""
        self.env: dict[str, str] = {}
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> Sandbox:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "daemon", "sandbox", "--region", REGION],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self._proc.stdout is not None
        self.url = self._proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            self.__exit__(None, None, None)
            raise RuntimeError(f"ddb-backupd sandbox did not start (printed {self.url!r})")
        self.env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION,
                    "AWS_REGION": REGION, "AWS_ENDPOINT_URL": self.url}
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._proc is not None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def client(self, service: str) -> Any:
        """A synchronous boto3 client (setup and measurement helpers, not the code measured)."""
        return boto3.client(service, region_name=REGION, endpoint_url=self.url,
                            aws_access_key_id="testing",
                            aws_secret_access_key="testing")

    def queue(self, name: str) -> str:
        return str(self.client("sqs").create_queue(QueueName=name)["QueueUrl"])

    def topic_with_inbox(self, topic: str, inbox: str) -> tuple[str, str]:
        """An SNS topic and a queue subscribed to it (raw delivery off): (topic ARN, queue URL)."""
        sqs, sns = self.client("sqs"), self.client("sns")
        inbox_url = str(sqs.create_queue(QueueName=inbox)["QueueUrl"])
        arn = sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])
        topic_arn = str(sns.create_topic(Name=topic)["TopicArn"])
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs",
                      Endpoint=arn["Attributes"]["QueueArn"])
        return topic_arn, inbox_url

    def fill(self, queue_url: str, bodies: list[str]) -> None:
        """Put every body on the queue (SendMessageBatch, 10 at a time)."""
        sqs = self.client("sqs")
        for start in range(0, len(bodies), 10):
            entries = [{"Id": str(i), "MessageBody": b}
                       for i, b in enumerate(bodies[start:start + 10])]
            failed = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed")
            if failed:
                raise RuntimeError(f"SendMessageBatch failed: {json.dumps(failed)[:300]}")

    def daemon_env(self, **settings: str) -> dict[str, str]:
        """The environment of a `ddb-backupd run` subprocess pointed at this sandbox."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("BACKUPD_", "AWS_"))}
        env.update(self.env)
        env["BACKUPD_AWS__ENDPOINT_URL"] = self.url
        env.update({f"BACKUPD_{k.upper()}": v for k, v in settings.items()})
        return env


def wait_http(url: str, *, timeout: float = 30.0, interval: float = 0.005) -> float:
    """Poll `url` until it answers 200; returns the monotonic time it first did."""
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return time.monotonic()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(interval)
    raise TimeoutError(f"{url} did not answer 200 within {timeout} s")
