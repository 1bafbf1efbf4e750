"""regzoo.compare.stats: bootstrap intervals, paired tests, DeLong, ties with the best."""

from __future__ import annotations

import math

import numpy as np
import pytest

from regzoo.compare import stats
from regzoo.train.fit import score


def _binary(n: int, signal: float, seed: int, positives: float = 0.4):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 1)) < positives).astype(np.float32)
    p = 1 / (1 + np.exp(-(signal * (2 * y - 1) + rng.normal(size=(n, 1)))))
    return p.astype(np.float32), y


def _cases():
    rng = np.random.default_rng(3)
    n = 400
    p_bin, y_bin = _binary(n, 1.0, 0)
    p_bin[:60] = np.round(p_bin[:60], 1)  # ties
    y_ml = (rng.random((n, 3)) < [0.3, 0.5, 0.05]).astype(np.float32)
    p_ml = np.clip(0.3 * y_ml + 0.7 * rng.random((n, 3)), 0, 1).astype(np.float32)
    y_ml[:25, 1] = np.nan  # missing labels are left out
    y_mc = rng.integers(0, 4, (n, 1)).astype(np.float32)
    logits = rng.normal(size=(n, 4))
    logits[np.arange(n), y_mc[:, 0].astype(int)] += 1.0
    p_mc = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
    y_rg = rng.normal(size=(n, 2)).astype(np.float32)
    p_rg = (y_rg + rng.normal(size=(n, 2))).astype(np.float32)
    p_rg[:40, 0] = 0.5  # ties in the ranks
    return {
        "binary": (p_bin, y_bin),
        "multilabel": (p_ml, y_ml),
        "multiclass": (p_mc, y_mc),
        "regression": (p_rg, y_rg),
    }


@pytest.mark.parametrize("task_type", ["binary", "multilabel", "multiclass", "regression"])
def test_vectorised_metrics_equal_the_training_metrics(task_type):
    """The numpy metrics on the full test set are the numbers regzoo.train.score reports."""
    preds, targets = _cases()[task_type]
    reference = score(task_type, preds, targets)
    assert set(reference) == set(stats.METRICS[task_type])
    for name, value in reference.items():
        point, _ = stats.bootstrap_values(name, [preds], targets, n_boot=2, task_type=task_type)
        assert point[0] == pytest.approx(value, abs=1e-5), name


def test_task_type_inferred():
    cases = _cases()
    for task_type, (preds, targets) in cases.items():
        if task_type != "multilabel":  # NaN targets there: not inferable
            assert stats.infer_task_type(preds, targets) == task_type


def test_ci_contains_point_and_narrows_with_more_items():
    widths = []
    for n in (200, 3000):
        preds, targets = _binary(n, 1.0, seed=1)
        for metric in ("auroc", "auprc", "accuracy", "mcc"):
            point, low, high = stats.bootstrap_ci(metric, preds, targets, n_boot=500)
            assert low <= point <= high, (n, metric)
            if metric == "auroc":
                widths.append(high - low)
    assert widths[1] < 0.5 * widths[0]  # ~ 1 / sqrt(n): 3.9x narrower expected


def test_regression_ci():
    preds, targets = _cases()["regression"]
    for metric in ("pearson", "spearman", "mse"):
        point, low, high = stats.bootstrap_ci(metric, preds, targets, n_boot=300)
        assert low < point < high, metric


def test_stratified_resamples_keep_class_counts():
    strata = np.array([0] * 30 + [1] * 7)
    counts = stats.resample_counts(37, 50, np.random.default_rng(0), strata)
    assert counts.shape == (50, 37)
    assert np.all(counts[:, strata == 1].sum(1) == 7) and np.all(counts.sum(1) == 37)
    plain = stats.resample_counts(37, 200, np.random.default_rng(0))
    assert np.any(plain[:, strata == 1].sum(1) != 7)


def test_seeded_and_reproducible():
    preds, targets = _binary(300, 0.8, seed=2)
    a = stats.bootstrap_ci("auroc", preds, targets, n_boot=200, seed=5)
    b = stats.bootstrap_ci("auroc", preds, targets, n_boot=200, seed=5)
    c = stats.bootstrap_ci("auroc", preds, targets, n_boot=200, seed=6)
    assert a == b and a != c and a[0] == c[0]


def test_callable_metric_uses_the_same_resamples():
    """A user metric goes the slow way (one call per resample) over the same resamples."""
    preds, targets = _binary(150, 0.8, seed=4)

    def auroc(p, t):
        return stats.delong_components(p[:, 0], t[:, 0] > 0.5)[0]

    slow = stats.bootstrap_values(auroc, [preds], targets, n_boot=40, seed=1)
    fast = stats.bootstrap_values("auroc", [preds], targets, n_boot=40, seed=1)
    np.testing.assert_allclose(slow[0], fast[0], atol=1e-12)
    np.testing.assert_allclose(slow[1], fast[1], atol=1e-12)


def test_undefined_metrics_are_nan_not_zero():
    preds = np.random.default_rng(0).random((50, 1)).astype(np.float32)
    only_negatives = np.zeros((50, 1), dtype=np.float32)
    for metric in ("auroc", "auprc", "mcc"):
        assert all(math.isnan(v) for v in stats.bootstrap_ci(metric, preds, only_negatives, 50))
    assert math.isnan(stats.delong_test(preds, preds, only_negatives)["p_value"])
    constant = np.full((50, 1), 0.3, dtype=np.float32)
    values = np.random.default_rng(1).normal(size=(50, 1))
    assert math.isnan(stats.bootstrap_ci("pearson", constant, values, 50)[0])


def test_multilabel_labels_undefined_in_a_resample_are_skipped():
    """A label with 2 positives in 300 items is absent from some resamples: those resamples
    average the other labels instead of failing or counting 0."""
    rng = np.random.default_rng(0)
    targets = (rng.random((300, 2)) < 0.4).astype(np.float32)
    targets[:, 1] = 0
    targets[:2, 1] = 1
    preds = np.clip(0.4 * targets + 0.6 * rng.random((300, 2)), 0, 1)
    _, boot = stats.bootstrap_values("auroc", [preds], targets, n_boot=300, task_type="multilabel")
    assert np.all(np.isfinite(boot))
    label0 = stats.bootstrap_values(
        "auroc", [preds[:, :1]], targets[:, :1], n_boot=300, task_type="multilabel"
    )[1]
    missing = ~np.isfinite(
        stats.bootstrap_values(
            "auroc", [preds[:, 1:]], targets[:, 1:], n_boot=300, task_type="multilabel"
        )[1][:, 0]
    )
    assert missing.any()
    np.testing.assert_allclose(boot[missing, 0], label0[missing, 0])


def test_identical_models_are_tied():
    preds, targets = _binary(300, 0.8, seed=3)
    paired = stats.paired_bootstrap("auroc", preds, preds.copy(), targets, n_boot=300)
    assert paired["diff"] == 0 and paired["p_value"] == pytest.approx(1.0)
    delong = stats.delong_test(preds, preds.copy(), targets)
    assert delong["z"] == 0 and delong["p_value"] == pytest.approx(1.0)
    rg, yg = _cases()["regression"]
    assert stats.paired_bootstrap("pearson", rg, rg, yg, n_boot=100)["p_value"] == 1.0


def test_planted_signal_beats_random():
    good, targets = _binary(400, 1.5, seed=4)
    random = np.random.default_rng(9).random((400, 1)).astype(np.float32)
    paired = stats.paired_bootstrap("auroc", good, random, targets, n_boot=500)
    assert paired["diff"] > 0.2 and paired["p_value"] < 0.01 and paired["low"] > 0
    assert stats.delong_test(good, random, targets)["p_value"] < 0.01


def _delong_brute_force(a: np.ndarray, b: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """DeLong et al. 1988 structural components by all positive-negative pairs, O(m n)."""
    pos = y > 0.5
    out = {}
    comps = []
    for s in (a, b):
        x, z = s[pos], s[~pos]
        psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
        comps.append((psi.mean(), psi.mean(1), psi.mean(0)))
    (auc_a, v10a, v01a), (auc_b, v10b, v01b) = comps
    m, n = pos.sum(), (~pos).sum()
    s10 = np.cov(np.stack([v10a, v10b]))
    s01 = np.cov(np.stack([v01a, v01b]))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n
    out["auc_a"], out["auc_b"] = auc_a, auc_b
    out["z"] = (auc_a - auc_b) / math.sqrt(var)
    out["p_value"] = math.erfc(abs(out["z"]) / math.sqrt(2))
    return out


def test_delong_matches_brute_force_and_bootstrap():
    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.35).astype(np.float64)
    a = np.round(1.2 * y + rng.normal(size=300), 1)  # rounded: many ties
    b = np.round(0.8 * y + 0.6 * rng.normal(size=300) + 0.4 * a, 1)
    fast = stats.delong_test(a, b, y)
    slow = _delong_brute_force(a, b, y)
    for key in ("auc_a", "auc_b", "z", "p_value"):
        assert fast[key] == pytest.approx(slow[key], abs=1e-10), key
    # against a paired bootstrap of the same difference: similar standard error and p-value
    point, boot = stats.bootstrap_values("auroc", [a, b], y[:, None], n_boot=2000, seed=0)
    se_boot = np.std(boot[:, 0] - boot[:, 1])
    se_delong = abs(fast["diff"]) / abs(fast["z"])
    assert se_boot == pytest.approx(se_delong, rel=0.2)
    paired = stats.paired_bootstrap("auroc", a, b, y[:, None], n_boot=2000)
    assert abs(paired["p_value"] - fast["p_value"]) < 0.05 + 0.5 * fast["p_value"]


def test_delong_with_seeds_averages_components():
    """A list of seed predictions: the AUROC is the seed average."""
    p1, y = _binary(200, 1.0, seed=5)
    p2 = np.random.default_rng(1).random((200, 1))
    result = stats.delong_test([p1, p2], p1, y)
    single = stats.delong_test(p2, p1, y)
    assert result["auc_a"] == pytest.approx((result["auc_b"] + single["auc_a"]) / 2)


def test_holm():
    adjusted = stats.holm([0.01, 0.04, 0.03, np.nan])
    np.testing.assert_allclose(adjusted[:3], [0.03, 0.06, 0.06])
    assert math.isnan(adjusted[3])


@pytest.mark.parametrize("metric", ["auroc", "auprc"])
def test_tied_with_best(metric):
    """A near copy of the best is tied with it; a random model is not; the best is tied with
    itself. AUROC of a binary task goes through DeLong, other metrics the paired bootstrap."""
    good, targets = _binary(400, 1.2, seed=6)
    rng = np.random.default_rng(2)
    near = np.clip(good + 0.003 * rng.normal(size=good.shape), 0, 1)
    random = rng.random(good.shape)
    result = stats.tied_with_best(
        {"random": random, "near": near, "good": good}, targets, metric, n_boot=400
    )
    best = next(n for n, r in result.items() if r["best"])
    assert best in ("good", "near")
    assert result["good"]["tied"] and result["near"]["tied"]
    assert not result["random"]["tied"] and result["random"]["p_holm"] < 0.01
    assert result[best]["p_value"] == 1.0 and result[best]["diff"] == 0
    assert result["random"]["method"] == ("DeLong" if metric == "auroc" else "paired bootstrap")
    assert result["random"]["p_holm"] >= result["random"]["p_value"]


def test_tied_with_best_lower_is_better():
    rg, yg = _cases()["regression"]
    noisy = rg + 3 * np.random.default_rng(0).normal(size=rg.shape)
    result = stats.tied_with_best({"noisy": noisy, "good": rg}, yg, "mse", n_boot=300)
    assert result["good"]["best"] and not result["noisy"]["tied"]
    assert result["noisy"]["diff"] > 0  # model - best: a larger error


def _profiles(n=60, tracks=3, bins=16, seed=0, noise=0.5):
    rng = np.random.default_rng(seed)
    rate = rng.gamma(2.0, 2.0, size=(n, tracks, bins))
    target = rng.poisson(rate).astype(np.float64)
    pred = np.clip(rate * np.exp(noise * rng.normal(size=rate.shape)), 0, None)
    return pred, target


def test_profile_resamples_equal_profile_metrics_of_the_repeated_windows():
    """A resample of windows scores exactly as ProfileMetrics scores those windows, repeated."""
    import torch

    from regzoo.train.profile import profile_metrics

    pred, target = _profiles()
    window = stats.profile_window_stats(pred, target)
    rng = np.random.default_rng(3)
    W = stats.resample_counts(len(pred), 2, rng)
    for counts in W:
        index = np.repeat(np.arange(len(pred)), counts.astype(int))
        expected = profile_metrics(torch.as_tensor(pred[index]), torch.as_tensor(target[index]))
        for name in ("pearson", "pearson_total", "mse"):
            got = stats.weighted_profile_metric(name, window, counts[None])[0]
            assert got == pytest.approx(expected[name], rel=1e-9, abs=1e-12), name


def test_profile_ci_contains_the_point_and_a_better_model_wins():
    pred, target = _profiles(n=120)
    point, low, high = stats.bootstrap_ci("pearson", pred, target, n_boot=400, task_type="profile")
    assert low <= point <= high and high - low > 0
    worse = _profiles(n=120, noise=1.5)[0]
    ties = stats.tied_with_best(
        {"good": pred, "worse": worse}, target, "pearson", task_type="profile", n_boot=400
    )
    assert ties["good"]["best"] and not ties["worse"]["tied"]
    same = stats.tied_with_best(
        {"a": pred, "b": pred.copy()}, target, "pearson", task_type="profile", n_boot=200
    )
    assert same["b"]["tied"] and same["b"]["diff"] == 0
