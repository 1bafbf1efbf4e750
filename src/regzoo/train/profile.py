"""Profile (binned coverage) losses and metrics, for Basenji and Enformer outputs.

Shapes everywhere: predictions and targets ``(batch, n_tracks, n_bins)``; predictions are
non-negative rates (the profile models end in softplus).

Losses (each returns a scalar, the mean over batch and tracks):

- ``poisson``: Keras' ``Poisson`` as Basenji trains with it, ``mean(pred - target * log(pred + eps))``
  (the ``log(target!)`` constant left out).
- ``multinomial``: Borzoi's ``poisson_multinomial`` (calico/baskerville ``metrics.py``; Linder et
  al. 2025, Borzoi), per track and window with ``L`` bins, ``eps = 1e-6`` added to both sides::

      s_true = sum_l y_l,  s_pred = sum_l p_l,  q_l = p_l / s_pred
      multinomial = -sum_l y_l * log(q_l) / L
      poisson     = (s_pred - s_true * log(s_pred)) / L
      loss        = multinomial + total_weight * poisson     (total_weight 0.2, Borzoi's setting)

  The shape of the profile is scored by the multinomial term and its total count by the Poisson
  term, so a model cannot buy shape with scale.
- ``mse``: mean squared error.

Metrics (:class:`ProfileMetrics`, a torchmetrics ``Metric``; running sums, synchronised under
DDP): per track, Pearson over all bins of all windows on the ``log1p`` scale (Basenji's
``PearsonR`` over batch and position, after log1p), Pearson across windows of the window totals
(``log1p`` of each window's sum), Spearman over bins (average ranks for ties, on a uniform random
sample of at most ``max_rank_points`` bins per track so memory stays bounded), plus the means over
tracks and the MSE. Predictions below 0 count as 0 on the log scale (coverage is never negative);
negative *targets* raise.

Initialisation: :func:`init_output_bias` starts a model at each track's mean training coverage
(:func:`regzoo.train.fit.build_model` applies it to every profile task).
"""

from __future__ import annotations

import math

import torch
from torchmetrics import Metric

from regzoo.errors import InputError, unknown_name

PROFILE_LOSSES = ("poisson", "multinomial", "mse")
PROFILE_PRIMARY_METRIC = ("pearson", "max")
POISSON_EPS = 1e-7  # Keras' epsilon in losses.Poisson
MULTINOMIAL_EPS = 1e-6  # baskerville poisson_multinomial


def _check(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.shape != target.shape or pred.ndim != 3:
        raise InputError(
            f"profile prediction {tuple(pred.shape)} and target {tuple(target.shape)}: expected "
            "the same shape (batch, n_tracks, n_bins)"
        )


def poisson_loss(pred_rate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Poisson NLL without the ``log(y!)`` constant: ``mean(pred - target * log(pred + 1e-7))``.

    Args:
        pred_rate: ``(B, T, L)`` non-negative rates; target: ``(B, T, L)`` counts or coverage.
    """
    _check(pred_rate, target)
    return (pred_rate - target * torch.log(pred_rate + POISSON_EPS)).mean()


def multinomial_poisson_loss(
    pred: torch.Tensor, target: torch.Tensor, total_weight: float = 0.2
) -> torch.Tensor:
    """Borzoi/baskerville ``poisson_multinomial`` (formula in the module docstring).

    Args:
        pred: ``(B, T, L)`` non-negative rates; target: ``(B, T, L)``.
        total_weight: weight of the Poisson term on window totals (Borzoi: 0.2).

    Returns:
        Scalar: the mean over windows and tracks of ``multinomial + total_weight * poisson``.
    """
    _check(pred, target)
    n_bins = target.shape[-1]
    y = target + MULTINOMIAL_EPS
    p = pred + MULTINOMIAL_EPS
    s_true = y.sum(dim=-1)
    s_pred = p.sum(dim=-1)
    log_q = torch.log(p) - torch.log(s_pred).unsqueeze(-1)
    multinomial = -(y * log_q).sum(dim=-1) / n_bins
    poisson = (s_pred - s_true * torch.log(s_pred)) / n_bins
    return (multinomial + total_weight * poisson).mean()


def mse_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over all bins."""
    _check(pred, target)
    return torch.mean((pred - target) ** 2)


mse = mse_loss


def profile_loss(name: str, pred: torch.Tensor, target: torch.Tensor, **kwargs) -> torch.Tensor:
    """The loss ``name`` (``poisson``, ``multinomial``, ``mse``) of ``(B, T, L)`` tensors."""
    if name == "poisson":
        return poisson_loss(pred, target)
    if name == "multinomial":
        return multinomial_poisson_loss(pred, target, **kwargs)
    if name == "mse":
        return mse_loss(pred, target)
    raise unknown_name("profile loss", name, PROFILE_LOSSES)


# -- metrics ------------------------------------------------------------------------------------


def _pearson_from_sums(n, sx, sy, sxx, syy, sxy) -> torch.Tensor:
    cov = sxy - sx * sy / n
    vx = sxx - sx * sx / n
    vy = syy - sy * sy / n
    r = cov / torch.sqrt(vx * vy)
    # a constant series has variance 0, which the sums leave as rounding noise of either sign:
    # undefined (NaN) unless the variance is above that noise, relative to the sum of squares
    defined = (vx > 1e-10 * sxx) & (vy > 1e-10 * syy)
    return torch.where(defined, r, torch.full_like(r, math.nan))


def average_ranks(x: torch.Tensor) -> torch.Tensor:
    """Ranks 1..n of a 1-D tensor, ties sharing their average rank (as ``scipy.stats.rankdata``)."""
    values, order = torch.sort(x)
    _, inverse, counts = torch.unique_consecutive(values, return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).to(torch.float64)
    avg = ends - (counts.to(torch.float64) - 1) / 2
    ranks = torch.empty_like(x, dtype=torch.float64)
    ranks[order] = avg[inverse]
    return ranks


class ProfileMetrics(Metric):
    """Per-track profile metrics, accumulated batch by batch (DDP-synchronised).

    Args:
        n_tracks: tracks ``T``.
        names: track names for the per-track keys (default ``track0``, ``track1``, ...).
        max_rank_points: bins kept per track for Spearman (a uniform random sample beyond that).
        seed: seed of that sample.

    ``update(pred, target)`` with ``(B, T, L)`` tensors. ``compute()`` returns scalar tensors:
    ``pearson``, ``pearson_total``, ``spearman`` (means over tracks, NaN tracks left out),
    ``mse``, and per track ``pearson/<name>``, ``pearson_total/<name>``, ``spearman/<name>``.
    A track whose values are constant has NaN correlations.
    """

    full_state_update = False
    higher_is_better = True

    def __init__(
        self,
        n_tracks: int,
        names: list[str] | None = None,
        max_rank_points: int = 200_000,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.n_tracks = int(n_tracks)
        self.names = list(names) if names is not None else [f"track{i}" for i in range(n_tracks)]
        if len(self.names) != self.n_tracks:
            raise InputError(f"{len(self.names)} track names for {n_tracks} tracks")
        self.max_rank_points = int(max_rank_points)
        self._gen = torch.Generator().manual_seed(seed)
        zeros = torch.zeros(self.n_tracks, dtype=torch.float64)
        for prefix in ("bin", "tot"):
            for s in ("n", "sx", "sy", "sxx", "syy", "sxy"):
                self.add_state(f"{prefix}_{s}", default=zeros.clone(), dist_reduce_fx="sum")
        self.add_state("sq_err", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state(
            "n_values", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum"
        )
        self.add_state("rank_key", default=[], dist_reduce_fx="cat")
        self.add_state("rank_pred", default=[], dist_reduce_fx="cat")
        self.add_state("rank_target", default=[], dist_reduce_fx="cat")

    def _add_sums(self, prefix: str, x: torch.Tensor, y: torch.Tensor) -> None:
        """``x``, ``y``: ``(T, n)`` float64."""
        getattr(self, f"{prefix}_n").add_(x.shape[1])
        getattr(self, f"{prefix}_sx").add_(x.sum(1))
        getattr(self, f"{prefix}_sy").add_(y.sum(1))
        getattr(self, f"{prefix}_sxx").add_((x * x).sum(1))
        getattr(self, f"{prefix}_syy").add_((y * y).sum(1))
        getattr(self, f"{prefix}_sxy").add_((x * y).sum(1))

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:  # type: ignore[override]
        _check(pred, target)
        if pred.shape[1] != self.n_tracks:
            raise InputError(f"{pred.shape[1]} tracks in the prediction, expected {self.n_tracks}")
        pred = pred.detach().to(torch.float64)
        target = target.detach().to(torch.float64)
        if (target < 0).any():
            raise InputError(
                "profile metrics on the log1p scale need non-negative targets "
                f"(min {float(target.min()):g})"
            )
        self.sq_err += ((pred - target) ** 2).sum()
        self.n_values += pred.numel()
        lp = torch.log1p(pred.clamp(min=0))
        lt = torch.log1p(target)
        # bins: (T, B * L)
        x = lp.transpose(0, 1).reshape(self.n_tracks, -1)
        y = lt.transpose(0, 1).reshape(self.n_tracks, -1)
        self._add_sums("bin", x, y)
        self._add_sums(
            "tot",
            torch.log1p(pred.clamp(min=0).sum(-1)).T,
            torch.log1p(target.sum(-1)).T,
        )
        # Spearman sample: random keys; the smallest max_rank_points keys per track are kept
        key = torch.rand(x.shape, generator=self._gen, dtype=torch.float64).to(x.device)
        k = min(self.max_rank_points, x.shape[1])
        key, idx = torch.topk(key, k, dim=1, largest=False)
        self.rank_key.append(key.T.float())  # (k, T): cat along dim 0 across batches and ranks
        self.rank_pred.append(torch.gather(x, 1, idx).T.float())
        self.rank_target.append(torch.gather(y, 1, idx).T.float())
        self._shrink()

    def _shrink(self) -> None:
        """Keep at most ``max_rank_points`` rows (the smallest keys) of the Spearman sample."""
        if not isinstance(self.rank_key, list) or len(self.rank_key) < 2:
            return
        total = sum(k.shape[0] for k in self.rank_key)
        if total <= 2 * self.max_rank_points:
            return
        keys, preds, targets = self._sample()
        self.rank_key, self.rank_pred, self.rank_target = [keys], [preds], [targets]

    def _sample(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        cat = lambda v: torch.cat(v, 0) if isinstance(v, list) else v  # noqa: E731
        keys, preds, targets = cat(self.rank_key), cat(self.rank_pred), cat(self.rank_target)
        if keys.shape[0] > self.max_rank_points:
            keys, idx = torch.topk(keys, self.max_rank_points, dim=0, largest=False)
            preds, targets = torch.gather(preds, 0, idx), torch.gather(targets, 0, idx)
        return keys, preds, targets

    def compute(self) -> dict[str, torch.Tensor]:
        bins = _pearson_from_sums(
            self.bin_n, self.bin_sx, self.bin_sy, self.bin_sxx, self.bin_syy, self.bin_sxy
        )
        totals = _pearson_from_sums(
            self.tot_n, self.tot_sx, self.tot_sy, self.tot_sxx, self.tot_syy, self.tot_sxy
        )
        spearman = torch.full((self.n_tracks,), math.nan, dtype=torch.float64)
        if (isinstance(self.rank_key, list) and self.rank_key) or (
            isinstance(self.rank_key, torch.Tensor) and self.rank_key.numel()
        ):
            _, preds, targets = self._sample()
            for t in range(self.n_tracks):
                rp = average_ranks(preds[:, t].cpu())
                rt = average_ranks(targets[:, t].cpu())
                rp, rt = rp - rp.mean(), rt - rt.mean()
                denom = torch.sqrt((rp * rp).sum() * (rt * rt).sum())
                spearman[t] = (rp * rt).sum() / denom if denom > 0 else math.nan
        out: dict[str, torch.Tensor] = {
            "pearson": torch.nanmean(bins),
            "pearson_total": torch.nanmean(totals),
            "spearman": torch.nanmean(spearman),
            "mse": self.sq_err / self.n_values.clamp(min=1),
        }
        for t, name in enumerate(self.names):
            out[f"pearson/{name}"] = bins[t]
            out[f"pearson_total/{name}"] = totals[t]
            out[f"spearman/{name}"] = spearman[t]
        return out


def profile_metrics(
    pred: torch.Tensor, target: torch.Tensor, names: list[str] | None = None
) -> dict[str, float]:
    """All :class:`ProfileMetrics` of one ``(N, T, L)`` prediction, as floats."""
    metric = ProfileMetrics(pred.shape[1], names)
    metric.update(torch.as_tensor(pred), torch.as_tensor(target))
    return {k: float(v) for k, v in metric.compute().items()}


def per_track_table(values: dict[str, float], names: list[str]) -> list[dict]:
    """Rows ``{"track", "pearson", "pearson_total", "spearman"}`` from ``compute()``'s keys
    (with or without a ``val/``/``test/`` prefix), for the per-track table and metrics.json."""
    rows = []
    for name in names:
        row: dict = {"track": name}
        for metric in ("pearson", "pearson_total", "spearman"):
            hits = [v for k, v in values.items() if k.endswith(f"{metric}/{name}")]
            row[metric] = float(hits[0]) if hits else math.nan
        rows.append(row)
    return rows


def profile_model_overrides(bin_size: int, n_bins: int) -> dict[str, int]:
    """Model arguments that make Basenji/Enformer emit the task's bins.

    Both models bin by ``2 ** (1 + tower_blocks)`` and crop to ``target_bins`` central bins, so a
    task of ``bin_size`` 128 and ``n_bins`` targets needs ``tower_blocks=6, target_bins=n_bins``
    (the compact cards use 3 tower blocks, 16-bp bins, otherwise).

    Raises:
        InputError: ``bin_size`` not a power of two >= 4.
    """
    blocks = int(round(math.log2(bin_size))) - 1
    if bin_size < 4 or 2 ** (blocks + 1) != bin_size:
        raise InputError(
            f"bin_size {bin_size}: Basenji and Enformer bin by powers of two (e.g. 32, 64, 128)"
        )
    return {"tower_blocks": blocks, "target_bins": int(n_bins)}


def train_track_means(task, max_windows: int = 256) -> list[float]:
    """Mean target per bin of each track on the training split: the task's own estimate
    (``summary["mean_target_per_bin_train_sample"]``, from :func:`~regzoo.data.track_tasks.
    from_tracks`) or the mean over the first ``max_windows`` training windows."""
    known = (task.summary or {}).get("mean_target_per_bin_train_sample")
    if isinstance(known, dict) and list(known) == list(task.label_names):
        return [float(v) for v in known.values()]
    n = min(len(task.train), max_windows)
    if n == 0:
        return [0.0] * task.n_tasks
    total = sum(torch.as_tensor(task.train[i][1], dtype=torch.float64).mean(-1) for i in range(n))
    return (total / n).tolist()


def init_output_bias(model: torch.nn.Module, means) -> bool:
    """Start a profile model at each track's mean coverage: set the bias of its output head (the
    layer before the softplus) to ``softplus^-1(mean)``.

    The heads start with bias 0, i.e. a rate of ``softplus(0) = 0.69`` per bin. Real coverage
    has means of tens per bin (yeast Pol II 25, RNA 17), and Adam moves a bias by about ``lr``
    per step, so a model
    trained from a zero bias spends its first thousands of steps learning the scale through
    every layer instead of the profile's shape (compact Enformer on the yeast tracks: 16 epochs
    without reaching the Poisson loss of a per-track constant, test Pearson 0.03).

    Acts on Basenji's ``head`` and Enformer's first (``"human"``) head in profile mode; other
    models are left alone. Returns whether a bias was set.
    """
    if getattr(model, "output_kind", None) != "profile":
        return False
    heads = getattr(model, "heads", None)
    head = next(iter(heads.values())) if heads is not None else getattr(model, "head", None)
    bias = getattr(head, "bias", None)
    means = torch.as_tensor(means, dtype=torch.float64).reshape(-1)
    if not isinstance(bias, torch.Tensor) or bias.shape != means.shape:
        return False
    mean = means.clamp(min=1e-4)  # an all-zero track: a rate of 1e-4
    with torch.no_grad():
        bias.copy_(mean + torch.log(-torch.expm1(-mean)))  # softplus^-1, stable for large means
    return True
