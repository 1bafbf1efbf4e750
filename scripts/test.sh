#!/usr/bin/env bash
# README command 2: set up, then run the test suite (and the linter).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
python -m pytest -q "$@"
ruff check src tests benchmarks
