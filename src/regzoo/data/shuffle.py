"""Dinucleotide-preserving shuffles (Altschul & Erickson 1985), for negative sets and backgrounds.

A shuffle of a sequence ``s`` of length ``L`` is a uniformly random sequence with the same first
base and exactly the same count of every overlapping dinucleotide as ``s`` (hence also the same
base counts and the same last base). ``N`` (code 4) is a fifth letter: its dinucleotides are
preserved too.

Method (the Eulerian-path construction of Altschul & Erickson, as in uShuffle / fasta-shuffle-
letters): the sequence is a walk through the multigraph whose vertices are letters and whose edges
are its ``L - 1`` dinucleotides. A random walk using every edge once, starting at ``s[0]``, is
obtained by

1. drawing a random *last-exit arborescence*: for each letter ``v`` other than the last letter
   ``s[-1]``, the edge by which the walk leaves ``v`` for the last time, such that these edges form
   a tree directed towards ``s[-1]``. It is drawn with probability proportional to the product of
   the edge multiplicities (independent choice per letter, rejected unless it is a tree; after a
   few vectorised rounds, Wilson's loop-erased random walk finishes the rare hard cases);
2. ordering every other out-edge of each letter uniformly at random, the chosen last-exit edge
   last;
3. walking from ``s[0]``, leaving each letter by its next unused out-edge.

Every Eulerian walk arises from exactly one (arborescence, orderings) pair and, for a fixed
arborescence, from the same number of orderings, so the result is uniform over all sequences with
the input's dinucleotide counts and first base. (The variant that keeps the input's own last-exit
edges, as in DeepLIFT's / tangermeme's ``dinucleotide_shuffle``, is valid but not uniform.)

Steps 2 and 3 are vectorised over the batch: one ``argsort`` of random keys and ``L`` vectorised
steps of the walk.
"""

from __future__ import annotations

import numpy as np

from regzoo.errors import InputError

N_LETTERS = 5  # A, C, G, T, N
_REJECTION_ROUNDS = 32
_CHUNK = 16384  # sequences per vectorised chunk (bounds memory)


def _as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def _check_codes(codes: np.ndarray) -> np.ndarray:
    codes = np.asarray(codes)
    if codes.ndim not in (1, 2):
        raise InputError(f"codes must have shape (L,) or (N, L), got {codes.shape}")
    if codes.size and (not np.issubdtype(codes.dtype, np.integer) or codes.min() < 0):
        raise InputError("codes must be non-negative integers (A=0, C=1, G=2, T=3, N=4)")
    if codes.size and codes.max() >= N_LETTERS:
        raise InputError(
            f"code {int(codes.max())} found; expected A=0, C=1, G=2, T=3, N=4 "
            "(see regzoo.data.encode)"
        )
    return codes


def _wilson(weights: np.ndarray, root: int, present: np.ndarray, rng: np.random.Generator):
    """Wilson's algorithm: a random arborescence towards ``root`` of one sequence's letter graph,
    with probability proportional to the product of the edge weights. Returns ``next`` (5,)."""
    nxt = np.full(N_LETTERS, -1, dtype=np.int64)
    in_tree = ~present.copy()
    in_tree[root] = True
    for start in range(N_LETTERS):
        u = start
        while not in_tree[u]:
            w = weights[u]
            nxt[u] = rng.choice(N_LETTERS, p=w / w.sum())
            u = nxt[u]
        u = start
        while not in_tree[u]:
            in_tree[u] = True
            u = nxt[u]
    return nxt


def _last_exits(
    src: np.ndarray, dst: np.ndarray, root: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """For each sequence, the target letter of each letter's last exit (-1 for the root and for
    letters without out-edges): a random arborescence towards the last letter. Shape (N, 5)."""
    n = len(src)
    rows = np.arange(n)
    counts = np.bincount(
        ((rows[:, None] * N_LETTERS + src) * N_LETTERS + dst).ravel(),
        minlength=n * N_LETTERS * N_LETTERS,
    ).reshape(n, N_LETTERS, N_LETTERS)
    present = counts.sum(axis=2) > 0  # letters with an out-edge
    present[rows, root] = False
    weights = counts.astype(np.float64)
    weights[:, np.arange(N_LETTERS), np.arange(N_LETTERS)] = 0.0  # a self-loop is never a tree edge
    cum = np.cumsum(weights, axis=2)
    nxt = np.full((n, N_LETTERS), -1, dtype=np.int64)
    todo = np.flatnonzero(present.any(axis=1))
    for _ in range(_REJECTION_ROUNDS):
        if todo.size == 0:
            break
        c = cum[todo]
        draw = rng.random((len(todo), N_LETTERS, 1)) * c[:, :, -1:]
        choice = (draw >= c).sum(axis=2)  # inverse-CDF draw, one per letter
        choice = np.where(present[todo], choice, -1)
        # accept when every present letter reaches the root by following the choices
        pos = np.broadcast_to(np.arange(N_LETTERS), choice.shape).copy()
        r = root[todo, None]
        for _step in range(N_LETTERS):
            pos = np.where((pos == r) | (pos < 0), pos, np.take_along_axis(choice, pos.clip(0), 1))
        ok = np.all(~present[todo] | (pos == r), axis=1)
        nxt[todo[ok]] = choice[ok]
        todo = todo[~ok]
    for i in todo:  # rare: graphs where random choices seldom form a tree
        nxt[i] = _wilson(weights[i], int(root[i]), present[i], rng)
    return nxt


def _shuffle_chunk(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n, length = codes.shape
    rows = np.arange(n)
    src = codes[:, :-1].astype(np.int64)
    dst = codes[:, 1:].astype(np.int64)
    nxt = _last_exits(src, dst, codes[:, -1].astype(np.int64), rng)
    # one out-edge per (sequence, letter) is pinned last: an edge to that letter's last exit
    is_exit = dst == np.take_along_axis(nxt, src, axis=1)
    pin = np.zeros_like(is_exit)
    for letter in range(N_LETTERS):
        mask = is_exit & (src == letter)
        first = mask.argmax(axis=1)
        has = mask[rows, first]
        pin[rows[has], first[has]] = True
    # sort the edges by (source letter, random key), pinned edges last within their letter
    key = src * 2.0 + np.where(pin, 1.5, rng.random(src.shape))
    order = np.argsort(key, axis=1, kind="stable")
    succ = np.take_along_axis(dst, order, axis=1)
    counts = np.stack([(src == letter).sum(axis=1) for letter in range(N_LETTERS)], axis=1)
    ptr = np.concatenate([np.zeros((n, 1), np.int64), np.cumsum(counts, axis=1)[:, :-1]], axis=1)
    out = np.empty_like(codes)
    cur = codes[:, 0].astype(np.int64)
    out[:, 0] = cur
    for t in range(1, length):
        p = ptr[rows, cur]
        ptr[rows, cur] = p + 1
        cur = succ[rows, p]
        out[:, t] = cur
    return out


def dinucleotide_shuffle(
    codes: np.ndarray, rng: np.random.Generator | int | None = None
) -> np.ndarray:
    """Shuffle sequences, preserving their dinucleotide counts exactly.

    Args:
        codes: integer codes (A=0, C=1, G=2, T=3, N=4), shape ``(L,)`` or ``(N, L)``; each row is
            shuffled independently.
        rng: a ``numpy.random.Generator`` or a seed (``None``: fresh entropy).

    Returns:
        An array of the same shape and dtype: each row a uniformly random sequence with the same
        first base and the same overlapping dinucleotide counts (so also the same base counts and
        last base). Sequences shorter than 3 bases, or with a single possible order, come back
        unchanged.
    """
    codes = _check_codes(codes)
    rng = _as_rng(rng)
    batch = codes[None] if codes.ndim == 1 else codes
    if batch.shape[1] < 3 or batch.shape[0] == 0:
        return codes.copy()
    out = np.empty_like(batch)
    for start in range(0, len(batch), _CHUNK):
        out[start : start + _CHUNK] = _shuffle_chunk(batch[start : start + _CHUNK], rng)
    return out[0] if codes.ndim == 1 else out


def shuffled_negatives(
    codes: np.ndarray, n_shuffles: int = 1, seed: np.random.Generator | int | None = 0
) -> np.ndarray:
    """Dinucleotide-shuffled copies of sequences, e.g. as negatives for ChIP-seq peaks.

    Args:
        codes: ``(N, L)`` (or ``(L,)``) integer codes.
        n_shuffles: shuffles per sequence.
        seed: seed or ``numpy.random.Generator``.

    Returns:
        ``(N * n_shuffles, L)`` codes; rows ``i * n_shuffles`` to ``(i + 1) * n_shuffles - 1`` are
        the shuffles of sequence ``i``.
    """
    if n_shuffles < 1:
        raise InputError(f"n_shuffles must be >= 1, got {n_shuffles}")
    codes = _check_codes(codes)
    batch = codes[None] if codes.ndim == 1 else codes
    return dinucleotide_shuffle(np.repeat(batch, n_shuffles, axis=0), seed)
