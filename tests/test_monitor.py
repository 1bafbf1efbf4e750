"""What early stopping and the best epoch follow (``fit(monitor=...)``): validation Pearson for
profile (coverage) tasks by default, as Basenji's trainer does; validation loss otherwise. The
CLI says so at the start of a run, with the profile models' output-bias start, and saves both.

A tiny real profile task: a random genome and a bigWig whose coverage is the local GC content
(64-bp running mean), windows of 1,024 bp in 32-bp bins."""

from __future__ import annotations

import json
import math

import numpy as np
import pyBigWig
import pytest
import torch
from torch import nn

from _zoo_helpers import run_cli
from regzoo.data import planted_motif_task
from regzoo.data.track_tasks import from_tracks
from regzoo.data.tracks import TrackSpec
from regzoo.errors import RegzooError
from regzoo.train import evaluate, train_model
from regzoo.train.fit import _best_epoch, fit, resolve_monitor

SIZES = {"chr1": 24_000, "chr2": 8_000, "chr3": 8_000}  # train, valid, test
FIT = {"batch_size": 16, "progress": False, "augment": False}


@pytest.fixture(autouse=True)
def one_thread():
    """One CPU thread: the same numbers on every run of the comparisons below."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def genome_and_track(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("monitor")
    rng = np.random.default_rng(0)
    seqs = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in SIZES.items()}
    genome = tmp / "genome.fa"
    genome.write_text("".join(f">{c}\n{s}\n" for c, s in seqs.items()))
    track = tmp / "gc.bw"
    bw = pyBigWig.open(str(track), "w")
    bw.addHeader(list(SIZES.items()))
    for chrom, seq in seqs.items():
        gc = np.isin(np.frombuffer(seq.encode(), np.uint8), (ord("G"), ord("C"))).astype(float)
        values = np.convolve(gc, np.ones(64) / 64, mode="same") * 10
        bw.addEntries(chrom, 0, values=values.tolist(), span=1, step=1)
    bw.close()
    return genome, track


@pytest.fixture(scope="module")
def profile_task(genome_and_track):
    genome, track = genome_and_track
    return from_tracks(
        genome,
        [TrackSpec(track, "gc", summary="mean")],
        seq_len=1024,
        stride=512,
        bin_size=32,
        valid_chroms=["chr2"],
        test_chroms=["chr3"],
        verbose=False,
    )


def test_profile_fit_follows_validation_pearson(profile_task):
    result = train_model(
        "basenji", profile_task, model_args={"compact": True}, max_epochs=3, lr=3e-3, **FIT
    )
    assert result.settings["monitor"] == "val/pearson"
    assert result.settings["monitor_mode"] == "max"
    assert result.settings["init_output_bias"] is True
    pearson = [row["val/pearson"] for row in result.history]
    assert len(pearson) == 3 and all(math.isfinite(p) for p in pearson)
    assert result.best_epoch == int(np.argmax(pearson))
    # the weights kept are that epoch's: the returned model scores its logged Pearson
    kept = evaluate(result.model, profile_task.valid, "profile")["pearson"]
    assert kept == pytest.approx(pearson[result.best_epoch], abs=2e-3)
    # an explicit val/loss switches back to the loss
    loss = train_model(
        "basenji",
        profile_task,
        model_args={"compact": True},
        max_epochs=1,
        monitor="val/loss",
        **FIT,
    )
    assert (loss.settings["monitor"], loss.settings["monitor_mode"]) == ("val/loss", "min")


def test_profile_resume_keeps_pearson_best(profile_task, tmp_path):
    """A run stopped after 2 epochs and resumed to 4 ends as the uninterrupted 4-epoch run: the
    max-mode best checkpoint and early-stopping state travel in last.ckpt."""
    args = {"model_args": {"compact": True}, "lr": 3e-3, "patience": 1, **FIT}
    whole = train_model("basenji", profile_task, max_epochs=4, **args)
    ckpt = tmp_path / "ckpt"
    train_model("basenji", profile_task, max_epochs=2, checkpoint_dir=ckpt, **args)
    resumed = train_model(
        "basenji", profile_task, max_epochs=4, checkpoint_dir=ckpt, resume=True, **args
    )
    assert resumed.settings["monitor"] == "val/pearson"
    assert (resumed.epochs, resumed.best_epoch, resumed.stopped_by) == (
        whole.epochs,
        whole.best_epoch,
        whole.stopped_by,
    )
    assert [r["val/pearson"] for r in resumed.history] == pytest.approx(
        [r["val/pearson"] for r in whole.history], abs=1e-6
    )
    before, after = whole.model.state_dict(), resumed.model.state_dict()
    for name, value in before.items():
        torch.testing.assert_close(after[name], value, atol=1e-6, rtol=1e-5)


class _Constant(nn.Module):
    """A profile 'model' predicting a rate of 0 everywhere: its Pearson is NaN every epoch (0
    exactly: the variance of log1p(0) over the bins is 0, not a rounding residue)."""

    output_kind = "profile"

    def __init__(self, n_tasks: int, n_bins: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(n_tasks, 1))
        self.n_bins = n_bins

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (0 * self.bias).expand(len(x), -1, self.n_bins)


def test_nan_pearson_is_no_improvement_and_does_not_stop_training(profile_task):
    """A NaN validation Pearson counts against patience (2 epochs here), never stops training at
    once (Lightning's check_finite would), and never wins the best epoch."""
    model = _Constant(profile_task.n_tasks, profile_task.summary["n_bins"])
    result = fit(model, profile_task, max_epochs=4, patience=2, **FIT)
    assert all(math.isnan(row["val/pearson"]) for row in result.history)
    assert len(result.history) == 2 and result.stopped_by == "early_stopping"
    assert result.best_epoch == 0
    assert result.settings["init_output_bias"] is False  # not built by build_model


def test_best_epoch_rule():
    nan = math.nan
    rows = [{"val/pearson": nan}, {"val/pearson": 0.2}, {"val/pearson": 0.5}, {"val/pearson": 0.5}]
    assert _best_epoch(rows, "val/pearson", "max") == 2  # NaN never wins; first of ties
    assert _best_epoch([{"val/pearson": nan}, {}], "val/pearson", "max") == 0  # all NaN
    assert _best_epoch([], "val/pearson", "max") == 0
    assert _best_epoch([{"val/loss": 2.0}, {"val/loss": 1.0}], "val/loss", "min") == 1
    assert _best_epoch([{"val/loss": 2.0}, {"val/loss": nan}], "val/loss", "min") == 0


def test_resolve_monitor_and_refusals():
    assert resolve_monitor("auto", "profile") == ("val/pearson", "max")
    for task_type in ("binary", "multilabel", "multiclass", "regression"):
        assert resolve_monitor("auto", task_type) == ("val/loss", "min")
    assert resolve_monitor("val/pearson", "regression") == ("val/pearson", "max")
    assert resolve_monitor("val/loss", "profile") == ("val/loss", "min")
    with pytest.raises(RegzooError, match="expected one of auto, val/loss, val/pearson"):
        resolve_monitor("val/auroc", "binary")
    with pytest.raises(RegzooError, match="binary tasks log no validation Pearson"):
        resolve_monitor("val/pearson", "binary")


def test_binary_task_keeps_validation_loss():
    task = planted_motif_task(n_train=256, n_valid=128, n_test=64, seq_len=60)
    assert task.task_type == "binary"
    result = train_model("deepbind", task, max_epochs=2, **FIT)
    assert (result.settings["monitor"], result.settings["monitor_mode"]) == ("val/loss", "min")
    assert result.settings["init_output_bias"] is False
    assert result.best_epoch == int(np.argmin([r["val/loss"] for r in result.history]))
    with pytest.raises(RegzooError, match="binary tasks log no validation Pearson"):
        train_model("deepbind", task, max_epochs=1, monitor="val/pearson", **FIT)


def test_cli_prints_and_saves_monitor_and_bias_start(
    capsys, monkeypatch, tmp_path, genome_and_track
):
    genome, track = genome_and_track
    common = [
        "--genome",
        str(genome),
        "--tracks",
        str(track),
        "--seq-len",
        "1024",
        "--stride",
        "512",
        "--bin-size",
        "32",
        "--valid-chroms",
        "chr2",
        "--test-chroms",
        "chr3",
        "--max-epochs",
        "1",
        "--batch-size",
        "16",
    ]
    out = tmp_path / "b"
    code, _, err = run_cli(
        capsys, monkeypatch, "train", "--model", "basenji", *common, "--out", str(out)
    )
    assert code == 0, err
    text = " ".join(err.split())  # rich may wrap long lines
    assert (
        "early stopping and best epoch: val/pearson (max), patience 3 — Basenji's rule for "
        "coverage tracks; --monitor val/loss for the loss" in text
    )
    assert "output bias initialised to each track's mean training coverage (softplus^-1)" in text
    training = json.loads((out / "config.json").read_text())["training"]
    assert training["monitor"] == "val/pearson" and training["monitor_mode"] == "max"
    assert training["init_output_bias"] is True
    # an invalid value, and one the task does not log, are refused in one line before training
    code, _, err = run_cli(
        capsys, monkeypatch, "train", "--model", "basenji", *common, "--out",
        str(tmp_path / "x"), "--monitor", "val/auroc",
    )  # fmt: skip
    assert code != 0 and "--monitor 'val/auroc'; expected one of auto, val/loss, val/pearson" in (
        " ".join(err.split())
    )
    assert "Traceback" not in err and not (tmp_path / "x").exists()
