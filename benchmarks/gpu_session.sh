#!/usr/bin/env bash
# The GPU checks of one lent-device session, as one script (benchmarks/README.md, "On a GPU").
#
#   bash benchmarks/gpu_session.sh OUT_DIR YEAST_DIR [PARTS]
#
# PARTS: a comma-separated subset of zoo,enformer,tfs,tfs-compact,tracks (default: zoo,enformer,tfs). Each part runs under
# its own time limit so that one failure leaves the others' results; logs and JSON go to OUT_DIR.
# The tracks part reads TRACKS_BUDGET (minutes per model, default 1) and TRACKS_TIMEOUT (s, 170).
# Expects torch with CUDA and the project importable (PYTHONPATH=src, or installed).
set -u
out=${1:?OUT_DIR}
yeast=${2:?YEAST_DIR}
parts=${3:-zoo,enformer,tfs}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 REGZOO_BENCH_STUB_TRANSFORMERS=1
export REGZOO_CACHE=${REGZOO_CACHE:-/tmp/regzoo-cache}
has() { [[ ",$parts," == *",$1,"* ]]; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import torch, lightning; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'lightning', lightning.__version__)" | tee -a "$out/gpu.txt"
if has zoo; then
  timeout 120 python3 benchmarks/bench_gpu_zoo.py --repeats 10 --out "$out/zoo.json" 2>&1 | tee "$out/zoo.log"
fi
if has enformer; then
  timeout 130 python3 benchmarks/bench_enformer_full.py --device cuda --repeats 10 --out "$out/enformer.json" 2>&1 | tee "$out/enformer.log"
fi
if has tfs; then
  timeout 220 python3 benchmarks/validate_yeast_tfs.py "$yeast" --published --no-baseline \
    --max-epochs 40 --budget-minutes 1.3 --out /tmp/yeast_tfs 2>&1 | tee "$out/tfs.log"
  cp /tmp/yeast_tfs/results.json "$out/tfs.json" 2>/dev/null
fi
if has tfs-compact; then
  timeout 200 python3 benchmarks/validate_yeast_tfs.py "$yeast" --no-baseline \
    --max-epochs 60 --budget-minutes 1.3 --out /tmp/yeast_tfs_compact 2>&1 | tee "$out/tfs-compact.log"
  cp /tmp/yeast_tfs_compact/results.json "$out/tfs-compact.json" 2>/dev/null
fi
if has tracks; then
  timeout "${TRACKS_TIMEOUT:-170}" python3 benchmarks/validate_yeast.py "$yeast" --max-epochs 40 \
    --budget-minutes "${TRACKS_BUDGET:-1}" \
    --out /tmp/yeast_tracks 2>&1 | tee "$out/tracks.log"
  cp /tmp/yeast_tracks/results.json "$out/tracks.json" 2>/dev/null
fi
echo done
