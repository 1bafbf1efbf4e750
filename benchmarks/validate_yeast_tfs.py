"""Validation on real yeast TF sites: compact DeepSEA and Basset vs a k-mer logistic regression.

Data: ``../shared/data/yeast_r64`` (not shipped; pass its path): the R64-1-1 genome (Ensembl names
``I`` ... ``XVI``, ``Mito``; plain gzip, decompressed once into the cache by regzoo) and
``tf_sites_chip_supported.bed``: 14,679 ChIP-supported binding sites (5-18 bp) of 102 TFs, UCSC names
(``chrI``; mapped to the genome's by regzoo), TF name in column 4. Chromosome XVI is withheld from
the sites file, and the file has no mitochondrial sites, so both are excluded (an ``--exclude`` BED
covering them): their windows would otherwise be unlabelled negatives of unknown truth.

Task (built by ``regzoo train --genome ... --peaks SITES --peak-name-col 4`` and, identically, by
:func:`regzoo.data.peaks.from_peaks` for the baseline): ``--seq-len`` bp windows (default 600,
Basset's length; DeepSEA's 1,000 is slower on a CPU) tiled every 200 bp; label j = 1 where a site
of TF j overlaps the central 200 bp by at least half its length (DeepSEA's rule); every labelled
window is kept plus as many unlabelled ones drawn at random per split (``--negatives-per-positive
1``). Test = chromosome IV (the most sites: most TFs scorable), valid = chromosome XV, train = the
other 13 nuclear chromosomes. The CNNs train with random reverse complements (``--rc-augment``:
binding sites are strand-symmetric), AdamW lr 1e-3, batch 64, early stopping on validation loss
(patience 3), at most ``--max-epochs`` epochs and ``--budget-minutes`` minutes each.

Metrics: per-TF AUROC and AUPRC (average precision) on the test chromosome, averaged over the TFs
with at least one positive and one negative test window (the others are undefined and counted):
the CLI's ``metrics.json`` for the CNNs, :func:`regzoo.train.metrics.score_by_label` (the same
function) for the baseline.

Baseline: scikit-learn ``LogisticRegression`` (L2, lbfgs), one per TF, on log1p counts of the 512
canonical 5-mers (a k-mer and its reverse complement count as one) in the whole window and in its
central 200 bp (1,024 features, standardised on train); C chosen among 0.001, 0.01, 0.1 by the mean
validation AUROC; TFs without a positive training window predict a constant.

Usage (about 25-30 minutes on a contended 2-core CPU with the defaults; ``--quick``: 1 epoch and a
1-minute budget per model, a smoke run; ``--published``: the published widths, for a GPU)::

    python benchmarks/validate_yeast_tfs.py ../shared/data/yeast_r64 [--out runs/yeast_tfs] [--quick]

Prints a markdown table (mean per-TF AUROC / AUPRC, scorable TFs, epochs, wall time and peak RSS
of each training process; the CNNs' from GNU ``time``, the baseline's from this process) and writes ``results.json`` into ``--out``.
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

GENOME = "Saccharomyces_cerevisiae.R64-1-1.dna.toplevel.fa.gz"
SITES = "tf_sites_chip_supported.bed"
VALID, TEST = "chrXV", "chrIV"
LABEL_CENTER, STRIDE, K = 200, 200, 5
TIME_BIN = os.path.exists("/usr/bin/time")


def write_exclude(out: Path) -> Path:
    """BED covering the chromosomes without labels (XVI withheld; no mitochondrial sites)."""
    path = out / "exclude_unlabelled_chroms.bed"
    path.write_text("chrXVI\t0\t2000000\nchrM\t0\t100000\n")
    return path


def task_args(data: Path, exclude: Path, seq_len: int) -> dict:
    return {
        "genome": data / GENOME,
        "peak_files": [data / SITES],
        "peak_name_col": 4,
        "seq_len": seq_len,
        "stride": STRIDE,
        "label_center": LABEL_CENTER,
        "min_overlap": 0.5,
        "negatives_per_positive": 1.0,
        "valid_chroms": [VALID],
        "test_chroms": [TEST],
        "exclude": exclude,
        "seed": 0,
    }


def train_cli(model: str, data: Path, exclude: Path, out: Path, args) -> dict:
    """``regzoo train`` in a child process; its metrics.json, wall time and peak RSS (wait4)."""
    run_dir = out / model
    cmd = [
        sys.executable, "-m", "regzoo.cli", "train",
        "--model", model, "--out", str(run_dir), "--overwrite",
        "--genome", str(data / GENOME), "--peaks", str(data / SITES), "--peak-name-col", "4",
        "--seq-len", str(args.seq_len), "--stride", str(STRIDE),
        "--label-center", str(LABEL_CENTER), "--min-overlap", "0.5",
        "--negatives-per-positive", "1", "--exclude", str(exclude),
        "--valid-chroms", VALID, "--test-chroms", TEST, "--rc-augment",
        "--max-epochs", str(args.max_epochs), "--budget-minutes", str(args.budget_minutes),
        "--batch-size", str(args.batch_size), "--lr", str(args.lr), "--seed", "0",
    ] + (["--published"] if args.published else [])  # fmt: skip
    print("$ " + " ".join(cmd), file=sys.stderr)
    log = open(out / f"{model}.log", "w")  # noqa: SIM115 - closed below
    # Peak RSS through GNU time: a child forked from this (large) process inherits its RSS in
    # ru_maxrss (the pre-exec image counts), so getrusage/wait4 here would over-report.
    rss_file = out / f"{model}.maxrss_kb"
    timer = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file)] if TIME_BIN else []
    began = time.perf_counter()
    proc = subprocess.Popen(timer + cmd, stdout=log, stderr=subprocess.STDOUT, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - began
    proc.returncode = os.waitstatus_to_exitcode(status)
    log.close()
    peak_kb = int(rss_file.read_text().split()[-1]) if TIME_BIN else usage.ru_maxrss
    if proc.returncode != 0:
        raise SystemExit(
            f"regzoo train --model {model} failed (exit {proc.returncode}); see {log.name}"
        )
    metrics = json.loads((run_dir / "metrics.json").read_text())
    training = json.loads((run_dir / "config.json").read_text())["training"]
    return {
        "metrics": metrics,
        "wall_s": wall,
        "peak_rss_mb": peak_kb / 1024,
        "peak_rss_source": "GNU time %M" if TIME_BIN else "wait4 ru_maxrss (upper bound)",
        "epochs": training.get("epochs"),
        "best_epoch": training.get("best_epoch"),
        "stopped_by": training.get("stopped_by"),
        "train_s": training.get("wall_time_s"),
        "parameters": training.get("parameters"),
        "log": log.name,
    }


def kmer_index(k: int = K) -> tuple[np.ndarray, int]:
    """Index of each k-mer (base-4 code) into canonical (strand-merged) features."""
    codes = np.array(list(itertools.product(range(4), repeat=k)))
    weights = 4 ** np.arange(k - 1, -1, -1)
    value, rc_value = (codes * weights).sum(1), ((3 - codes[:, ::-1]) * weights).sum(1)
    _, index = np.unique(np.minimum(value, rc_value), return_inverse=True)
    return index, int(index.max()) + 1


def kmer_features(codes: np.ndarray) -> np.ndarray:
    """Codes ``(N, L)`` -> log1p canonical k-mer counts of the window and of its centre."""
    index, n_feat = kmer_index()
    n, length = codes.shape
    n_pos = length - K + 1
    valid = np.ones((n, n_pos), dtype=bool)
    value = np.zeros((n, n_pos), dtype=np.int64)
    for j in range(K):
        part = codes[:, j : n_pos + j].astype(np.int64)
        valid &= part < 4
        value = value * 4 + np.minimum(part, 3)
    feat = np.where(valid, index[value], n_feat)  # n_feat: contains N (dropped)
    lo = (length - LABEL_CENTER) // 2
    centre = np.zeros(n_pos, dtype=bool)
    centre[lo : lo + LABEL_CENTER - K + 1] = True
    rows = np.arange(n)[:, None] * (n_feat + 1)
    whole = np.bincount((feat + rows).ravel(), minlength=n * (n_feat + 1))
    mid = np.bincount((feat[:, centre] + rows).ravel(), minlength=n * (n_feat + 1))
    x = np.concatenate(
        [whole.reshape(n, -1)[:, :n_feat], mid.reshape(n, -1)[:, :n_feat]], axis=1
    ).astype(np.float32)
    return np.log1p(x)


def kmer_baseline(data: Path, exclude: Path, seq_len: int) -> dict:
    """Per-TF logistic regression on k-mer counts; test metrics as the CLI computes them."""
    import warnings

    import torch
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    from regzoo.data.peaks import from_peaks
    from regzoo.train.metrics import score_by_label

    began = time.perf_counter()
    task = from_peaks(**task_args(data, exclude, seq_len), verbose=False)
    arrays = {}
    for split in ("train", "valid", "test"):
        ds = getattr(task, split)
        codes, y = ds.read_batch(np.arange(len(ds)))
        arrays[split] = (kmer_features(codes), y)
    xt, yt = arrays["train"]
    mu, sd = xt.mean(0), xt.std(0) + 1e-6
    for split, (x, y) in arrays.items():
        arrays[split] = ((x - mu) / sd, y)
    xt, yt = arrays["train"]
    names = task.label_names

    def fit_predict(c: float, splits: tuple[str, ...]) -> dict[str, np.ndarray]:
        preds = {s: np.zeros_like(arrays[s][1]) for s in splits}
        for j in range(len(names)):
            n_pos = int(yt[:, j].sum())
            if n_pos == 0 or n_pos == len(yt):
                for s in splits:
                    preds[s][:, j] = n_pos / len(yt)
                continue
            clf = LogisticRegression(C=c, max_iter=300)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(xt, yt[:, j])
            for s in splits:
                preds[s][:, j] = clf.predict_proba(arrays[s][0])[:, 1]
        return preds

    best = None
    for c in (0.001, 0.01, 0.1):
        preds = fit_predict(c, ("valid", "test"))
        macro, _, _ = score_by_label(
            "multilabel", torch.tensor(preds["valid"]), torch.tensor(arrays["valid"][1]), names
        )
        print(f"  k-mer LR C={c}: valid mean AUROC {macro['auroc']:.4f}", file=sys.stderr)
        if best is None or macro["auroc"] > best[0]:
            best = (macro["auroc"], c, preds["test"])
    _, c, test_pred = best
    macro, per_label, undefined = score_by_label(
        "multilabel", torch.tensor(test_pred), torch.tensor(arrays["test"][1]), names
    )
    return {
        "test": macro,
        "test_per_label": per_label,
        "undefined": {"test": undefined},
        "C": c,
        "train_tfs_without_positives": int((yt.sum(0) == 0).sum()),
        "wall_s": time.perf_counter() - began,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "sizes": task.sizes(),
        "dropped": task.summary["dropped"],
    }


def summary_row(name: str, result: dict) -> dict:
    """Mean per-TF metrics over the scorable TFs, recomputed from the per-label values."""
    per = result["metrics"]["test_per_label"] if "metrics" in result else result["test_per_label"]
    auroc = [
        v["auroc"] for v in per.values() if v["auroc"] is not None and v["auroc"] == v["auroc"]
    ]
    auprc = [
        v["auprc"] for v in per.values() if v["auprc"] is not None and v["auprc"] == v["auprc"]
    ]
    return {
        "name": name,
        "auroc": float(np.mean(auroc)),
        "auprc": float(np.mean(auprc)),
        "scorable": len(auroc),
        "n_tfs": len(per),
        "wall_s": result["wall_s"],
        "peak_rss_mb": result["peak_rss_mb"],
        "training": (
            f"{result['epochs']} epochs (best {result['best_epoch'] + 1}), "
            f"stopped by {result['stopped_by']}"
            if "epochs" in result
            else "lbfgs per TF, C on valid"
        ),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="the yeast_r64 folder")
    parser.add_argument("--out", type=Path, default=Path("runs/validate_yeast_tfs"))
    parser.add_argument("--models", default="deepsea,basset")
    parser.add_argument("--seq-len", type=int, default=600)
    parser.add_argument("--max-epochs", type=int, default=15)
    parser.add_argument("--budget-minutes", type=float, default=9.0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--published", action="store_true", help="published model widths (a GPU), not compact"
    )
    parser.add_argument("--quick", action="store_true", help="1 epoch, 1-minute budget each")
    args = parser.parse_args(argv)
    if args.quick:
        args.max_epochs, args.budget_minutes = 1, 1.0
    args.out.mkdir(parents=True, exist_ok=True)
    data = args.data.resolve()
    exclude = write_exclude(args.out)
    results: dict = {"settings": {k: str(v) for k, v in vars(args).items()}}
    models = [m for m in args.models.split(",") if m]
    for model in models:  # first: the baseline grows this process (see train_cli)
        results[model] = train_cli(model, data, exclude, args.out, args)
        (args.out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    if not args.no_baseline:
        results["kmer_lr"] = kmer_baseline(data, exclude, args.seq_len)
    (args.out / "results.json").write_text(json.dumps(results, indent=1, default=str))

    rows = [summary_row(m, results[m]) for m in models]
    if "kmer_lr" in results:
        rows.append(summary_row(f"5-mer LR (C={results['kmer_lr']['C']})", results["kmer_lr"]))
    sizes = results["kmer_lr"]["sizes"] if "kmer_lr" in results else None
    print(
        f"\nYeast TF sites, {args.seq_len}-bp windows, test {TEST} "
        f"({sizes['test'] if sizes else '?'} windows), valid {VALID}; "
        f"mean over TFs scorable on test\n"
    )
    print(
        "| model | mean per-TF AUROC | mean per-TF AUPRC | TFs scored | training | wall time "
        "| peak RSS |"
    )
    print("|---|---:|---:|---:|---|---:|---:|")
    for r in rows:
        print(
            f"| {r['name']} | {r['auroc']:.3f} | {r['auprc']:.3f} | {r['scorable']} / "
            f"{r['n_tfs']} | {r['training']} | {r['wall_s']:.0f} s | {r['peak_rss_mb']:.0f} MB |"
        )
    print(f"\nresults: {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
