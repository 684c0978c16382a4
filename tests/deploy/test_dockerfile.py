"""The container image, as far as it can be checked without a Docker engine.

hadolint checks the Dockerfile's practices; these tests check its contract with the
deployments: a slim runtime stage without build tools, a numeric non-root user, the
entrypoint, the metrics port, the OCI labels and a build context with nothing but the source.
The image's runtime behaviour is checked in test_image_runtime.py.
"""

from __future__ import annotations

import re

import pytest

from daemon.config.settings import HttpSettings
from tests.deploy import dockerfile
from tests.deploy.tools import ROOT, run, tool

BUILD_TOOLS = re.compile(r"\b(apt-get|apk|gcc|g\+\+|make|build-essential|pip3? install|"
                         r"pip3? wheel|poetry|uv )\b")


@pytest.fixture(scope="module")
def final() -> dockerfile.Stage:
    return dockerfile.stages()[-1]


def test_hadolint_finds_nothing_at_any_severity() -> None:
    hadolint = tool("hadolint")
    proc = run([hadolint, "--failure-threshold", "style", "--no-color", str(dockerfile.DOCKERFILE)],
               check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == ""


def test_image_is_built_in_one_stage_and_run_from_a_slim_python_312() -> None:
    stages = dockerfile.stages()
    assert len(stages) >= 2
    assert stages[0].name == "build"
    assert re.fullmatch(r"python:3\.12(\.\d+)?-slim(-\w+)?@sha256:[0-9a-f]{64}", stages[-1].base)
    assert stages[0].base == stages[-1].base


def test_base_image_is_pinned_by_digest_with_its_tag_and_how_to_bump_it() -> None:
    text = dockerfile.DOCKERFILE.read_text()
    base = dockerfile.stages()[-1].base
    tag, _, digest = base.partition("@")
    assert tag.startswith("python:3.12")
    assert digest.startswith("sha256:")
    assert "docker buildx imagetools inspect python:3.12-slim" in text


def test_runtime_stage_installs_no_build_tools(final: dockerfile.Stage) -> None:
    for keyword, text in final.instructions:
        if keyword == "RUN":
            assert not BUILD_TOOLS.search(text), f"build tool in the runtime stage: {text}"
    assert final.args("COPY") == ["--from=build /opt/venv /opt/venv"]


def test_the_runtime_venv_never_has_pip() -> None:
    """The build tools live in /opt/build; /opt/venv, the only thing copied on, has no pip."""
    run_text = " ".join(dockerfile.stages()[0].args("RUN"))
    assert "python -m venv --without-pip /opt/venv" in run_text
    assert "/opt/venv/bin/pip" not in run_text


def test_build_stage_installs_only_what_the_locks_pin_checked_by_hash() -> None:
    build = dockerfile.stages()[0]
    run_text = " ".join(build.args("RUN"))
    assert "/opt/build/bin/pip install --require-hashes -r requirements/build.txt" in run_text
    assert re.search(r"--python /opt/venv/bin/python install [^&]*--require-hashes "
                     r"-r requirements/runtime\.txt", run_text)
    # The wheel itself: no dependency beyond the lock, built by the locked backend.
    assert re.search(r"pip wheel --no-deps --no-build-isolation", run_text)
    assert re.search(r"install --no-compile --no-deps /wheels/\*\.whl", run_text)
    assert "--python /opt/venv/bin/python check" in run_text
    assert "requirements/runtime.txt" in " ".join(dockerfile.copy_sources(build))


def test_runs_as_a_numeric_non_root_user(final: dockerfile.Stage) -> None:
    users = final.args("USER")
    assert users, "no USER in the runtime stage"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit(), "runAsNonRoot can verify only a numeric user"
    assert gid.isdigit()
    assert int(uid) != 0
    assert int(gid) != 0


def test_entrypoint_is_the_daemon_and_the_default_command_runs_it(
        final: dockerfile.Stage) -> None:
    assert dockerfile.exec_form(final.args("ENTRYPOINT")[-1]) == ["ddb-backupd"]
    assert dockerfile.exec_form(final.args("CMD")[-1]) == ["run"]


def test_exposes_the_default_metrics_port(final: dockerfile.Stage) -> None:
    default_port = HttpSettings.model_fields["port"].default
    assert final.args("EXPOSE") == [str(default_port)]


def test_health_check_asks_the_port_the_daemon_was_told(final: dockerfile.Stage) -> None:
    """BACKUPD_HTTP__PORT, else the default: test_image_runtime.py runs it on another port."""
    default_port = HttpSettings.model_fields["port"].default
    command = dockerfile.health_command()
    assert command[:2] == ["python", "-c"]
    assert f"os.environ.get('BACKUPD_HTTP__PORT', '{default_port}')" in command[2]
    assert "/healthz" in command[2]


def test_writes_nothing_outside_tmp(final: dockerfile.Stage) -> None:
    env = " ".join(final.args("ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "TMPDIR=/tmp" in env
    assert final.args("WORKDIR")[-1] == "/tmp"
    assert "--home-dir /nonexistent" in " ".join(final.args("RUN"))


@pytest.mark.parametrize("label", [
    "title", "description", "version", "revision", "created", "licenses", "source"])
def test_carries_the_oci_annotation(final: dockerfile.Stage, label: str) -> None:
    labels = " ".join(final.args("LABEL"))
    assert f"org.opencontainers.image.{label}=" in labels


@pytest.mark.parametrize("path", [
    ".venv/bin/python", ".git/HEAD", ".tools/bin/helm", "tests/conftest.py",
    "requirements/dev.txt", "requirements/uv.toml",
    "helm/ddb-backupd/values.yaml", "daemon/__pycache__/app.cpython-312.pyc",
    "daemon/core/__pycache__/tracker.cpython-312.pyc", "build/lib/daemon/app.py",
])
def test_build_context_leaves_out(path: str) -> None:
    assert dockerfile.ignored(path)


def test_build_context_sends_everything_the_build_stage_copies() -> None:
    sources = dockerfile.copy_sources(dockerfile.stages()[0])
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: missing in the repository"
        assert not dockerfile.ignored(source.rstrip("/")), f"COPY {source}: .dockerignore drops it"
    for module in (ROOT / "daemon").rglob("*.py"):
        assert not dockerfile.ignored(str(module.relative_to(ROOT)))
