"""The process itself: build info, memory, CPU, file descriptors, GC, and the memory limit.

prometheus_client's process, platform and GC collectors go on the facade's own registry (not
the global one), and `_created` series are switched off: they double the series count and no
query of ours reads them. The container's memory limit is read from the cgroup at scrape time,
so `process_resident_memory_bytes / backupd_memory_limit_bytes` is alertable without the chart
having to tell the daemon its own limit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from daemon import __version__

# cgroup v2 first (memory.max, "max" when unlimited), then cgroup v1 (a huge number when
# unlimited: anything from 2**60 up is taken as no limit).
CGROUP_MEMORY_LIMITS = (Path("/sys/fs/cgroup/memory.max"),
                        Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
NO_LIMIT_FROM = 2**60


def memory_limit_bytes(paths: Sequence[Path] = CGROUP_MEMORY_LIMITS) -> int | None:
    """The cgroup's memory limit in bytes, or None when there is none (or no cgroup)."""
    for path in paths:
        try:
            text = path.read_text(encoding="ascii").strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < NO_LIMIT_FROM:
            return int(text)
        return None
    return None


class MemoryLimitCollector(Collector):
    """backupd_memory_limit_bytes, read at scrape time; absent when the process has no limit."""

    def __init__(self, paths: Sequence[Path] = CGROUP_MEMORY_LIMITS) -> None:
        self._paths = paths

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self._family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = self._family()
        limit = memory_limit_bytes(self._paths)
        if limit is not None:
            family.add_metric([], limit)
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily("backupd_memory_limit_bytes",
                                 "Memory limit of the process's cgroup (the container's limit); "
                                 "absent when there is none.")


def register_runtime(registry: CollectorRegistry, revision: str,
                     cgroup_paths: Sequence[Path] = CGROUP_MEMORY_LIMITS) -> None:
    """Build info, the process/platform/GC collectors and the memory limit on `registry`."""
    # Process-wide in prometheus_client (no `_created` series anywhere); it has no annotations.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    Info("backupd_build", "Build information: the version and the source revision it was "
         "built from (BACKUPD_REVISION at image build; 'unknown' otherwise).",
         registry=registry).info({"version": __version__, "revision": revision or "unknown"})
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    registry.register(MemoryLimitCollector(cgroup_paths))
