"""Which DynamoDB tables an AWS Backup plan's selection takes, as coverage counts them (pure).

AWS's rule: a resource is selected when it matches any of `Resources` (ARNs, wildcards) or
carries any of `ListOfTags` (StringEquals), and meets every `Conditions` entry, and matches
none of `NotResources`. Here only DynamoDB tables of the daemon's Region are asked about, by
name: an ARN pattern is compared service, Region and `table/<name>` part by part (the account
is the daemon's own, so that part is not compared); '*' alone takes every resource.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

OPERATORS = ("equals", "not_equals", "like", "not_like")


@dataclass(frozen=True, slots=True)
class PlanSelection:
    """One selection of a backup plan; satisfies coverage's `Selects`."""

    region: str
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    conditions: tuple[tuple[str, str, str], ...] = ()  # (operator, key, value)

    @classmethod
    def build(cls, region: str, *, resources: Iterable[str], not_resources: Iterable[str],
              tags: Mapping[str, str],
              conditions: Iterable[tuple[str, str, str]]) -> PlanSelection:
        return cls(region, tuple(resources), tuple(not_resources), tuple(sorted(tags.items())),
                   tuple(conditions))

    @property
    def needs_tags(self) -> bool:
        return bool(self.tags or self.conditions)

    def selects(self, name: str, tags: Mapping[str, str] | None = None) -> bool:
        if any(self._matches(arn, name) for arn in self.not_resources):
            return False
        known = tags or {}
        taken = (any(self._matches(arn, name) for arn in self.resources)
                 or any(known.get(key) == value for key, value in self.tags))
        return taken and all(_holds(op, known.get(key), value)
                             for op, key, value in self.conditions)

    def _matches(self, pattern: str, name: str) -> bool:
        if pattern == "*":
            return True
        parts = pattern.split(":", 5)
        if len(parts) != 6:
            return False
        _, _, service, region, _, resource = parts
        return (fnmatch.fnmatchcase("dynamodb", service)
                and fnmatch.fnmatchcase(self.region, region or "*")
                and fnmatch.fnmatchcase(f"table/{name}", resource))


def _holds(operator: str, actual: str | None, value: str) -> bool:
    """One tag condition (StringEquals, StringNotEquals, StringLike, StringNotLike)."""
    if operator == "equals":
        return actual == value
    if operator == "not_equals":
        return actual != value
    matched = actual is not None and fnmatch.fnmatchcase(actual, value)
    return matched if operator == "like" else not matched
