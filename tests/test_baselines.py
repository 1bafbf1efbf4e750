"""``regzoo compare --baseline``: linear reference models (k-mer counts, one-hot) as leaderboard rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from _zoo_helpers import run_cli
from regzoo.compare.baselines import (
    describe,
    features,
    fit_baseline,
    fit_linear,
    kmer_counts,
    run_baseline,
)
from regzoo.compare.run import task_fingerprint
from regzoo.data.datasets import SequenceDataset
from regzoo.data.encode import _RC_CODE, encode
from regzoo.data.synthetic import planted_motif_task
from regzoo.data.task import NO_AUGMENTATION, TaskData
from regzoo.train.metrics import score_by_label

MOTIF = "TGACTCAGCA"


def _strand_position_codes(n: int, seq_len: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every sequence holds MOTIF once. Label 1: on the + strand at the fixed offset 40; label 0:
    at a random other position on a random strand (the same k-mers as label 1 half the time)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, seq_len)).astype(np.uint8)
    site, k = encode(MOTIF), len(MOTIF)
    labels = (np.arange(n) % 2).astype(np.float32)
    rng.shuffle(labels)
    for i in range(n):
        if labels[i] == 1:
            codes[i, 40 : 40 + k] = site
        else:
            start = rng.choice([s for s in range(seq_len - k + 1) if abs(s - 40) > 3])
            codes[i, start : start + k] = site if rng.random() < 0.5 else _RC_CODE[site][::-1]
    return codes, labels


def _task(parts, task_type="binary", labels=("y",), rc=False) -> TaskData:
    train, valid, test = (SequenceDataset(c, y) for c, y in parts)
    return TaskData(
        name="t",
        task_type=task_type,
        label_names=list(labels),
        seq_len=train.seq_len,
        train=train,
        valid=valid,
        test=test,
        augmentation={"rc": rc, "max_shift": 0, "reason": "test"} if rc else dict(NO_AUGMENTATION),
    )


def _run(kind, task, tmp_path, l2_grid=(1e-4, 1e-3, 1e-2, 1e-1)):
    out = tmp_path / kind
    result = run_baseline(kind, task, 0, out, task_fingerprint(task), l2_grid)
    assert result.status == "ok", result.error
    return result, out


def test_known_answers_onehot_for_position_kmer_for_presence(tmp_path):
    position = _task([_strand_position_codes(n, 80, s) for n, s in ((1500, 0), (300, 1), (400, 2))])
    onehot, _ = _run("onehot", position, tmp_path / "pos")
    assert onehot.metrics["auroc"] > 0.9, onehot.metrics
    assert onehot.parameters == 4 * 80 + 1 and onehot.epochs == 0
    anywhere = planted_motif_task(n_train=1500, n_valid=300, n_test=400, seq_len=100, seed=1)
    kmer, _ = _run("kmer", anywhere, tmp_path / "any")
    assert kmer.metrics["auroc"] > 0.9, kmer.metrics
    assert kmer.parameters == 512 + 1  # canonical 5-mers: the planted task augments with rc
    # and the positional model cannot find a motif that moves (the known answer cuts both ways)
    onehot_anywhere, _ = _run("onehot", anywhere, tmp_path / "any1")
    assert onehot_anywhere.metrics["auroc"] < 0.7, onehot_anywhere.metrics


def test_strand_rule_follows_rc_augmentation():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, size=(3, 60)).astype(np.uint8)
    codes[1, 10] = 4  # an N: its windows are not counted
    rc = _RC_CODE[codes][:, ::-1]
    plain, plain_rc = features("kmer", codes, False), features("kmer", rc, False)
    assert plain.shape == (3, 1024) and not np.allclose(plain, plain_rc)
    merged, merged_rc = features("kmer", codes, True), features("kmer", rc, True)
    assert merged.shape == (3, 512) and np.array_equal(merged, merged_rc)
    assert kmer_counts(codes)[0].sum() == 60 - 5 + 1 and kmer_counts(codes)[1].sum() == 56 - 5
    # which rule a task gets is its augmentation's
    parts = [(codes, np.zeros(3, np.float32))] * 3
    assert describe(_task(parts, rc=True), ("kmer",))["baseline-kmer"]["canonical"] is True
    assert describe(_task(parts, rc=False), ("kmer",))["baseline-kmer"]["canonical"] is False


def test_l2_is_chosen_on_validation(tmp_path):
    # few, noisy training labels (30% flipped) and 800 positional features: weak regularisation
    # fits the noise, so the training split would pick the weakest strength and validation the
    # strongest; the grid puts the strongest in the middle, so neither "first" nor "last" passes
    parts = []
    for n, seed in ((200, 0), (400, 1), (100, 2)):
        codes, labels = _strand_position_codes(n, 200, seed)
        flip = np.random.default_rng(seed).random(n) < 0.3
        labels[flip] = 1 - labels[flip]
        parts.append((codes, labels))
    task = _task(parts)
    result, _ = _run("onehot", task, tmp_path, l2_grid=(1e-4, 10.0, 1e-2))
    search = result.baseline["l2_search"]
    assert [s["l2"] for s in search] == [1e-4, 10.0, 1e-2]
    values = [s["valid_auroc"] for s in search]
    assert len(set(values)) == 3
    assert result.baseline["l2_chosen"] == search[int(np.argmax(values))]["l2"] == 10.0
    assert result.baseline["l2_grid"] == [1e-4, 10.0, 1e-2]
    assert result.train_time_s > 0 and result.tuning_time_s >= result.train_time_s
    # the recorded validation score is that of the fit: refit the chosen strength and rescore
    _, again, _ = fit_baseline("onehot", task, (10.0,))
    assert again[0]["valid_auroc"] == pytest.approx(max(values), abs=1e-6)


def test_masked_labels_are_left_out(tmp_path):
    rng = np.random.default_rng(1)
    x = torch.randn(300, 20)
    y = (x[:, :1] + 0.5 * torch.randn(300, 1) > 0).float()
    masked = y.clone()
    masked[::3] = float("nan")
    known = ~torch.isnan(masked[:, 0])
    w_mask, b_mask, _, ok = fit_linear(x, masked, "binary", 1, 1e-2)
    w_drop, b_drop, _, _ = fit_linear(x[known], y[known], "binary", 1, 1e-2)
    assert ok and torch.isfinite(w_mask).all()
    assert torch.allclose(w_mask, w_drop, atol=1e-3) and torch.allclose(b_mask, b_drop, atol=1e-3)
    # had the missing labels been read as positives, the fit would be another one
    w_ones, _, _, _ = fit_linear(x, torch.nan_to_num(masked, nan=1.0), "binary", 1, 1e-2)
    assert (w_ones - w_drop).abs().max() > 0.05
    # a multilabel task with missing labels (missing_labels="mask") end to end
    parts = []
    for n in (600, 200, 200):
        codes = rng.integers(0, 4, size=(n, 60)).astype(np.uint8)
        a = (codes == 0).mean(1) > 0.25
        labels = np.stack([a, ~a], 1).astype(np.float32)
        labels[rng.random(labels.shape) < 0.2] = np.nan
        parts.append((codes, labels))
    task = _task(parts, task_type="multilabel", labels=("a", "b"))
    result, out = _run("kmer", task, tmp_path)
    with np.load(out / "predictions.npz") as saved:
        preds, targets = saved["preds"], saved["targets"]
    assert np.array_equal(np.isnan(targets), np.isnan(parts[2][1])) and np.isfinite(preds).all()
    expected = score_by_label("multilabel", torch.as_tensor(preds), torch.as_tensor(targets))[0]
    assert result.metrics["auroc"] == pytest.approx(expected["auroc"]) and expected["auroc"] > 0.9
    assert all(np.isfinite(s["valid_auroc"]) for s in result.baseline["l2_search"])


def test_regression_and_multiclass_fit(tmp_path):
    rng = np.random.default_rng(2)
    parts_r, parts_c = [], []
    for n in (600, 200, 200):
        codes = rng.integers(0, 4, size=(n, 50)).astype(np.uint8)
        gc = np.isin(codes, (1, 2)).mean(1).astype(np.float32)
        parts_r.append((codes, gc + 0.01 * rng.standard_normal(n).astype(np.float32)))
        parts_c.append((codes, np.digitize(gc, np.quantile(gc, [1 / 3, 2 / 3])).astype(np.float32)))
    # GC fraction is linear in the one-hot sequence: ridge regression recovers it
    ridge, _ = _run("onehot", _task(parts_r, "regression"), tmp_path / "r")
    assert ridge.metrics["pearson"] > 0.95, ridge.metrics
    softmax, out = _run("kmer", _task(parts_c, "multiclass", ("lo", "mid", "hi")), tmp_path / "c")
    assert softmax.metrics["accuracy"] > 0.6, softmax.metrics
    with np.load(out / "predictions.npz") as saved:
        assert saved["preds"].shape == (200, 3)
        assert np.allclose(saved["preds"].sum(1), 1, atol=1e-5)


def test_cli_compare_with_baselines(capsys, monkeypatch, tmp_path):
    out = tmp_path / "cmp"
    args = ["compare", "--task", "promoters-tiny", "--models", "deepbind"]
    args += ["--baseline", "kmer,onehot", "--quick", "--in-process", "--n-boot", "200"]
    args += ["--out", str(out)]
    code, stdout, err = run_cli(capsys, monkeypatch, *args)
    assert code == 0, err
    assert "linear baselines (added rows" in err
    assert "baseline-kmer: log1p of 5-mer counts (1024 features), strand-specific" in err
    assert "baseline-onehot: flattened one-hot sequence (4 x 500 = 2000" in err
    board = pd.read_csv(out / "leaderboard.csv")
    assert set(board["model"]) == {"deepbind", "baseline-kmer", "baseline-onehot"}
    assert (board["status"] == "ok").all()
    assert dict(zip(board["model"], board["baseline"], strict=True)) == {
        "deepbind": False,
        "baseline-kmer": True,
        "baseline-onehot": True,
    }
    for column in ("auroc", "auprc", "auroc_ci_low", "auroc_ci_high", "tied_with_best"):
        assert board[column].notna().all(), column
    base = board[board["baseline"]]
    assert (base["epochs"] == 0).all() and base["best_epoch"].isna().all()
    assert list(base["parameters"]) == [1025, 2001] or list(base["parameters"]) == [2001, 1025]
    assert "(linear reference)" in stdout
    html = (out / "report.html").read_text()
    assert "baseline-kmer (linear reference)" in html and "Best linear reference" in html
    payload = json.loads((out / "leaderboard.json").read_text())
    assert payload["settings"]["baselines"] == ["kmer", "onehot"]
    assert payload["baselines"]["baseline-kmer"]["l2_grid"] == [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    run = json.loads((out / "runs" / "baseline-kmer-seed0" / "result.json").read_text())
    assert run["baseline"]["l2_chosen"] in run["baseline"]["l2_grid"]
    assert (out / "runs" / "baseline-onehot-seed0" / "predictions.npz").is_file()
    # the same command again: the baselines, like the runs, are finished and skipped
    stamp = (out / "runs" / "baseline-kmer-seed0" / "result.json").stat().st_mtime_ns
    code, _, err = run_cli(capsys, monkeypatch, *args)
    assert code == 0 and err.count("already finished") == 3, err
    assert (out / "runs" / "baseline-kmer-seed0" / "result.json").stat().st_mtime_ns == stamp
    assert set(pd.read_csv(out / "leaderboard.csv")["model"]) == set(board["model"])


def test_cli_refuses_baseline_on_coverage_tracks(capsys, monkeypatch, tmp_path):
    out = tmp_path / "cmp"
    code, _, err = run_cli(
        capsys,
        monkeypatch,
        "compare",
        "--task",
        "tracks-tiny",
        "--baseline",
        "kmer",
        "--quick",
        "--out",
        str(out),
    )
    assert code != 0
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert (
        len(errors) == 1 and "--baseline kmer: linear baselines are for one value per" in errors[0]
    )
    assert "Traceback" not in err, err  # (the other line, if any: the data cache being built)
    assert not out.exists()


def test_cli_rejects_unknown_baseline(capsys, monkeypatch, tmp_path):
    code, _, err = run_cli(
        capsys,
        monkeypatch,
        "compare",
        "--task",
        "promoters-tiny",
        "--baseline",
        "kmer,svm",
        "--out",
        str(tmp_path / "x"),
    )
    assert code != 0 and "unknown baseline 'svm'" in err and "Traceback" not in err


def test_baseline_too_large_for_memory_is_refused_before_anything_runs(monkeypatch, tmp_path):
    """The one-hot of a genome-wide task (N x 4L floats) is refused with its size, up front."""
    from regzoo.compare import baselines
    from regzoo.compare.run import CompareSettings, compare
    from regzoo.errors import RegzooError

    task = planted_motif_task(n_train=200, n_valid=50, n_test=50, seq_len=100, seed=0)
    # 200 + 50 + 50 + 200 rows x 400 features x 4 bytes = 0.32 MB for onehot; 2.0 MB for kmer
    assert baselines.feature_gb(task, "onehot") == pytest.approx(500 * 400 * 4 / 1e9)
    monkeypatch.setattr(baselines, "MAX_FEATURE_GB", 1e-3)  # 1 MB
    baselines.check_size(task, ("onehot",))  # 0.32 MB: fine
    out = tmp_path / "cmp"
    with pytest.raises(RegzooError, match=r"--baseline kmer: its features would take 0\.0 GB"):
        compare(task, [], out, CompareSettings(max_epochs=1, baselines=("kmer",)))
    assert not out.exists()


def test_cli_cross_validation_marks_the_baseline(capsys, monkeypatch, tmp_path):
    """``compare --folds`` keeps the baseline's mark in its CSV and table."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(120):
        seq = "".join(rng.choice(list("ACGT"), 40))
        if i % 2:
            seq = seq[:18] + "GATA" + seq[22:]
        rows.append(f"{seq},{i % 2}")
    table = tmp_path / "t.csv"
    table.write_text("sequence,label\n" + "\n".join(rows) + "\n")
    out = tmp_path / "cv"
    code, stdout, err = run_cli(
        capsys,
        monkeypatch,
        "compare",
        "--table",
        str(table),
        "--folds",
        "2",
        "--models",
        "deepbind",
        "--baseline",
        "onehot",
        "--quick",
        "--in-process",
        "--n-boot",
        "100",
        "--out",
        str(out),
    )
    assert code == 0, err
    board = pd.read_csv(out / "cv_leaderboard.csv")
    marks = dict(zip(board["model"], board["baseline"], strict=True))
    assert marks == {"deepbind": False, "baseline-onehot": True}
    assert (board["folds"] == 2).all()
    assert "baseline-onehot (linear" in stdout
