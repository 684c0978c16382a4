"""The status page at /, in headless Chromium: it shows what /status says, as text, cleanly.

Chromium is Debian's package (scripts/install-tools.sh installs it for CI; the fixture
installs it if missing, and these tests skip, saying why, only where it cannot be).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from daemon.cli.status_read import percent
from daemon.core.text import human_bytes
from daemon.kernel.status import StatusBoard
from tests.status.chromium import Page
from tests.status.steady import steady_async

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# What the page shows, read from its DOM: the text of every cell and number.
READ_PAGE = """(() => {
  const text = (id) => document.getElementById(id).textContent;
  const value = (id) => document.getElementById(id).dataset.value;
  const rows = (id) => [...document.querySelectorAll(`#${id} tr`)].slice(1)
      .map((tr) => [...tr.children].map((td) => td.textContent));
  return {asOf: document.body.dataset.asOf || null, runningBytes: text("running-bytes"),
          runningBytesValue: value("running-bytes"), limitBytes: text("limit-bytes"),
          percent: text("running-percent"), level: text("level"), runningJobs: text("running-jobs"),
          jobsTotal: value("jobs-count"), jobs: rows("jobs"), schedules: rows("schedules"),
          tasks: rows("tasks"), alerts: rows("alerts"), components: rows("components"),
          history: document.querySelectorAll("#history polyline").length,
          errorsShown: document.getElementById("errors").classList.contains("shown")};
})()"""
HOSTILE = ['<img src=x onerror="window.pwned=1;alert(1)">', "<script>window.pwned=2</script>",
           '"><svg onload="window.pwned=3">', "</td></tr><b>bold</b>", "{{7*7}} ${7*7}"]


def dash(value: Any) -> str:
    return "-" if value is None else str(value)


async def open_page(page: Page, url: str) -> dict[str, Any]:
    await page.navigate(url)
    await page.wait_for("document.body.dataset.asOf")
    shown: dict[str, Any] = await page.evaluate(READ_PAGE)
    return shown


async def test_the_page_shows_the_numbers_of_status_against_the_demo(
        demo: str, page: Page, tmp_path: Path) -> None:
    """Loaded with refresh paused, between two equal reads of /status, the page shows them."""
    before, doc, shown = await steady_async(demo, lambda: open_page(page, f"{demo}/?refresh=0"))
    assert before["generated_at"] <= shown["asOf"] <= doc["generated_at"]
    limit, jobs = doc["limit"], doc["jobs"]
    assert (shown["runningBytes"], shown["runningBytesValue"]) == (
        human_bytes(limit["running_bytes"]), str(limit["running_bytes"]))
    assert shown["limitBytes"] == human_bytes(limit["limit_bytes"])
    assert shown["percent"] == f"{percent(limit['running_bytes'], limit['limit_bytes'])} %"
    assert (shown["level"], shown["runningJobs"]) == (limit["level"], str(limit["running_jobs"]))
    assert shown["jobsTotal"] == str(jobs["running"])
    assert [r[:8] for r in shown["jobs"]] == [
        [j["resource"], j["vault"], j["resource_type"], j["region"], j["account"], j["state"],
         human_bytes(j["size_bytes"]), j["started"]] for j in jobs["largest"]]
    assert [[r[0], r[4], r[5], r[-1]] for r in shown["schedules"]] == [
        [name, dash(s["next_run"]), dash(s["last_success"]), str(s["missed_slots"])]
        for name, s in doc["schedules"].items()]
    tasks = [*doc["tasks"]["running"], *doc["tasks"]["queued"], *doc["tasks"]["recent"]]
    assert [[r[0], r[1], r[2], r[3], r[4], r[8]] for r in shown["tasks"]] == [
        [t["kind"], t["rule"], t["subject"], dash(t["facts"].get("target")), t["state"],
         dash(t["finished_at"])] for t in tasks]
    assert shown["alerts"] == [[a["at"], a["severity"], a["event"], a["subject"], a["delivery"]]
                               for a in doc["alerts"]["recent"]]
    assert shown["components"] == [[name, "ready" if h["ready"] else "not ready", dash(h["detail"])]
                                   for name, h in doc["components"].items()]
    assert shown["history"] == (1 if doc["history"]["points"] else 0)
    assert not shown["errorsShown"]
    await page.screenshot(tmp_path / "status-page.png")
    assert (tmp_path / "status-page.png").stat().st_size > 10_000
    assert page.problems == []


async def test_the_page_refreshes_itself(demo: str, page: Page) -> None:
    await page.navigate(f"{demo}/?refresh=1")
    first = await page.wait_for("document.body.dataset.asOf")
    later = await page.wait_for(f"document.body.dataset.asOf > {first!r} && "
                                "document.body.dataset.asOf", seconds=10)
    assert later > first
    assert "refreshes every 1 s" in await page.evaluate("document.body.innerText")
    assert page.problems == []


def hostile_board() -> StatusBoard:
    """Every section, with user data (table names, tags, subjects) that is markup."""
    t = "2026-12-04T13:08:15Z"
    evil = HOSTILE
    board = StatusBoard()
    board.add("limit", lambda: {"limit_bytes": 100, "running_bytes": 50, "running_jobs": 1,
                                "level": "ok", "warning_ratio": 0.8, "critical_ratio": 0.9,
                                "warning_bytes": 80, "critical_bytes": 90})
    board.add("jobs", lambda: {"running": 1, "running_bytes": 50, "groups_total": 1, "largest": [
        {"job_id": evil[0], "resource": evil[0], "resource_arn": None, "resource_type": evil[1],
         "vault": evil[2], "region": evil[3], "state": evil[4], "size_bytes": 50, "started": t}],
        "by_group": [{"vault": evil[2], "resource_type": evil[1], "region": evil[3], "jobs": 1,
                      "bytes": 50}]})
    board.add("schedules", lambda: {evil[1]: {
        "expression": evil[2], "timezone": evil[3], "engine": evil[4], "tables_selected": 1,
        "next_run": t, "last_success": None, "missed_slots": 0, "current_slot": None,
        "last_result": None}})
    age = {"table": evil[0], "last_backup": None, "since": t, "age_seconds": 60.0}
    board.add("freshness", lambda: {
        "seeded": True, "seeded_at": t, "seed_seconds": 1.0, "window_start": t,
        "listed_until": t, "lookback_seconds": 60.0, "late_factor": 2.0, "tables_with_backup": 1,
        "schedules": {evil[1]: {"interval_seconds": 60.0, "tables": 2, "late": 1,
                                "without_backup": 1, "oldest": age, "late_tables": [age]}}})
    board.add("coverage", lambda: {
        "evaluated_at": t, "tables": 2, "rpo_seconds": None, "selectors": [evil[3]],
        "gaps": {"unselected": {"count": 1, "tables": [evil[2]]},
                 "rpo_breached": {"count": 1, "tables": [{**age, "table": evil[4]}]}},
        "undecided": {"tags_unknown": 0, "pitr_unknown": 0}})
    board.add("backup_plans", lambda: {evil[3]: {"state": evil[4], "error": evil[0]}})
    board.add("tasks", lambda: {"running": [], "queued": [], "queued_total": 0, "recent": [{
        "key": evil[0], "kind": "restore", "rule": evil[1], "subject": evil[2],
        "state": "failed", "phase": evil[3], "detail": evil[4], "queued_at": t,
        "started_at": t, "finished_at": t, "facts": {"target": evil[0]}}]})
    board.add("alerts", lambda: {"pending": 0, "recent": [
        {"at": t, "severity": "critical", "event": evil[1], "subject": evil[0],
         "delivery": "published"}]})
    board.add("leader", lambda: {"leader": True, "enabled": True, "identity": evil[0],
                                 "holder": evil[0]})
    board.set_health("consumer", False, evil[1])
    return board


async def test_user_data_appears_as_text_and_never_runs(
        serve: Callable[[StatusBoard], Any], page: Page, tmp_path: Path) -> None:
    base = await serve(hostile_board())
    shown = await open_page(page, f"{base}/?refresh=0")
    text = await page.evaluate("document.body.innerText")
    for value in HOSTILE:
        assert value in text
    assert await page.evaluate("window.pwned === undefined")
    counts = await page.evaluate(
        "['img', 'script', 'b', 'iframe'].map((t) => document.getElementsByTagName(t).length)")
    assert counts == [0, 1, 0, 0]  # the page's own script only
    assert await page.evaluate("document.querySelectorAll('svg[onload], [onerror]').length") == 0
    assert shown["jobs"][0][0] == HOSTILE[0]
    await page.screenshot(tmp_path / "hostile.png")
    assert page.problems == []


async def test_an_organization_shows_each_account_against_its_own_limit(
        serve: Callable[[StatusBoard], Any], page: Page, tmp_path: Path) -> None:
    gib = 2**30
    scopes = [("111111111111", "eu-west-1", 45 * gib, 50 * gib, "critical"),
              ("222222222222", "eu-west-1", 5 * gib, 100 * gib, "ok"),
              (HOSTILE[0], "us-east-1", 0, 100 * gib, "ok")]
    board = StatusBoard()
    board.add("limit", lambda: {
        "limit_bytes": 100 * gib, "running_bytes": 50 * gib, "running_jobs": 3,
        "level": "critical", "warning_ratio": 0.8, "critical_ratio": 0.9,
        "warning_bytes": 80 * gib, "critical_bytes": 90 * gib,
        "by_account": [{"account": a, "region": r, "running_jobs": 1 if size else 0,
                        "running_bytes": size, "limit_bytes": limit, "level": level}
                       for a, r, size, limit, level in scopes]})
    base = await serve(board)
    await open_page(page, f"{base}/?refresh=0")
    rows = await page.evaluate("[...document.querySelectorAll('#by-account tr')].slice(1)"
                               ".map((tr) => [...tr.children].map((td) => td.textContent))")
    assert rows == [[a, r, "1" if size else "0", human_bytes(size), human_bytes(limit), level]
                    for a, r, size, limit, level in scopes]
    assert await page.evaluate("window.pwned === undefined")
    await page.screenshot(tmp_path / "organization.png")
    assert page.problems == []


async def test_one_account_shows_no_account_table(
        serve: Callable[[StatusBoard], Any], page: Page) -> None:
    board = StatusBoard()
    board.add("limit", lambda: {
        "limit_bytes": 100, "running_bytes": 50, "running_jobs": 1, "level": "ok",
        "warning_ratio": 0.8, "critical_ratio": 0.9, "warning_bytes": 80, "critical_bytes": 90,
        "by_account": [{"account": "111111111111", "region": "eu-west-1", "running_jobs": 1,
                        "running_bytes": 50, "limit_bytes": 100, "level": "ok"}]})
    base = await serve(board)
    await open_page(page, f"{base}/?refresh=0")
    assert await page.evaluate("document.querySelectorAll('#by-account tr').length") == 0
    assert page.problems == []


async def test_a_daemon_without_scheduler_tasks_or_jobs_renders_cleanly(
        serve: Callable[[StatusBoard], Any], page: Page) -> None:
    board = StatusBoard()
    board.set_health("config", True)
    base = await serve(board)
    shown = await open_page(page, f"{base}/?refresh=0")
    text = await page.evaluate("document.body.innerText")
    assert "The scheduler is not running here." in text
    assert "Restores and exports are not running here." in text
    assert shown["components"] == [["config", "ready", "-"]]
    assert page.problems == []


async def test_the_page_admits_only_its_own_script_and_style(
        serve: Callable[[StatusBoard], Any], page: Page) -> None:
    """The policy names the page's inline script and style by hash, and nothing else loads."""
    base = await serve(StatusBoard())
    await open_page(page, f"{base}/")
    policy, html = await page.evaluate(
        "fetch('/').then(async (r) => [r.headers.get('content-security-policy'), await r.text()])")
    script = re.search(r"<script>(.*?)</script>", html, re.S)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script[1].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy
    assert "connect-src 'self'" in policy
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "fetches nothing elsewhere"
    injected = await page.evaluate(
        "new Promise((done) => { const s = document.createElement('script');"
        " s.textContent = 'window.injected = 1'; document.body.append(s);"
        " setTimeout(() => done(window.injected === undefined), 100); })")
    assert injected, "an injected inline script ran despite the policy"
    page.problems.clear()  # the refused injection is reported, as it should be
