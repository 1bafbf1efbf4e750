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
# (the filter drops pip's notices about local index folders this machine's pip.conf names)
quiet_pip() { python -m pip install --quiet "$@" 2> >(grep -v "^WARNING: Location" >&2); }
quiet_pip "torch==2.13.0"
quiet_pip -e ".[test]"
# enformer-pytorch only for the weight-import test (it pins no torch we want): without its deps
quiet_pip --no-deps "enformer-pytorch==0.8.12"
