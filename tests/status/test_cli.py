"""`ddb-backupd status` and `ddb-backupd get ...` against the running demo, and their exit codes."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from aiohttp import web

from daemon.cli import main
from daemon.cli.status_read import default_url, freshness_split, percent, table
from daemon.core.text import human_bytes
from daemon.kernel.status import StatusBoard
from tests.deploy.processes import free_port
from tests.status.shapes import COVERAGE, FRESHNESS
from tests.status.steady import Demo, attention, steady

KINDS = ("jobs", "schedules", "tables", "tasks", "alerts")
Z_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it (a new process, as through kubectl exec)."""
    return subprocess.run([sys.executable, "-m", "daemon", *argv], capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.mark.e2e
@pytest.mark.slow
def test_the_demo_prints_its_status_page_url_first(demo_run: Demo) -> None:
    first = demo_run.output.read_text().splitlines()[0]
    assert first.startswith(f"ddb-backupd demo: status page {demo_run.url}/ ")


@pytest.mark.e2e
@pytest.mark.slow
def test_status_summarises_the_demo_and_exits_0(demo: str) -> None:
    doc, done = steady(demo, lambda: cli("status", "--url", demo))
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(":", 1) for line in done.stdout.splitlines())
    limit = doc["limit"]
    assert f"ddb-backupd {doc['version']}" in lines["Daemon"]
    assert lines["Daemon"].rstrip().endswith("ready")
    assert lines["Running"].strip().startswith(
        f"{limit['running_jobs']} jobs, {human_bytes(limit['running_bytes'])} of "
        f"{human_bytes(limit['limit_bytes'])} "
        f"({percent(limit['running_bytes'], limit['limit_bytes'])} %), level "
        + (limit["level"] if limit["level"] == "ok" else limit["level"].upper()))
    planned = doc["schedules"]["demo"]["next_run"] is not None  # not before its first tick
    assert lines["Schedules"].strip().startswith("demo next " + ("in " if planned else "-"))
    fresh = [freshness_split(s) for s in doc["freshness"]["schedules"].values()]
    assert lines["Freshness"].strip().startswith(", ".join(
        f"{sum(f[state] for f in fresh)} {state}" for state in ("good", "late", "never")))
    coverage = doc["coverage"]
    gaps = [f"{gap} {g['count']} (" for gap, g in coverage["gaps"].items() if g["count"]]
    if coverage["tables"] is None:  # not evaluated yet
        assert "Coverage" not in lines
    elif gaps:
        assert lines["Coverage"].strip().startswith(gaps[0])
    else:
        assert lines["Coverage"].strip() == f"no gap among {coverage['tables']} tables"
    assert f"{len(doc['components'])} ready" in lines["Components"]
    assert re.fullmatch(Z_TIME, lines["As of"].strip())
    assert lines["As of"].strip() <= doc["generated_at"]
    assert "Traceback" not in done.stderr


@pytest.mark.e2e
@pytest.mark.slow
def test_status_json_is_the_status_document(demo: str) -> None:
    doc, done = steady(demo, lambda: cli("status", "--url", demo, "-o", "json"))
    assert done.returncode == 0
    printed = json.loads(done.stdout)
    assert printed["limit"] == doc["limit"]
    assert printed["jobs"] == doc["jobs"]


@pytest.mark.e2e
@pytest.mark.slow
def test_get_jobs_lists_the_running_jobs_largest_first(demo: str) -> None:
    doc, done = steady(demo, lambda: cli("get", "jobs", "--url", demo))
    assert done.returncode == 0, done.stderr
    largest = doc["jobs"]["largest"]
    if not largest:
        assert done.stdout == ""
        assert "No backup job is running." in done.stderr
        return
    header, *rows = done.stdout.splitlines()
    assert header.split()[:3] == ["RESOURCE", "STATE", "SIZE"]
    assert [r.split()[0] for r in rows] == [j["resource"] for j in largest]
    assert [" ".join(r.split()[2:4]) for r in rows] == [human_bytes(j["size_bytes"])
                                                         for j in largest]


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("output", ["json", "yaml"])
@pytest.mark.parametrize("kind", KINDS)
def test_get_prints_every_kind_as_data_for_scripts(demo: str, kind: str, output: str) -> None:
    doc, done = steady(demo, lambda: cli("get", kind, "--url", demo, "-o", output))
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout) if output == "json" else yaml.safe_load(done.stdout)
    assert (printed["kind"], printed["generated_at"] <= doc["generated_at"]) == (kind, True)
    items = printed["items"]
    if kind == "tables":  # ages move with the clock: compare which tables and why
        assert [(t["table"], t["schedule"], t["state"]) for t in items] == attention(doc)
        return
    if kind == "schedules":  # each beside its freshness (ages move with the clock)
        fresh = doc["freshness"]["schedules"]
        assert [(s["name"], s["freshness"]["tables"]) for s in items] == [
            (n, fresh[n]["tables"]) for n in doc["schedules"]]
        items = [{k: v for k, v in s.items() if k != "freshness"} for s in items]
    expected = {
        "jobs": doc["jobs"]["largest"],
        "schedules": [{"name": n, **s} for n, s in doc["schedules"].items()],
        "tasks": [*doc["tasks"]["running"], *doc["tasks"]["queued"], *doc["tasks"]["recent"]],
        "alerts": doc["alerts"]["recent"],
    }[kind]
    assert items == expected


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_get_prints_an_aligned_table_of_every_kind(demo: str, kind: str) -> None:
    doc, done = steady(demo, lambda: cli("get", kind, "--url", demo))
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    count = {"jobs": len(doc["jobs"]["largest"]), "schedules": len(doc["schedules"]),
             "tables": len(attention(doc)), "alerts": len(doc["alerts"]["recent"]),
             "tasks": sum(len(doc["tasks"][p]) for p in ("running", "queued", "recent"))}[kind]
    assert len(rows) == (count + 1 if count else 0)
    if not rows:
        assert done.stderr.strip()  # says why the list is empty
        return
    header = rows[0]
    assert header == header.upper()
    starts = [m.start() for m in re.finditer(r"(?:^|(?<=   ))\S", header)]
    assert len(starts) >= 4
    for row in rows[1:]:
        for i in starts[1:]:
            assert row[i - 1] == " ", (header, row)
            assert row[i] != " ", (header, row)


def test_the_table_writer_aligns_columns_kubectl_style() -> None:
    assert table(["name", "size"], [["a", "1.0 GiB"], ["long-name", None]]).splitlines() == [
        "NAME        SIZE", "a           1.0 GiB", "long-name   -"]


async def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()  # what the servers logged so far is not the command's
    code = await asyncio.to_thread(main, list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


async def test_a_daemon_that_is_not_ready_makes_both_commands_exit_1(
        serve: Callable[..., Any], capsys: pytest.CaptureFixture[str]) -> None:
    board = StatusBoard()
    board.set_health("config", True)
    board.set_health("consumer", False, "ReceiveMessage: AccessDenied")
    url = await serve(board)
    code, out, _ = await run_cli(capsys, "status", "--url", url)
    assert code == 1
    assert "NOT READY: consumer: ReceiveMessage: AccessDenied" in out
    code, _, err = await run_cli(capsys, "get", "alerts", "--url", url)
    assert code == 1
    assert "not ready: consumer: ReceiveMessage: AccessDenied" in err


async def test_a_section_the_daemon_could_not_fill_makes_status_exit_1(
        serve: Callable[..., Any], capsys: pytest.CaptureFixture[str]) -> None:
    board = StatusBoard()
    board.set_health("config", True)
    board.add("leader", lambda: {"leader": "maybe"})
    code, out, _ = await run_cli(capsys, "status", "--url", await serve(board))
    assert code == 1
    assert "Errors:" in out
    assert "leader" in out


async def test_no_status_document_exits_2_with_the_reason(
        serve: Callable[..., Any], capsys: pytest.CaptureFixture[str]) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    for kind in ("status", "get"):
        code, out, err = await run_cli(capsys, *([kind] if kind == "status" else [kind, "jobs"]),
                                       "--url", closed)
        assert (code, out) == (2, "")
        assert "cannot reach" in err
        assert "Traceback" not in err
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    elsewhere = web.Application()
    elsewhere.router.add_get("/status", healthz)
    code, _, err = await run_cli(capsys, "status", "--url", await serve(elsewhere))
    assert code == 2
    assert "did not answer with a ddb-backupd /status document" in err
    code, _, err = await run_cli(capsys, "status", "--url", "file:///etc/passwd")
    assert code == 2
    assert "must be an http:// or https:// address" in err
    missing = await serve(web.Application())
    code, _, err = await run_cli(capsys, "get", "tasks", "--url", missing)
    assert code == 2
    assert "HTTP 404" in err


async def test_get_tables_and_status_read_freshness_and_coverage(
        serve: Callable[..., Any], capsys: pytest.CaptureFixture[str]) -> None:
    board = StatusBoard()
    board.set_health("config", True)
    board.add("freshness", lambda: FRESHNESS)
    board.add("coverage", lambda: COVERAGE)
    url = await serve(board)
    code, out, err = await run_cli(capsys, "get", "tables", "--url", url)
    assert code == 0
    _, *rows = out.splitlines()
    assert [r.split()[:3] for r in rows] == [
        ["orders-13", "nightly", "late"], ["scratch-2", "nightly", "never"],
        ["scratch", "-", "unselected"], ["users", "-", "unselected"],
        ["orders-13", "-", "rpo_breached"]]
    assert "nightly: 46 good, 1 late, 3 never of 50 tables" in err
    code, out, _ = await run_cli(capsys, "status", "--url", url)
    assert code == 0
    assert "Freshness:   46 good, 1 late, 3 never; stalest orders-13 3d7h (nightly)" in out
    assert "Coverage:    unselected 2 (scratch, users); rpo_breached 1 (orders-13)" in out


def test_the_default_url_is_the_local_daemon_on_its_configured_port(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BACKUPD_HTTP__PORT", raising=False)
    assert default_url() == "http://127.0.0.1:9102"
    monkeypatch.setenv("BACKUPD_HTTP__PORT", "9200")
    assert default_url() == "http://127.0.0.1:9200"


def test_the_commands_start_without_aioboto3() -> None:
    """They run inside the daemon's container on every page: no AWS SDK, no aiohttp."""
    probe = ("import sys; from daemon.cli import main; main(['get', 'jobs', '--url', "
             "'http://127.0.0.1:1']); main(['status', '--url', 'http://127.0.0.1:1']); "
             "print(sorted(m for m in ('aioboto3', 'botocore', 'aiohttp', 'pydantic') "
             "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"
