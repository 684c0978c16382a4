"""The process's own metrics: build info, process/platform/GC collectors, the memory limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from daemon import __version__
from daemon.obs.metrics import Metrics
from daemon.obs.metrics_runtime import memory_limit_bytes, register_runtime


def sample_names(metrics: Metrics) -> set[str]:
    return {s.name for family in metrics.registry.collect() for s in family.samples}


def test_build_info_carries_the_version_and_the_revision() -> None:
    metrics = Metrics(CollectorRegistry(), revision="3f2c1ab")
    assert metrics.registry.get_sample_value(
        "backupd_build_info", {"version": __version__, "revision": "3f2c1ab"}) == 1


def test_an_unknown_revision_says_so() -> None:
    metrics = Metrics(CollectorRegistry())
    assert metrics.registry.get_sample_value(
        "backupd_build_info", {"version": __version__, "revision": "unknown"}) == 1


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process metrics need /proc")
def test_process_memory_cpu_and_descriptors_are_exported() -> None:
    registry = CollectorRegistry()
    Metrics(registry)
    assert (registry.get_sample_value("process_resident_memory_bytes") or 0) > 0
    assert registry.get_sample_value("process_cpu_seconds_total") is not None
    assert (registry.get_sample_value("process_open_fds") or 0) > 0


def test_platform_and_gc_collectors_are_registered_on_the_facades_registry() -> None:
    registry = CollectorRegistry()
    Metrics(registry)
    assert registry.get_sample_value("python_gc_collections_total", {"generation": "0"}) is not None
    assert any(s.name == "python_info" for f in registry.collect() for s in f.samples)


def test_no_created_series_are_exported() -> None:
    """`_created` doubles every counter and histogram for nothing any query reads."""
    metrics = Metrics(CollectorRegistry())
    metrics.aws.call("dynamodb", "ListTables", "ok")
    metrics.aws.took("dynamodb", 0.1)
    assert not [n for n in sample_names(metrics) if n.endswith("_created")]


@pytest.mark.parametrize(("files", "limit"), [
    ({"memory.max": "536870912\n"}, 536870912),
    ({"memory.max": "max\n"}, None),
    ({"memory.limit_in_bytes": "268435456\n"}, 268435456),
    ({"memory.limit_in_bytes": "9223372036854771712\n"}, None),  # cgroup v1's "no limit"
    ({}, None),
])
def test_the_memory_limit_is_the_cgroups(tmp_path: Path, files: dict[str, str],
                                         limit: int | None) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    paths = (tmp_path / "memory.max", tmp_path / "memory.limit_in_bytes")
    assert memory_limit_bytes(paths) == limit


def test_the_memory_limit_gauge_is_absent_without_a_limit(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    register_runtime(registry, "", cgroup_paths=(tmp_path / "memory.max",))
    assert registry.get_sample_value("backupd_memory_limit_bytes") is None
    (tmp_path / "memory.max").write_text("1073741824\n")
    assert registry.get_sample_value("backupd_memory_limit_bytes") == 1073741824
