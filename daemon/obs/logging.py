"""Logging configured once: every line one JSON object on stdout (console rendering on a TTY).

The daemon's events (structlog) and the libraries' records (stdlib logging: asyncio, aiohttp,
botocore, Python warnings) go through one handler whose structlog `ProcessorFormatter`
renders both alike, each line with `timestamp`, `level`, `logger`, `event`, `service` and
`version`; an exception is a structured traceback (`exception`: a list of frames), never
lines of text. Context (job_id, table, schedule, vault) is bound with contextvars by the
components, so every line of one unit of work carries it. Event names are dotted and stable.

Libraries log warnings and errors only (the noisiest, errors only), whatever the level: at
debug, botocore would log request headers.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger

from daemon import __version__

SERVICE = "ddb-backupd"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}
LIBRARY_LEVEL = logging.WARNING
NOISY = ("botocore", "aiobotocore", "aioboto3", "urllib3", "werkzeug", "moto")


def add_service(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Name the service and its version on every line (several services share a log store)."""
    event_dict.setdefault("service", SERVICE)
    event_dict.setdefault("version", __version__)
    return event_dict


def shared_processors() -> list[Any]:
    """What every line gets, the daemon's events and the libraries' records alike."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_service,
        structlog.processors.StackInfoRenderer(),
    ]


def formatter(*, json: bool) -> structlog.stdlib.ProcessorFormatter:
    """The one formatter: a JSON object per line, or the console renderer for people."""
    final: list[Any] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if json:
        final += [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()]
    else:
        final += [structlog.dev.ConsoleRenderer()]
    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared_processors(),
                                               processors=final)


def configure_logging(level: str = "info", *, json: bool | None = None,
                      stream: TextIO | None = None) -> None:
    """Configure structlog and stdlib logging for the whole process (call once, in main).

    `level` in any case; `json` None means JSON unless `stream` (default stdout) is a TTY.
    """
    out = stream or sys.stdout
    use_json = not out.isatty() if json is None else json
    threshold = LEVELS[level.lower()]
    structlog.configure(
        processors=[*shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter(json=use_json))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LIBRARY_LEVEL)
    logging.getLogger("daemon").setLevel(threshold)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.ERROR)
    logging.captureWarnings(True)  # warnings.warn() -> logger "py.warnings" -> one JSON line


class _Stderr:
    """Whatever `sys.stderr` is when a line is written (a test may swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


@contextmanager
def logs_on_stderr() -> Iterator[None]:
    """For a command whose stdout is its output (`ddb-backupd restore`'s JSON lines): while
    it runs, the daemon's log lines go to stderr, one JSON object each; the configuration
    before it is restored after."""
    before = structlog.get_config()
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso", utc=True), add_service,
                    structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False)
    try:
        yield
    finally:
        structlog.configure(**before)
