"""torch Datasets that turn stored sequences into model inputs.

Every dataset yields ``(x, y)`` with ``x`` a ``float32`` one-hot tensor ``(4, seq_len)`` and ``y`` a
``float32`` tensor ``(n_tasks,)`` (or ``(n_tasks, n_bins)`` for profile targets). Augmentations
(reverse complement, random shift) are for training only and are off by default.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from regzoo.data.encode import N_CODE, _RC_CODE, codes_to_one_hot


def shift_codes(codes: np.ndarray, shift: int) -> np.ndarray:
    """Shift a code sequence by ``shift`` bases (positive = right), filling with N."""
    if shift == 0:
        return codes
    out = np.full_like(codes, N_CODE)
    if shift > 0:
        out[shift:] = codes[:-shift]
    else:
        out[:shift] = codes[-shift:]
    return out


class SequenceDataset(Dataset):
    """Sequences already in memory as codes, with their labels.

    Args:
        codes: ``uint8`` ``(N, L)`` (A=0, C=1, G=2, T=3, N=4; see :mod:`regzoo.data.encode`).
        labels: ``float32`` ``(N, n_tasks)`` (or ``(N, n_tasks, n_bins)``).
        rc_augment: with probability 1/2 return the reverse complement (labels unchanged; strand-
            symmetric tasks only).
        max_shift: shift the sequence by a uniform random integer in ``[-max_shift, max_shift]``,
            filling with N.
        seed: seed of the augmentation random stream.
    """

    def __init__(
        self,
        codes: np.ndarray,
        labels: np.ndarray,
        rc_augment: bool = False,
        max_shift: int = 0,
        seed: int = 0,
    ) -> None:
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        labels = np.asarray(labels, dtype=np.float32)
        if labels.ndim == 1:
            labels = labels[:, None]
        if len(codes) != len(labels):
            raise ValueError(f"{len(codes)} sequences but {len(labels)} label rows")
        self.codes = codes
        self.labels = labels
        self.rc_augment = rc_augment
        self.max_shift = max_shift
        self.rng = np.random.default_rng(seed)

    @property
    def seq_len(self) -> int:
        return int(self.codes.shape[1])

    @property
    def n_tasks(self) -> int:
        return int(self.labels.shape[1])

    def __len__(self) -> int:
        return len(self.codes)

    def augmented(self, rc_augment: bool = True, max_shift: int = 0, seed: int = 0) -> SequenceDataset:
        """The same data with training augmentations switched on (shares the arrays)."""
        return SequenceDataset(self.codes, self.labels, rc_augment, max_shift, seed)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        codes = self.codes[i]
        if self.max_shift:
            codes = shift_codes(codes, int(self.rng.integers(-self.max_shift, self.max_shift + 1)))
        if self.rc_augment and self.rng.random() < 0.5:
            codes = _RC_CODE[codes][::-1]
        x = torch.from_numpy(codes_to_one_hot(np.ascontiguousarray(codes)))
        return x, torch.from_numpy(self.labels[i])
