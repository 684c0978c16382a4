"""`ddb-backupd status`: the summary of a running daemon an on-call engineer reads first."""

from __future__ import annotations

import argparse
from typing import Any

from daemon.cli.status_read import (
    add_common,
    ago,
    dump,
    freshness_split,
    not_ready,
    percent,
    read,
)
from daemon.core.text import duration, human_bytes

DESCRIPTION = """\
Summarise a running daemon from its /status: whether it is ready and leads, the bytes backing
up now against the limit and the alert level, the largest running jobs, each schedule's next
run and last success, table freshness, restores and exports, and the latest alert. Read it
first when paged; `ddb-backupd get` lists any of these in full.

Run it where the daemon runs, so the default --url reaches it:
  kubectl exec deploy/ddb-backupd -- ddb-backupd status
  aws ecs execute-command --cluster C --task T --interactive --command "ddb-backupd status"
or from anywhere that reaches its port:
  ddb-backupd status --url http://10.0.3.17:9102
  ddb-backupd status -o json | jq .limit"""

EXIT_CODES = {
    0: "The daemon answered and is ready: the summary is printed.",
    1: "The daemon answered but is not ready (the components that are not are named in the "
       "summary), or could not fill a section of /status (named under 'errors').",
    2: "No /status from --url: the daemon cannot be reached (connection refused, timeout), or "
       "answered with an HTTP error or not with a /status document; the reason is on stderr.",
}


def add_parser(parser: argparse.ArgumentParser) -> None:
    add_common(parser)


def run(args: argparse.Namespace) -> int:
    document = read(args, "status")
    if document is None:
        return 2
    print(dump(document, args.output) if args.output != "table" else summary(document))
    return 0 if document["ready"] and not document.get("errors") else 1


def summary(doc: dict[str, Any]) -> str:
    """The summary, one labelled line per subject; subjects the daemon does not run are left out."""
    lines = [("Daemon", _daemon(doc)), ("Running", _running(doc.get("limit"))),
             ("Largest", _largest(doc.get("jobs"))), ("Schedules", _schedules(doc)),
             ("Freshness", _freshness(doc.get("freshness"))),
             ("Coverage", _coverage(doc.get("coverage"))),
             ("Plans", _plans(doc.get("backup_plans"))), ("Tasks", _tasks(doc.get("tasks"))),
             ("Alerts", _alerts(doc.get("alerts"), doc["generated_at"])),
             ("Components", _components(doc)), ("Errors", _errors(doc)),
             ("As of", doc["generated_at"])]
    return "\n".join(f"{label + ':':<13}{text}" for label, text in lines if text)


def _daemon(doc: dict[str, Any]) -> str:
    leader = doc.get("leader")
    role = "" if leader is None else (
        f", leader ({leader['identity']})" if leader["leader"]
        else f", follower (leader: {leader.get('holder') or 'none'})")
    state = "ready" if doc["ready"] else "NOT READY"
    return f"ddb-backupd {doc['version']}, up {duration(doc['uptime_seconds'])}{role}, {state}"


def _running(limit: dict[str, Any] | None) -> str | None:
    if limit is None:
        return None
    share = percent(limit["running_bytes"], limit["limit_bytes"])
    level = limit["level"] if limit["level"] == "ok" else limit["level"].upper()
    return (f"{limit['running_jobs']} jobs, {human_bytes(limit['running_bytes'])} of "
            f"{human_bytes(limit['limit_bytes'])} ({share} %), level {level} "
            f"(warning at {round(100 * limit['warning_ratio'])} %, critical at "
            f"{round(100 * limit['critical_ratio'])} %)")


def _largest(jobs: dict[str, Any] | None) -> str | None:
    if not jobs or not jobs["largest"]:
        return None
    shown = [f"{j['resource']} {human_bytes(j['size_bytes'])}" for j in jobs["largest"][:3]]
    more = jobs["running"] - len(shown)
    return ", ".join(shown) + (f" (+{more} more: ddb-backupd get jobs)" if more > 0 else "")


def _schedules(doc: dict[str, Any]) -> str | None:
    schedules = doc.get("schedules")
    if schedules is None:
        return None
    if not schedules:
        return "none enabled"
    now = doc["generated_at"]
    parts = [f"{name} next {ago(s['next_run'], now)}, last success {ago(s['last_success'], now)}"
             + (f", {s['missed_slots']} missed slots" if s["missed_slots"] else "")
             for name, s in schedules.items()]
    return "; ".join(parts)


def _freshness(freshness: dict[str, Any] | None) -> str | None:
    if freshness is None:
        return None
    if not freshness["seeded"]:
        return "reading every table's newest backup from AWS"
    schedules = freshness["schedules"]
    counts = {"good": 0, "late": 0, "never": 0}
    for schedule in schedules.values():
        for state, n in freshness_split(schedule).items():
            counts[state] += n
    text = f"{counts['good']} good, {counts['late']} late, {counts['never']} never"
    stalest = max(((name, s["oldest"]) for name, s in schedules.items() if s["oldest"]),
                  key=lambda item: item[1]["age_seconds"], default=None)
    if stalest is not None:
        name, oldest = stalest
        text += f"; stalest {oldest['table']} {duration(oldest['age_seconds'])} ({name})"
    return text


def _coverage(coverage: dict[str, Any] | None) -> str | None:
    if coverage is None or coverage["tables"] is None:
        return None
    gaps = {gap: g for gap, g in coverage["gaps"].items() if g["count"]}
    if not gaps:
        return f"no gap among {coverage['tables']} tables"
    return "; ".join(f"{gap} {g['count']} ({', '.join(_names(g['tables'])[:3])}"
                     + (", ...)" if g["count"] > 3 else ")") for gap, g in gaps.items())


def _names(tables: list[Any]) -> list[str]:
    return [t if isinstance(t, str) else t["table"] for t in tables]


def _plans(plans: dict[str, Any] | None) -> str | None:
    if plans is None:
        return None
    states: dict[str, int] = {}
    for plan in plans.values():
        states[plan["state"]] = states.get(plan["state"], 0) + 1
    drifting = [name for name, p in plans.items() if p.get("drifting")]
    return (", ".join(f"{n} {state}" for state, n in sorted(states.items())) or "none"
            ) + (f"; drifting: {', '.join(drifting)}" if drifting else "")


def _tasks(tasks: dict[str, Any] | None) -> str | None:
    if tasks is None:
        return None
    outcomes: dict[str, int] = {}
    for task in tasks["recent"]:
        outcomes[task["state"]] = outcomes.get(task["state"], 0) + 1
    recent = ", ".join(f"{n} {state}" for state, n in sorted(outcomes.items()))
    return (f"{len(tasks['running'])} running, {tasks['queued_total']} queued"
            + (f"; last {len(tasks['recent'])}: {recent}" if recent else ""))


def _alerts(alerts: dict[str, Any] | None, now: str) -> str | None:
    if alerts is None:
        return None
    if not alerts["recent"]:
        return "none since start"
    newest = alerts["recent"][0]
    waiting = f", {alerts['pending']} waiting to be sent" if alerts["pending"] else ""
    return (f"{len(alerts['recent'])} recent{waiting}; newest {ago(newest['at'], now)}: "
            f"[{newest['severity']}] {newest['subject']}")


def _components(doc: dict[str, Any]) -> str:
    down = not_ready(doc)
    if down:
        return "NOT READY: " + "; ".join(down)
    return f"{len(doc['components'])} ready ({', '.join(doc['components'])})"


def _errors(doc: dict[str, Any]) -> str | None:
    errors = doc.get("errors") or {}
    return "; ".join(f"{name}: {why}" for name, why in errors.items()) or None
