"""Linear reference models for ``regzoo compare --baseline``: do the deep models beat a linear one?

Two baselines, each an L2-regularised linear model fitted full-batch in torch (L-BFGS from zero
weights: the problem is convex, so the fit is deterministic and does not depend on the seed):

``kmer``
    log1p of the counts of every k-mer (k = :data:`KMER_K` = 5) in the sequence, standardised
    with the training split's mean and sd. Windows holding an N are not counted. When the task
    trains with reverse-complement augmentation (``task.augmentation["rc"]``) a k-mer and its
    reverse complement are one feature (canonical k-mers, 512 for k = 5: both strands merged);
    otherwise the 1,024 k-mers are strand-specific, so a strand-specific task is not destroyed by
    the baseline.
``onehot``
    the flattened one-hot sequence (4 x L positional features, N = all zeros), standardised on
    train: a position weight matrix over the whole window (what found the rice 6mA sites).

The model is logistic regression for binary and multilabel tasks (one sigmoid output per label,
trained jointly; missing labels, NaN, are left out of the loss as the deep models' loss does),
softmax regression for multiclass and ridge regression for regression (targets standardised on
train; missing values left out). The L2 strength is chosen from :data:`L2_GRID` by the task's
primary metric on the validation split (a NaN never wins; the first of ties, i.e. the strongest
regularisation, is kept); test predictions are those of the chosen fit, saved as every run saves
them (``runs/baseline-<kind>-seed<k>/predictions.npz``), so that the leaderboard's intervals and
tests treat the baseline like any architecture.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from regzoo import atomic
from regzoo.data.encode import N_CODE
from regzoo.data.task import TaskData
from regzoo.errors import RegzooError
from regzoo.train.metrics import PRIMARY_METRIC, activate, score_by_label

BASELINES = ("kmer", "onehot")
KMER_K = 5
L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
MAX_ITER = 500
PREFIX = "baseline-"
MODEL_KIND = {
    "binary": "logistic regression",
    "multilabel": "logistic regression (one sigmoid output per label, fitted jointly)",
    "multiclass": "softmax (multinomial logistic) regression",
    "regression": "ridge regression (targets standardised on train)",
}


def parse_baselines(text: str | None) -> tuple[str, ...]:
    """``"kmer,onehot"`` -> ``("kmer", "onehot")``; empty or None -> ``()``."""
    if not text:
        return ()
    names = tuple(dict.fromkeys(p.strip().lower() for p in text.split(",") if p.strip()))
    bad = [n for n in names if n not in BASELINES]
    if bad:
        raise RegzooError(
            f"--baseline {text!r}: unknown baseline {bad[0]!r}; expected kmer, onehot or kmer,onehot"
        )
    return names


def run_name(kind: str) -> str:
    return f"{PREFIX}{kind}"


def check_task(task_type: str, kinds: tuple[str, ...]) -> None:
    """Refuse baselines on coverage-track tasks (one line, before anything trains)."""
    if kinds and task_type == "profile":
        raise RegzooError(
            f"--baseline {','.join(kinds)}: linear baselines are for one value per sequence; "
            "this task's targets are binned coverage profiles (not supported yet), drop --baseline"
        )


MAX_FEATURE_GB = 4.0  # features of all splits, float32, with the standardised training copy


def feature_gb(task: TaskData, kind: str) -> float:
    """GB of float32 features a baseline holds: every split's, plus the standardised train copy."""
    n_features = 4**KMER_K if kind == "kmer" else 4 * task.seq_len
    n_rows = sum(task.sizes().values()) + len(task.train)
    return n_rows * n_features * 4 / 1e9


def check_size(task: TaskData, kinds: tuple[str, ...]) -> None:
    """Refuse, before anything trains, a baseline whose features would not fit in memory
    comfortably (the one-hot of a genome-wide task: N x 4L floats)."""
    for kind in kinds:
        gb = feature_gb(task, kind)
        if gb > MAX_FEATURE_GB:
            raise RegzooError(
                f"--baseline {kind}: its features would take {gb:.1f} GB in memory "
                f"({sum(task.sizes().values()):,} sequences x "
                f"{4**KMER_K if kind == 'kmer' else 4 * task.seq_len:,} features, float32; "
                f"limit {MAX_FEATURE_GB:g} GB); use --baseline kmer (1,024 features), shorter "
                "sequences, or fewer windows"
            )


def describe(task: TaskData, kinds: tuple[str, ...], l2_grid=L2_GRID) -> dict[str, dict]:
    """What each baseline is, in words and fields (printed at start, saved in the JSON)."""
    primary = PRIMARY_METRIC[task.task_type][0]
    rc = bool(task.augmentation.get("rc"))
    out = {}
    for kind in kinds:
        if kind == "kmer":
            n = n_canonical(KMER_K) if rc else 4**KMER_K
            strands = (
                "both strands merged (canonical k-mers: the task trains with reverse-complement "
                "augmentation)"
                if rc
                else "strand-specific (the task trains without reverse-complement augmentation)"
            )
            features = f"log1p of {KMER_K}-mer counts ({n} features), {strands}"
        else:
            n = 4 * task.seq_len
            strands = "positional, as given"
            features = f"flattened one-hot sequence (4 x {task.seq_len} = {n} positional features)"
        out[run_name(kind)] = {
            "kind": kind,
            "model": MODEL_KIND[task.task_type],
            "features": features + ", standardised on train",
            "k": KMER_K if kind == "kmer" else None,
            "canonical": rc if kind == "kmer" else None,
            "strands": strands,
            "n_features": n,
            "l2_grid": list(l2_grid),
            "selection": f"validation {primary}",
            "fit": f"full-batch L-BFGS in torch from zero weights, at most {MAX_ITER} iterations",
        }
    return out


def describe_lines(task: TaskData, kinds: tuple[str, ...], l2_grid=L2_GRID) -> list[str]:
    primary = PRIMARY_METRIC[task.task_type][0]
    desc = describe(task, kinds, l2_grid)
    lines = [
        f"linear baselines (added rows, a reference for the architectures): "
        f"{MODEL_KIND[task.task_type]}, L2 strength chosen on validation {primary} from "
        f"{list(l2_grid)}, full-batch L-BFGS in torch"
    ]
    lines += [f"  {name}: {d['features']}" for name, d in desc.items()]
    return lines


# ---- features -----------------------------------------------------------------------------------
def split_arrays(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """``(codes uint8 (N, L), labels float32 (N, ...))`` of a split, in dataset order: the arrays
    of a :class:`~regzoo.data.datasets.SequenceDataset` without augmentation, else read item by
    item (one-hot columns that are not exactly one base become N)."""
    from regzoo.data.datasets import SequenceDataset

    if isinstance(dataset, SequenceDataset) and not dataset.rc_augment and not dataset.max_shift:
        return dataset.codes, dataset.labels
    codes, labels = [], []
    for x, y in DataLoader(dataset, batch_size=512):
        x = x.float()
        c = x.argmax(1).to(torch.uint8)
        c[x.max(1).values != 1] = N_CODE
        codes.append(c.numpy())
        labels.append(y.float().numpy())
    return np.concatenate(codes), np.concatenate(labels)


def n_canonical(k: int) -> int:
    return len(np.unique(_canonical_index(k)))


def _rc_index(k: int) -> np.ndarray:
    """Index of the reverse complement of every k-mer (base 4, first base most significant)."""
    idx = np.arange(4**k)
    digits = (idx[:, None] // 4 ** np.arange(k - 1, -1, -1)) % 4  # (4^k, k)
    rc_digits = (3 - digits)[:, ::-1]
    return (rc_digits * 4 ** np.arange(k - 1, -1, -1)).sum(1)


def _canonical_index(k: int) -> np.ndarray:
    return np.minimum(np.arange(4**k), _rc_index(k))


def kmer_counts(codes: np.ndarray, k: int = KMER_K, canonical: bool = False) -> np.ndarray:
    """Counts ``(N, 4^k)`` (strand-specific) or ``(N, n_canonical)`` (a k-mer and its reverse
    complement pooled) of the k-mers of each row of ``codes``; windows with an N are skipped."""
    codes = np.asarray(codes)
    n, length = codes.shape
    if length < k:
        return np.zeros((n, n_canonical(k) if canonical else 4**k), dtype=np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(codes, k, axis=1)  # (N, L-k+1, k)
    valid = (windows < 4).all(-1)
    index = (windows.astype(np.int64) * 4 ** np.arange(k - 1, -1, -1)).sum(-1)
    if canonical:
        index = _canonical_index(k)[np.where(valid, index, 0)]
    rows = np.broadcast_to(np.arange(n)[:, None], index.shape)
    flat = rows[valid] * 4**k + index[valid]
    counts = np.bincount(flat, minlength=n * 4**k).reshape(n, 4**k)
    if canonical:
        counts = counts[:, np.unique(_canonical_index(k))]
    return counts.astype(np.float32)


def onehot_features(codes: np.ndarray) -> np.ndarray:
    """The flattened one-hot ``(N, 4 * L)`` (channel-major, as ``x.reshape(N, -1)``)."""
    from regzoo.data.encode import codes_to_one_hot

    return codes_to_one_hot(np.asarray(codes)).reshape(len(codes), -1)


def features(kind: str, codes: np.ndarray, canonical: bool) -> np.ndarray:
    if kind == "kmer":
        return np.log1p(kmer_counts(codes, KMER_K, canonical))
    return np.ascontiguousarray(onehot_features(codes), dtype=np.float32)


# ---- the linear model ---------------------------------------------------------------------------
def _loss(task_type: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if task_type == "multiclass":
        return torch.nn.functional.cross_entropy(out, y.reshape(-1).long())
    known = ~torch.isnan(y)
    out, y = out[known], y[known]
    if not len(y):
        return out.sum() * 0.0
    if task_type in ("binary", "multilabel"):
        return torch.nn.functional.binary_cross_entropy_with_logits(out, y)
    return torch.nn.functional.mse_loss(out, y)


def fit_linear(
    x: torch.Tensor, y: torch.Tensor, task_type: str, n_out: int, l2: float
) -> tuple[torch.Tensor, torch.Tensor, int, bool]:
    """Minimise mean loss + ``l2 / 2 * ||W||^2`` (bias not penalised) with full-batch L-BFGS from
    zeros. Returns ``(W (F, n_out), b (n_out,), iterations, converged)``."""
    weight = torch.zeros(x.shape[1], n_out, dtype=x.dtype, requires_grad=True)
    bias = torch.zeros(n_out, dtype=x.dtype, requires_grad=True)
    opt = torch.optim.LBFGS(
        [weight, bias],
        lr=1.0,
        max_iter=MAX_ITER,
        history_size=20,
        tolerance_grad=1e-6,
        tolerance_change=1e-10,
        line_search_fn="strong_wolfe",
    )

    def closure():
        opt.zero_grad()
        loss = _loss(task_type, x @ weight + bias, y) + 0.5 * l2 * (weight * weight).sum()
        loss.backward()
        return loss

    opt.step(closure)
    n_iter = int(opt.state[opt._params[0]].get("n_iter", 0))
    return weight.detach(), bias.detach(), n_iter, n_iter < MAX_ITER


class LinearBaseline:
    """Features -> standardisation -> linear layer -> the task's activation."""

    def __init__(self, kind: str, task_type: str, canonical: bool) -> None:
        self.kind, self.task_type, self.canonical = kind, task_type, canonical
        self.mean = self.scale = self.weight = self.bias = None
        self.y_mean = self.y_scale = None

    def transform(self, codes: np.ndarray) -> torch.Tensor:
        f = torch.from_numpy(features(self.kind, codes, self.canonical))
        return (f - self.mean) / self.scale

    def set_standardisation(self, train_features: np.ndarray) -> torch.Tensor:
        f = torch.from_numpy(train_features)
        self.mean = f.mean(0)
        sd = f.std(0)
        self.scale = torch.where(sd > 0, sd, torch.ones_like(sd))
        return (f - self.mean) / self.scale

    def predict(self, x: torch.Tensor) -> np.ndarray:
        out = x @ self.weight + self.bias
        if self.task_type == "regression":
            out = out * self.y_scale + self.y_mean
        return activate(self.task_type, out).float().numpy()

    @property
    def n_weights(self) -> int:
        return int(self.weight.numel() + self.bias.numel())


def _targets(task_type: str, labels: np.ndarray) -> torch.Tensor:
    y = torch.from_numpy(np.asarray(labels, dtype=np.float32))
    return y.reshape(len(y), -1)


def fit_baseline(
    kind: str, task: TaskData, l2_grid=L2_GRID
) -> tuple[LinearBaseline, list[dict[str, float]], dict[str, Any]]:
    """Fit ``kind`` at every L2 strength of ``l2_grid`` on train and keep the best on validation.

    Returns ``(model, search, info)``: ``search`` holds per strength its validation primary
    metric, fit time and L-BFGS iterations; ``info`` the chosen strength and the fit's timings."""
    task_type = task.task_type
    check_task(task_type, (kind,))
    primary, mode = PRIMARY_METRIC[task_type]
    canonical = kind == "kmer" and bool(task.augmentation.get("rc"))
    start = time.perf_counter()
    train_codes, train_labels = split_arrays(task.train)
    valid_codes, valid_labels = split_arrays(task.valid)
    model = LinearBaseline(kind, task_type, canonical)
    x = model.set_standardisation(features(kind, train_codes, canonical))
    xv = model.transform(valid_codes)
    y = _targets(task_type, train_labels)
    n_out = task.n_tasks
    if task_type == "regression":
        model.y_mean = torch.nan_to_num(torch.nanmean(y, 0))
        centred = y - model.y_mean
        sd = torch.sqrt(torch.nanmean(centred * centred, 0))
        model.y_scale = torch.where(sd > 0, sd, torch.ones_like(sd))
        y = centred / model.y_scale
    feature_time = time.perf_counter() - start
    search, fits = [], {}
    best, best_value = None, math.nan
    for l2 in l2_grid:
        begin = time.perf_counter()
        weight, bias, n_iter, converged = fit_linear(x, y, task_type, n_out, l2)
        fit_time = time.perf_counter() - begin
        model.weight, model.bias = weight, bias
        value = score_by_label(
            task_type,
            torch.as_tensor(model.predict(xv)),
            torch.as_tensor(valid_labels),
            task.label_names,
        )[0][primary]
        search.append(
            {
                "l2": l2,
                f"valid_{primary}": value,
                "fit_time_s": fit_time,
                "iterations": n_iter,
                "converged": converged,
            }
        )
        fits[l2] = (weight, bias, fit_time, converged)
        better = value > best_value if mode == "max" else value < best_value
        if not math.isnan(value) and (best is None or better):  # a NaN never wins; first of ties
            best, best_value = l2, value
    best = l2_grid[0] if best is None else best
    model.weight, model.bias, fit_time, converged = fits[best]
    info = {
        "l2_chosen": best,
        "fit_time_s": fit_time,
        "features_time_s": feature_time,
        "total_time_s": time.perf_counter() - start,
        "converged": converged,
    }
    return model, search, info


def baseline_fingerprint(task_fp: dict, kind: str, seed: int, l2_grid) -> str:
    payload = {
        "task": task_fp,
        "baseline": kind,
        "k": KMER_K,
        "l2_grid": list(l2_grid),
        "max_iter": MAX_ITER,
        "seed": seed,
    }
    from regzoo.compare.run import digest

    return digest(payload)


def run_baseline(
    kind: str, task: TaskData, seed: int, run_dir: Path, task_fp: dict, l2_grid=L2_GRID
):
    """Fit, score and save one baseline like :func:`regzoo.compare.run.run_one` saves a run:
    ``result.json`` (a RunResult: parameters = weights + biases, epochs 0) and
    ``predictions.npz`` (activated test predictions and the test targets)."""
    import traceback

    from regzoo.compare.run import RESULT, PeakMemory, RunResult

    name = run_name(kind)
    run_dir.mkdir(parents=True, exist_ok=True)
    desc = describe(task, (kind,), l2_grid)[name]
    result = RunResult(
        model=name,
        seed=seed,
        status="failed",
        fingerprint=baseline_fingerprint(task_fp, kind, seed, l2_grid),
        started=time.time(),
        threads=torch.get_num_threads(),
        recipe=f"{name}: {desc['model']} on {desc['features']}",
        baseline=desc,
    )
    try:
        primary = PRIMARY_METRIC[task.task_type][0]
        with PeakMemory() as memory:
            model, search, info = fit_baseline(kind, task, l2_grid)
        begin = time.perf_counter()
        test_codes, targets = split_arrays(task.test)
        preds = model.predict(model.transform(test_codes))
        predict_time = time.perf_counter() - begin
        targets = np.asarray(targets, dtype=np.float32).reshape(len(targets), -1)
        result.metrics, result.metrics_per_label, result.undefined = score_by_label(
            task.task_type, torch.as_tensor(preds), torch.as_tensor(targets), task.label_names
        )
        result.parameters = model.n_weights
        result.train_time_s = info["fit_time_s"]
        result.tuning_time_s = sum(s["fit_time_s"] for s in search)
        result.epochs = result.best_epoch = 0
        result.stopped_by = "lbfgs" if info["converged"] else "lbfgs_max_iter"
        result.peak_memory_mb = memory.peak_mb
        result.throughput_seq_s = len(test_codes) / max(predict_time, 1e-9)
        result.monitor = f"valid/{primary} (L2 choice)"
        result.baseline = {**desc, **info, "l2_search": search}
        atomic.save_npz(run_dir / "predictions.npz", preds=preds, targets=targets)
        result.status = "ok"
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as err:  # noqa: BLE001 - a failed baseline must not stop the comparison
        result.error = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:300]
        (run_dir / "error.txt").write_text(traceback.format_exc())
    result.ended = time.time()
    atomic.write_text(run_dir / RESULT, json.dumps(asdict(result), indent=2, default=float) + "\n")
    return result
