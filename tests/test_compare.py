"""regzoo compare: leaderboard files, report, reproducibility, resume, failure isolation."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pandas as pd
import pytest
from torch import nn

from regzoo.compare import CompareSettings, compare, write_outputs
from regzoo.data.synthetic import planted_motif_task
from regzoo.models import registry

MODELS = ["deepbind", "deepsea", "danq"]
SETTINGS = CompareSettings(max_epochs=2, batch_size=64, patience=5)


@pytest.fixture(scope="module")
def task():
    return planted_motif_task(n_train=600, n_valid=150, n_test=200, seq_len=120, seed=2)


@pytest.fixture(scope="module")
def first(task, tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp")
    results = compare(task, MODELS, out, SETTINGS, progress=False, log=lambda m: None)
    frame = write_outputs(results, task, SETTINGS, out, wall_time_s=1.0)
    return out, results, frame


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.tables = [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        if tag == "table":
            self.tables += 1


def test_outputs_have_every_field(first, task):
    out, results, frame = first
    assert all(r.status == "ok" for r in results)
    csv = pd.read_csv(out / "leaderboard.csv")
    for column in [
        "rank",
        "model",
        "auroc",
        "auprc",
        "accuracy",
        "mcc",
        "parameters",
        "train_time_s",
        "epochs",
        "throughput_seq_s",
        "peak_memory_mb",
        "status",
    ]:
        assert column in csv.columns, column
        assert csv[column].notna().all(), column
    assert sorted(csv["model"]) == sorted(MODELS)
    assert list(csv["auroc"]) == sorted(csv["auroc"], reverse=True)  # ranked by the primary metric
    payload = json.loads((out / "leaderboard.json").read_text())
    assert payload["task"]["sizes"] == task.sizes()
    assert {row["model"] for row in payload["leaderboard"]} == set(MODELS)
    for name in (
        "leaderboard",
        "roc",
        "pr",
        "learning_curves",
        "score_vs_parameters",
        "score_vs_time",
    ):
        png = (out / f"{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG"), name
    parser = _Images()
    parser.feed((out / "report.html").read_text())
    assert len(parser.images) == 6 and all(
        s.startswith("data:image/png;base64,") for s in parser.images
    )
    assert parser.tables >= 3  # leaderboard, data, settings


def test_same_seed_same_numbers(first, task, tmp_path):
    _, results, _ = first
    again = compare(task, MODELS[:1], tmp_path, SETTINGS, progress=False, log=lambda m: None)
    assert again[0].metrics == results[0].metrics
    assert again[0].parameters == results[0].parameters


def test_resume_skips_finished_runs(first, task):
    out, results, _ = first
    stamp = (out / "runs" / "deepbind-seed0" / "result.json").stat().st_mtime_ns
    messages = []
    again = compare(task, MODELS, out, SETTINGS, progress=False, log=messages.append)
    assert sum("skipped" in m for m in messages) == len(MODELS)
    assert (out / "runs" / "deepbind-seed0" / "result.json").stat().st_mtime_ns == stamp
    assert [r.metrics for r in again] == [r.metrics for r in results]
    # a different budget is a different configuration: not skipped
    messages.clear()
    compare(
        task, ["deepbind"], out, CompareSettings(max_epochs=1), progress=False, log=messages.append
    )
    assert not any("skipped" in m for m in messages)


class _Broken(nn.Module):
    output_kind = "scalar"

    def __init__(self, seq_len: int, n_tasks: int, **kw):
        super().__init__()
        self.linear = nn.Linear(4, n_tasks)

    def forward(self, x):
        raise RuntimeError("CUDA out of memory (simulated)")


def test_failing_model_is_reported_not_fatal(task, tmp_path):
    card = registry.ModelCard(
        name="broken-test",
        family="test",
        paper="-",
        year=2026,
        seq_len=100,
        n_tasks=1,
        output="scalar",
        published_params=0,
    )
    registry.register(card)(_Broken)
    try:
        results = compare(
            task,
            ["broken-test", "deepbind"],
            tmp_path,
            SETTINGS,
            progress=False,
            log=lambda m: None,
        )
        frame = write_outputs(results, task, SETTINGS, tmp_path)
    finally:
        registry._REGISTRY.pop("broken-test")
    assert [r.status for r in results] == ["failed", "ok"]
    broken = frame[frame["model"] == "broken-test"].iloc[0]
    assert broken["status"] == "failed" and "out of memory" in broken["error"]
    assert frame.iloc[0]["model"] == "deepbind"  # failed runs rank last
    assert "out of memory" in (tmp_path / "report.html").read_text()


def test_seeds_give_mean_and_sd(task, tmp_path):
    settings = CompareSettings(max_epochs=1, seeds=(0, 1))
    results = compare(task, ["deepbind"], tmp_path, settings, progress=False, log=lambda m: None)
    frame = write_outputs(results, task, settings, tmp_path)
    assert len(results) == 2 and frame.iloc[0]["seeds"] == 2
    assert frame.iloc[0]["auroc_sd"] >= 0


def _register_plugins() -> None:
    """Register the test architectures of tests/_plugin_models.py in this process (again)."""
    import importlib

    import _plugin_models

    for name in ("sigkill-test", "barrier-test", "killonce-test"):
        registry._REGISTRY.pop(name, None)
    importlib.reload(_plugin_models)


def test_isolated_runs_survive_a_killed_worker(task, tmp_path, monkeypatch):
    """With isolate=True each run is its own process: one killed by SIGKILL (as by the kernel's
    out-of-memory killer) is reported, the next still runs, and metrics match in-process runs."""
    _register_plugins()  # here; the workers import them through the env
    monkeypatch.setenv("REGZOO_PLUGINS", "_plugin_models")
    settings = CompareSettings(max_epochs=2, batch_size=64, patience=5, isolate=True)
    try:
        results = compare(
            task,
            ["sigkill-test", "deepbind"],
            tmp_path,
            settings,
            progress=False,
            log=lambda m: None,
        )
    finally:
        registry._REGISTRY.pop("sigkill-test", None)
    assert results[0].status == "failed" and "SIGKILL" in results[0].error
    assert "out of memory" in results[0].error
    assert results[1].status == "ok"
    in_process = compare(
        task, ["deepbind"], tmp_path / "inproc", SETTINGS, progress=False, log=lambda m: None
    )
    assert results[1].metrics == in_process[0].metrics
    assert results[1].peak_memory_mb > 0


def test_tune_lr_keeps_the_best_validation_rate(task, tmp_path):
    """--tune-lr: every architecture tries the same grid; the rate with the best validation
    AUROC is kept, and the grid is part of the run's configuration (a change re-runs it)."""
    from regzoo.train import train_model
    from regzoo.train.fit import evaluate

    grid = (1e-4, 1e-2)
    settings = CompareSettings(max_epochs=2, batch_size=64, patience=5, lr_grid=grid)
    (result,) = compare(task, ["deepbind"], tmp_path, settings, progress=False, log=lambda m: None)
    assert result.status == "ok"
    assert [r["lr"] for r in result.lr_search] == list(grid)
    values = [r["valid_auroc"] for r in result.lr_search]
    assert result.lr == grid[values.index(max(values))]
    # the reported validation score of each rate is what training with that rate gives
    fitted = train_model(
        "deepbind",
        task,
        seed=0,
        model_args={"compact": True},
        progress=False,
        **{**settings.fit_args(), "lr": grid[0]},
    )
    assert evaluate(fitted.model, task.valid, task.task_type)["auroc"] == pytest.approx(
        values[0], abs=1e-6
    )
    plain = CompareSettings(max_epochs=2, batch_size=64, patience=5)
    from regzoo.compare.run import run_fingerprint, task_fingerprint

    fp = task_fingerprint(task)
    assert run_fingerprint(fp, "deepbind", {}, 0, settings) != run_fingerprint(
        fp, "deepbind", {}, 0, plain
    )


def test_convergence_is_reported(first):
    """Best epoch, time to it, and whether early stopping ended each run; the report names runs
    that did not converge (here: max_epochs=2 with patience 5 ends every run at the cap)."""
    from regzoo.compare.report import convergence_sentence

    out, results, frame = first
    csv = pd.read_csv(out / "leaderboard.csv")
    for run in results:
        row = csv[csv["model"] == run.model].iloc[0]
        assert row["best_epoch"] == run.best_epoch + 1
        assert 0 < row["time_to_best_s"] <= run.train_time_s + 1e-6
        assert row["converged"] == "no: max epochs"
        assert [h["time_s"] for h in run.history] == sorted(h["time_s"] for h in run.history)
    sentence = convergence_sentence(frame)
    assert sentence.startswith("Not converged") and all(m in sentence for m in MODELS)
    assert sentence in (out / "report.html").read_text()
    converged = frame.assign(converged="yes")
    assert convergence_sentence(converged).startswith("Every run converged")


def test_published_recipe_per_architecture(task):
    """--recipe published: an architecture with a published recipe trains with it (and its runs
    are cached apart from shared-settings runs); one without keeps the shared settings."""
    from regzoo.compare.run import run_fingerprint, task_fingerprint
    from regzoo.train.recipes import recipe_for

    shared = CompareSettings(max_epochs=2)
    published = CompareSettings(max_epochs=2, recipe="published")
    args, line = published.fit_args_for("basenji")
    recipe = recipe_for("basenji")
    assert args["lr"] == recipe.lr and args["batch_size"] == recipe.batch_size
    assert "published recipe" in line
    args, line = published.fit_args_for("deepbind")
    assert args == shared.fit_args() and "shared settings" in line
    fp = task_fingerprint(task)
    assert run_fingerprint(fp, "basenji", {}, 0, shared) != run_fingerprint(
        fp, "basenji", {}, 0, published
    )
    assert run_fingerprint(fp, "deepbind", {}, 0, shared) == run_fingerprint(
        fp, "deepbind", {}, 0, published
    )


def test_parallel_jobs_match_sequential_runs(first, task, tmp_path, monkeypatch):
    """--jobs 2: runs train in separate workers with their share of the cores; results come back
    in the requested order, a killed worker is still reported, and the numbers match the
    one-at-a-time runs (same seed; only the threads differ, so floating-point sums may differ
    slightly)."""
    from regzoo.compare.run import threads_per_job

    _register_plugins()
    monkeypatch.setenv("REGZOO_PLUGINS", "_plugin_models")
    settings = CompareSettings(max_epochs=2, batch_size=64, patience=5, jobs=2)
    try:
        results = compare(
            task,
            ["deepbind", "sigkill-test", "danq"],
            tmp_path,
            settings,
            progress=False,
            log=lambda m: None,
        )
    finally:
        registry._REGISTRY.pop("sigkill-test", None)
        registry._REGISTRY.pop("barrier-test", None)
    assert [r.model for r in results] == ["deepbind", "sigkill-test", "danq"]
    assert results[1].status == "failed" and "SIGKILL" in results[1].error
    ok = [results[0], results[2]]
    assert all(r.status == "ok" and r.threads == threads_per_job(2) for r in ok)
    _, sequential, _ = first
    by_name = {r.model: r for r in sequential}
    for r in ok:
        assert r.metrics["auroc"] == pytest.approx(by_name[r.model].metrics["auroc"], abs=0.02)
        assert r.parameters == by_name[r.model].parameters


def test_parallel_jobs_run_at_the_same_time(task, tmp_path, monkeypatch):
    """Each run of barrier-test trains only while another one trains: with --jobs 2 both
    succeed; one at a time, the run fails (it waits for a peer that never comes)."""
    _register_plugins()
    monkeypatch.setenv("REGZOO_PLUGINS", "_plugin_models")
    settings = CompareSettings(max_epochs=1, batch_size=64, patience=5, seeds=(0, 1), jobs=2)
    (tmp_path / "barrier").mkdir()
    monkeypatch.setenv("REGZOO_TEST_BARRIER", str(tmp_path / "barrier"))
    try:
        results = compare(
            task, ["barrier-test"], tmp_path / "out", settings, progress=False, log=lambda m: None
        )
    finally:
        registry._REGISTRY.pop("sigkill-test", None)
        registry._REGISTRY.pop("barrier-test", None)
    assert [r.status for r in results] == ["ok", "ok"], [r.error for r in results]
    assert len(list((tmp_path / "barrier").iterdir())) == 2


def test_a_run_killed_half_way_resumes_from_its_checkpoint(task, tmp_path, monkeypatch):
    """A worker killed in its second epoch (SIGKILL) is reported as failed; the same compare
    again continues that run from its end-of-first-epoch checkpoint (not from scratch) and ends with the
    numbers of an uninterrupted run."""
    _register_plugins()
    monkeypatch.setenv("REGZOO_PLUGINS", "_plugin_models")
    settings = CompareSettings(max_epochs=3, batch_size=64, patience=5, isolate=True)
    quiet = {"progress": False, "log": lambda m: None}
    try:
        monkeypatch.setenv("REGZOO_TEST_KILL_MARK", str(tmp_path / "killed"))
        first = compare(task, ["killonce-test"], tmp_path / "out", settings, **quiet)
        assert first[0].status == "failed" and "SIGKILL" in first[0].error
        run_dir = tmp_path / "out" / "runs" / "killonce-test-seed0"
        assert (run_dir / "checkpoints" / "last.ckpt").is_file()
        again = compare(task, ["killonce-test"], tmp_path / "out", settings, **quiet)
        monkeypatch.delenv("REGZOO_TEST_KILL_MARK")
        fresh = compare(task, ["killonce-test"], tmp_path / "fresh", settings, **quiet)
    finally:
        for name in ("sigkill-test", "barrier-test", "killonce-test"):
            registry._REGISTRY.pop(name, None)
    assert again[0].status == "ok" and fresh[0].status == "ok"
    config = json.loads((run_dir / "config.json").read_text())
    resumed = config["training"]["resumed_from"]
    assert resumed is not None and resumed["global_step"] > 0  # continued, not started over
    assert not (run_dir / "checkpoints").exists()  # removed once the model is saved
    assert again[0].metrics == pytest.approx(fresh[0].metrics, abs=1e-6)
    assert again[0].epochs == fresh[0].epochs == 3
