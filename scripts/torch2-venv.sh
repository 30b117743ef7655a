#!/usr/bin/env bash
# Makes .venv-torch2/, a Python virtual environment with torch 2.x (CPU) for the twin's torch-2 tests
# (test/torchTwinTorch2.test.ts): the twin and a real `torchrun` on the torch generation GPU machines run.
# Debian's python3-torch (1.13) stays the twin's main test interpreter. Runs before `npm test` (pretest);
# does nothing when the environment is already there. The versions are python/requirements-torch2.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-torch2
REQUIREMENTS=python/requirements-torch2.txt
STAMP="$VENV/.requirements"
if [ -x "$VENV/bin/python" ] && cmp -s "$REQUIREMENTS" "$STAMP" && "$VENV/bin/python" -c 'import torch' >/dev/null 2>&1; then
  exit 0
fi
PYTHON="${TORCH2_BASE_PYTHON:-python3}"
echo "Making $VENV (torch 2.x on CPU for the twin's torch-2 tests; a few minutes, once)…"
rm -rf "$VENV"
if ! "$PYTHON" -m venv "$VENV"; then
  echo "Could not make $VENV with $PYTHON -m venv. Fix: apt-get install -y python3-venv (or set TORCH2_BASE_PYTHON)." >&2
  exit 1
fi
# Few retries: where the default index is unreachable (wheels on disk only) pip moves on quickly.
if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check --retries "${PIP_RETRIES:-1}" -r "$REQUIREMENTS"; then
  rm -rf "$VENV"
  echo "pip could not install $REQUIREMENTS. It needs the torch 2.13.0+cpu wheel where pip looks:" \
    "a wheel folder (PIP_FIND_LINKS=DIR) or PyTorch's CPU wheel index (pip's --extra-index-url)." >&2
  exit 1
fi
cp "$REQUIREMENTS" "$STAMP"
"$VENV/bin/python" -c 'import torch; print(f"{torch.__version__} in '"$VENV"'")'
