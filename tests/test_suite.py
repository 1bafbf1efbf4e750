"""The principles suite: tasks with a known answer (real JASPAR motifs in real Arabidopsis DNA),
and the suite's matrix, plots and generated summary."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from regzoo.compare import suite as csuite
from regzoo.data import suite as dsuite


# ---- helpers ------------------------------------------------------------------------------------
def pwm_scan(codes: np.ndarray, matrix_id: str) -> np.ndarray:
    """Log-odds score (uniform background) of every start on the + strand -> ``(N, L - k + 1)``."""
    probs, _ = dsuite.motif_probs(matrix_id)
    logodds = np.log2(probs / 0.25)  # (k, 4)
    k = len(probs)
    windows = np.lib.stride_tricks.sliding_window_view(codes, k, axis=1)  # (N, L-k+1, k)
    safe = np.minimum(windows, 3)
    scores = logodds[np.arange(k), safe].sum(-1)
    return np.where((windows == 4).any(-1), -np.inf, scores)


def both_strands_max(codes: np.ndarray, matrix_id: str) -> np.ndarray:
    rc = (3 - codes)[:, ::-1]
    return np.maximum(pwm_scan(codes, matrix_id).max(1), pwm_scan(rc, matrix_id).max(1))


def kmer_counts(codes: np.ndarray, k: int = 3) -> np.ndarray:
    """``(N, 4**k)`` counts of overlapping k-mers."""
    index = np.zeros((len(codes), codes.shape[1] - k + 1), dtype=np.int64)
    for j in range(k):
        index = index * 4 + codes[:, j : codes.shape[1] - k + 1 + j]
    return np.stack([np.bincount(row, minlength=4**k) for row in index]).astype(float)


def split(arrays: dict, k: int) -> dict:
    mask = arrays["split"] == k
    return {key: value[mask] for key, value in arrays.items()}


@pytest.fixture(scope="module")
def long_range() -> dict:
    return dsuite.build_suite_arrays("long-range-1000", n_train=500, n_valid=20, n_test=600)


# ---- long-range order ---------------------------------------------------------------------------
def test_long_range_balanced_and_same_motif_content(long_range):
    a_id, b_id = dsuite.LONG_RANGE_MOTIFS
    for k in range(3):
        part = split(long_range, k)
        assert part["labels"].mean() == 0.5
    test = split(long_range, 2)
    y = test["labels"]
    # every window holds one planted A and one planted B: both found by a PWM scan where recorded
    for motif, key in ((a_id, "pos_a"), (b_id, "pos_b")):
        hits = pwm_scan(test["codes"], motif).argmax(1)
        assert (hits == test[key]).mean() > 0.95
        best = both_strands_max(test["codes"], motif)
        assert 0.4 < roc_auc_score(y, best) < 0.6  # same motif strength in both classes


def test_long_range_presence_only_model_is_at_chance_and_order_solves_it(long_range):
    train, test = split(long_range, 0), split(long_range, 2)
    a_id, b_id = dsuite.LONG_RANGE_MOTIFS

    def presence_features(part):
        scores = [both_strands_max(part["codes"], m) for m in (a_id, b_id)]
        kmers = kmer_counts(part["codes"])
        return np.column_stack([*scores, kmers / kmers.sum(1, keepdims=True)])

    model = LogisticRegression(max_iter=2000).fit(presence_features(train), train["labels"])
    auc = roc_auc_score(test["labels"], model.predict_proba(presence_features(test))[:, 1])
    assert 0.4 < auc < 0.6, auc

    # each motif's position alone says nothing (circular placement)...
    pos_a = pwm_scan(test["codes"], a_id).argmax(1)
    pos_b = pwm_scan(test["codes"], b_id).argmax(1)
    for pos in (pos_a, pos_b):
        assert 0.4 < roc_auc_score(test["labels"], pos) < 0.6
    # ...but their order, read from the sequence, gives the label
    k = max(len(dsuite.motif_probs(m)[0]) for m in (a_id, b_id))
    circle = test["codes"].shape[1] - k + 1
    order = ((pos_b - pos_a) % circle == 1000).astype(float)
    assert roc_auc_score(test["labels"], order) > 0.95


def test_long_range_window_holds_both_arcs():
    for d in dsuite.LONG_RANGE_DISTANCES:
        seq_len = dsuite.long_range_seq_len(d)
        assert seq_len % 128 == 0 and seq_len - 20 - d >= d  # both arcs at least d


# ---- grammar and strand-position ----------------------------------------------------------------
def test_grammar_equal_motif_counts_and_rule():
    arrays = dsuite.build_suite_arrays("grammar", n_train=20, n_valid=20, n_test=400)
    test = split(arrays, 2)
    y = test["labels"] == 1
    a_id, b_id = dsuite.GRAMMAR_MOTIFS
    ka, kb = (len(dsuite.motif_probs(m)[0]) for m in (a_id, b_id))
    # one A and one B everywhere, found by a scan of the recorded strand at the recorded place
    for motif, pos, strand in ((a_id, "pos_a", "strand_a"), (b_id, "pos_b", "strand_b")):
        fwd = pwm_scan(test["codes"], motif)
        rev = pwm_scan((3 - test["codes"])[:, ::-1], motif)[:, ::-1]
        hit = np.where(test[strand] > 0, fwd.argmax(1), rev.argmax(1))
        assert (hit == test[pos]).mean() > 0.9
        strength = both_strands_max(test["codes"], motif)
        assert 0.4 < roc_auc_score(y, strength) < 0.6
        assert 0.4 < (test[strand][y] > 0).mean() < 0.6  # each motif's strand uniform in both
        assert 0.4 < (test[strand][~y] > 0).mean() < 0.6
    plus = y & (test["strand_a"] > 0)
    minus = y & (test["strand_a"] < 0)
    assert np.all(test["pos_b"][plus] - test["pos_a"][plus] == ka + dsuite.GRAMMAR_GAP)
    assert np.all(test["pos_a"][minus] - test["pos_b"][minus] == kb + dsuite.GRAMMAR_GAP)
    assert np.all(test["strand_a"][y] == test["strand_b"][y])
    spacing = test["pos_b"] - test["pos_a"]
    composite = (test["strand_a"] == test["strand_b"]) & (
        ((test["strand_a"] > 0) & (spacing == ka + dsuite.GRAMMAR_GAP))
        | ((test["strand_a"] < 0) & (-spacing == kb + dsuite.GRAMMAR_GAP))
    )
    assert not composite[~y].any()


def test_strand_position_plants_the_site_at_the_fixed_offset():
    arrays = dsuite.build_suite_arrays("strand-position", n_train=20, n_valid=20, n_test=300)
    test = split(arrays, 2)
    y = test["labels"] == 1
    fixed = test["codes"].shape[1] // 2 + dsuite.STRAND_OFFSET
    assert np.all(test["pos_a"][y] == fixed) and np.all(test["strand_a"][y] == 1)
    assert not np.any((test["pos_a"][~y] == fixed) & (test["strand_a"][~y] == 1))
    scores = pwm_scan(test["codes"], dsuite.STRAND_MOTIF)
    assert (scores[y].argmax(1) == fixed).mean() > 0.95  # the site is really there, + strand
    # presence cannot tell the classes apart: one site in every window
    assert 0.4 < roc_auc_score(y, both_strands_max(test["codes"], dsuite.STRAND_MOTIF)) < 0.6


def test_presence_positives_carry_the_motif():
    arrays = dsuite.build_suite_arrays("presence", n_train=20, n_valid=20, n_test=300)
    test = split(arrays, 2)
    score = both_strands_max(test["codes"], dsuite.PRESENCE_MOTIF)
    assert roc_auc_score(test["labels"], score) > 0.95


# ---- splits, determinism, task object -----------------------------------------------------------
def test_splits_come_from_disjoint_blocks_and_builds_are_deterministic():
    arrays = dsuite.build_suite_arrays("long-range-100", n_train=200, n_valid=50, n_test=50)
    seq_len = arrays["codes"].shape[1]
    spans = []
    for k in range(3):
        starts = arrays["start"][arrays["split"] == k]
        spans.append((starts.min(), starts.max() + seq_len))
    assert spans[0][1] <= spans[1][0] and spans[1][1] <= spans[2][0]  # no shared base
    assert not (arrays["codes"] == 4).any()
    again = dsuite.build_suite_arrays("long-range-100", n_train=200, n_valid=50, n_test=50)
    for key in arrays:
        np.testing.assert_array_equal(arrays[key], again[key])
    other = dsuite.build_suite_arrays("long-range-100", 200, 50, 50, seed=1)
    assert not np.array_equal(arrays["codes"], other["codes"])


def test_build_suite_task_contract():
    task = dsuite.build_suite_task_custom("strand-position", 40, 20, 20)
    assert task.task_type == "binary" and task.sizes() == {"train": 40, "valid": 20, "test": 20}
    assert task.train_augmented is task.train
    assert task.summary["augmentation"] == {"rc": False, "max_shift": 0}
    assert task.summary["motifs"][0]["id"] == dsuite.STRAND_MOTIF
    assert task.summary["motifs"][0]["name"] == "ZNF143"
    x, y = task.train[0]
    assert tuple(x.shape) == (4, task.seq_len) and tuple(y.shape) == (1,)
    with pytest.raises(Exception, match="unknown suite task"):
        dsuite.build_suite_task("nonsense")
    quick = dsuite.list_suite_tasks("principles", quick=True)
    assert "long-range-16000" not in [s.name for s in quick]
    assert len(dsuite.list_suite_tasks("principles")) == 7
    assert "long-range-1000" in [s.name for s in quick]


# ---- the matrix and its generated summary -------------------------------------------------------
def fake_matrix(scores: dict[tuple[str, str], float]) -> pd.DataFrame:
    rows = []
    for task in dict.fromkeys(t for t, _ in scores):
        d = float(task.rsplit("-", 1)[1]) if task.startswith("long-range") else math.nan
        cells = {m: v for (t, m), v in scores.items() if t == task}
        best = max(cells, key=cells.get)
        for model, v in cells.items():
            rows.append(
                {
                    "task": task,
                    "principle": task,
                    "distance": d,
                    "model": model,
                    "family": csuite.family(model)[0],
                    "group": csuite.family(model)[1],
                    "status": "ok",
                    "auroc": v,
                    "low": v - 0.03,
                    "high": v + 0.03,
                    "best": model == best,
                    "tied": cells[best] - v < 0.04,
                    "p_holm": 1.0,
                    "n_test": 500,
                }
            )
    return pd.DataFrame(rows)


SCORES = {
    ("presence", "deepbind"): 0.97,
    ("presence", "danq"): 0.96,
    ("presence", "enformer"): 0.90,
    ("long-range-100", "deepbind"): 0.52,
    ("long-range-100", "danq"): 0.95,
    ("long-range-100", "enformer"): 0.93,
    ("long-range-1000", "deepbind"): 0.50,
    ("long-range-1000", "danq"): 0.60,
    ("long-range-1000", "enformer"): 0.91,
}


def test_summary_is_generated_from_the_numbers(tmp_path):
    matrix = fake_matrix(SCORES)
    text = csuite.summarise_matrix(matrix)
    assert "On presence" in text and "deepbind (local CNN) is best" in text
    assert "enformer (attention" in text and "beats the best local CNN" in text
    assert "up to the longest tested distance (1,000 bp) by enformer" in text

    changed = dict(SCORES)
    changed[("presence", "enformer")] = 0.99
    changed[("long-range-1000", "enformer")] = 0.51
    changed[("long-range-1000", "deepbind")] = 0.52
    changed[("long-range-1000", "danq")] = 0.53
    other = csuite.summarise_matrix(fake_matrix(changed))
    assert other != text
    assert "enformer (attention) is best" in other
    assert "up to the longest tested distance" not in other  # nobody solves 1 kb any more
    assert "At d = 1,000 bp no architecture learns the order" in other

    # a weak signal whose CI clears 0.5 is not ranked; a constant output is named as such
    weak = dict(SCORES)
    weak[("long-range-100", "deepbind")] = 0.56
    weak[("long-range-100", "danq")] = 0.50
    weak[("long-range-100", "enformer")] = 0.55
    matrix_weak = fake_matrix(weak)
    flat = (matrix_weak["task"] == "long-range-100") & (matrix_weak["model"] == "danq")
    matrix_weak.loc[flat, ["low", "high"]] = 0.5
    weak_text = csuite.summarise_matrix(matrix_weak)
    assert "At d = 100 bp no architecture learns the order" in weak_text
    assert "is beaten by" not in weak_text
    # the constant run (0.5) is never the "best long-range design", even above a 0.48
    weak[("long-range-100", "enformer")] = 0.48
    matrix_weak = fake_matrix(weak)
    matrix_weak.loc[flat, ["low", "high"]] = 0.5
    weak_text = csuite.summarise_matrix(matrix_weak)
    assert "(best long-range design enformer, AUROC 0.480" in weak_text, weak_text
    flat_presence = fake_matrix(SCORES)
    row = (flat_presence["task"] == "presence") & (flat_presence["model"] == "danq")
    flat_presence.loc[row, ["auroc", "low", "high"]] = 0.5
    flat_presence.loc[row, "tied"] = False
    assert "danq (recurrent) gave the same output for every test sequence" in (
        csuite.summarise_matrix(flat_presence)
    )

    files = csuite.write_suite_outputs(
        tmp_path, matrix, text, {}, csuite.suite_settings(), 1.0, "principles", "quick"
    )
    for key in ("matrix_csv", "matrix_md", "heatmap", "receptive_field", "report"):
        assert files[key].is_file() and files[key].stat().st_size > 0
    assert "**0.970 [0.940, 1.000]**" in files["matrix_md"].read_text()
    assert text in files["summary"].read_text()


def test_run_suite_end_to_end(tmp_path, monkeypatch):
    """One tiny task, one architecture: the compare run, its matrix row with a CI, the report."""
    monkeypatch.setitem(
        dsuite.SIZES, "quick", {"n_train": 64, "n_valid": 32, "n_test": 64, "seq_len": 128}
    )
    monkeypatch.setitem(dsuite.SUITES, "tiny", [dsuite.suite_task_spec("presence")])
    lines = []
    result = csuite.run_suite(
        "tiny",
        models=["deepbind"],
        out=tmp_path,
        settings=csuite.suite_settings(max_epochs=1, batch_size=32),
        log=lines.append,
    )
    row = result.matrix.iloc[0]
    assert row["status"] == "ok" and row["low"] <= row["auroc"] <= row["high"]
    assert (tmp_path / "presence" / "leaderboard.csv").is_file()
    assert (tmp_path / "suite_report.html").read_text().count("presence") >= 2
    assert result.summary in (tmp_path / "summary.md").read_text()
