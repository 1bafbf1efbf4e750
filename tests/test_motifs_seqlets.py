"""Seqlet motifs: alignment without wrap-around, long motifs, and task-specific seqlets."""

from __future__ import annotations

import numpy as np
import pytest

from regzoo.errors import InputError
from regzoo.interpret.motifs import _aligned, _best_alignment, attribution_motifs

A = "TTGCGCAAGG"  # the task's motif (not its own reverse complement)
B = "CCACGTGATA"  # a co-planted motif of another task
LONG = "CCGCGAGGGTGGCAGTAAT"  # 19 bp (CTCF-like length)


def _consensus(pfm):
    s = "".join("ACGT"[i] for i in pfm.argmax(0))
    return s, s[::-1].translate(str.maketrans("ACGT", "TGCA"))


def _plant(rng, n, length, motifs, p):
    """Random sequences; each motif planted (forward strand) with probability ``p`` at a
    non-overlapping random position. Returns one-hot, labels (n, k), sites {(i, k): start}."""
    codes = rng.integers(0, 4, (n, length))
    labels = np.zeros((n, len(motifs)), dtype=bool)
    sites = {}
    for i in range(n):
        free = np.ones(length, dtype=bool)
        for k, m in enumerate(motifs):
            if rng.random() >= p:
                continue
            starts = [s for s in range(length - len(m)) if free[s : s + len(m)].all()]
            s = int(rng.choice(starts))
            codes[i, s : s + len(m)] = ["ACGT".index(b) for b in m]
            free[s : s + len(m)] = False
            labels[i, k] = True
            sites[(i, k)] = s
    return np.eye(4, dtype=np.float32)[codes].transpose(0, 2, 1), labels, sites


def _attr(x, sites, weights, motifs):
    """An attribution map that gives motif k's planted bases weight ``weights[k]``."""
    attr = np.zeros_like(x)
    for (i, k), s in sites.items():
        attr[i, :, s : s + len(motifs[k])] = weights[k] * x[i, :, s : s + len(motifs[k])]
    return attr


def test_alignment_reads_the_real_flank_not_the_other_end():
    rng = np.random.default_rng(0)
    seq = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 40)].T
    for shift in (-3, 2):
        got = _aligned(seq, 10, 12, shift, False)
        np.testing.assert_array_equal(got, seq[:, 10 - shift : 22 - shift])
        # the same shift by np.roll wraps the window's own far end in: a different matrix
        assert not np.array_equal(got, np.roll(seq[:, 10:22], shift, axis=1))
    rc = _aligned(seq, 10, 12, 2, True)
    np.testing.assert_array_equal(rc, seq[:, 12:24][::-1, ::-1])
    # at the sequence edge the missing columns count nothing (zeros), not wrapped bases
    edge = _aligned(seq, 0, 12, 3, False)
    assert edge[:, :3].sum() == 0 and np.array_equal(edge[:, 3:], seq[:, 0:9])


def test_best_alignment_shift_convention_matches_aligned():
    rng = np.random.default_rng(1)
    seq = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 60)].T
    weights = rng.normal(size=60).astype(np.float32)
    contrib = seq * weights
    ref = contrib[:, 20:35]
    r, shift, rc = _best_alignment(ref, contrib[:, 22:37], max_shift=4)
    assert (r, shift, rc) == (1.0, 2, False) or (abs(r - 1) < 1e-6 and shift == 2 and not rc)
    np.testing.assert_array_equal(_aligned(contrib, 22, 15, shift, rc), ref)
    minus = contrib[::-1, ::-1]  # the reverse strand; ref sits at 60-35 .. 60-20 there
    r, shift, rc = _best_alignment(ref, minus[:, 23:38], max_shift=4)
    assert abs(r - 1) < 1e-6 and rc
    np.testing.assert_array_equal(_aligned(minus, 23, 15, shift, rc), ref)


def test_long_motif_is_recovered_whole():
    rng = np.random.default_rng(2)
    x, _labels, sites = _plant(rng, 150, 100, [LONG], 0.7)
    motifs = attribution_motifs(x, _attr(x, sites, [1.0], [LONG]), quantile=0.9)
    assert motifs and motifs[0].n_sites >= 0.8 * len(sites)
    assert LONG in _consensus(motifs[0].pfm)
    assert motifs[0].pfm.shape[1] == len(LONG)  # flanks trimmed by contribution


def test_seqlets_of_a_task_come_from_its_own_sites_given_background():
    """An attribution map for task A that also lights up co-planted B sites (a model leaking a
    co-occurring motif): on A's positives alone both motifs come out; with A's negatives as the
    background, only A (B is as frequent in the negatives)."""
    rng = np.random.default_rng(3)
    x, labels, sites = _plant(rng, 400, 80, [A, B], 0.4)
    attr = _attr(x, sites, [1.0, 1.0], [A, B])
    pos, neg = labels[:, 0], ~labels[:, 0]
    plain = attribution_motifs(x[pos], attr[pos], quantile=0.9)
    found = {_consensus(m.pfm)[0] for m in plain} | {_consensus(m.pfm)[1] for m in plain}
    assert A in found and B in found
    specific = attribution_motifs(x[pos], attr[pos], quantile=0.9, background=(x[neg], attr[neg]))
    assert len(specific) == 1
    assert A in _consensus(specific[0].pfm)
    assert specific[0].extra["n_background"] == 0
    assert specific[0].n_sites >= 0.8 * pos.sum()


def test_mismatched_background_is_a_one_line_error():
    rng = np.random.default_rng(4)
    x, _labels, sites = _plant(rng, 20, 60, [A], 0.5)
    attr = _attr(x, sites, [1.0], [A])
    with pytest.raises(InputError, match="background"):
        attribution_motifs(x, attr, background=(x[:, :, :50], attr[:, :, :50]))
    with pytest.raises(InputError, match="background"):
        attribution_motifs(x, attr, background=(x[:0], attr[:0]))
    with pytest.raises(InputError, match="attributions have shape"):
        attribution_motifs(x, attr[:, :, :50])
