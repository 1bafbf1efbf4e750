"""compare's leaderboard and report with statistics: confidence intervals, ties with the best,
blank sd with one seed, wall time kept on a resumed re-run, per-label tables."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from regzoo.compare import CompareSettings, RunResult, compare, print_leaderboard, write_outputs
from regzoo.train.fit import score

N_BOOT = 300


def _fake_task(task_type: str = "binary", labels=("promoter",)) -> SimpleNamespace:
    return SimpleNamespace(
        name="synthetic",
        task_type=task_type,
        label_names=list(labels),
        seq_len=100,
        sizes=lambda: {"train": 0, "valid": 0, "test": 400},
        summary={},
    )


def _write_runs(out, task_type, runs: dict[tuple[str, int], np.ndarray], targets, per_label=None):
    """Save predictions as compare does (runs/<model>-seed<k>/predictions.npz) and build the
    RunResults, with metrics computed as compare computes them."""
    results = []
    for (name, seed), preds in runs.items():
        run_dir = out / "runs" / f"{name}-seed{seed}"
        run_dir.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(run_dir / "predictions.npz", preds=preds, targets=targets)
        result = RunResult(
            model=name,
            seed=seed,
            status="ok",
            fingerprint=f"{name}-{seed}",
            parameters=1000 * (len(results) + 1),
            metrics=score(task_type, preds, targets),
            train_time_s=10.0 * (len(results) + 1),
            epochs=4,
            best_epoch=1 + len(results) % 3,
            history=[{"epoch": e, "val/auroc": 0.6 + 0.05 * e} for e in range(4)],
        )
        payload = vars(result) | ({"metrics_per_label": per_label[name]} if per_label else {})
        (run_dir / "result.json").write_text(json.dumps(payload, default=float))
        results.append(result)
    return results


def _binary_models(n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 1)) < 0.4).astype(np.float32)
    good = 1 / (1 + np.exp(-(1.2 * (2 * y - 1) + rng.normal(size=(n, 1)))))
    near = np.clip(good + 0.003 * rng.normal(size=good.shape), 0, 1)
    random = rng.random((n, 1))
    return y, {"good": good, "near": near, "random": random}


@pytest.fixture
def synthetic(tmp_path):
    y, models = _binary_models()
    runs = {(name, 0): p.astype(np.float32) for name, p in models.items()}
    results = _write_runs(tmp_path, "binary", runs, y)
    frame = write_outputs(
        results, _fake_task(), CompareSettings(), tmp_path, wall_time_s=123.0, n_boot=N_BOOT
    )
    return tmp_path, results, frame


def test_leaderboard_has_ci_ties_and_blank_sd(synthetic):
    out, _, frame = synthetic
    csv = pd.read_csv(out / "leaderboard.csv")
    for column in (
        "auroc_ci_low",
        "auroc_ci_high",
        "p_vs_best",
        "p_vs_best_holm",
        "tied_with_best",
    ):
        assert column in csv.columns, column
    assert (csv["auroc_ci_low"] <= csv["auroc"]).all() and (
        csv["auroc"] <= csv["auroc_ci_high"]
    ).all()
    assert (csv["auroc_ci_high"] - csv["auroc_ci_low"] > 0.01).all()
    tied = dict(zip(csv["model"], csv["tied_with_best"], strict=True))
    assert tied["good"] and tied["near"] and not tied["random"]
    assert csv.loc[csv["model"] == "random", "p_vs_best_holm"].iloc[0] < 0.01
    assert csv.loc[0, "p_vs_best"] == 1.0  # the best against itself
    # one seed: the sd columns are blank in the CSV (not 0.0)
    assert csv["auroc_sd"].isna().all()
    header, first = (out / "leaderboard.csv").read_text().splitlines()[:2]
    assert first.split(",")[header.split(",").index("auroc_sd")] == ""
    assert frame["tied_with_best"].dtype == "boolean"


def test_json_has_a_ci_for_every_test_metric(synthetic):
    out, results, _ = synthetic
    payload = json.loads((out / "leaderboard.json").read_text())
    for row in payload["leaderboard"]:
        assert set(row["ci"]) == {"auroc", "auprc", "accuracy", "mcc"}
        for metric, (low, high) in row["ci"].items():
            assert low <= row[metric] + 1e-9 and row[metric] - 1e-9 <= high, (row["model"], metric)
        assert row["auroc_sd"] is None  # null, not 0.0
        assert row["n_test"] == 400
    assert payload["statistics"]["n_boot"] == N_BOOT
    summary = payload["statistics"]["summary"]
    assert "tied" in summary and "near" in summary and "random" in summary.split("Lower")[-1]


def test_terminal_table_marks_ties():
    y, models = _binary_models()
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        results = _write_runs(Path(tmp), "binary", {(n, 0): p for n, p in models.items()}, y)
        frame = write_outputs(results, _fake_task(), CompareSettings(), tmp, n_boot=N_BOOT)
    console = Console(record=True, width=250)
    print_leaderboard(frame, "binary", "test", console)
    text = console.export_text()
    assert "95% CI" in text and "p vs best" in text
    lines = {
        name: next(line for line in text.splitlines() if f" {name} " in line) for name in models
    }
    best = frame.iloc[0]["model"]
    assert "best" in lines[best]
    other = "near" if best == "good" else "good"
    assert "≈ tied" in lines[other] and "lower" in lines["random"]
    assert "± 0.000" not in text  # no sd with one seed
    assert re.search(r"\d\.\d{3}–\d\.\d{3}", lines["random"])


def test_report_html_shows_ties_ci_plot_and_sentence(synthetic):
    out, _, frame = synthetic
    page = (out / "report.html").read_text()
    assert "class='best'" in page and "class='tied'" in page
    assert page.count("<img") == 6  # leaderboard CI plot + the five
    assert (out / "leaderboard.png").read_bytes().startswith(b"\x89PNG")
    assert "Statistically tied with it" in page and "Per-label" not in page
    assert "Total wall time: 123 s." in page


def test_generated_sentence_follows_the_numbers(tmp_path):
    """Swap which model carries the signal: the sentence names the other one."""
    y, models = _binary_models()
    sentences = []
    for winner, loser in (("good", "random"), ("random", "good")):
        out = tmp_path / winner
        runs = {("alpha", 0): models[winner], ("beta", 0): models[loser]}
        results = _write_runs(out, "binary", runs, y)
        write_outputs(results, _fake_task(), CompareSettings(), out, n_boot=N_BOOT)
        sentences.append(
            json.loads((out / "leaderboard.json").read_text())["statistics"]["summary"]
        )
    assert sentences[0].startswith("alpha has the best") and sentences[1].startswith(
        "beta has the best"
    )
    assert "scores lower beyond chance" in sentences[0]


def test_several_seeds_mean_sd_and_ci_of_the_seed_average(tmp_path):
    y, models = _binary_models()
    rng = np.random.default_rng(1)
    runs = {}
    for name in ("good", "random"):
        for seed in (0, 1):
            runs[(name, seed)] = np.clip(
                models[name] + 0.05 * seed * rng.normal(size=y.shape), 0, 1
            )
    results = _write_runs(tmp_path, "binary", runs, y)
    frame = write_outputs(
        results, _fake_task(), CompareSettings(seeds=(0, 1)), tmp_path, n_boot=N_BOOT
    )
    good = frame[frame["model"] == "good"].iloc[0]
    assert good["seeds"] == 2 and good["auroc_sd"] > 0
    mean = np.mean([score("binary", runs[("good", s)], y)["auroc"] for s in (0, 1)])
    assert good["auroc"] == pytest.approx(mean)
    assert good["auroc_ci_low"] <= mean <= good["auroc_ci_high"]
    assert "±" in (tmp_path / "report.html").read_text()


def test_multilabel_per_label_table(tmp_path):
    rng = np.random.default_rng(0)
    y = (rng.random((300, 2)) < 0.4).astype(np.float32)
    runs = {
        ("a", 0): np.clip(0.5 * y + 0.5 * rng.random(y.shape), 0, 1),
        ("b", 0): rng.random(y.shape),
    }
    per_label = {
        "a": {"ctcf": {"auroc": 0.91, "auprc": 0.8}, "dnase": {"auroc": float("nan")}},
        "b": {"ctcf": {"auroc": 0.51, "auprc": 0.4}, "dnase": {"auroc": 0.49}},
    }
    results = _write_runs(tmp_path, "multilabel", runs, y, per_label)
    task = _fake_task("multilabel", ("ctcf", "dnase"))
    write_outputs(results, task, CompareSettings(), tmp_path, n_boot=N_BOOT)
    page = (tmp_path / "report.html").read_text()
    assert "Per-label test auroc" in page
    section = page.split("Per-label test auroc")[1].split("</table>")[0]
    assert "0.910" in section and "n/a" in section and "0.490" in section


def test_wall_time_kept_on_a_resumed_rerun(synthetic):
    """A re-run whose runs were all reused records the original wall time, not its own ~0 s."""
    out, results, _ = synthetic
    frame = write_outputs(results, _fake_task(), CompareSettings(), out, wall_time_s=0.4, n_boot=50)
    payload = json.loads((out / "leaderboard.json").read_text())
    assert payload["wall_time_s"] == 123.0 and frame.attrs["wall_time"]["total_s"] == 123.0
    assert payload["wall_time"]["runs_reused"] == 3 and payload["wall_time"]["runs_run"] == 0
    assert payload["wall_time"]["this_invocation_s"] == 0.4
    assert "Total wall time: 123 s. 3 run(s) were reused" in (out / "report.html").read_text()


def test_real_compare_run_and_resume(tmp_path):
    """Two cheap architectures on promoters-tiny, one epoch: CIs around the point estimates,
    tie marks, blank sd; a resumed re-run keeps the first wall time."""
    from regzoo.data.bundled import load_task

    task = load_task("promoters-tiny")
    settings = CompareSettings(max_epochs=1, batch_size=64, patience=5)
    quiet = {"progress": False, "log": lambda m: None}
    results = compare(task, ["deepbind", "basset"], tmp_path, settings, **quiet)
    assert all(r.status == "ok" for r in results)
    write_outputs(results, task, settings, tmp_path, wall_time_s=77.0, n_boot=200)
    csv = pd.read_csv(tmp_path / "leaderboard.csv")
    assert (csv["auroc_ci_low"] <= csv["auroc"] + 1e-6).all()
    assert (csv["auroc"] <= csv["auroc_ci_high"] + 1e-6).all()
    assert csv["tied_with_best"].notna().all() and csv.loc[0, "tied_with_best"]
    assert csv["auroc_sd"].isna().all()
    messages = []
    again = compare(
        task, ["deepbind", "basset"], tmp_path, settings, progress=False, log=messages.append
    )
    assert sum("skipped" in m for m in messages) == 2
    write_outputs(again, task, settings, tmp_path, wall_time_s=0.3, n_boot=200)
    assert json.loads((tmp_path / "leaderboard.json").read_text())["wall_time_s"] == 77.0


def test_profile_leaderboard_has_intervals_and_ties(tmp_path):
    """Coverage profiles: every bootstrappable profile metric gets an interval (windows
    resampled), the point estimate inside it, and a much worse model is not tied."""
    rng = np.random.default_rng(0)
    rate = rng.gamma(2.0, 2.0, size=(80, 2, 16))
    target = rng.poisson(rate).astype(np.float32)
    good = (rate * np.exp(0.3 * rng.normal(size=rate.shape))).astype(np.float32)
    bad = (rate * np.exp(2.0 * rng.normal(size=rate.shape))).astype(np.float32)
    results = _write_runs(tmp_path, "profile", {("good", 0): good, ("bad", 0): bad}, target)
    task = _fake_task("profile", labels=("a", "b"))
    frame = write_outputs(results, task, CompareSettings(), tmp_path, n_boot=N_BOOT)
    assert list(frame["model"]) == ["good", "bad"]
    assert frame["pearson_ci_low"].notna().all()
    assert bool(frame.loc[0, "tied_with_best"]) and not bool(frame.loc[1, "tied_with_best"])
    payload = json.loads((tmp_path / "leaderboard.json").read_text())
    for row in payload["leaderboard"]:
        assert set(row["ci"]) == {"pearson", "pearson_total", "mse"}
        for metric, (low, high) in row["ci"].items():
            assert low <= row[metric] + 1e-9 and row[metric] - 1e-9 <= high, (row["model"], metric)
