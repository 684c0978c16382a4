"""The `/status` models are built at the first document, not when the daemon imports them: a
daemon nobody asks for its status never pays for them (time to ready, idle memory)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
from daemon.kernel import status_model
from daemon.kernel.status import StatusBoard
from daemon.kernel.history import RunningHistory
from daemon.core.events.tracker import JobTable
from daemon.core.clock import SystemClock

def built():
    return sorted(name for name, model in vars(status_model).items()
                  if isinstance(model, type) and issubclass(model, status_model.Part)
                  and model.__pydantic_complete__)

print(built())
board = StatusBoard()
history = RunningHistory(JobTable(), SystemClock(), 30.0)
history.run_once()
board.add("history", history.status)
board.set_health("config", True)
document = board.document()
print(document.errors, len(document.history.points), "StatusDocument" in built())
"""


def test_models_are_built_at_the_first_document() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], check=True, capture_output=True,
                         text=True).stdout.splitlines()
    assert out == ["[]", "{} 1 True"]
