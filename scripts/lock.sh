#!/usr/bin/env bash
# The hash-locked requirements, resolved by uv (pinned in the dev extra) from the package index:
#
#   requirements/runtime.txt  what the daemon runs (pyproject's [project] dependencies):
#                             the image installs exactly this, with pip --require-hashes
#   requirements/dev.txt      runtime + the dev extra (tests, linters, lock and SBOM tools),
#                             constrained to runtime.txt's pins: CI and `make venv` install it
#   requirements/build.txt    pip and the build backend (pyproject's [build-system] requires),
#                             constrained to dev.txt's pins (CI installs both into one venv):
#                             the image builds the wheel with it, CI installs the project with it
#
# Settings (platform, hashes, cut-off date) are in requirements/uv.toml.
#
#   scripts/lock.sh            after pyproject.toml changed: moves the cut-off to now and
#                              resolves again, keeping every pin that pyproject.toml still allows
#   scripts/lock.sh --upgrade  the same, taking the newest release of every package
#   scripts/lock.sh --check    resolves again as of the recorded cut-off into a scratch copy and
#                              fails, showing the difference, when a committed file is not current
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
UV="${UV:-$ROOT/.venv/bin/uv}"
CONFIG=requirements/uv.toml
LOCKS=(runtime dev build)

mode="${1:-lock}"
case "$mode" in
    lock|--upgrade|--check) ;;
    *) echo "usage: scripts/lock.sh [--upgrade|--check]" >&2; exit 2 ;;
esac
[[ -x "$UV" ]] || { echo "lock: $UV not found: run make venv (uv is pinned in the dev extra)" >&2; exit 2; }

build_requirements() {  # [build-system] requires, and pip, which installs everything
    "${PYTHON:-$ROOT/.venv/bin/python}" -c '
import tomllib
with open("pyproject.toml", "rb") as f:
    print("\n".join([*tomllib.load(f)["build-system"]["requires"], "pip"]))'
}

compile() {  # compile NAME OUTPUT [uv options]: one lock file; an existing OUTPUT's pins are kept
    local name="$1" out="$2"
    shift 2
    local uv=("$UV" --config-file "$CONFIG" pip compile --quiet --output-file "$out" "$@")
    case "$name" in
        runtime) "${uv[@]}" pyproject.toml ;;
        dev) "${uv[@]}" pyproject.toml --extra dev --constraint requirements/runtime.txt ;;
        build) build_requirements | "${uv[@]}" - --constraint requirements/dev.txt ;;
    esac
}

if [[ "$mode" == "--check" ]]; then
    scratch="$(mktemp -d)"
    trap 'rm -rf "$scratch"' EXIT
    stale=0
    for name in "${LOCKS[@]}"; do
        cp "requirements/$name.txt" "$scratch/$name.txt"
        compile "$name" "$scratch/$name.txt"
        if ! diff -u "requirements/$name.txt" "$scratch/$name.txt" >"$scratch/$name.diff"; then
            cat "$scratch/$name.diff" >&2
            echo "lock: requirements/$name.txt is not current: run make lock" >&2
            stale=1
        fi
    done
    [[ "$stale" == 0 ]] && echo "lock: requirements/*.txt are current"
    exit "$stale"
fi

now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
# (sed without -i: BSD and GNU sed disagree on -i's argument)
sed "s/^exclude-newer = .*/exclude-newer = \"$now\"/" "$CONFIG" > "$CONFIG.new"
mv "$CONFIG.new" "$CONFIG"
extra=()
[[ "$mode" == "--upgrade" ]] && extra=(--upgrade)
for name in "${LOCKS[@]}"; do
    compile "$name" "requirements/$name.txt" "${extra[@]}"
    echo "lock: requirements/$name.txt: $(grep -c '^[a-z0-9]' "requirements/$name.txt") packages"
done
