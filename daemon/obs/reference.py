"""docs/metrics.md's metrics reference, derived from the registry itself so it cannot drift."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from daemon.core.events.tracker import JobTable
from daemon.obs.collector import TrackerCollector
from daemon.obs.metrics import Metrics


def metric_rows() -> list[tuple[str, str, str, str]]:
    """(exposed name, type, labels, help) of every metric the daemon exposes."""
    metrics = Metrics(CollectorRegistry())
    metrics.registry.register(TrackerCollector(JobTable(), lambda: 0, 1,
                                                ratios={"warning": 0.8}))
    declared: dict[str, tuple[str, ...]] = {}
    for collector in set(metrics.registry._names_to_collectors.values()):
        names = getattr(collector, "_labelnames", None)
        if names is not None:
            declared[getattr(collector, "_name", "")] = tuple(names)
        for family in getattr(collector, "describe", list)():
            if getattr(family, "_labelnames", None):
                declared[family.name] = tuple(family._labelnames)
    rows = []
    for family in metrics.registry.collect():
        name = family.name + ("_total" if family.type == "counter" else "")
        name += "_info" if family.type == "info" else ""
        labels = set(declared.get(family.name, ()))
        for sample in family.samples:
            labels.update(k for k in sample.labels if k != "le")
        rows.append((name, family.type, ", ".join(sorted(labels)), family.documentation))
    return sorted(rows)


def markdown_table() -> str:
    lines = ["| metric | type | labels | meaning |", "|---|---|---|---|"]
    lines += [f"| `{n}` | {t} | {labels} | {h} |" for n, t, labels, h in metric_rows()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")  # noqa: T201 - the generator's output
