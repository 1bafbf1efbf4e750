#!/usr/bin/env bash
# README command 1: set up, then run the main job (regzoo compare) on the bundled promoter task.
# Extra arguments go to `regzoo compare` (e.g. --quick).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
regzoo compare "$@"
