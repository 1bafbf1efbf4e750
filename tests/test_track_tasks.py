"""Profile tasks: from_tracks on a genome and bigWigs written here (aliases, splits by block,
targets = binned coverage, model bins match), the bundled tracks-tiny task read back from real
bigWigs, reverse complement of profiles, and compact Basenji/Enformer overfitting a few windows."""

from __future__ import annotations

import time

import numpy as np
import pyBigWig
import pytest
import torch

from regzoo.data.track_tasks import (
    TRACK_TASKS,
    from_tracks,
    load_tracks_task,
    split_windows,
)
from regzoo.data.tracks import TrackSpec
from regzoo.errors import InputError
from regzoo.models import create
from regzoo.train.profile import poisson_loss, profile_metrics, profile_model_overrides

SEQ_LEN, BIN = 1024, 128


@pytest.fixture
def genome_and_tracks(tmp_path):
    """Genome ``I`` (20 kb) and ``II`` (6 kb); bigWigs say ``chrI``/``chrII``; the coverage of
    base p on I is ``p % 7`` (fwd) and 1 (rev)."""
    rng = np.random.default_rng(0)
    seqs = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in (("I", 20_000), ("II", 6_000))}
    fasta = tmp_path / "g.fa"
    fasta.write_text("".join(f">{c}\n{s}\n" for c, s in seqs.items()))
    paths = {}
    for name, fn in (("fwd", lambda p: p % 7), ("rev", lambda p: np.ones_like(p))):
        path = tmp_path / f"{name}.bw"
        bw = pyBigWig.open(str(path), "w")
        bw.addHeader([("chrI", 20_000), ("chrII", 6_000)])
        for chrom, n in (("chrI", 20_000), ("chrII", 6_000)):
            pos = np.arange(n)
            bw.addEntries(chrom, 0, values=fn(pos).astype(float).tolist(), span=1, step=1)
        bw.close()
        paths[name] = path
    specs = [
        TrackSpec(paths["fwd"], "fwd", strand_pair="rev"),
        TrackSpec(paths["rev"], "rev", summary="mean"),
    ]
    return fasta, specs


def test_from_tracks_targets_splits_and_model_bins(genome_and_tracks, capsys):
    fasta, specs = genome_and_tracks
    task = from_tracks(
        fasta,
        specs,
        seq_len=SEQ_LEN,
        target_length=6,
        valid_chroms=["II"],
        test_chroms=["chrI:15000-20000"],  # a block, named with the bigWig's alias
    )
    assert task.task_type == "profile" and task.label_names == ["fwd", "rev"]
    s = task.summary
    assert s["n_bins"] == 6 and s["target_crop_bins"] == 1  # 8 bins, 1 cropped per side
    assert "chrI->I" in s["chrom_names"]
    assert "chrI->I" in capsys.readouterr().err  # said once, on stderr
    # stride 6 * 128: windows at 0, 768, ...; test = wholly inside [15000, 20000)
    ds = task.test
    for i in range(len(ds)):
        chrom, start, end, _ = ds.window(i)
        assert chrom == "I" and start >= 15_000 and end <= 20_000
    assert s["dropped"]["straddling_held_out_blocks"] >= 1
    # targets: central 6 bins, sum of p % 7 per bin for fwd, mean 1 for rev
    x, y = task.train[2]
    chrom, start, _, _ = task.train.window(2)
    assert chrom == "I" and start == 2 * 768
    first = start + BIN
    want = [sum(p % 7 for p in range(b, b + BIN)) for b in range(first, first + 6 * BIN, BIN)]
    np.testing.assert_allclose(y[0].numpy(), want, rtol=1e-3)
    np.testing.assert_allclose(y[1].numpy(), 1.0)
    assert x.shape == (4, SEQ_LEN)
    # the model built with the task's overrides emits exactly the target bins
    for name in ("basenji", "enformer"):
        model = create(name, seq_len=SEQ_LEN, n_tasks=2, compact=True, **s["model_overrides"])
        assert model(x[None]).shape == (1, *y.shape)


def test_reverse_complement_of_profiles(genome_and_tracks):
    fasta, specs = genome_and_tracks
    task = from_tracks(
        fasta, specs, seq_len=SEQ_LEN, valid_chroms=["II"], test_chroms=["I:15000-20000"]
    )
    ds = task.train
    codes, y = ds.read_batch([3], flip=[False])
    rc_codes, rc_y = ds.read_batch([3], flip=[True])
    np.testing.assert_array_equal(rc_codes[0], (3 - codes[0])[::-1])  # no N here
    # bins reversed and the strand pair swapped: fwd <- reversed rev and vice versa
    np.testing.assert_array_equal(rc_y[0, 0], y[0, 1, ::-1])
    np.testing.assert_array_equal(rc_y[0, 1], y[0, 0, ::-1])


def test_streamed_targets_equal_cached(genome_and_tracks):
    fasta, specs = genome_and_tracks
    kw = dict(seq_len=SEQ_LEN, valid_chroms=["II"], test_chroms=["I:15000-20000"], verbose=False)
    cached = from_tracks(fasta, specs, **kw)
    streamed = from_tracks(fasta, specs, stream=True, **kw)
    assert "streamed" in streamed.summary["targets"]
    idx = np.arange(len(cached.train))
    np.testing.assert_allclose(
        cached.train.read_batch(idx)[1], streamed.train.read_batch(idx)[1], rtol=2e-3
    )


def test_from_tracks_errors(genome_and_tracks):
    fasta, specs = genome_and_tracks
    with pytest.raises(InputError, match="not a multiple of bin_size"):
        from_tracks(fasta, specs, seq_len=1000, valid_chroms=["II"], test_chroms=["I:0-5000"])
    with pytest.raises(InputError, match="target_length 5"):
        from_tracks(
            fasta, specs, seq_len=SEQ_LEN, target_length=5, valid_chroms=["II"], test_chroms=["I"]
        )
    with pytest.raises(InputError, match="block 'chrom:start-end'"):
        from_tracks(fasta, specs, seq_len=SEQ_LEN, valid_chroms=["II:a-b"], test_chroms=["I"])


def test_split_windows_rules():
    import pandas as pd

    w = pd.DataFrame(
        {
            "chrom": ["I"] * 4 + ["II"],
            "start": [0, 100, 200, 300, 0],
            "end": [100, 200, 300, 400, 100],
        }
    )
    split, info, dropped = split_windows(w, ["I:100-200"], ["II"], ["I", "II"])
    assert split.tolist() == [0, 1, 0, 0, 2] and dropped == 0
    split, _, dropped = split_windows(w, ["I:150-300"], ["II"], ["I", "II"])
    assert split.tolist() == [0, -1, 1, 0, 2] and dropped == 1  # 100-200 straddles the block
    with pytest.raises(InputError, match="holds no whole window"):
        split_windows(w, ["I:150-250"], ["II"], ["I", "II"])


@pytest.fixture(scope="module")
def tiny():
    return load_tracks_task("tracks-tiny", seq_len=2048)


def test_tracks_tiny_is_read_back_from_real_bigwigs(tiny):
    assert set(TRACK_TASKS) == {"tracks", "tracks-tiny"}
    assert tiny.task_type == "profile"
    assert tiny.label_names == ["exon+", "exon-", "CDS+", "CDS-", "TSS+", "TSS-"]
    assert tiny.train.strand_pairs.tolist() == [1, 0, 3, 2, 5, 4]
    for path in tiny.summary["sources"]["tracks"]:
        bw = pyBigWig.open(path)
        assert bw.isBigWig() and bw.chroms()
        bw.close()
    assert all(tiny.sizes()[k] > 10 for k in ("train", "valid", "test"))
    x, y = tiny.train[0]
    assert y.shape == (6, 14) and tiny.summary["n_bins"] == 14
    _, y_all = tiny.train.read_batch(np.arange(len(tiny.train)))
    assert y_all[:, :4].max() <= 1.0 + 1e-3 and y_all[:, :4].min() >= 0  # exon/CDS fractions
    assert y_all[:, :4].mean() > 0.02 and y_all[:, 4:].sum() > 10  # real annotation, not empty
    assert (y_all[:, 2] <= y_all[:, 0] + 1e-3).all()  # CDS lies inside exons (same strand)
    assert tiny.augmentation["rc"] and tiny.augmentation["max_shift"] == 3


@pytest.mark.parametrize("name", ["basenji", "enformer"])
def test_compact_profile_models_overfit_tracks_tiny(tiny, name):
    """Slow-ish (about 5-15 s each on 2 busy cores): plain torch, 4 windows, <= 300 steps."""
    ds = tiny.train
    codes, y = ds.read_batch(np.arange(len(ds)))
    keep = np.flatnonzero(y[:, :4].sum((1, 2)) > 3)[:4]
    x = torch.tensor((codes[keep][:, None, :] == np.arange(4)[None, :, None]).astype(np.float32))
    y = torch.tensor(y[keep])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        over = profile_model_overrides(128, y.shape[-1])
        model = create(name, seq_len=x.shape[-1], n_tasks=6, compact=True, **over)
        assert model.output_kind == "profile"
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        pearson, t0 = -1.0, time.perf_counter()
        for step in range(300):
            model.train()
            opt.zero_grad()
            poisson_loss(model(x), y).backward()
            opt.step()
            if step % 20 == 19:
                model.eval()
                with torch.no_grad():
                    pearson = profile_metrics(model(x), y)["pearson"]
                if pearson > 0.9 or time.perf_counter() - t0 > 25:
                    break
    finally:
        torch.set_num_threads(threads)
    assert pearson > 0.9, f"{name}: Pearson {pearson:.3f} after {step + 1} steps"
