# syntax=docker/dockerfile:1
# ddb-backupd container image. The build stage installs the hash-locked runtime requirements
# (requirements/runtime.txt, `make lock`) and the daemon's wheel into a venv; the runtime stage
# is the same Python base with that venv copied in and nothing else (no compiler, no pip, no
# apt packages). Runs as a numeric non-root user and needs only /tmp writable, so it runs with
# a read-only root filesystem.
#
#   docker build -t ddb-backupd:0.1.0 --build-arg VERSION=0.1.0 \
#     --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
#     --build-arg SOURCE="$(git remote get-url origin)" .
#
# The base image is pinned by the digest of its multi-platform index (the tag beside it is for
# people: the digest decides), so a rebuild gets the same Python and Debian. To move to a newer
# patch release, read the tag's current digest and replace both here, then rebuild and test:
#
#   docker buildx imagetools inspect python:3.12-slim-bookworm   # the "Digest:" line
#   (or: crane digest python:3.12-slim-bookworm)
ARG PYTHON_IMAGE=python:3.12.14-slim-bookworm@sha256:a116514e19457bcb7af7efe9c3dd0b9b71e85b317694e7882a1c52aa15a78134

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
# The locks first, so that a change of the source alone reuses this layer. The build tools
# (pip, setuptools, wheel) get a venv of their own; the runtime venv has no pip at all. pip
# checks every file against the lock's hashes, refuses anything the lock does not pin, and
# takes wheels only (the runtime stage has no compiler, and neither does this one).
# The venv path is the same in both stages, so its scripts' shebangs stay valid.
COPY requirements/build.txt requirements/runtime.txt ./requirements/
RUN python -m venv /opt/build \
    && /opt/build/bin/pip install --require-hashes -r requirements/build.txt \
    && python -m venv --without-pip /opt/venv \
    && /opt/build/bin/pip --python /opt/venv/bin/python install --no-compile \
       --only-binary :all: --require-hashes -r requirements/runtime.txt
# Only what the wheel is built from (see .dockerignore): no tests, no local venv.
COPY pyproject.toml README.md ./
COPY daemon/ ./daemon/
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
    && /opt/build/bin/pip --python /opt/venv/bin/python install --no-compile --no-deps /wheels/*.whl \
    && /opt/build/bin/pip --python /opt/venv/bin/python check \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib

FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="ddb-backupd" \
      org.opencontainers.image.description="One asyncio daemon that schedules, tracks, prunes, restores and exports DynamoDB backups with AWS Backup." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE}"
# A numeric UID/GID (Kubernetes' runAsNonRoot can verify only a numeric user) with a home
# that does not exist: nothing may write outside /tmp (readOnlyRootFilesystem).
RUN groupadd --system --gid 65532 backupd \
    && useradd --system --uid 65532 --gid 65532 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin backupd
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    BACKUPD_REVISION=${REVISION} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TMPDIR=/tmp
USER 65532:65532
WORKDIR /tmp
# /metrics, /healthz, /readyz, /status: 9102 unless BACKUPD_HTTP__PORT says otherwise, and
# the health check asks the port the daemon was told.
EXPOSE 9102
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('BACKUPD_HTTP__PORT', '9102'), timeout=4)"]
ENTRYPOINT ["ddb-backupd"]
CMD ["run"]
