"""One CLI voice: every --help reads as user documentation, and every exit code is documented.

docs/cli.md has one table of every command's exit codes. It must equal what the commands
declare (EXIT_CODES), each --help must show the same, the code must return no other code,
and each code is produced here by a real command line (or named below with the test that
produces it).
"""

from __future__ import annotations

import ast
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import daemon.cli
from daemon.cli import COMMANDS, COMMON_EXIT_CODES, _load, build_parser, main

ROOT = Path(__file__).resolve().parents[2]
CLI_DIR = ROOT / "daemon/cli"
DOCS = ROOT / "docs/cli.md"
EVENT = ROOT / "tests/data/events/eb-backup-job-completed.json"
ROW = re.compile(r"^\| (`ddb-backupd ([a-z-]+)`|every command) \| (\d+) \| (.+) \|$")


def module(command: str) -> ModuleType:
    return _load(COMMANDS[command][0])


def help_text(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as stopped:
        main([*argv, "--help"])
    assert stopped.value.code == 0
    return capsys.readouterr().out


def flat(text: str) -> str:
    return " ".join(text.split())


def documented() -> dict[str, dict[int, str]]:
    """docs/cli.md's exit-code table: command (or "every command") -> code -> meaning."""
    table: dict[str, dict[int, str]] = {}
    for line in DOCS.read_text().splitlines():
        if match := ROW.match(line):
            table.setdefault(match[2] or match[1], {})[int(match[3])] = match[4]
    return table


# --- --help is user documentation ----------------------------------------------------------

def test_top_level_help_lists_every_command_and_the_common_exit_codes(
        capsys: pytest.CaptureFixture[str]) -> None:
    text = flat(help_text(capsys))
    assert flat(daemon.cli.DESCRIPTION) in text
    assert "one module per subcommand" not in text  # the package's docstring is not help
    for name, (_, summary) in COMMANDS.items():
        assert name in text
        assert flat(summary) in text
    for code, meaning in COMMON_EXIT_CODES.items():
        assert f"{code} {flat(meaning)}" in text


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_describes_it_and_lists_its_exit_codes(
        capsys: pytest.CaptureFixture[str], command: str) -> None:
    cli = module(command)
    text = help_text(capsys, command)
    assert text.startswith(f"usage: ddb-backupd {command}")
    assert flat(cli.DESCRIPTION) in flat(text)
    docstring = (cli.__doc__ or "").strip().splitlines()[0]
    assert flat(docstring) not in flat(text), "a module docstring is not user documentation"
    assert "exit codes:" in text
    for code, meaning in cli.EXIT_CODES.items():
        assert f"{code} {flat(meaning)}" in flat(text)
    assert "exits 2 when its command line is wrong" in flat(text)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_is_explained_in_a_sentence(command: str) -> None:
    parser = build_parser(command)
    sub = next(a for a in parser._actions if a.dest == "command")
    for action in sub.choices[command]._actions:  # type: ignore[union-attr]
        if action.dest == "help":
            continue
        assert action.help, f"{command} {action.option_strings or action.dest}: no help"
        assert action.help[0].isupper() or action.help.startswith(("'", "A ")), action.help
        assert action.help.endswith((".", ".)")), f"{command}: {action.help!r}"


# --- the docs table, the declarations and the code agree ----------------------------------

def test_docs_table_is_the_exit_codes_the_commands_declare() -> None:
    expected = {name: dict(module(name).EXIT_CODES) for name in COMMANDS}
    expected["every command"] = dict(COMMON_EXIT_CODES)
    assert documented() == expected, "docs/cli.md's exit-code table differs from EXIT_CODES"


def literal_exit_codes(path: Path) -> set[int]:
    """Integer literals returned by functions annotated `-> int`, or passed to sys.exit."""
    found: set[int] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef) and isinstance(node.returns, ast.Name) \
                and node.returns.id == "int":
            found |= {ret.value.value for ret in ast.walk(node)
                      if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Constant)
                      and isinstance(ret.value.value, int)}
        if isinstance(node, ast.Call) and ast.unparse(node.func) in {"sys.exit", "os._exit"}:
            found |= {a.value for a in node.args if isinstance(a, ast.Constant)}
    return found


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_returns_no_undocumented_exit_code(command: str) -> None:
    """The command's module and the modules it is split into (plan_online, demo_scenario)."""
    name = COMMANDS[command][0]
    allowed = set(module(command).EXIT_CODES) | set(COMMON_EXIT_CODES)
    for path in CLI_DIR.glob(f"{name}*.py"):
        assert literal_exit_codes(path) <= allowed, path.name
    assert 0 in module(command).EXIT_CODES


def test_the_entry_point_returns_only_the_common_codes() -> None:
    assert literal_exit_codes(CLI_DIR / "__init__.py") <= set(COMMON_EXIT_CODES)


# --- each documented code, produced -------------------------------------------------------

def busy_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


CASES: list[tuple[str, list[str], int]] = [
    ("run", ["run"], 2),  # with BACKUPD_QUEUE__COLOUR set below
    ("check-config", ["check-config"], 0),
    ("check-config", ["check-config", "--now", "soon"], 2),
    ("decode", ["decode", str(EVENT)], 0),
    ("decode", ["decode", "/nonexistent/message.json"], 1),
    ("next-runs", ["next-runs", "rate(1 day)", "--count", "1"], 0),
    ("next-runs", ["next-runs", "cron(nonsense)"], 2),
    ("plan", ["plan", "--backups", str(ROOT / "tests/cli/empty.json"), "--policy",
              '{"keep_last": 1}'], 0),
    ("plan", ["plan", "--backups", str(ROOT / "tests/cli/empty.json")], 2),
    ("restore-name", ["restore-name", "--source-pattern", "-prod$", "--replacement", "-qa",
                      "--table", "orders-prod", "--at", "2026-01-01T00:00:00Z"], 0),
    ("restore-name", ["restore-name", "--source-pattern", "-prod$", "--replacement", "-qa",
                      "--table", "orders-dev"], 2),
    ("restore", ["restore", "--table", "orders"], 2),  # --table without --latest
    ("iam-policy", ["iam-policy", "--account", "123456789012"], 0),
    ("iam-policy", ["iam-policy", "--account", "12"], 2),
    ("sandbox", ["sandbox", "--port", "{busy}"], 1),
    ("every command", ["decode", "--no-such-option"], 2),
    ("every command", [], 2),
]
# Produced by other tests: the daemon's and the demo's signal handling, an AWS failure.
ELSEWHERE = {
    ("run", 0): "tests/trust/test_graceful_shutdown.py",
    ("run", 1): "tests/trust/test_graceful_shutdown.py (a second signal)",
    ("demo", 0): "tests/deploy/test_prometheus_e2e.py (demo --seconds)",
    ("demo", 1): "the daemon's second-signal exit, as for run",
    ("demo", 2): "tests/cli/test_standin_extra.py",
    ("sandbox", 0): "test_sandbox_exits_0_on_sigterm below",
    ("sandbox", 2): "tests/cli/test_standin_extra.py",
    ("plan", 1): "plan_online's AWS error path (an AWS call failed)",
    ("every command", 130): "test_ctrl_c_exits_130 below",
    **{("restore", code): "tests/cli/test_restore_e2e.py (against the stand-in)"
       for code in (0, 1, 3, 4, 5)},
    ("status", 0): "tests/status/test_cli.py (against the demo)",
    ("status", 1): "tests/status/test_cli.py (a daemon not ready, a section in error)",
    ("status", 2): "tests/status/test_cli.py (nothing listening, not a /status, HTTP 404)",
    ("get", 0): "tests/status/test_cli.py (against the demo)",
    ("get", 1): "tests/status/test_cli.py (a daemon not ready)",
    ("get", 2): "tests/status/test_cli.py (nothing listening, not a /status, HTTP 404)",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [k for k in os.environ if k.upper().startswith("BACKUPD_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(("command", "argv", "code"), CASES,
                         ids=[f"{c}-{code}-{i}" for i, (c, _, code) in enumerate(CASES)])
def test_documented_exit_code_is_what_the_command_returns(
        command: str, argv: list[str], code: int, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    if command == "run":
        monkeypatch.setenv("BACKUPD_QUEUE__COLOUR", "red")
    with busy_port() as sock:
        argv = [a.replace("{busy}", str(sock.getsockname()[1])) for a in argv]
        try:
            got = main(argv)
        except SystemExit as exc:  # argparse
            got = int(exc.code or 0)
    capsys.readouterr()
    assert got == code
    assert code in documented()[command]


def test_every_documented_code_is_produced_here_or_elsewhere() -> None:
    produced = {(command, code) for command, _, code in CASES}
    for command, codes in documented().items():
        for code in codes:
            assert (command, code) in produced or (command, code) in ELSEWHERE, (command, code)


def test_ctrl_c_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(_: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(module("next-runs"), "run", interrupted)
    assert main(["next-runs", "rate(1 day)"]) == 130


def test_sandbox_exits_0_on_sigterm() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "daemon", "sandbox"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("http://127.0.0.1:")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
