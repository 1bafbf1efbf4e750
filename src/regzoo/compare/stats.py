"""Statistics for a comparison: bootstrap confidence intervals, paired tests, DeLong, ties.

Every function resamples *test items* (sequences). A resample is stored as counts: ``W[b, i]`` is how
often item ``i`` appears in resample ``b``; a metric of a resample is the metric of the weighted
sample. The metrics named in :data:`METRICS` are computed on all resamples at once with numpy (rank
statistics for AUROC, cumulative sums for average precision, weighted moments for correlations), a
few hundred times faster than calling torchmetrics once per resample; any other callable
``metric_fn(preds, targets) -> float`` works too and is called once per resample.

Rules:

- Classification resamples are stratified by class (binary, multiclass): every resample keeps the
  test split's class counts, so every resample has both classes. Multi-label resamples are not
  stratified; a label with one class in a resample is skipped in that resample's macro average.
- Undefined metrics (AUROC of a split with one class, a correlation of constant values) are NaN,
  never 0. Resamples whose metric is NaN are dropped from intervals and tests.
- Several seeds of one model: pass a list of prediction arrays. Each resample scores every seed and
  averages over seeds, so the interval is for the seed-averaged metric (what the leaderboard shows)
  and reflects test-set sampling; the spread over seeds is reported separately as their sd.
- Intervals are percentile intervals; paired tests use the same resamples for both models, with a
  two-sided p-value from the bootstrap distribution of the difference centred on the observed one.
- Ties with the best: each model is tested against the best (DeLong for single-label binary AUROC,
  else the paired bootstrap), p-values Holm-corrected over the comparisons; a model is *tied* with
  the best when its corrected p-value is at least ``alpha``.

Shapes: ``preds`` are activated outputs ``(N, T)`` (probabilities for classification, ``(N, C)``
class probabilities for multiclass; ``(N, T, bins)`` profiles are scored per bin and resampled per
sequence; with ``task_type="profile"`` the coverage metrics of
:class:`regzoo.train.profile.ProfileMetrics` are resampled by window from per-window sums);
``targets`` are ``(N, T)`` 0/1 labels or values, ``(N,)`` or ``(N, 1)`` class indices
for multiclass.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

METRICS = {
    "binary": ("auroc", "auprc", "accuracy", "mcc"),
    "multilabel": ("auroc", "auprc", "accuracy", "mcc"),
    "multiclass": ("accuracy", "auroc", "auprc", "mcc"),
    "regression": ("pearson", "spearman", "mse"),
    # coverage profiles (N, T, bins), as regzoo.train.profile.ProfileMetrics defines them; their
    # Spearman (on a sample of bins) has no interval
    "profile": ("pearson", "pearson_total", "mse"),
}
LOWER_IS_BETTER = {"mse"}
_CHUNK_ELEMENTS = 4_000_000  # resamples x items held in memory at once

Preds = np.ndarray | Sequence[np.ndarray]
MetricFn = str | Callable[[np.ndarray, np.ndarray], float]


# ---- data shapes --------------------------------------------------------------------------------
def infer_task_type(preds: np.ndarray, targets: np.ndarray) -> str:
    """Guess the task type (pass ``task_type`` to be explicit): integer targets ``(N, 1)`` with
    ``(N, C)`` predictions are multiclass, 0/1 targets binary (one column) or multi-label, anything
    else regression."""
    preds, targets = np.asarray(preds), np.asarray(targets)
    t = targets.reshape(len(targets), -1)
    integral = np.all(np.isfinite(t)) and np.all(t == np.round(t))
    if integral and t.shape[1] == 1 and preds.ndim == 2 and preds.shape[1] > 1:
        return "multiclass"
    if integral and set(np.unique(t)) <= {0, 1}:
        return "binary" if t.shape[1] == 1 else "multilabel"
    return "regression"


def _rows(preds: np.ndarray, targets: np.ndarray, task_type: str) -> tuple:
    """``(preds (R, T or C), targets (R, T) or (R,) class ids, bins per item)``: profile outputs
    ``(N, T, bins)`` become ``N * bins`` rows, sequence-major, as the metrics score them."""
    p = np.asarray(preds, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    bins = 1
    if p.ndim == 3:
        bins = p.shape[2]
        p = p.transpose(0, 2, 1).reshape(-1, p.shape[1])
        t = t.transpose(0, 2, 1).reshape(-1, t.shape[1])
    p = p.reshape(len(p), -1)
    if task_type == "multiclass":
        return p, t.reshape(-1).astype(np.int64), bins
    return p, t.reshape(len(t), -1), bins


def _strata(targets: np.ndarray, task_type: str, stratified: bool) -> np.ndarray | None:
    """Per-item stratum (the class) for binary and multiclass, else None."""
    if not stratified or task_type not in ("binary", "multiclass"):
        return None
    t = np.asarray(targets)
    if t.ndim == 3:  # profiles: no per-sequence class
        return None
    return t.reshape(len(t), -1)[:, 0].astype(np.int64)


# ---- resampling ---------------------------------------------------------------------------------
def resample_counts(
    n_items: int, n_boot: int, rng: np.random.Generator, strata: np.ndarray | None = None
) -> np.ndarray:
    """``(n_boot, n_items)`` counts of each item in each bootstrap resample.

    With ``strata`` (one label per item), each stratum is resampled within itself, so every
    resample keeps the stratum sizes."""
    groups = (
        [np.arange(n_items)]
        if strata is None
        else [np.flatnonzero(strata == s) for s in np.unique(strata)]
    )
    counts = np.zeros((n_boot, n_items), dtype=np.float64)
    offsets = (np.arange(n_boot) * n_items)[:, None]
    for members in groups:
        draws = members[rng.integers(0, len(members), size=(n_boot, len(members)))]
        counts += np.bincount((draws + offsets).ravel(), minlength=n_boot * n_items).reshape(
            n_boot, n_items
        )
    return counts


def _chunks(n_items: int, n_boot: int) -> list[int]:
    size = max(1, min(n_boot, _CHUNK_ELEMENTS // max(n_items, 1)))
    return [min(size, n_boot - start) for start in range(0, n_boot, size)]


# ---- weighted metrics: W (B, R) weights, one row per resample ------------------------------------
def _levels(score: np.ndarray, descending: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Sort order of ``score`` and the start of each group of tied values in that order."""
    order = np.argsort(-score if descending else score, kind="mergesort")
    s = score[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    return order, starts


def weighted_auroc(score: np.ndarray, positive: np.ndarray, W: np.ndarray) -> np.ndarray:
    """AUROC of ``score (R,)`` for boolean ``positive (R,)`` under weights ``W (B, R)`` -> ``(B,)``.

    Mann-Whitney form: P(score of a positive > score of a negative) + 0.5 P(tie); NaN when a
    resample lacks a class."""
    order, starts = _levels(score)
    Ws = W[:, order]
    pos = positive[order]
    P = np.add.reduceat(Ws * pos, starts, axis=1)
    N = np.add.reduceat(Ws * ~pos, starts, axis=1)
    below = np.cumsum(N, axis=1) - N
    n1, n0 = P.sum(1), N.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (P * (below + 0.5 * N)).sum(1) / (n1 * n0)
    return np.where((n1 > 0) & (n0 > 0), auc, np.nan)


def weighted_average_precision(
    score: np.ndarray, positive: np.ndarray, W: np.ndarray
) -> np.ndarray:
    """Average precision (area under the step precision-recall curve, ties as one threshold, as
    torchmetrics/scikit-learn) -> ``(B,)``; NaN when a resample has no positives."""
    order, starts = _levels(score, descending=True)
    Ws = W[:, order]
    pos = positive[order]
    P = np.add.reduceat(Ws * pos, starts, axis=1)
    N = np.add.reduceat(Ws * ~pos, starts, axis=1)
    tp, fp = np.cumsum(P, axis=1), np.cumsum(N, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        ap = (P * precision).sum(1) / P.sum(1)
    return np.where(P.sum(1) > 0, ap, np.nan)


def _mcc(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> np.ndarray:
    """Binary MCC from weighted counts; NaN when the targets hold one class, 0 when the
    predictions do."""
    num = tp * tn - fp * fn
    den = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
    with np.errstate(invalid="ignore", divide="ignore"):
        mcc = np.where(den > 0, num / np.sqrt(np.where(den > 0, den, 1.0)), 0.0)
    return np.where((tp + fn > 0) & (tn + fp > 0), mcc, np.nan)


def _weighted_pearson(x: np.ndarray, y: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Pearson r of ``x`` and ``y`` (each ``(R,)`` or ``(B, R)``) under weights ``W`` -> ``(B,)``."""
    total = W.sum(1)
    x = x - (x.mean() if x.ndim == 1 else x.mean(1, keepdims=True))
    y = y - (y.mean() if y.ndim == 1 else y.mean(1, keepdims=True))

    def wmean(a: np.ndarray) -> np.ndarray:
        return (W * a).sum(1) / total if a.ndim == 2 else W @ a / total

    mx, my = wmean(x), wmean(y)
    cov = wmean(x * y) - mx * my
    vx, vy = wmean(x * x) - mx**2, wmean(y * y) - my**2
    scale = np.sqrt(np.maximum(vx, 0) * np.maximum(vy, 0))
    ok = scale > 1e-12 * (np.abs(vx) + np.abs(vy) + 1e-300)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, cov / np.where(ok, scale, 1.0), np.nan)


def _weighted_midranks(x: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Midranks of every item of ``x (R,)`` within each weighted resample -> ``(B, R)``."""
    order, starts = _levels(x)
    Wg = np.add.reduceat(W[:, order], starts, axis=1)
    rank = np.cumsum(Wg, axis=1) - Wg + (Wg + 1) / 2
    level = np.empty(len(x), dtype=np.int64)
    level[order] = np.cumsum(np.r_[True, np.diff(x[order]) != 0]) - 1
    return rank[:, level]


def _nanmean_rows(values: list[np.ndarray]) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.stack(values, axis=1), axis=1)


def _one_label(
    name: str, p: np.ndarray, t: np.ndarray, task_type: str, W: np.ndarray
) -> np.ndarray:
    """Metric ``name`` of one label, ``p``/``t`` ``(R,)`` with NaN targets left out -> ``(B,)``."""
    known = np.isfinite(t)
    if not known.all():
        p, t, W = p[known], t[known], W[:, known]
    if task_type == "regression":
        if name == "mse":
            with np.errstate(invalid="ignore", divide="ignore"):
                return W @ (p - t) ** 2 / W.sum(1)
        if name == "spearman":
            p, t = _weighted_midranks(p, W), _weighted_midranks(t, W)
        return _weighted_pearson(p, t, W)
    y = t > 0.5
    if name == "auroc":
        return weighted_auroc(p, y, W)
    if name == "auprc":
        return weighted_average_precision(p, y, W)
    hit = p > 0.5
    if name == "accuracy":
        with np.errstate(invalid="ignore", divide="ignore"):
            return W @ (hit == y).astype(np.float64) / W.sum(1)
    return _mcc(W @ (hit & y), W @ (hit & ~y), W @ (~hit & y), W @ (~hit & ~y))


def weighted_metric(
    name: str, preds: np.ndarray, targets: np.ndarray, task_type: str, W: np.ndarray
) -> np.ndarray:
    """Metric ``name`` of rows ``preds``/``targets`` (from :func:`_rows`) under weights
    ``W (B, R)`` -> ``(B,)``, defined as :func:`regzoo.train.metrics.score_by_label`.

    Binary, multi-label, regression: the metric of each label on its known rows (NaN targets
    left out), averaged over the labels where it is defined (a label undefined in a resample is
    skipped). Multiclass: one-vs-rest AUROC/AUPRC averaged over classes; accuracy and MCC over all
    items."""
    if name not in METRICS[task_type]:
        raise ValueError(f"unknown metric {name!r} for task type {task_type!r}")
    p, t = preds, targets
    if task_type != "multiclass":
        return _nanmean_rows(
            [_one_label(name, p[:, k], t[:, k], task_type, W) for k in range(p.shape[1])]
        )
    n_classes = p.shape[1]
    if name in ("auroc", "auprc"):
        fn = weighted_auroc if name == "auroc" else weighted_average_precision
        return _nanmean_rows([fn(p[:, k], t == k, W) for k in range(n_classes)])
    guess = p.argmax(1)
    if name == "accuracy":
        return W @ (guess == t).astype(np.float64) / W.sum(1)
    code = t * n_classes + guess
    conf = np.zeros((len(W), n_classes * n_classes))
    for c in np.unique(code):
        conf[:, c] = W[:, code == c].sum(1)
    conf = conf.reshape(len(W), n_classes, n_classes)
    true, pred = conf.sum(2), conf.sum(1)
    s, c = conf.sum((1, 2)), np.trace(conf, axis1=1, axis2=2)
    num = c * s - (true * pred).sum(1)
    den = (s**2 - (pred * pred).sum(1)) * (s**2 - (true * true).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        mcc = num / np.sqrt(den)
    # one class in the targets or in the predictions: undefined (as score_by_label)
    return np.where(((true > 0).sum(1) > 1) & ((pred > 0).sum(1) > 1), mcc, np.nan)


# ---- profiles: per-window sufficient statistics ----------------------------------------------------
def _moments(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    """``(6, ...)``: n, sum x, sum y, sum x^2, sum y^2, sum xy along ``axis``."""
    n = np.full(np.delete(x.shape, axis), x.shape[axis], dtype=np.float64)
    return np.stack([n, x.sum(axis), y.sum(axis), (x * x).sum(axis), (y * y).sum(axis),
                     (x * y).sum(axis)])  # fmt: skip


def _pearson_of_moments(m: np.ndarray) -> np.ndarray:
    n, sx, sy, sxx, syy, sxy = m
    with np.errstate(invalid="ignore", divide="ignore"):
        vx, vy = sxx - sx * sx / n, syy - sy * sy / n
        r = (sxy - sx * sy / n) / np.sqrt(vx * vy)
    return np.where((vx > 0) & (vy > 0), r, np.nan)


def profile_window_stats(preds: np.ndarray, targets: np.ndarray) -> dict[str, np.ndarray]:
    """Per window (and track) the sums the profile metrics are made of, so that a resample of
    windows is a weighted sum: ``bins (6, N, T)`` moments of log1p values over the window's
    bins, ``totals (6, N, T)`` of log1p window totals (one value each), ``sq_err (N,)`` and
    ``n_values (N,)``. Definitions as :class:`regzoo.train.profile.ProfileMetrics`."""
    p = np.clip(np.asarray(preds, dtype=np.float64), 0, None)
    t = np.asarray(targets, dtype=np.float64)
    return {
        "bins": _moments(np.log1p(p), np.log1p(t), axis=2),
        "totals": _moments(np.log1p(p.sum(2))[..., None], np.log1p(t.sum(2))[..., None], axis=2),
        "sq_err": ((np.asarray(preds, dtype=np.float64) - t) ** 2).sum((1, 2)),
        "n_values": np.full(len(t), t[0].size, dtype=np.float64),
    }


def weighted_profile_metric(name: str, window: dict[str, np.ndarray], W: np.ndarray) -> np.ndarray:
    """Profile metric ``name`` (``pearson``: per-track Pearson over bins of log1p values, mean over
    tracks; ``pearson_total``: per-track Pearson of log1p window totals across windows, mean
    over tracks; ``mse``) under window weights ``W (B, N)`` -> ``(B,)``."""
    if name == "mse":
        with np.errstate(invalid="ignore", divide="ignore"):
            return (W @ window["sq_err"]) / (W @ window["n_values"])
    key = {"pearson": "bins", "pearson_total": "totals"}.get(name)
    if key is None:
        raise ValueError(f"unknown metric {name!r} for task type 'profile'")
    moments = np.einsum("bn,knt->kbt", W, window[key])  # (6, B, T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(_pearson_of_moments(moments), axis=1)


# ---- bootstrap core -----------------------------------------------------------------------------
def _as_seed_list(preds: Preds) -> list[np.ndarray]:
    if isinstance(preds, np.ndarray):
        return [preds]
    return [np.asarray(p) for p in preds]


def bootstrap_values(
    metric_fn: MetricFn,
    models: Sequence[Preds],
    targets: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    stratified: bool = True,
    task_type: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The metric of each model on the full test set and on ``n_boot`` shared resamples.

    Args:
        metric_fn: a name from :data:`METRICS` (vectorised) or ``f(preds, targets) -> float``.
        models: per model, its predictions, or a list of them (one per seed: metric averaged).
        targets: the test targets shared by every model.

    Returns:
        ``(point (M,), boot (n_boot, M))``; the same resamples for every model.
    """
    targets = np.asarray(targets)
    seeds = [_as_seed_list(m) for m in models]
    task_type = task_type or infer_task_type(seeds[0][0], targets)
    n_items = len(targets)
    rng = np.random.default_rng(seed)
    strata = _strata(targets, task_type, stratified)

    if isinstance(metric_fn, str) and task_type == "profile":
        windows = [[profile_window_stats(p, targets) for p in model] for model in seeds]

        def evaluate(W: np.ndarray) -> np.ndarray:
            return np.stack(
                [
                    _nanmean_rows([weighted_profile_metric(metric_fn, w, W) for w in model])
                    for model in windows
                ],
                axis=1,
            )
    elif isinstance(metric_fn, str):
        rows = [[_rows(p, targets, task_type) for p in model] for model in seeds]

        def evaluate(W: np.ndarray) -> np.ndarray:
            out = np.empty((len(W), len(rows)))
            for j, model in enumerate(rows):
                values = []
                for p, t, bins in model:
                    Wr = np.repeat(W, bins, axis=1) if bins > 1 else W
                    values.append(weighted_metric(metric_fn, p, t, task_type, Wr))
                out[:, j] = _nanmean_rows(values)
            return out
    else:

        def evaluate(W: np.ndarray) -> np.ndarray:
            out = np.empty((len(W), len(seeds)))
            for b, counts in enumerate(W.astype(np.int64)):
                index = np.repeat(np.arange(n_items), counts)
                for j, model in enumerate(seeds):
                    out[b, j] = np.nanmean(
                        [float(metric_fn(p[index], targets[index])) for p in model]
                    )
            return out

    point = evaluate(np.ones((1, n_items)))[0]
    boots = [evaluate(resample_counts(n_items, k, rng, strata)) for k in _chunks(n_items, n_boot)]
    return point, (np.concatenate(boots) if boots else np.empty((0, len(seeds))))


def percentile_interval(values: np.ndarray, alpha: float) -> tuple[float, float]:
    """``(low, high)``: the ``alpha/2`` and ``1 - alpha/2`` quantiles of the finite ``values``."""
    values = values[np.isfinite(values)]
    if not len(values):
        return math.nan, math.nan
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def bootstrap_ci(
    metric_fn: MetricFn,
    preds: Preds,
    targets: np.ndarray,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    stratified: bool = True,
    task_type: str | None = None,
) -> tuple[float, float, float]:
    """Percentile bootstrap ``(point, low, high)`` of a metric over test items.

    Args:
        metric_fn: a metric name (``auroc``, ``auprc``, ``accuracy``, ``mcc``, ``pearson``,
            ``spearman``, ``mse``) or a callable ``f(preds, targets) -> float``.
        preds: ``(N, T)`` predictions (see the module docstring), or a list of them over seeds.
        targets: ``(N, T)`` targets (``(N,)`` class ids for multiclass).
        n_boot: resamples; alpha: 1 - coverage; seed: the resampling seed.
        stratified: resample within each class (binary, multiclass).
        task_type: ``binary`` / ``multilabel`` / ``multiclass`` / ``regression`` (inferred if None).

    Returns:
        ``(point, low, high)``; all NaN when the metric is undefined on the test set.
    """
    point, boot = bootstrap_values(metric_fn, [preds], targets, n_boot, seed, stratified, task_type)
    if not np.isfinite(point[0]):
        return math.nan, math.nan, math.nan
    return (float(point[0]), *percentile_interval(boot[:, 0], alpha))


def _paired_from_values(
    point: np.ndarray, boot: np.ndarray, a: int, b: int, alpha: float
) -> dict[str, float]:
    diff = float(point[a] - point[b])
    d = boot[:, a] - boot[:, b]
    d = d[np.isfinite(d)]
    if not np.isfinite(diff) or not len(d):
        return {"diff": math.nan, "low": math.nan, "high": math.nan, "p_value": math.nan}
    low, high = percentile_interval(d, alpha)
    extreme = np.abs(d - diff) >= abs(diff) - 1e-12
    p_value = (1 + int(extreme.sum())) / (1 + len(d))
    return {"diff": diff, "low": low, "high": high, "p_value": min(1.0, p_value)}


def paired_bootstrap(
    metric_fn: MetricFn,
    preds_a: Preds,
    preds_b: Preds,
    targets: np.ndarray,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    stratified: bool = True,
    task_type: str | None = None,
) -> dict[str, float]:
    """Paired bootstrap of ``metric(a) - metric(b)`` on the same resamples of the test items.

    Returns:
        ``diff`` (observed), ``low``/``high`` (percentile interval of the difference) and a two-sided
        ``p_value``: the share of resampled differences at least as far from the observed one as
        the observed one is from 0 (the bootstrap distribution shifted to the null), with +1
        smoothing so it is never 0. Identical models give diff 0 and p 1.
    """
    point, boot = bootstrap_values(
        metric_fn, [preds_a, preds_b], targets, n_boot, seed, stratified, task_type
    )
    return _paired_from_values(point, boot, 0, 1, alpha)


# ---- DeLong -------------------------------------------------------------------------------------
def midrank(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x (n,)``, ties given the mean of their ranks."""
    order, starts = _levels(np.asarray(x, dtype=np.float64))
    ends = np.r_[starts[1:], len(order)]
    mid = (starts + ends + 1) / 2  # mean of 1-based ranks starts+1 .. ends
    ranks = np.empty(len(order))
    ranks[order] = np.repeat(mid, ends - starts)
    return ranks


def delong_components(
    score: np.ndarray, positive: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """AUROC and its structural components by the fast midrank algorithm (Sun & Xu 2014).

    Returns ``(auc, V10 (m,), V01 (n,))`` for the ``m`` positives and ``n`` negatives: ``V10_i`` is
    the share of negatives ranked below positive ``i`` (ties 1/2), ``V01_j`` the share of positives
    ranked above negative ``j``; AUROC is the mean of either."""
    score = np.asarray(score, dtype=np.float64)
    x, y = score[positive], score[~positive]
    m, n = len(x), len(y)
    tz = midrank(np.r_[x, y])
    v10 = (tz[:m] - midrank(x)) / n
    v01 = 1.0 - (tz[m:] - midrank(y)) / m
    auc = (tz[:m].sum() - m * (m + 1) / 2) / (m * n)
    return float(auc), v10, v01


def delong_test(preds_a: Preds, preds_b: Preds, targets: np.ndarray) -> dict[str, float]:
    """DeLong, DeLong & Clarke-Pearson (1988) test of two correlated AUROCs on the same items.

    Args:
        preds_a, preds_b: ``(N,)`` or ``(N, 1)`` scores (or lists over seeds: the AUROC averaged
            over seeds, whose structural components are the seed averages).
        targets: ``(N,)`` or ``(N, 1)`` 0/1 labels.

    Returns:
        ``auc_a``, ``auc_b``, ``diff`` (a - b), ``z`` and the two-sided normal ``p_value``; NaN
        when the targets hold one class. Identical scores give z 0, p 1.
    """
    positive = np.asarray(targets).reshape(-1) > 0.5
    m, n = int(positive.sum()), int((~positive).sum())
    if m == 0 or n == 0:
        return dict.fromkeys(("auc_a", "auc_b", "diff", "z", "p_value"), math.nan)
    parts = []
    for preds in (preds_a, preds_b):
        comps = [
            delong_components(np.asarray(p).reshape(-1), positive) for p in _as_seed_list(preds)
        ]
        parts.append(
            (
                float(np.mean([c[0] for c in comps])),
                np.mean([c[1] for c in comps], axis=0),
                np.mean([c[2] for c in comps], axis=0),
            )
        )
    (auc_a, v10_a, v01_a), (auc_b, v10_b, v01_b) = parts
    s10 = np.cov(np.stack([v10_a, v10_b])) if m > 1 else np.zeros((2, 2))
    s01 = np.cov(np.stack([v01_a, v01_b])) if n > 1 else np.zeros((2, 2))
    cov = s10 / m + s01 / n
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    diff = auc_a - auc_b
    if var <= 1e-15:
        z = 0.0 if abs(diff) < 1e-12 else math.copysign(math.inf, diff)
    else:
        z = diff / math.sqrt(var)
    p_value = math.erfc(abs(z) / math.sqrt(2))
    return {"auc_a": auc_a, "auc_b": auc_b, "diff": diff, "z": z, "p_value": p_value}


# ---- ties with the best -------------------------------------------------------------------------
def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN, not counted)."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full_like(p, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="mergesort")]
    k = len(order)
    running = 0.0
    for i, j in enumerate(order):
        running = max(running, min(1.0, (k - i) * p[j]))
        out[j] = running
    return out


def tied_with_best(
    preds: Mapping[str, Preds],
    targets: np.ndarray,
    metric: str,
    task_type: str | None = None,
    higher_is_better: bool | None = None,
    best: str | None = None,
    alpha: float = 0.05,
    n_boot: int = 1000,
    seed: int = 0,
    stratified: bool = True,
    values: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, dict[str, Any]]:
    """Which models are statistically indistinguishable from the best on the same test items.

    Each model is compared with the best (``best``, or the best point estimate): DeLong for
    single-label binary AUROC, otherwise a paired bootstrap of ``metric``; the p-values are
    Holm-corrected over the comparisons, and a model is tied when its corrected p-value is at
    least ``alpha``. The best model is tied with itself (p = 1).

    Args:
        preds: model name -> ``(N, T)`` predictions (or a list over seeds).
        targets: the shared test targets.
        metric: a name from :data:`METRICS`.
        values: ``(point, boot)`` of :func:`bootstrap_values` for these models in this order,
            when already computed (saves the resampling).

    Returns:
        model -> ``{"point", "diff" (model - best), "p_value", "p_holm", "tied", "best", "method"}``.
    """
    names = list(preds)
    targets = np.asarray(targets)
    task_type = task_type or infer_task_type(_as_seed_list(preds[names[0]])[0], targets)
    if higher_is_better is None:
        higher_is_better = metric not in LOWER_IS_BETTER
    single_label = np.asarray(targets).reshape(len(targets), -1).shape[1] == 1
    profiles = np.asarray(_as_seed_list(preds[names[0]])[0]).ndim > 2
    use_delong = metric == "auroc" and task_type == "binary" and single_label and not profiles
    if values is None:
        values = bootstrap_values(
            metric,
            [preds[n] for n in names],
            targets,
            0 if use_delong else n_boot,
            seed,
            stratified,
            task_type,
        )
    point, boot = values
    if best is None:
        signed = np.where(np.isfinite(point), point if higher_is_better else -point, -np.inf)
        best = names[int(np.argmax(signed))]
    b = names.index(best)
    out: dict[str, dict[str, Any]] = {}
    for j, name in enumerate(names):
        if j == b:
            test = {"diff": 0.0, "p_value": 1.0}
        elif use_delong:
            test = delong_test(preds[name], preds[best], targets)
        else:
            test = _paired_from_values(point, boot, j, b, alpha)
        out[name] = {
            "point": float(point[j]),
            "diff": float(test["diff"]),
            "p_value": float(test["p_value"]),
            "best": j == b,
            "method": "-" if j == b else ("DeLong" if use_delong else "paired bootstrap"),
        }
    others = [n for n in names if n != best]
    adjusted = holm([out[n]["p_value"] for n in others])
    out[best]["p_holm"] = 1.0
    for name, p in zip(others, adjusted, strict=True):
        out[name]["p_holm"] = float(p)
    for name in names:
        p = out[name]["p_holm"]
        out[name]["tied"] = bool(np.isfinite(p) and p >= alpha)
    return out
