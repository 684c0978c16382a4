"""Every log line is one JSON object: the daemon's events and the libraries' records alike.

Each case runs the daemon's logging setup in a fresh interpreter (logging is process-wide) and
reads what it wrote to stdout, line by line.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from typing import Any

import pytest

from daemon import __version__
from daemon.config.settings import Settings
from daemon.obs.logging import configure_logging

FIELDS = {"timestamp", "level", "logger", "event", "service", "version"}

# A library warning (asyncio's slow-callback warning), a library error with a traceback
# (asyncio's "Task exception was never retrieved"), a warnings.warn(), the daemon's own event
# and exception, and records that must stay out (botocore below error, aiohttp's access log).
SCRIPT = r"""
import asyncio, gc, logging, sys, time, warnings
import structlog
from daemon.obs.logging import configure_logging

configure_logging(sys.argv[1], json=True)
log = structlog.get_logger("daemon.example")

async def fail():
    raise ValueError("bad\nvalue")

async def main():
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = 0.01
    loop.call_soon(time.sleep, 0.05)
    task = asyncio.ensure_future(fail())
    await asyncio.sleep(0.1)
    del task
    gc.collect()

log.info("example.started", table="orders")
asyncio.run(main())
try:
    1 / 0
except ZeroDivisionError:
    log.exception("example.failed", table="orders")
warnings.warn("an old API", UserWarning, stacklevel=1)
logging.getLogger("botocore.credentials").warning("Found credentials in environment variables.")
logging.getLogger("aiohttp.access").info("GET /metrics 200")
log.debug("example.debug")
"""


def run_logging(level: str = "info") -> tuple[list[dict[str, Any]], str]:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, level], capture_output=True, text=True,
                          timeout=60, check=True)
    lines = proc.stdout.splitlines()
    assert lines
    return [json.loads(line) for line in lines], proc.stderr


@pytest.fixture(scope="module")
def lines() -> list[dict[str, Any]]:
    parsed, stderr = run_logging()
    assert stderr == ""
    return parsed


def by_event(lines: list[dict[str, Any]], text: str) -> dict[str, Any]:
    (line,) = [line for line in lines if text in line["event"]]
    return line


def test_every_line_is_one_json_object_with_the_common_fields(lines: list[dict[str, Any]]) -> None:
    for line in lines:
        assert set(line) >= FIELDS, line
        assert line["service"] == "ddb-backupd"
        assert line["version"] == __version__
        assert line["timestamp"].endswith("Z")


def test_a_library_warning_is_a_json_line_with_its_logger(lines: list[dict[str, Any]]) -> None:
    slow = by_event(lines, "Executing <Handle sleep")
    assert slow["logger"] == "asyncio"
    assert slow["level"] == "warning"
    warned = by_event(lines, "an old API")
    assert (warned["logger"], warned["level"]) == ("py.warnings", "warning")


def test_a_library_traceback_is_structured_in_one_line(lines: list[dict[str, Any]]) -> None:
    lost = by_event(lines, "Task exception was never retrieved")
    assert (lost["logger"], lost["level"]) == ("asyncio", "error")
    (exc,) = lost["exception"]
    assert exc["exc_type"] == "ValueError"
    assert exc["exc_value"] == "bad\nvalue"
    assert exc["frames"][-1]["name"] == "fail"


def test_the_daemons_own_exception_is_structured(lines: list[dict[str, Any]]) -> None:
    failed = by_event(lines, "example.failed")
    assert failed["logger"] == "daemon.example"
    assert failed["level"] == "error"
    assert failed["table"] == "orders"
    assert failed["exception"][0]["exc_type"] == "ZeroDivisionError"
    assert "exc_info" not in failed


def test_libraries_log_warnings_only_and_the_noisiest_errors_only(
        lines: list[dict[str, Any]]) -> None:
    loggers = {line["logger"] for line in lines}
    assert not {"botocore.credentials", "aiohttp.access"} & loggers
    assert "example.debug" not in {line["event"] for line in lines}


@pytest.mark.parametrize("level", ["DEBUG", "Debug", "debug"])
def test_the_level_is_read_in_any_case(level: str) -> None:
    parsed, _ = run_logging(level)
    assert "example.debug" in {line["event"] for line in parsed}
    assert Settings(log_level=level).log_level == "debug"


def test_log_level_environment_variable_in_capitals_is_valid(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKUPD_LOG_LEVEL", "WARNING")
    assert Settings().log_level == "warning"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_the_console_renderer_not_json() -> None:
    """Run in-process: configure_logging is called again by every daemon process anyway."""
    import logging  # noqa: PLC0415

    import structlog  # noqa: PLC0415

    previous = structlog.get_config()
    root_handlers = logging.getLogger().handlers[:]
    try:
        terminal = Terminal()
        configure_logging("info", stream=terminal)
        structlog.get_logger("daemon.example").info("example.started", table="orders")
        text = terminal.getvalue()
        assert "example.started" in text
        assert "table" in text
        with pytest.raises(json.JSONDecodeError):
            json.loads(text.splitlines()[0])
    finally:
        structlog.configure(**previous)
        logging.getLogger().handlers[:] = root_handlers
        logging.captureWarnings(False)
