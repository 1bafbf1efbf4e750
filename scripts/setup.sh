#!/usr/bin/env bash
# Create .venv and install regzoo with its dependencies (idempotent).
# PyTorch is pinned to 2.13.0 here: on the project's CPU machines pip takes the local CPU wheel.
# On a GPU machine, install the torch build for your CUDA first (pyproject admits >=2.2,<2.14).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
python -m pip install --quiet "torch==2.13.0"
python -m pip install --quiet -e ".[test]"
