"""Commands that need the local AWS stand-in say so where it is not installed (the image).

The stand-in (moto) is an optional extra: the container image installs only what the daemon
runs. Each case runs the CLI in a fresh interpreter where `import moto` fails, as it does
there; test_image_runtime.py runs the same commands in the image's own venv.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

WITHOUT_MOTO = ("import sys; sys.modules['moto'] = None; "
                "from daemon.cli import main; sys.exit(main(sys.argv[1:]))")


def cli_without_moto(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_MOTO, *argv], capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.mark.parametrize("command", ["demo", "sandbox"])
def test_a_command_needing_the_standin_names_the_extra_and_exits_2(command: str) -> None:
    proc = cli_without_moto(command)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"ddb-backupd {command}: needs the local AWS stand-in" in proc.stderr
    assert "pip install 'ddb-backupd[standin]'" in proc.stderr


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"], ["sandbox", "--help"]])
def test_help_works_without_the_standin(argv: list[str]) -> None:
    proc = cli_without_moto(*argv)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: ddb-backupd")
