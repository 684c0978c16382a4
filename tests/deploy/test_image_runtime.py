"""What the container image would run, without a Docker engine.

As the Dockerfile's build stage does: a clean venv without pip gets requirements/runtime.txt
(hash-checked, wheels only: offline, from the wheelhouse scripts/install-tools.sh prepares)
and the wheel built from exactly what the build stage copies, without dependencies; `pip
check` must pass. The daemon is then started as the image starts it: `ddb-backupd run` under
an unprivileged numeric UID, HOME unwritable (/nonexistent), the working directory
unwritable, only TMPDIR writable, against the local AWS stand-in (`ddb-backupd sandbox`).
It must answer /readyz and the image's HEALTHCHECK on the port it was told, write nothing
outside TMPDIR, and exit 0 on SIGTERM. The commands that need the stand-in must say so.
"""

from __future__ import annotations

import os
import select
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from packaging.utils import canonicalize_name

from daemon import __version__
from daemon.cli import COMMANDS
from tests.deploy import dockerfile, locks
from tests.deploy.processes import free_port, http_get, started, stop, wait_for
from tests.deploy.tools import ROOT, TOOLS, missing, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
IMAGE_UID = int(dockerfile.stages()[-1].args("USER")[-1].partition(":")[0])


def tools_pip() -> str:
    pip = TOOLS / "venv/bin/pip"
    lock = TOOLS / "wheelhouse/.lock"
    if not pip.exists() or not lock.exists() or lock.read_bytes() != locks.RUNTIME.read_bytes():
        missing("the wheel tools (.tools/venv, a .tools/wheelhouse of requirements/runtime.txt)")
    return str(pip)


def interpreter(root: Path | None = None) -> tuple[Path, dict[str, str]]:
    """A Python 3.12 an unprivileged user can run, and the environment it needs.

    install-tools.sh copies pyenv's Python (under a 0700 /root) to .tools/python; when the
    checkout itself sits under a directory others cannot enter, that copy goes into `root`.
    """
    copy = TOOLS / "python"
    if not copy.exists():
        return Path(sys._base_executable), {}
    if root is not None and not reachable(copy):
        shutil.copytree(copy, root / "python", symlinks=True)
        copy = root / "python"
    return copy / "bin/python3.12", {"LD_LIBRARY_PATH": str(copy / "lib")}


def reachable(path: Path) -> bool:
    """Whether any user may enter every directory on the way to `path`."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])


def build_context(dest: Path) -> Path:
    """The build stage's COPY sources, as .dockerignore lets them into the context."""
    dest.mkdir(parents=True)
    for source in dockerfile.copy_sources(dockerfile.stages()[0]):
        path = ROOT / source
        if path.is_dir():
            shutil.copytree(path, dest / source, ignore=lambda d, names: [
                n for n in names
                if dockerfile.ignored(str((Path(d) / n).relative_to(ROOT)))])
        else:
            (dest / source).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest / source)
    return dest


def build_image(work: Path) -> Path:
    """A world-readable venv holding the built wheel and its runtime dependencies only."""
    pip = tools_pip()
    # Nothing of the dev environment may leak in (PYTHONPATH would show pip the dev install).
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))}
    context = build_context(work / "context")
    run([pip, "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(work / "dist"),
         str(context)], timeout=120, env=clean, cwd=work)
    (wheel,) = (work / "dist").glob("ddb_backupd-*.whl")
    root = Path(tempfile.mkdtemp(prefix="ddb-backupd-image-", dir="/tmp"))
    root.chmod(0o755)
    python, py_env = interpreter(root)
    run([str(python), "-m", "venv", "--without-pip", str(root / "venv")],
        env={**clean, **py_env}, cwd=root)
    target = [pip, "--python", str(root / "venv/bin/python")]
    run([*target, "install", "--quiet", "--no-compile", "--no-index", "--find-links",
         str(TOOLS / "wheelhouse"), "--only-binary", ":all:", "--require-hashes",
         "-r", str(locks.RUNTIME)], timeout=180, env={**clean, **py_env}, cwd=root)
    run([*target, "install", "--quiet", "--no-compile", "--no-deps", str(wheel)], timeout=60,
        env={**clean, **py_env}, cwd=root)
    run([*target, "check"], env={**clean, **py_env}, cwd=root)
    assert (root / "venv/bin/ddb-backupd").exists()
    return root


@pytest.fixture(scope="module")
def image_and_sandbox(
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """The image's venv, and the stand-in's client env with an event queue.

    The stand-in runs from the dev venv (it needs moto) and starts while the wheel builds.
    """
    work = tmp_path_factory.mktemp("image")
    cmd = [sys.executable, "-m", "daemon", "sandbox", "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    root: Path | None = None
    try:
        root = build_image(work)
        env = read_sandbox_env(proc, work / "sandbox.log")
        sqs = boto3.client("sqs", endpoint_url=env["AWS_ENDPOINT_URL"],
                           region_name=env.get("AWS_DEFAULT_REGION", "us-east-1"),
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        env["BACKUPD_QUEUE_URL"] = sqs.create_queue(QueueName="backup-events")["QueueUrl"]
        yield root, env
    finally:
        stop(proc, timeout=3)  # type: ignore[arg-type]
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


def read_sandbox_env(proc: subprocess.Popen[str], log: Path) -> dict[str, str]:
    """URL on the first line, then `export K=V` lines, until "sandbox ready"."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    text = ""
    deadline = time.monotonic() + 60
    while "sandbox ready" not in text and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        chunk = os.read(fd, 65536).decode() if ready else ""
        if ready and not chunk:
            break
        text += chunk
    lines = text.splitlines()
    if "sandbox ready" not in text:
        log.write_text(text)
        pytest.fail(f"sandbox did not start: {lines}")
    env = dict(x.removeprefix("export ").split("=", 1) for x in lines if x.startswith("export "))
    env.setdefault("AWS_ENDPOINT_URL", lines[0].strip())
    return env


def unprivileged() -> dict[str, object]:
    """Popen arguments that drop to the image's UID/GID when we are root (CI is)."""
    if os.geteuid() != 0:
        return {}
    return {"user": IMAGE_UID, "group": IMAGE_UID, "extra_groups": []}


def snapshot(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in root.rglob("*")}


def image_env(image: Path, tmp: Path) -> dict[str, str]:
    """The environment of a process in the image: its venv first, HOME unwritable."""
    py_env = {"LD_LIBRARY_PATH": str(image / "python/lib")} if (image / "python").exists() \
        else interpreter()[1]
    return {"PATH": f"{image / 'venv/bin'}:/usr/bin:/bin", "HOME": "/nonexistent",
            "TMPDIR": str(tmp), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
            **py_env}


def health_check(env: dict[str, str], cwd: Path) -> int:
    """The exit code of the Dockerfile's HEALTHCHECK command, run as the image runs it."""
    command = dockerfile.health_command()
    assert command[0] == "python"
    proc = subprocess.run([str(cwd / "venv/bin/python"), *command[1:]], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=10, check=False,
                          **unprivileged())  # type: ignore[call-overload]
    return int(proc.returncode)


def test_built_wheel_runs_unprivileged_with_home_unwritable_and_answers_readyz(
        image_and_sandbox: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    image, sandbox = image_and_sandbox
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    tmp.chmod(0o1777 | stat.S_IRWXU)
    port = free_port()
    env = {
        **image_env(image, tmp),
        **{k: v for k, v in sandbox.items() if k.startswith("AWS_")},
        "BACKUPD_AWS__ENDPOINT_URL": sandbox["AWS_ENDPOINT_URL"],
        "BACKUPD_QUEUE_URL": sandbox["BACKUPD_QUEUE_URL"],
        "BACKUPD_HTTP__HOST": "127.0.0.1", "BACKUPD_HTTP__PORT": str(port),
        "BACKUPD_QUEUE__WAIT_SECONDS": "1", "BACKUPD_SHUTDOWN_GRACE_SECONDS": "5",
    }
    before = snapshot(image)
    cmd = [str(image / "venv/bin/ddb-backupd"), "run"]
    with started(cmd, tmp_path / "daemon.log", env=env, cwd=image,
                 **unprivileged()) as daemon:  # type: ignore[arg-type]
        uid = int(Path(f"/proc/{daemon.pid}/status").read_text().split("Uid:")[1].split()[0])
        url = f"http://127.0.0.1:{port}"
        wait_for("/readyz 200", lambda: http_get(f"{url}/readyz")[0] == 200, 60, daemon)
        assert http_get(f"{url}/healthz")[0] == 200
        assert b"backupd_build_info" in http_get(f"{url}/metrics")[1]
        status, page = http_get(f"{url}/")
        assert status == 200, "the status page is served from the installed wheel"
        assert b"<title>ddb-backupd</title>" in page
        inside = subprocess.run([str(image / "venv/bin/ddb-backupd"), "status"], env=env,
                                cwd=image, capture_output=True, text=True, timeout=30,
                                check=False, **unprivileged())  # type: ignore[call-overload]
        assert inside.returncode == 0, "`status` beside the daemon (kubectl exec) finds it: " + (
            inside.stdout + inside.stderr)
        assert health_check(env, image) == 0, "HEALTHCHECK fails on BACKUPD_HTTP__PORT"
        assert health_check({**env, "BACKUPD_HTTP__PORT": str(free_port())}, image) != 0
        assert stop(daemon, timeout=15) == 0, (tmp_path / "daemon.log").read_text()[-3000:]
    assert uid == (IMAGE_UID if os.geteuid() == 0 else os.geteuid())
    assert uid != 0
    assert not Path("/nonexistent").exists()
    assert snapshot(image) == before, "the daemon wrote into its install (read-only root)"


@pytest.mark.parametrize("command", ["demo", "sandbox"])
def test_commands_needing_the_standin_say_how_to_get_it_in_the_image(
        image_and_sandbox: tuple[Path, dict[str, str]], tmp_path: Path, command: str) -> None:
    image, _ = image_and_sandbox
    proc = subprocess.run([str(image / "venv/bin/ddb-backupd"), command],
                          env=image_env(image, tmp_path), cwd=image, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "pip install 'ddb-backupd[standin]'" in proc.stderr


def test_help_of_every_command_works_in_the_image(
        image_and_sandbox: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    image, _ = image_and_sandbox
    for argv in (["--help"], *([name, "--help"] for name in COMMANDS)):
        proc = subprocess.run([str(image / "venv/bin/ddb-backupd"), *argv],
                              env=image_env(image, tmp_path), cwd=image, capture_output=True,
                              text=True, timeout=60, check=False)
        assert proc.returncode == 0, f"{argv}: {proc.stderr}"


def test_image_holds_exactly_the_runtime_lock_and_stays_small(
        image_and_sandbox: tuple[Path, dict[str, str]], record_property: Any) -> None:
    """The installed size is the figure deploy docs quote (the venv only, base image apart)."""
    image, _ = image_and_sandbox
    site = next((image / "venv/lib").glob("python3.*/site-packages"))
    stems = [d.name.removesuffix(".dist-info").partition("-") for d in site.glob("*.dist-info")]
    installed = {canonicalize_name(name): version for name, _, version in stems}
    expected = {name: pin.version for name, pin in locks.pins(locks.RUNTIME).items()}
    assert installed == {**expected, "ddb-backupd": __version__}
    size = sum(p.stat().st_size for p in (image / "venv").rglob("*")
               if p.is_file() and not p.is_symlink())
    record_property("image_venv_bytes", size)
    assert size < 150 * 2**20, f"the image's venv is {size / 2**20:.1f} MiB"
