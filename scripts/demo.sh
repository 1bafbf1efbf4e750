#!/usr/bin/env bash
# README command 1: set up, then run the main job (regzoo compare): the nine architectures trained
# to convergence (early stopping) on the bundled promoter task, 200-bp windows (TSS +-100 bp), two
# runs at a time with one CPU thread each (--jobs 2: these small models use a second core poorly),
# so that every run converges within 15 minutes on a 2-core CPU.
# Extra arguments go to `regzoo compare` (e.g. --quick, or --seq-len 1000 for the full windows).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
regzoo compare --task promoters --seq-len 200 --jobs 2 "$@"
