from collections import Counter

import numpy as np
import pytest

from regzoo.data.encode import decode, encode
from regzoo.data.shuffle import dinucleotide_shuffle, shuffled_negatives
from regzoo.errors import InputError


def dinuc_counts(codes: np.ndarray) -> np.ndarray:
    """(..., L) codes -> (..., 25) overlapping dinucleotide counts (5 letters incl. N)."""
    codes = np.atleast_2d(codes).astype(np.int64)
    pairs = codes[:, :-1] * 5 + codes[:, 1:]
    return np.stack([np.bincount(p, minlength=25) for p in pairs])


def test_known_answer_counts():
    # ACGTACGA: AC x2, CG x2, GT x1, TA x1, GA x1
    codes = encode("ACGTACGA")
    out = dinucleotide_shuffle(codes, rng=1)
    counts = dinuc_counts(out)[0].reshape(5, 5)
    expected = np.zeros((5, 5), dtype=np.int64)
    for a, b, n in [(0, 1, 2), (1, 2, 2), (2, 3, 1), (3, 0, 1), (2, 0, 1)]:
        expected[a, b] = n
    np.testing.assert_array_equal(counts, expected)


@pytest.mark.parametrize("length", [3, 4, 10, 41, 101, 1000])
def test_counts_first_last_preserved_random(length):
    rng = np.random.default_rng(length)
    codes = rng.integers(0, 5, size=(200, length)).astype(np.uint8)
    codes[:50] = rng.choice(5, size=(50, length), p=[0.45, 0.05, 0.05, 0.4, 0.05])  # skewed
    out = dinucleotide_shuffle(codes, rng=0)
    assert out.shape == codes.shape and out.dtype == codes.dtype
    np.testing.assert_array_equal(dinuc_counts(out), dinuc_counts(codes))
    np.testing.assert_array_equal(out[:, 0], codes[:, 0])
    np.testing.assert_array_equal(out[:, -1], codes[:, -1])


def test_hard_graphs_and_homopolymers():
    seqs = [
        "A" * 60 + "C" + "A" * 30 + "G",  # long self-loop runs, single exits
        "AC" * 40 + "G" + "T" * 20,  # a 2-cycle with one exit
        "NNNNNACGTNNNNNTTTTTGGGGGNNNN",  # N as a fifth letter
        "AAAAAAAAAA",  # a single possible order
        "ACGT",
    ]
    for seq in seqs:
        codes = encode(seq)
        for seed in range(5):
            out = dinucleotide_shuffle(codes, rng=seed)
            np.testing.assert_array_equal(dinuc_counts(out), dinuc_counts(codes))
            assert out[0] == codes[0] and out[-1] == codes[-1]
    assert decode(dinucleotide_shuffle(encode("AAAAAAAAAA"), 0)) == "AAAAAAAAAA"


def test_long_sequence_changes_and_seed_determinism():
    codes = np.random.default_rng(7).integers(0, 4, 500).astype(np.uint8)
    a = dinucleotide_shuffle(codes, rng=3)
    b = dinucleotide_shuffle(codes, rng=3)
    c = dinucleotide_shuffle(codes, rng=4)
    np.testing.assert_array_equal(a, b)
    assert (a != codes).mean() > 0.3  # a real shuffle, not the identity
    assert (a != c).mean() > 0.3
    gen = np.random.default_rng(3)
    np.testing.assert_array_equal(dinucleotide_shuffle(codes, gen), a)


def test_batch_rows_independent():
    row = np.random.default_rng(0).integers(0, 4, 100).astype(np.uint8)
    batch = np.tile(row, (20, 1))
    out = dinucleotide_shuffle(batch, rng=0)
    assert out.shape == (20, 100)
    assert len({r.tobytes() for r in out}) == 20
    np.testing.assert_array_equal(dinuc_counts(out), dinuc_counts(batch))


def _all_shuffles(seq: str) -> set[str]:
    """Brute force: every sequence with seq's first base and dinucleotide counts."""
    edges = Counter(zip(seq, seq[1:], strict=False))
    found: set[str] = set()

    def walk(path: str, left: Counter) -> None:
        if len(path) == len(seq):
            found.add(path)
            return
        for (a, b), n in list(left.items()):
            if a == path[-1] and n:
                left[(a, b)] -= 1
                walk(path + b, left)
                left[(a, b)] += 1

    walk(seq[0], edges)
    return found


def test_uniform_over_all_shuffles():
    # sequences whose last-exit tree is not unique: a non-uniform shuffle (e.g. one keeping the
    # input's own last exits) never produces some of the valid sequences
    for seq in ["ACAGATCAGTCA", "AACCAGGATTCA"]:
        support = sorted(_all_shuffles(seq))
        n_draws = 400 * len(support)
        out = dinucleotide_shuffle(np.tile(encode(seq), (n_draws, 1)), rng=11)
        seen = Counter(decode(r) for r in out)
        assert set(seen) == set(support)
        freq = np.array([seen[s] for s in support], dtype=np.float64)
        expected = n_draws / len(support)
        chi2 = ((freq - expected) ** 2 / expected).sum()
        df = len(support) - 1
        assert chi2 < df + 6 * np.sqrt(2 * df), (seq, len(support), chi2)


def test_shuffled_negatives():
    codes = np.random.default_rng(2).integers(0, 4, (10, 50)).astype(np.uint8)
    neg = shuffled_negatives(codes, n_shuffles=3, seed=0)
    assert neg.shape == (30, 50)
    np.testing.assert_array_equal(dinuc_counts(neg), dinuc_counts(np.repeat(codes, 3, axis=0)))
    np.testing.assert_array_equal(neg, shuffled_negatives(codes, n_shuffles=3, seed=0))
    assert shuffled_negatives(codes[0], seed=0).shape == (1, 50)


def test_short_and_invalid_input():
    for seq in ["", "A", "AC"]:
        assert decode(dinucleotide_shuffle(encode(seq), 0)) == seq
    with pytest.raises(InputError):
        dinucleotide_shuffle(np.array([0, 1, 7], dtype=np.uint8))
    with pytest.raises(InputError):
        dinucleotide_shuffle(np.zeros((2, 3, 4), dtype=np.uint8))
    with pytest.raises(InputError):
        shuffled_negatives(np.zeros((2, 5), dtype=np.uint8), n_shuffles=0)


def test_vectorised_speed():
    # 28k peaks of 100 bp (the size of a ChIP-seq positive set) in well under the test budget
    import time

    codes = np.random.default_rng(0).integers(0, 4, (28_000, 100)).astype(np.uint8)
    start = time.perf_counter()
    out = dinucleotide_shuffle(codes, rng=0)
    assert time.perf_counter() - start < 5.0
    np.testing.assert_array_equal(dinuc_counts(out[:100]), dinuc_counts(codes[:100]))
