"""Fixtures of the command-line tests: `cli` runs `ddb-backupd restore` in-process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from daemon.cli import main


@pytest.fixture
def cli(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> Any:
    """`cli(*argv, config=None) -> (exit code, [progress lines])`, fast polls, own config."""
    monkeypatch.setenv("BACKUPD_TASKS__POLL_INITIAL_SECONDS", "0.05")
    monkeypatch.setenv("BACKUPD_TASKS__POLL_MAX_SECONDS", "0.2")
    monkeypatch.delenv("BACKUPD_CONFIG_FILE", raising=False)

    def run(*argv: str, config: dict[str, Any] | None = None) -> tuple[int, list[dict[str, Any]]]:
        if config is not None:
            path = tmp_path / "config.yaml"
            path.write_text(yaml.safe_dump(config))
            monkeypatch.setenv("BACKUPD_CONFIG_FILE", str(path))
        capsys.readouterr()
        code = main(["restore", *argv])
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        return code, lines

    return run
