"""Validation on real yeast coverage: compact Basenji and Enformer vs a k-mer ridge regression.

Data: ``../shared/data/yeast_r64`` (not shipped; pass its path): the R64-1-1 genome (plain gzip,
decompressed once into the cache by regzoo) and five real coverage bigWigs on chromosomes II and
IV (MNase, Pol II, RNA.fwd / RNA.rev as a strand pair, Scc1).

Task (built by ``regzoo train --genome ... --tracks-table ...`` and, identically, by
:func:`regzoo.data.track_tasks.from_tracks` for the baseline): 16,384-bp windows tiled every
``--stride`` bp (default 4,096, overlapping, so there are enough training windows on two
chromosomes) over the chromosomes the tracks cover; targets = mean coverage per 128-bp bin of the
central 112 of 128 bins (Basenji's 1/16 crop per side); train = chromosome IV, valid =
``II:0-406592``, test = ``II:406592-813184`` (windows wholly inside the block; those straddling it
are dropped and counted). The compact models are built with 128-bp bins (``tower_blocks=6``,
``target_bins=112``).

Metric: per-track Pearson over all test bins on the log1p scale (the profile task's ``pearson``),
from each run's ``metrics.json``; the ridge baseline is scored with the same
:func:`regzoo.train.profile.profile_metrics` on the same test bins.

Baseline: ridge regression (closed form, alpha chosen on the validation bins among 1, 10, 100,
1000) from k-mer counts to log1p(coverage) per bin: the counts of every 4-mer (both strands
merged: a k-mer and its reverse complement count as one) in the bin and in the 640 bp around it
(the bin +-2 bins), 272 features; predictions are mapped back with ``expm1``.

Usage (about 15 CPU-minutes with the defaults; ``--quick`` for a smoke run of 1-2 minutes)::

    python benchmarks/validate_yeast.py ../shared/data/yeast_r64 [--out runs/yeast] [--quick]

Prints a markdown table (per-track Pearson, wall time, peak RSS of each training process) and
writes ``results.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

TRACKS = ["MNase", "PolII", "RNA.fwd", "RNA.rev", "Scc1"]
PAIRS = {"RNA.fwd": "RNA.rev", "RNA.rev": "RNA.fwd"}
GENOME = "Saccharomyces_cerevisiae.R64-1-1.dna.toplevel.fa.gz"
VALID, TEST = "II:0-406592", "II:406592-813184"
SEQ_LEN, BIN, K = 16_384, 128, 4


def write_table(data: Path, out: Path) -> Path:
    rows = ["file\tname\tsummary\tstrand_pair"]
    for name in TRACKS:
        rows.append(f"{data / 'tracks' / (name + '.bw')}\t{name}\tmean\t{PAIRS.get(name, '')}")
    path = out / "tracks.tsv"
    path.write_text("\n".join(rows) + "\n")
    return path


def train_cli(model: str, data: Path, table: Path, out: Path, args) -> dict:
    """``regzoo train`` in a child process; returns its metrics.json, wall time and peak RSS."""
    run_dir = out / model
    cmd = [
        sys.executable, "-m", "regzoo.cli", "train",
        "--model", model, "--out", str(run_dir), "--overwrite",
        "--genome", str(data / GENOME), "--tracks-table", str(table),
        "--seq-len", str(SEQ_LEN), "--stride", str(args.stride), "--bin-size", str(BIN),
        "--valid-chroms", VALID, "--test-chroms", TEST,
        "--max-epochs", str(args.max_epochs), "--budget-minutes", str(args.budget_minutes),
        "--batch-size", str(args.batch_size), "--lr", str(args.lr), "--seed", "0",
    ]  # fmt: skip
    if args.monitor:
        cmd += ["--monitor", args.monitor]
    if args.patience:
        cmd += ["--patience", str(args.patience)]
    print("$ " + " ".join(cmd), file=sys.stderr)
    began = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(cmd, text=True)
    wall = time.perf_counter() - began
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        raise SystemExit(f"regzoo train --model {model} failed (exit {proc.returncode})")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {
        "metrics": metrics,
        "wall_s": wall,
        "peak_rss_mb": peak_kb / 1024 if peak_kb > before else float("nan"),
    }


def kmer_index(k: int = K) -> tuple[np.ndarray, int]:
    """Index of each k-mer (base-4 code) into canonical (strand-merged) features."""
    codes = np.array(list(itertools.product(range(4), repeat=k)))
    value = (codes * 4 ** np.arange(k - 1, -1, -1)).sum(1)
    rc_value = ((3 - codes[:, ::-1]) * 4 ** np.arange(k - 1, -1, -1)).sum(1)
    canon = np.minimum(value, rc_value)
    uniq, index = np.unique(canon, return_inverse=True)
    return index, len(uniq)


def kmer_features(codes: np.ndarray, n_bins: int, crop: int) -> np.ndarray:
    """Codes ``(N, L)`` -> features ``(N * n_bins, 2 * n_canonical + 1)`` for the central bins."""
    index, n_feat = kmer_index()
    n, length = codes.shape
    valid = np.ones((n, length - K + 1), dtype=bool)
    value = np.zeros((n, length - K + 1), dtype=np.int64)
    for j in range(K):
        part = codes[:, j : length - K + 1 + j].astype(np.int64)
        valid &= part < 4
        value = value * 4 + np.minimum(part, 3)
    feat = np.where(valid, index[value], n_feat)  # n_feat = "contains N"
    n_all_bins = length // BIN
    counts = np.zeros((n, n_all_bins, n_feat + 1), dtype=np.float32)
    pos_bin = np.minimum(np.arange(length - K + 1) // BIN, n_all_bins - 1)
    for i in range(n):
        np.add.at(counts[i], (pos_bin, feat[i]), 1.0)
    counts = counts[:, :, :n_feat]
    padded = np.pad(counts, ((0, 0), (2, 2), (0, 0)))
    context = sum(padded[:, j : j + n_all_bins] for j in range(5))
    x = np.concatenate([counts, context], axis=2)[:, crop : crop + n_bins]
    x = np.log1p(x)
    return np.concatenate([x.reshape(-1, x.shape[-1]), np.ones((n * n_bins, 1))], axis=1)


def ridge_baseline(data: Path, table: Path, stride: int) -> dict:
    """Per-track Pearson of the k-mer ridge regression on the test bins."""
    import torch

    from regzoo.data.track_tasks import from_tracks
    from regzoo.data.tracks import read_tracks_table
    from regzoo.train.profile import profile_metrics

    began = time.perf_counter()
    specs = read_tracks_table(table)
    task = from_tracks(
        data / GENOME,
        specs,
        seq_len=SEQ_LEN,
        stride=stride,
        bin_size=BIN,
        valid_chroms=[VALID],
        test_chroms=[TEST],
        verbose=False,
    )
    crop, n_bins = task.summary["target_crop_bins"], task.summary["n_bins"]
    arrays = {}
    for split in ("train", "valid", "test"):
        ds = getattr(task, split)
        codes, y = ds.read_batch(np.arange(len(ds)))
        x = kmer_features(codes, n_bins, crop)
        arrays[split] = (x, y, np.log1p(y.transpose(0, 2, 1).reshape(-1, y.shape[1])))
    xt, _, yt = arrays["train"]
    mu, sd = xt[:, :-1].mean(0), xt[:, :-1].std(0) + 1e-6

    def norm(x):
        return np.concatenate([(x[:, :-1] - mu) / sd, x[:, -1:]], axis=1)

    xt = norm(xt)
    gram, rhs = xt.T @ xt, xt.T @ yt
    best = None
    for alpha in (1.0, 10.0, 100.0, 1000.0):
        w = np.linalg.solve(gram + alpha * np.eye(gram.shape[0]), rhs)
        xv, yv_raw, _ = arrays["valid"]
        pred = np.expm1(norm(xv) @ w).clip(min=0)
        pred = pred.reshape(yv_raw.shape[0], n_bins, -1).transpose(0, 2, 1)
        r = profile_metrics(torch.tensor(pred), torch.tensor(yv_raw))["pearson"]
        if best is None or r > best[0]:
            best = (r, alpha, w)
    _, alpha, w = best
    xs, ys_raw, _ = arrays["test"]
    pred = np.expm1(norm(xs) @ w).clip(min=0).reshape(ys_raw.shape[0], n_bins, -1)
    metrics = profile_metrics(
        torch.tensor(pred.transpose(0, 2, 1)), torch.tensor(ys_raw), names=task.label_names
    )
    return {
        "per_track": {t: metrics[f"pearson/{t}"] for t in task.label_names},
        "mean": metrics["pearson"],
        "alpha": alpha,
        "wall_s": time.perf_counter() - began,
        "sizes": task.sizes(),
        "dropped": task.summary["dropped"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="the yeast_r64 folder")
    parser.add_argument("--out", type=Path, default=Path("runs/validate_yeast"))
    parser.add_argument("--models", default="basenji,enformer")
    parser.add_argument("--stride", type=int, default=4096)
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--budget-minutes", type=float, default=6.0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--quick", action="store_true", help="1 epoch, 1-minute budget each")
    parser.add_argument("--monitor", help="regzoo train --monitor (default: its own, auto)")
    parser.add_argument("--patience", type=int, help="regzoo train --patience (default: its own)")
    args = parser.parse_args(argv)
    if args.quick:
        args.max_epochs, args.budget_minutes, args.stride = 1, 1.0, 8192
    args.out.mkdir(parents=True, exist_ok=True)
    table = write_table(args.data.resolve(), args.out)
    results = {"settings": {k: str(v) for k, v in vars(args).items()}}
    results["ridge"] = ridge_baseline(args.data.resolve(), table, args.stride)
    for model in args.models.split(","):
        results[model] = train_cli(model, args.data.resolve(), table, args.out, args)
    (args.out / "results.json").write_text(json.dumps(results, indent=1, default=str))

    cols = [m for m in args.models.split(",")] + ["ridge"]
    print(f"\nPer-track Pearson, 128-bp bins, log1p, test block {TEST} "
          f"({results['ridge']['sizes']['test']} windows)\n")  # fmt: skip
    print("| track | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for track in TRACKS:
        cells = []
        for c in cols:
            if c == "ridge":
                cells.append(f"{results['ridge']['per_track'][track]:.3f}")
            else:
                per = results[c]["metrics"].get("test_per_label", {}).get(track, {})
                cells.append(f"{per.get('pearson', float('nan')):.3f}")
        print(f"| {track} | " + " | ".join(cells) + " |")
    means = [
        f"{results['ridge']['mean']:.3f}"
        if c == "ridge"
        else f"{results[c]['metrics']['test'].get('pearson', float('nan')):.3f}"
        for c in cols
    ]
    print("| **mean** | " + " | ".join(means) + " |")
    walls = [
        f"{results[c]['wall_s']:.0f} s"
        + ("" if c == "ridge" else f", {results[c]['peak_rss_mb']:.0f} MB peak RSS")
        for c in cols
    ]
    print("| wall time | " + " | ".join(walls) + " |")
    print(f"\nresults: {args.out / 'results.json'} (pid {os.getpid()})")


if __name__ == "__main__":
    main()
