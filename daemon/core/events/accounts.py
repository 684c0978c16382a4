"""Which accounts' events this deployment serves (pure): the `accounts:` allow-list.

Events reach one queue from every account of an Organization (a central event bus). An
empty allow-list serves them all; otherwise an event of an account not on it, or of no
account at all, is *ignored* (understood, deliberately not acted on, deleted), with a reason
that names the account. Shards of one estate each serve a disjoint set.
"""

from __future__ import annotations

from collections.abc import Collection

from daemon.core.events.models import JobEvent


def refusal(event: JobEvent, allowed: Collection[str]) -> str | None:
    """Why `event` is not this deployment's to act on, else None."""
    if not allowed or event.account in allowed:
        return None
    if event.account is None:
        return "the event names no account and accounts: is set"
    return f"account {event.account} is not in accounts: ({len(allowed)} served here)"
