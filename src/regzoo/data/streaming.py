"""A map-style torch Dataset streaming genome windows from the code cache, a batch per call.

:class:`WindowDataset` holds only the window table (chromosome index, start, strand; ``N`` rows)
and either a label matrix ``(N, n_labels)`` or a *target provider* (e.g.
:class:`regzoo.data.tracks.BinnedTracks`) with

- ``read(chrom, start, end) -> float32 (n_tracks, (end - start) // bin_size)``,
- ``bin_size`` (int) and ``strand_pairs`` (``list[int]``, each track's partner, itself when
  unpaired), and optionally
- ``read_batch(chroms, starts, n_bins) -> float32 (B, n_tracks, n_bins)`` (used when present).

The genome is a :class:`~regzoo.data.cache.GenomeCache` (memory-mapped, reopened in each worker), so
pickling the dataset for DataLoader workers or DDP ranks copies the window table only. With torch
>= 2.2 the DataLoader calls :meth:`WindowDataset.__getitems__` with a whole batch of indices: the
sequences are read with one :meth:`~regzoo.data.cache.GenomeCache.fetch_batch` and one-hot encoded
in one step. Pass ``collate_fn=collate_windows`` to skip restacking the batch (the default collate
also works).

Augmentation (training only; random draws from torch's global generator, seeded per worker by
``lightning.seed_everything(..., workers=True)``, as in :mod:`regzoo.data.datasets`):

- ``rc_augment``: with probability 1/2 the window is read as its reverse complement. Labels stay
  (strand-symmetric tasks only). Profile targets are reversed along the bins and each strand-paired
  track swaps with its partner (RNA + <-> RNA -).
- ``max_shift``: the window moves by ``s``, uniform in ``[-max_shift, max_shift]``, reading the real
  flanking bases. Labels stay. **Profile targets move by the whole number of bins nearest to s**
  (``floor(s / bin_size + 1/2)``): shifts under half a bin keep the targets fixed (as Basenji keeps
  them under its +-3 bp shifts) and a shift of ``k * bin_size`` moves them by exactly ``k`` bins, so
  sequence and targets are never more than half a bin apart.

A window with strand ``-`` is read 5'->3' on that strand (reverse complement, targets reversed and
swapped), and the RC augmentation flips it back.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, default_collate

from regzoo.data.cache import GenomeCache
from regzoo.errors import InputError

_ACGT = np.arange(4, dtype=np.uint8)[None, :, None]


def codes_to_one_hot_batch(codes: np.ndarray) -> np.ndarray:
    """Codes ``(B, L)`` -> contiguous one-hot ``float32`` ``(B, 4, L)`` (N all-zero)."""
    return (codes[:, None, :] == _ACGT).astype(np.float32)


class _Batch(list):
    """A list of samples that also carries the stacked batch (see :func:`collate_windows`)."""

    stacked: tuple[torch.Tensor, torch.Tensor]


def collate_windows(samples):
    """Collate for :class:`WindowDataset`: the stacked batch as read, without copying it again.

    Falls back to ``torch.utils.data.default_collate`` for anything else.
    """
    if isinstance(samples, _Batch):
        return samples.stacked
    return default_collate(samples)


class WindowDataset(Dataset):
    """Windows of a genome with labels or profile targets, read from the code cache per batch.

    Args:
        genome: a :class:`GenomeCache`, a cache folder or a FASTA (its cache is built if needed).
        chroms: ``(N,)`` chromosome indices into ``genome.names``, or names.
        starts: ``(N,)`` 0-based window starts.
        seq_len: window length.
        strands: ``(N,)`` of ``"+"``/``"-"`` (or booleans, True = minus); default all ``+``.
        labels: ``(N, n_labels)`` (0/1 labels are stored as ``uint8``; yielded as ``float32``).
        targets: a target provider (module docstring); exactly one of ``labels`` and ``targets``.
        target_crop: profile bins cropped from each side of the window (models that crop their
            output, e.g. Basenji's 64 of 1024); targets cover ``[start + crop * bin_size,
            end - crop * bin_size)``.
        rc_augment, max_shift: training augmentation (module docstring).
        output: ``"onehot"`` (default): ``x`` is ``float32 (4, seq_len)``; ``"codes"``: ``x`` is
            ``uint8 (seq_len,)`` codes, to one-hot on the training device.

    Yields:
        ``(x, y)``: ``x`` as above; ``y`` ``float32 (n_labels,)`` or ``(n_tracks, n_bins)``.
    """

    def __init__(
        self,
        genome: GenomeCache | str | os.PathLike,
        chroms: Sequence[int] | Sequence[str] | np.ndarray,
        starts: Sequence[int] | np.ndarray,
        seq_len: int,
        strands: Sequence[str] | np.ndarray | None = None,
        labels: np.ndarray | None = None,
        targets=None,
        target_crop: int = 0,
        rc_augment: bool = False,
        max_shift: int = 0,
        output: str = "onehot",
    ) -> None:
        self.genome = genome if isinstance(genome, GenomeCache) else GenomeCache(genome)
        chroms = np.asarray(chroms)
        if chroms.dtype.kind in "USO":
            index = {name: i for i, name in enumerate(self.genome.names)}
            unknown = sorted({str(c) for c in chroms} - set(index))
            if unknown:
                self.genome.chrom_index(unknown[0])  # raises, with the genome's names
            chroms = np.array([index[str(c)] for c in chroms], dtype=np.int32)
        self.chrom_idx = chroms.astype(np.int32)
        self.starts = np.asarray(starts, dtype=np.int64)
        n = len(self.starts)
        if strands is None:
            self.minus = np.zeros(n, dtype=bool)
        else:
            strands = np.asarray(strands)
            self.minus = strands.astype(bool) if strands.dtype == bool else strands == "-"
        if not len(self.chrom_idx) == len(self.minus) == n:
            raise InputError(f"{len(self.chrom_idx)} chroms, {n} starts, {len(self.minus)} strands")
        if (labels is None) == (targets is None):
            raise InputError("WindowDataset needs exactly one of labels and targets")
        if labels is not None:
            labels = np.asarray(labels)
            labels = labels[:, None] if labels.ndim == 1 else labels
            if len(labels) != n:
                raise InputError(f"{n} windows but {len(labels)} label rows")
            if np.isin(labels, (0, 1)).all():
                labels = labels.astype(np.uint8)
            else:
                labels = labels.astype(np.float32)
        self.labels = labels
        self.targets = targets
        self.seq_len = int(seq_len)
        self.target_crop = int(target_crop)
        if targets is not None:
            self.bin_size = int(targets.bin_size)
            pairs = np.asarray(targets.strand_pairs, dtype=np.int64)
            if sorted(pairs[pairs].tolist()) != list(range(len(pairs))) or not np.array_equal(
                pairs[pairs], np.arange(len(pairs))
            ):
                raise InputError(f"strand_pairs {pairs.tolist()} is not a pairing of the tracks")
            self.strand_pairs = pairs
            self.n_bins = self.seq_len // self.bin_size - 2 * self.target_crop
            if self.n_bins < 1:
                raise InputError(
                    f"seq_len {seq_len} with bin_size {self.bin_size} and target_crop "
                    f"{target_crop} leaves no target bin"
                )
        self.rc_augment = bool(rc_augment)
        self.max_shift = int(max_shift)
        if output not in ("onehot", "codes"):
            raise InputError(f"output={output!r}; expected 'onehot' or 'codes'")
        self.output = output

    # -- description ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def n_tasks(self) -> int:
        """Labels per window, or tracks for profile targets."""
        return int(self.labels.shape[1]) if self.labels is not None else len(self.strand_pairs)

    def window(self, i: int) -> tuple[str, int, int, str]:
        """``(chrom, start, end, strand)`` of window ``i`` (no augmentation)."""
        s = int(self.starts[i])
        chrom = self.genome.names[int(self.chrom_idx[i])]
        return chrom, s, s + self.seq_len, "-" if self.minus[i] else "+"

    def augmented(self, rc_augment: bool = True, max_shift: int = 0, seed: int = 0):
        """The same windows with training augmentations on (shares the arrays; ``seed`` is kept
        for API compatibility with :class:`~regzoo.data.datasets.SequenceDataset`)."""
        out = WindowDataset.__new__(WindowDataset)
        out.__dict__.update(self.__dict__)
        out.rc_augment, out.max_shift = bool(rc_augment), int(max_shift)
        return out

    def subset(self, indices: np.ndarray) -> WindowDataset:
        """The windows ``indices`` (a new dataset with copies of those rows)."""
        out = WindowDataset.__new__(WindowDataset)
        out.__dict__.update(self.__dict__)
        out.chrom_idx = self.chrom_idx[indices]
        out.starts = self.starts[indices]
        out.minus = self.minus[indices]
        out.labels = None if self.labels is None else self.labels[indices]
        return out

    # -- reading --------------------------------------------------------------------------------

    def _draws(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        shift = np.zeros(n, dtype=np.int64)
        flip = np.zeros(n, dtype=bool)
        if self.max_shift:
            shift = torch.randint(-self.max_shift, self.max_shift + 1, (n,)).numpy()
        if self.rc_augment:
            flip = (torch.rand(n) < 0.5).numpy()
        return shift.astype(np.int64), flip

    def read_batch(
        self, indices: Sequence[int] | np.ndarray, shift=None, flip=None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Codes and targets of a batch, with given augmentation (none by default).

        Args:
            indices: ``(B,)`` window indices.
            shift: ``(B,)`` shifts in bp (default 0); flip: ``(B,)`` reverse-complement flags.

        Returns:
            ``codes uint8 (B, seq_len)`` and ``y float32 (B, n_labels)`` or
            ``(B, n_tracks, n_bins)``.
        """
        idx = np.asarray(indices, dtype=np.int64)
        n = len(idx)
        shift = np.zeros(n, np.int64) if shift is None else np.asarray(shift, np.int64)
        flip = np.zeros(n, bool) if flip is None else np.asarray(flip, bool)
        minus = self.minus[idx] ^ flip
        starts = self.starts[idx] + shift
        codes = self.genome.fetch_batch(self.chrom_idx[idx], starts, self.seq_len, minus)
        if self.labels is not None:
            return codes, self.labels[idx].astype(np.float32)
        bins = np.floor(shift / self.bin_size + 0.5).astype(np.int64)
        t_starts = self.starts[idx] + (bins + self.target_crop) * self.bin_size
        names = [self.genome.names[c] for c in self.chrom_idx[idx]]
        if hasattr(self.targets, "read_batch"):
            y = np.asarray(self.targets.read_batch(names, t_starts, self.n_bins), np.float32)
        else:
            span = self.n_bins * self.bin_size
            y = np.stack(
                [
                    self.targets.read(c, int(s), int(s) + span)
                    for c, s in zip(names, t_starts, strict=True)
                ]
            ).astype(np.float32)
        if minus.any():
            y[minus] = y[minus][:, self.strand_pairs, ::-1]
        return codes, y

    def _sample_batch(self, indices) -> tuple[torch.Tensor, torch.Tensor]:
        shift, flip = self._draws(len(indices))
        codes, y = self.read_batch(indices, shift, flip)
        x = codes if self.output == "codes" else codes_to_one_hot_batch(codes)
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self._sample_batch([int(i)])
        return x[0], y[0]

    def __getitems__(self, indices: Sequence[int]) -> _Batch:
        """A whole batch in one read (torch >= 2.2 DataLoaders call this)."""
        x, y = self._sample_batch(list(indices))
        batch = _Batch(zip(x, y, strict=True))
        batch.stacked = (x, y)
        return batch
