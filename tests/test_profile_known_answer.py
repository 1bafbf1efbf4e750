"""Known answer for the profile path (genome + bigWig -> from_tracks -> train_model -> predict):
a bigWig whose coverage per bin is a deterministic function of the bin's own sequence.

The genome is random in 32-bp blocks, each GC-rich (80 % G/C) or AT-rich (20 %), and the
coverage of a base is ``SCALE`` if it is G or C, else 0; so a bin's target is ``SCALE`` times
its GC fraction (about 0.2 or 0.8, the blocks independent of their neighbours). Compact
Enformer and Basenji must learn it on held-out chromosomes: Pearson > 0.8 at the bin the target
belongs to, far less one bin over (an output/target offset of one bin would swap them), and
predictions on the targets' scale (coverage ~470 per bin: a model whose head starts at
softplus(0) = 0.69 and learns the scale through every layer predicts tens after these few
epochs; ``train.profile.init_output_bias`` starts it at each track's mean).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyBigWig
import pytest
import torch

from regzoo.data.track_tasks import from_tracks
from regzoo.data.tracks import TrackSpec
from regzoo.train import build_model, predict_dataset, train_model
from regzoo.train.profile import init_output_bias, profile_metrics, train_track_means

SEQ_LEN, BIN, SCALE = 1024, 32, 1000.0
SIZES = {"c1": 64_000, "c2": 16_000, "c3": 16_000}  # train, valid, test


@pytest.fixture(scope="module")
def gc_task(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("known_answer")
    rng = np.random.default_rng(0)
    seqs = {}
    for chrom, n in SIZES.items():
        p_gc = np.repeat(np.where(rng.random(n // BIN) < 0.5, 0.8, 0.2), BIN)
        is_gc = rng.random(n) < p_gc
        first = rng.random(n) < 0.5
        seqs[chrom] = np.where(is_gc, np.where(first, "G", "C"), np.where(first, "A", "T"))
    fasta = tmp / "g.fa"
    fasta.write_text("".join(f">{c}\n{''.join(s)}\n" for c, s in seqs.items()))
    path = tmp / "gc.bw"
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(SIZES.items()))
    for chrom, s in seqs.items():
        values = SCALE * np.isin(s, ["G", "C"])
        bw.addEntries(chrom, 0, values=values.tolist(), span=1, step=1)
    bw.close()
    # a second track with a small mean: a tenth of the bins' AT fraction
    path_at = tmp / "at.bw"
    bw = pyBigWig.open(str(path_at), "w")
    bw.addHeader(list(SIZES.items()))
    for chrom, s in seqs.items():
        values = 0.1 * np.isin(s, ["A", "T"])
        bw.addEntries(chrom, 0, values=values.tolist(), span=1, step=1)
    bw.close()
    task = from_tracks(
        fasta,
        [TrackSpec(path, "gc", summary="mean"), TrackSpec(path_at, "at", summary="mean")],
        seq_len=SEQ_LEN,
        stride=256,
        bin_size=BIN,
        valid_chroms=["c2"],
        test_chroms=["c3"],
        verbose=False,
    )
    # the known answer itself: each target bin is SCALE x the GC fraction of its own 32 bp
    codes, y = task.test.read_batch(np.arange(4))
    crop = task.summary["target_crop_bins"]
    gc = np.isin(codes, [1, 2]).reshape(4, -1, BIN).mean(-1)[:, crop : crop + y.shape[-1]]
    np.testing.assert_allclose(y[:, 0], SCALE * gc, rtol=1e-3)
    return task


def shifted_pearson(pred: np.ndarray, target: np.ndarray, k: int) -> float:
    """Pearson (log1p) of track 0 between prediction bin ``i + k`` and target bin ``i``."""
    n = pred.shape[-1]
    p = np.log1p(pred[:, 0, max(0, k) : n + min(0, k)])
    t = np.log1p(target[:, 0, max(0, -k) : n + min(0, -k)])
    return float(np.corrcoef(p.ravel(), t.ravel())[0, 1])


def test_untrained_profile_model_starts_at_the_track_means(gc_task):
    means = train_track_means(gc_task)
    assert means[0] == pytest.approx(SCALE / 2, rel=0.1) and means[1] == pytest.approx(0.05, 0.1)
    # a task without from_tracks' estimate (e.g. Basenji TFRecords): read from the windows
    bare = dataclasses.replace(gc_task, summary={})
    assert train_track_means(bare) == pytest.approx(means, rel=1e-5)
    for name in ("basenji", "enformer"):
        torch.manual_seed(0)
        model = build_model(name, gc_task, compact=True).eval()
        pred, _ = predict_dataset(model, gc_task.valid, "profile", device="cpu")
        got = pred.mean(axis=(0, 2))
        # within a factor of 2 (a zero bias, softplus(0) = 0.69, is 700x off for gc, 14x for at;
        # the head's random weights on the untrained features add an offset per track)
        assert np.all(np.abs(np.log(got / np.array(means))) < np.log(2)), (name, got, means)
    # scalar outputs and foreign models are left alone
    scalar = build_model("enformer", gc_task, compact=True, output="scalar")
    assert not init_output_bias(scalar, means)
    assert not init_output_bias(torch.nn.Conv1d(4, 2, 1), means)


@pytest.mark.parametrize("name", ["enformer", "basenji"])
def test_compact_profile_model_learns_a_local_function_of_the_sequence(gc_task, name):
    """About 10 s each on 2 busy cores (4 epochs of 15 steps of 16 windows)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = train_model(
            name,
            gc_task,
            model_args={"compact": True},
            max_epochs=4,
            batch_size=16,
            lr=2e-3,
            progress=False,
            patience=10,
        )
        pred, target = predict_dataset(result.model, gc_task.test, "profile", device="cpu")
    finally:
        torch.set_num_threads(threads)
    metrics = profile_metrics(torch.tensor(pred), torch.tensor(target), names=["gc", "at"])
    r = {k: shifted_pearson(pred, target, k) for k in (-1, 0, 1)}
    assert metrics["pearson/gc"] == pytest.approx(r[0], abs=1e-6)
    assert r[0] > 0.8, f"{name}: test Pearson {r[0]:.3f}"
    assert max(r[-1], r[1]) < 0.5 * r[0], f"{name}: shifted by one bin {r}"
    assert metrics["pearson/at"] > 0.8, metrics
    ratio = pred[:, 0].mean() / target[:, 0].mean()
    assert 0.7 < ratio < 1.4, f"{name}: mean prediction / mean target {ratio:.2f}"
