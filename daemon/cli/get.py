"""`ddb-backupd get jobs|schedules|tables|tasks|alerts`: one list from a running daemon's /status."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from daemon.cli.status_read import (
    add_common,
    ago,
    dump,
    freshness_split,
    not_ready,
    read,
    seconds_between,
    table,
)
from daemon.core.text import duration, human_bytes

DESCRIPTION = """\
List one kind of thing a running daemon knows, read from its /status, as an aligned table
(or as JSON or YAML with -o, for scripts):

  jobs       the running backup jobs, largest first (the 20 largest, and how many in all)
  schedules  each schedule: next run, last success, stalest table, good/late/never, missed slots
  tables     the tables that need attention: late or never backed up, and coverage gaps
             (unselected, PITR off, RPO breached); the good ones are counted on stderr
  tasks      restores and exports: running, queued and recently finished
  alerts     the alerts raised lately, newest first, and whether SNS took them

Examples:
  kubectl exec deploy/ddb-backupd -- ddb-backupd get jobs
  ddb-backupd get alerts --url http://10.0.3.17:9102 -o yaml"""

EXIT_CODES = {
    0: "The daemon answered and is ready: the list is printed (an empty one says so on stderr).",
    1: "The daemon answered but is not ready: the list is printed all the same, and the "
       "components that are not ready are named on stderr.",
    2: "No /status from --url: the daemon cannot be reached (connection refused, timeout), or "
       "answered with an HTTP error or not with a /status document; the reason is on stderr.",
}


@dataclass(frozen=True)
class Listing:
    """What one `get` prints: column headers, one row per item, the items as data, and notes."""

    headers: tuple[str, ...]
    rows: list[list[object]]
    items: list[dict[str, Any]]
    total: int
    notes: list[str]


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=sorted(KINDS), metavar="KIND",
                        help="What to list: jobs, schedules, tables, tasks or alerts.")
    add_common(parser)


def run(args: argparse.Namespace) -> int:
    document = read(args, "get")
    if document is None:
        return 2
    listing = KINDS[args.kind](document)
    if args.output == "table":
        if listing.rows:
            print(table(listing.headers, listing.rows))
    else:
        print(dump({"kind": args.kind, "total": listing.total, "items": listing.items,
                    "generated_at": document["generated_at"]}, args.output))
    for note in listing.notes:
        print(note, file=sys.stderr)
    down = not_ready(document)
    for line in down:
        print(f"not ready: {line}", file=sys.stderr)
    return 1 if down else 0


def jobs(doc: dict[str, Any]) -> Listing:
    section = doc.get("jobs")
    if section is None:
        return _absent("This daemon reports no running jobs.")
    now = doc["generated_at"]
    items = section["largest"]
    rows: list[list[object]] = [
        [j["resource"], j["state"], human_bytes(j["size_bytes"]), j["vault"], j["resource_type"],
         j["region"], duration(seconds_between(j["started"], now)), j["job_id"]] for j in items]
    shown = (f"{len(items)} largest of {section['running']} running jobs "
             f"({human_bytes(section['running_bytes'])} in all)")
    notes = [shown] if section["running"] > len(items) else []
    return Listing(("resource", "state", "size", "vault", "type", "region", "age", "job id"),
                   rows, items, section["running"],
                   notes or ([] if items else ["No backup job is running."]))


def schedules(doc: dict[str, Any]) -> Listing:
    section = doc.get("schedules")
    if section is None:
        return _absent("This daemon runs no scheduler (no schedule is configured).")
    now = doc["generated_at"]
    fresh = (doc.get("freshness") or {}).get("schedules", {})
    rows: list[list[object]] = []
    items = []
    for name, s in section.items():
        f = fresh.get(name)
        counts = freshness_split(f) if f else {}
        oldest = (f or {}).get("oldest") or {}
        rows.append([name, s["expression"], s["engine"], s["tables_selected"],
                     ago(s["next_run"], now), ago(s["last_success"], now),
                     oldest.get("table"), duration(oldest.get("age_seconds")),
                     counts.get("good"), counts.get("late"), counts.get("never"),
                     s["missed_slots"]])
        items.append({"name": name, **s, **({"freshness": f} if f else {})})
    return Listing(("name", "expression", "engine", "tables", "next run", "last success",
                    "stalest", "age", "good", "late", "never", "missed"),
                   rows, items, len(items), [] if items else ["No schedule is enabled."])


def tables(doc: dict[str, Any]) -> Listing:
    """Tables needing attention: late or never backed up (per schedule), and coverage gaps."""
    freshness, coverage = doc.get("freshness"), doc.get("coverage")
    if freshness is None and coverage is None:
        return _absent("This daemon reports no per-table freshness or coverage.")
    items: list[dict[str, Any]] = []
    notes: list[str] = []
    for name, schedule in (freshness or {}).get("schedules", {}).items():
        items += [{"table": t["table"], "schedule": name,
                   "state": "late" if t["last_backup"] else "never", **_age(t)}
                  for t in schedule["late_tables"]]
        counts = freshness_split(schedule)
        notes.append(f"{name}: {counts['good']} good, {counts['late']} late, "
                     f"{counts['never']} never of {schedule['tables']} tables"
                     + (f" ({len(schedule['late_tables'])} late listed)"
                        if schedule["late"] > len(schedule["late_tables"]) else ""))
    for gap, found in (coverage or {}).get("gaps", {}).items():
        items += [{"table": t, "schedule": None, "state": gap} if isinstance(t, str)
                  else {"table": t["table"], "schedule": None, "state": gap, **_age(t)}
                  for t in found["tables"]]
        if found["count"] > len(found["tables"]):
            notes.append(f"{gap}: {len(found['tables'])} of {found['count']} tables listed")
    rows: list[list[object]] = [
        [t["table"], t["schedule"], t["state"], t.get("last_backup"),
         duration(t.get("age_seconds"))] for t in items]
    if freshness is not None and not freshness["seeded"]:
        notes.append("Freshness is still being read from AWS.")
    return Listing(("table", "schedule", "state", "last backup", "age"), rows, items,
                   len(items), notes or ["No table is late, never backed up or unprotected."])


def _age(table_age: dict[str, Any]) -> dict[str, Any]:
    return {k: table_age[k] for k in ("last_backup", "since", "age_seconds")}


def tasks(doc: dict[str, Any]) -> Listing:
    section = doc.get("tasks")
    if section is None:
        return _absent("This daemon runs no restores or exports (no rule is configured).")
    now = doc["generated_at"]
    items = [*section["running"], *section["queued"], *section["recent"]]
    rows: list[list[object]] = [
        [t["kind"], t["rule"], t["subject"], _target(t["facts"]), t["state"], t["phase"],
         ago(t["started_at"] or t["queued_at"], now), ago(t["finished_at"], now), t["detail"]]
        for t in items]
    total = len(section["running"]) + section["queued_total"] + len(section["recent"])
    return Listing(("kind", "rule", "subject", "target", "state", "phase", "started",
                    "finished", "detail"), rows, items, total,
                   [] if items else ["No restore or export since start."])


def alerts(doc: dict[str, Any]) -> Listing:
    section = doc.get("alerts")
    if section is None:
        return _absent("This daemon reports no alerts.")
    now = doc["generated_at"]
    items = section["recent"]
    rows: list[list[object]] = [[ago(a["at"], now), a["severity"], a["event"], a["delivery"],
                                 a["subject"]] for a in items]
    return Listing(("raised", "severity", "event", "delivery", "subject"), rows, items,
                   len(items), [] if items else ["No alert raised since start."])


def _target(facts: dict[str, Any]) -> str | None:
    if facts.get("target"):
        return str(facts["target"])
    if facts.get("bucket"):
        return f"s3://{facts['bucket']}/{facts.get('prefix') or ''}"
    return None


def _absent(note: str) -> Listing:
    return Listing((), [], [], 0, [note])


KINDS: dict[str, Callable[[dict[str, Any]], Listing]] = {
    "jobs": jobs, "schedules": schedules, "tables": tables, "tasks": tasks, "alerts": alerts}
