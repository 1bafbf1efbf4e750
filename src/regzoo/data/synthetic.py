"""Simulated data with a known answer: random DNA with a planted motif.

Used for known-answer tests (a model must find the motif) and for interpretation checks.
"""

from __future__ import annotations

import numpy as np

from regzoo.data.datasets import SequenceDataset
from regzoo.data.encode import encode
from regzoo.data.task import TaskData

DEFAULT_MOTIF = "TGACTCAGCA"  # AP-1-like (TRE) site, 10 bp


def planted_motif_codes(
    n: int, seq_len: int, motif: str = DEFAULT_MOTIF, seed: int = 0, gc: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random sequences; half carry ``motif`` (either strand) at a random position.

    Negatives carry a shuffled copy of the motif instead, so base composition does not give the
    answer away.

    Returns:
        codes ``uint8`` ``(n, seq_len)`` and labels ``float32`` ``(n,)`` (1 = motif planted).
    """
    rng = np.random.default_rng(seed)
    probs = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
    codes = rng.choice(4, size=(n, seq_len), p=probs).astype(np.uint8)
    motif_codes = encode(motif)
    k = len(motif_codes)
    if k > seq_len:
        raise ValueError(f"motif of {k} bp does not fit in seq_len={seq_len}")
    labels = (np.arange(n) % 2).astype(np.float32)
    rng.shuffle(labels)
    starts = rng.integers(0, seq_len - k + 1, size=n)
    for i in range(n):
        if labels[i] == 1:
            site = motif_codes if rng.random() < 0.5 else (3 - motif_codes)[::-1]
        else:
            site = rng.permutation(motif_codes)
        codes[i, starts[i] : starts[i] + k] = site
    return codes, labels


def planted_motif_task(
    n_train: int = 2000,
    n_valid: int = 400,
    n_test: int = 400,
    seq_len: int = 100,
    motif: str = DEFAULT_MOTIF,
    seed: int = 0,
) -> TaskData:
    """A binary :class:`TaskData`: does the sequence carry ``motif``? Splits are independent draws."""
    parts = []
    for offset, n in enumerate((n_train, n_valid, n_test)):
        codes, labels = planted_motif_codes(n, seq_len, motif, seed=seed * 3 + offset)
        parts.append(SequenceDataset(codes, labels))
    train, valid, test = parts
    return TaskData(
        name=f"planted-{motif}",
        task_type="binary",
        label_names=["motif"],
        seq_len=seq_len,
        train=train,
        valid=valid,
        test=test,
        summary={"source": "simulated", "motif": motif, "sizes": [n_train, n_valid, n_test]},
        train_augmented=train.augmented(rc_augment=True, seed=seed),
        augmentation={
            "rc": True,
            "max_shift": 0,
            "reason": "the motif is planted on either strand: a strand-symmetric task",
        },
    )
