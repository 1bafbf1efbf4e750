"""torch Datasets that turn stored sequences into model inputs.

Every dataset yields ``(x, y)`` with ``x`` a ``float32`` one-hot tensor ``(4, seq_len)`` and ``y`` a
``float32`` tensor ``(n_tasks,)`` (or ``(n_tasks, n_bins)`` for profile targets). Augmentations
(reverse complement, random shift) are for training only and are off by default.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch.utils.data import Dataset

from regzoo.data.encode import _RC_CODE, N_CODE, codes_to_one_hot
from regzoo.data.genome import Genome


def draw_shift(max_shift: int) -> int:
    """A uniform random shift in ``[-max_shift, max_shift]``.

    Augmentations draw from torch's global generator: ``lightning.seed_everything(seed,
    workers=True)`` seeds it in the main process and in every DataLoader worker, so a training run
    is reproducible and workers never replay one another's stream."""
    return int(torch.randint(-max_shift, max_shift + 1, ())) if max_shift else 0


def draw_flip() -> bool:
    """True with probability 1/2 (reverse-complement augmentation); see :func:`draw_shift`."""
    return bool(torch.rand(()) < 0.5)


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
        seed: kept for API compatibility; augmentation draws from torch's global generator, so
            ``lightning.seed_everything`` (and Lightning's per-worker seeding) make it reproducible.
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

    @property
    def seq_len(self) -> int:
        return int(self.codes.shape[1])

    @property
    def n_tasks(self) -> int:
        return int(self.labels.shape[1])

    def __len__(self) -> int:
        return len(self.codes)

    def augmented(
        self, rc_augment: bool = True, max_shift: int = 0, seed: int = 0
    ) -> SequenceDataset:
        """The same data with training augmentations switched on (shares the arrays)."""
        return SequenceDataset(self.codes, self.labels, rc_augment, max_shift, seed)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        codes = self.codes[i]
        if self.max_shift:
            codes = shift_codes(codes, draw_shift(self.max_shift))
        if self.rc_augment and draw_flip():
            codes = _RC_CODE[codes][::-1]
        x = torch.from_numpy(codes_to_one_hot(np.ascontiguousarray(codes)))
        return x, torch.from_numpy(self.labels[i])


class IntervalDataset(Dataset):
    """Windows of a genome centred on intervals, read lazily from the FASTA at each access.

    Window rule: the centre of interval ``[start, end)`` is ``c = (start + end) // 2`` and its window
    is ``[c - seq_len // 2, c - seq_len // 2 + seq_len)``. On an interval with strand ``-`` the
    window is read as its reverse complement (5'->3' on that strand). Bases past a chromosome end
    are N and counted in ``genome.padded_bases``.

    Args:
        genome: a :class:`~regzoo.data.genome.Genome` or a FASTA path (opened on first use, and
            reopened in each DataLoader worker).
        chroms, starts, ends: the N intervals, shapes ``(N,)``.
        labels: ``float32`` ``(N, n_tasks)``.
        seq_len: window length.
        strands: ``(N,)`` of ``+``, ``-`` or ``.``; default all ``+``.
        rc_augment: return the reverse complement with probability 1/2 (labels unchanged;
            strand-symmetric tasks only).
        max_shift: move the window by a uniform random integer in ``[-max_shift, max_shift]``
            (real flanking sequence, not N).
        seed: seed of the augmentation random stream.

    Yields:
        ``(x, y)``: one-hot ``float32`` ``(4, seq_len)`` and ``float32`` ``(n_tasks,)``.
    """

    def __init__(
        self,
        genome: Genome | str | os.PathLike,
        chroms,
        starts,
        ends,
        labels: np.ndarray,
        seq_len: int,
        strands=None,
        rc_augment: bool = False,
        max_shift: int = 0,
        seed: int = 0,
    ) -> None:
        self.genome = genome if isinstance(genome, Genome) else None
        self.genome_path = genome.source if isinstance(genome, Genome) else genome
        self.chroms = np.asarray(chroms, dtype=str)
        starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
        self.window_starts = (starts + ends) // 2 - seq_len // 2
        n = len(self.chroms)
        self.strands = np.full(n, "+") if strands is None else np.asarray(strands, dtype=str)
        labels = np.asarray(labels, dtype=np.float32)
        self.labels = labels[:, None] if labels.ndim == 1 else labels
        if not (len(starts) == len(ends) == len(self.strands) == len(self.labels) == n):
            raise ValueError("chroms, starts, ends, strands and labels need one entry per interval")
        self.seq_len = int(seq_len)
        self.rc_augment = rc_augment
        self.max_shift = int(max_shift)
        self.seed = seed

    @property
    def n_tasks(self) -> int:
        return int(self.labels.shape[1])

    def __len__(self) -> int:
        return len(self.chroms)

    def augmented(
        self, rc_augment: bool = True, max_shift: int = 0, seed: int = 0
    ) -> IntervalDataset:
        """The same intervals with training augmentations switched on."""
        out = IntervalDataset.__new__(IntervalDataset)
        out.__dict__.update(self.__dict__)
        out.rc_augment, out.max_shift, out.seed = rc_augment, int(max_shift), seed
        return out

    def window(self, i: int, shift: int = 0) -> tuple[str, int, int, str]:
        """``(chrom, start, end, strand)`` of interval ``i``'s window, moved by ``shift``."""
        start = int(self.window_starts[i]) + shift
        strand = "-" if self.strands[i] == "-" else "+"
        return str(self.chroms[i]), start, start + self.seq_len, strand

    def codes(self, i: int, shift: int = 0) -> np.ndarray:
        """``uint8`` codes ``(seq_len,)`` of window ``i`` (no augmentation but ``shift``)."""
        if self.genome is None:
            self.genome = Genome(self.genome_path, validate=False)
        return self.genome.fetch_codes(*self.window(i, shift), warn=False)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        shift = draw_shift(self.max_shift)
        codes = self.codes(i, shift)
        if self.rc_augment and draw_flip():
            codes = _RC_CODE[codes][::-1]
        x = torch.from_numpy(codes_to_one_hot(np.ascontiguousarray(codes)))
        return x, torch.from_numpy(self.labels[i])


class WindowTotals(Dataset):
    """A profile dataset seen by a sequence-level model: ``y`` becomes ``log1p`` of each track's
    total over the target bins, ``(n_tracks,)`` (regression), as scalar architectures serve a
    coverage task."""

    def __init__(self, base: Dataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    @staticmethod
    def _total(y: torch.Tensor) -> torch.Tensor:
        return torch.log1p(y.sum(-1).clamp(min=0))

    def __getitem__(self, i: int):
        x, y = self.base[i]
        return x, self._total(y)

    def __getitems__(self, indices: list[int]):
        if hasattr(self.base, "__getitems__"):
            items = self.base.__getitems__(indices)
        else:
            items = [self.base[i] for i in indices]
        return [(x, self._total(y)) for x, y in items]

    def augmented(self, **kwargs) -> WindowTotals:
        return WindowTotals(self.base.augmented(**kwargs))
