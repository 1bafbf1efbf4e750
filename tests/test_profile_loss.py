"""Profile losses against hand-computed values; profile metrics against scipy/numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from regzoo.errors import InputError, NameNotFoundError
from regzoo.train.profile import (
    ProfileMetrics,
    average_ranks,
    multinomial_poisson_loss,
    per_track_table,
    poisson_loss,
    profile_loss,
    profile_metrics,
    profile_model_overrides,
)


def test_poisson_known_answer():
    pred = torch.tensor([[[1.0, 2.0]]])
    target = torch.tensor([[[0.0, 3.0]]])
    # mean of (1 - 0) and (2 - 3 log 2)
    want = (1.0 + 2.0 - 3.0 * math.log(2.0)) / 2
    assert poisson_loss(pred, target).item() == pytest.approx(want, rel=1e-6)
    assert profile_loss("poisson", pred, target).item() == pytest.approx(want, rel=1e-6)


def test_multinomial_known_answer():
    # one window, one track, two bins: pred (1, 3) -> q = (1/4, 3/4), totals 4 vs 4
    pred = torch.tensor([[[1.0, 3.0]]], dtype=torch.float64)
    target = torch.tensor([[[2.0, 2.0]]], dtype=torch.float64)
    multinomial = -(2 * math.log(0.25) + 2 * math.log(0.75)) / 2
    poisson = (4 - 4 * math.log(4)) / 2
    for w in (0.2, 1.0):
        got = multinomial_poisson_loss(pred, target, total_weight=w).item()
        assert got == pytest.approx(multinomial + w * poisson, abs=1e-5)  # eps 1e-6 per bin


def test_multinomial_separates_shape_from_scale():
    target = torch.tensor([[[1.0, 4.0, 2.0, 0.0]]])
    right_shape = target * 3  # right shape, wrong total
    wrong_shape = target.flip(-1)  # right total, wrong shape
    loss = multinomial_poisson_loss
    shape_only = loss(right_shape, target, total_weight=0.0)
    assert shape_only.item() < loss(wrong_shape, target, total_weight=0.0).item()
    assert loss(target, target).item() < loss(right_shape, target).item()


def test_profile_loss_errors():
    with pytest.raises(NameNotFoundError, match="profile loss"):
        profile_loss("huber", torch.ones(1, 1, 2), torch.ones(1, 1, 2))
    with pytest.raises(InputError, match="same shape"):
        poisson_loss(torch.ones(1, 1, 2), torch.ones(1, 2, 2))
    assert profile_loss("mse", torch.ones(1, 1, 2), torch.zeros(1, 1, 2)).item() == 1.0


def test_perfect_prediction_has_pearson_one():
    rng = np.random.default_rng(0)
    target = torch.tensor(rng.poisson(3.0, size=(16, 3, 50)), dtype=torch.float32)
    m = profile_metrics(target.clone(), target, names=["a", "b", "c"])
    for key in ("pearson", "pearson_total", "spearman", "pearson/a", "spearman/c"):
        assert m[key] == pytest.approx(1.0, abs=1e-6)
    assert m["mse"] == 0.0


def _pearson(a, b):
    return float(np.corrcoef(a, b)[0, 1])


def _batched_metrics(pred, target):
    metric = ProfileMetrics(2, ["x", "y"])
    for lo in range(0, 20, 6):  # uneven batches
        metric.update(torch.tensor(pred[lo : lo + 6]), torch.tensor(target[lo : lo + 6]))
    return {k: float(v) for k, v in metric.compute().items()}


def _noisy_example():
    rng = np.random.default_rng(1)
    target = rng.poisson(2.0, size=(20, 2, 30)).astype(np.float32)
    pred = np.abs(target + rng.normal(0, 1.5, size=target.shape)).astype(np.float32)
    return pred, target


def test_metrics_match_numpy_and_accumulate_over_batches():
    pred, target = _noisy_example()
    got = _batched_metrics(pred, target)
    for t, name in enumerate(("x", "y")):
        p, y = np.log1p(pred[:, t].ravel()), np.log1p(target[:, t].ravel())
        assert got[f"pearson/{name}"] == pytest.approx(_pearson(p, y), abs=1e-6)
        tp, ty = np.log1p(pred[:, t].sum(-1)), np.log1p(target[:, t].sum(-1))
        assert got[f"pearson_total/{name}"] == pytest.approx(_pearson(tp, ty), abs=1e-6)
    assert got["mse"] == pytest.approx(float(((pred - target) ** 2).mean()), rel=1e-5)
    rows = per_track_table({f"val/{k}": v for k, v in got.items()}, ["x", "y"])
    assert rows[1]["track"] == "y" and rows[1]["pearson"] == got["pearson/y"]


def test_spearman_matches_scipy():
    stats = pytest.importorskip("scipy.stats")  # scipy is optional; ranks are also tested below
    pred, target = _noisy_example()
    got = _batched_metrics(pred, target)
    for t, name in enumerate(("x", "y")):
        p, y = np.log1p(pred[:, t].ravel()), np.log1p(target[:, t].ravel())
        assert got[f"spearman/{name}"] == pytest.approx(stats.spearmanr(p, y)[0], abs=1e-5)


def test_spearman_sample_bounded():
    rng = np.random.default_rng(2)
    target = torch.tensor(rng.gamma(2.0, size=(50, 1, 100)), dtype=torch.float32)
    pred = target + torch.tensor(rng.normal(0, 0.3, size=target.shape), dtype=torch.float32)
    metric = ProfileMetrics(1, max_rank_points=500)
    for lo in range(0, 50, 5):
        metric.update(pred[lo : lo + 5].clamp(min=0), target[lo : lo + 5])
    assert sum(k.shape[0] for k in metric.rank_key) <= 2 * 500
    full = profile_metrics(pred.clamp(min=0), target)["spearman"]
    assert float(metric.compute()["spearman"]) == pytest.approx(full, abs=0.05)


def test_constant_track_is_nan_not_error():
    target = torch.ones(4, 2, 5)
    pred = torch.rand(4, 2, 5)
    m = profile_metrics(pred, target)
    assert math.isnan(m["pearson/track0"]) and math.isnan(m["pearson"])


def test_negative_target_refused():
    with pytest.raises(InputError, match="non-negative targets"):
        profile_metrics(torch.ones(1, 1, 3), -torch.ones(1, 1, 3))


def test_average_ranks_ties():
    r = average_ranks(torch.tensor([3.0, 1.0, 3.0, 0.0]))
    assert r.tolist() == [3.5, 2.0, 3.5, 1.0]


def test_profile_model_overrides_match_model_bins():
    from regzoo.models import create

    over = profile_model_overrides(128, 112)
    assert over == {"tower_blocks": 6, "target_bins": 112}
    model = create("basenji", seq_len=16384, n_tasks=2, compact=True, **over)
    assert model(torch.zeros(1, 4, 16384)).shape == (1, 2, 112)
    with pytest.raises(InputError, match="powers of two"):
        profile_model_overrides(100, 10)


def test_constant_predictions_give_undefined_pearson_over_many_batches():
    """Accumulated sums leave a constant prediction's variance as rounding noise (seen as a
    Pearson of 1e-6 or -1e-8 instead of NaN, which then looks like a trained model's value)."""
    import math

    from regzoo.train.profile import ProfileMetrics

    torch.manual_seed(0)
    for c in (0.7, 17.1, 123.456, 0.1234567):
        metric = ProfileMetrics(2)
        for b in range(13):
            n = (7, 16, 3)[b % 3]
            metric.update(torch.full((n, 2, 112), c), torch.rand(n, 2, 112) * 10)
        values = metric.compute()
        assert math.isnan(values["pearson"]) and math.isnan(values["pearson_total"]), c
    # a barely varying but real prediction keeps its correlation
    metric = ProfileMetrics(1)
    target = torch.rand(8, 1, 112) * 10
    metric.update(5 + 1e-3 * target, target)
    assert float(metric.compute()["pearson"]) > 0.9  # log1p of both sides: not exactly 1
