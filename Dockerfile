# syntax=docker/dockerfile:1
# ddb-backupd container image: the wheel is built and installed into a venv in the build
# stage; the runtime stage is python:3.12-slim with that venv copied in and nothing else
# (no compiler, no pip, no apt packages). Runs as a numeric non-root user and needs only
# /tmp writable, so it runs with a read-only root filesystem.
#
#   docker build -t ddb-backupd:0.1.0 --build-arg VERSION=0.1.0 \
#     --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
#     --build-arg SOURCE="$(git remote get-url origin)" .
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
# Only what the wheel is built from (see .dockerignore): no tests, no local venv.
COPY pyproject.toml README.md ./
COPY daemon/ ./daemon/
# The venv path is the same in both stages, so its scripts' shebangs stay valid.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --no-compile /wheels/*.whl \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib \
    && /opt/venv/bin/pip uninstall --yes pip

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
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TMPDIR=/tmp
USER 65532:65532
WORKDIR /tmp
# /metrics, /healthz, /readyz, /status (BACKUPD_HTTP__PORT).
EXPOSE 9102
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9102/healthz', timeout=4)"]
ENTRYPOINT ["ddb-backupd"]
CMD ["run"]
