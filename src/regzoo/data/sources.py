"""Builders: turn the user's files into a :class:`~regzoo.data.task.TaskData`.

- :func:`from_table` / :func:`from_fasta`: labelled sequences (CSV, TSV, FASTA with ``key=value``
  labels). Splits: a seeded random permutation gives ``test_frac`` of the rows to test,
  ``valid_frac`` to valid, the rest to train (disjoint by construction).
- :func:`from_intervals`: a genome FASTA and a BED file with label columns. Windows of ``seq_len``
  centred on each interval, read lazily from the genome. Splits by chromosome: the given
  ``valid_chroms`` / ``test_chroms``; else, with 3 or more chromosomes, chromosomes drawn with
  ``seed`` (:func:`~regzoo.data.intervals.choose_split_chroms`); with fewer, contiguous blocks of each
  chromosome as in the bundled promoter task (``valid_block``, ``test_block``; a window that
  straddles a block boundary is dropped and counted).

Task type, when not given (:func:`infer_task_type`): labels all 0/1 -> ``binary`` (one column) or
``multilabel`` (several); one column of integers with more than two values -> ``multiclass``
(classes are the sorted distinct values, stored as indices 0..C-1); anything else -> ``regression``.

Augmentation (``train_augmented``): a random shift of up to ``max_shift`` bases and, when
``rc_augment`` (default True), a random reverse complement. Reverse complement is only right for
**strand-symmetric** tasks (TF binding, accessibility); pass ``rc_augment=False`` for
strand-aware ones (promoters, expression of a transcript read 5'->3').
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from regzoo.data.datasets import IntervalDataset, SequenceDataset
from regzoo.data.genome import Genome
from regzoo.data.intervals import (
    SPLITS,
    assign_to_blocks,
    choose_split_chroms,
    chrom_blocks,
    read_bed,
    split_by_chrom,
)
from regzoo.data.tables import fit_sequences, read_table
from regzoo.data.task import TASK_TYPES, TaskData
from regzoo.errors import InputError, unknown_name

DEFAULT_MAX_SHIFT = 3


def infer_task_type(labels: np.ndarray) -> str:
    """Task type from a label matrix ``(N, n_labels)`` (see the module docstring for the rule)."""
    labels = np.asarray(labels, dtype=np.float64)
    labels = labels[:, None] if labels.ndim == 1 else labels
    if np.isin(labels, (0.0, 1.0)).all():
        return "binary" if labels.shape[1] == 1 else "multilabel"
    if labels.shape[1] == 1 and np.all(labels == np.round(labels)) and len(np.unique(labels)) > 2:
        return "multiclass"
    return "regression"


def prepare_labels(
    labels: np.ndarray, label_names: list[str], task_type: str | None, source: str
) -> tuple[np.ndarray, list[str], str]:
    """Check labels against the task type (inferred when None).

    Returns:
        ``(y, label_names, task_type)``; ``y`` is ``float32`` ``(N, n_labels)``, or ``(N, 1)`` of
        class indices for ``multiclass``, whose ``label_names`` become ``"col=value"`` per class.
    """
    labels = np.asarray(labels, dtype=np.float32)
    labels = labels[:, None] if labels.ndim == 1 else labels
    if task_type is None:
        task_type = infer_task_type(labels)
    if task_type not in TASK_TYPES:
        raise unknown_name("task type", task_type, TASK_TYPES)
    if task_type in ("binary", "multilabel") and not np.isin(labels, (0.0, 1.0)).all():
        raise InputError(f"{source}: task type {task_type} needs labels 0 or 1")
    if task_type == "binary" and labels.shape[1] != 1:
        raise InputError(
            f"{source}: task type binary needs one label column, got {labels.shape[1]} "
            f"({', '.join(label_names)}); use multilabel"
        )
    if task_type == "multiclass":
        if labels.shape[1] != 1 or not np.all(labels == np.round(labels)):
            raise InputError(f"{source}: task type multiclass needs one column of integer classes")
        classes, index = np.unique(labels[:, 0], return_inverse=True)
        names = [f"{label_names[0]}={int(c)}" for c in classes]
        return index.astype(np.float32)[:, None], names, task_type
    return labels, list(label_names), task_type


def fraction_split(
    n: int, valid_frac: float = 0.1, test_frac: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded disjoint split of ``range(n)``: ``(train_idx, valid_idx, test_idx)``, each sorted.

    ``round(test_frac * n)`` rows go to test and ``round(valid_frac * n)`` to valid.
    """
    if not (0 <= valid_frac < 1 and 0 <= test_frac < 1 and valid_frac + test_frac < 1):
        raise InputError(
            f"valid_frac={valid_frac}, test_frac={test_frac}; expected fractions summing to < 1"
        )
    order = np.random.default_rng(seed).permutation(n)
    n_test, n_valid = round(test_frac * n), round(valid_frac * n)
    test, valid, train = order[:n_test], order[n_test : n_test + n_valid], order[n_test + n_valid :]
    return np.sort(train), np.sort(valid), np.sort(test)


def class_balance(y: np.ndarray, task_type: str, label_names: list[str]) -> dict:
    """Per-split label description: fraction positive per label (binary / multilabel), count per
    class (multiclass) or mean and standard deviation per label (regression)."""
    y = np.asarray(y, dtype=np.float64)
    if len(y) == 0:
        return {}
    if task_type in ("binary", "multilabel"):
        return {name: round(float(v), 4) for name, v in zip(label_names, y.mean(0), strict=True)}
    if task_type == "multiclass":
        counts = np.bincount(y[:, 0].astype(int), minlength=len(label_names))
        return {name: int(c) for name, c in zip(label_names, counts, strict=True)}
    return {
        name: {"mean": round(float(m), 4), "std": round(float(s), 4)}
        for name, m, s in zip(label_names, y.mean(0), y.std(0), strict=True)
    }


def _task_from_arrays(
    name, task_type, label_names, codes, y, splits, summary, rc_augment, max_shift, seed
) -> TaskData:
    parts = [SequenceDataset(codes[idx], y[idx]) for idx in splits]
    summary["sizes"] = {s: len(idx) for s, idx in zip(SPLITS, splits, strict=True)}
    summary["class_balance"] = {
        s: class_balance(y[idx], task_type, label_names)
        for s, idx in zip(SPLITS, splits, strict=True)
    }
    summary["augmentation"] = {"rc": rc_augment, "max_shift": max_shift}
    return TaskData(
        name=name,
        task_type=task_type,
        label_names=label_names,
        seq_len=int(codes.shape[1]),
        train=parts[0],
        valid=parts[1],
        test=parts[2],
        summary=summary,
        train_augmented=parts[0].augmented(rc_augment=rc_augment, max_shift=max_shift, seed=seed),
    )


def from_table(
    path: str | os.PathLike,
    seq_col: str = "sequence",
    label_cols: list[str] | None = None,
    seq_len: int | None = None,
    task_type: str | None = None,
    valid_frac: float = 0.1,
    test_frac: float = 0.1,
    seed: int = 0,
    rc_augment: bool = True,
    max_shift: int = DEFAULT_MAX_SHIFT,
    name: str | None = None,
) -> TaskData:
    """A task from a CSV / TSV (or FASTA-with-labels) file of sequences and labels.

    Args:
        path: the table (formats: :mod:`regzoo.data.tables`).
        seq_col: sequence column; ``label_cols``: label columns (default: all others but name/id).
        seq_len: common input length; default the most frequent sequence length. Other lengths
            are centre-cropped or N-padded, and counted in ``summary["lengths"]``.
        task_type: ``binary`` | ``multilabel`` | ``multiclass`` | ``regression``; inferred if None.
        valid_frac, test_frac, seed: the seeded random split (disjoint).
        rc_augment, max_shift: training augmentation (see the module docstring).
        name: task name; default the file name.

    Returns:
        :class:`TaskData` whose datasets yield ``(x (4, seq_len), y (n_labels,))``.
    """
    path = Path(path)
    df = read_table(path, seq_col=seq_col, label_cols=label_cols)
    return _from_frame(
        df, path, seq_len, task_type, valid_frac, test_frac, seed, rc_augment, max_shift, name
    )


def from_fasta(
    path: str | os.PathLike,
    label_cols: list[str] | None = None,
    seq_len: int | None = None,
    task_type: str | None = None,
    valid_frac: float = 0.1,
    test_frac: float = 0.1,
    seed: int = 0,
    rc_augment: bool = True,
    max_shift: int = DEFAULT_MAX_SHIFT,
    name: str | None = None,
) -> TaskData:
    """A task from a FASTA file whose headers carry ``key=value`` labels (``>seq1 bound=1``).

    Same arguments and rules as :func:`from_table`.
    """
    path = Path(path)
    df = read_table(path, label_cols=label_cols)
    return _from_frame(
        df, path, seq_len, task_type, valid_frac, test_frac, seed, rc_augment, max_shift, name
    )


def _from_frame(
    df, path, seq_len, task_type, valid_frac, test_frac, seed, rc_augment, max_shift, name
):
    seq_col, label_cols, row_kind = (
        df.attrs["seq_col"],
        df.attrs["label_cols"],
        df.attrs["row_kind"],
    )
    codes, lengths = fit_sequences(
        list(df[seq_col]),
        seq_len,
        source=str(path),
        row_names=[f"{row_kind} {i}" for i in df.index],
    )
    y, label_names, task_type = prepare_labels(
        df[label_cols].to_numpy(), label_cols, task_type, str(path)
    )
    splits = fraction_split(len(df), valid_frac, test_frac, seed)
    summary = {
        "sources": [str(path)],
        "task_type": task_type,
        "seq_len": int(codes.shape[1]),
        "lengths": lengths,
        "split_rule": f"seeded random fractions (seed={seed}): valid {valid_frac}, test {test_frac}",
    }
    return _task_from_arrays(
        name or path.name,
        task_type,
        label_names,
        codes,
        y,
        splits,
        summary,
        rc_augment,
        max_shift,
        seed,
    )


def from_intervals(
    genome_path: str | os.PathLike,
    bed_path: str | os.PathLike,
    label_cols: list[str] | None = None,
    seq_len: int = 1000,
    valid_chroms: list[str] | None = None,
    test_chroms: list[str] | None = None,
    seed: int = 0,
    valid_frac: float = 0.1,
    test_frac: float = 0.1,
    valid_block: tuple[float, float] = (0.8, 0.9),
    test_block: tuple[float, float] = (0.9, 1.0),
    task_type: str | None = None,
    rc_augment: bool = True,
    max_shift: int = DEFAULT_MAX_SHIFT,
    name: str | None = None,
) -> TaskData:
    """A task from a genome and a BED file of labelled intervals; windows read lazily.

    Args:
        genome_path: FASTA (plain, bgzip, or plain gzip decompressed once into the cache).
        bed_path: BED with label columns (:func:`~regzoo.data.intervals.read_bed`).
        label_cols: label columns (default columns 7+).
        seq_len: window length, centred on each interval (``IntervalDataset`` window rule).
        valid_chroms, test_chroms: held-out chromosomes (both or neither). When neither: drawn
            with ``seed`` to hold ``valid_frac`` / ``test_frac`` of the intervals, or, with fewer
            than 3 chromosomes, the contiguous ``valid_block`` / ``test_block`` of each chromosome.
        task_type: inferred when None (module docstring).
        rc_augment, max_shift: training augmentation; the shift reads real flanking sequence.

    Returns:
        :class:`TaskData` of :class:`IntervalDataset` splits.
    """
    genome = Genome(genome_path)
    df = read_bed(bed_path, genome=genome, label_cols=label_cols)
    label_cols = df.attrs["label_cols"]
    if not label_cols:
        raise InputError(
            f"{bed_path}: no label columns; add numeric columns 7+ or pass label_cols (e.g. ['score'])"
        )
    y, label_names, task_type = prepare_labels(
        df[label_cols].to_numpy(), label_cols, task_type, str(bed_path)
    )
    centre = (df["start"].to_numpy() + df["end"].to_numpy()) // 2
    win_start = centre - seq_len // 2
    win_end = win_start + seq_len
    sizes = df["chrom"].map(genome.chrom_sizes).to_numpy()
    dropped = {"straddling_block_boundary": 0}
    summary_rule: str
    if (valid_chroms is None) != (test_chroms is None):
        raise InputError("pass both valid_chroms and test_chroms, or neither")
    n_chroms = df["chrom"].nunique()
    if valid_chroms is None and n_chroms < 3:
        split = np.full(len(df), -1, dtype=np.int8)
        blocks = {}
        for chrom in df["chrom"].unique():
            on = (df["chrom"] == chrom).to_numpy()
            regions = chrom_blocks(genome.chrom_sizes[chrom], valid_block, test_block)
            blocks[chrom] = regions
            split[on] = assign_to_blocks(
                win_start[on] - max_shift, win_end[on] + max_shift, regions
            )
        dropped["straddling_block_boundary"] = int((split < 0).sum())
        summary_rule = (
            f"contiguous blocks per chromosome: valid {valid_block}, test {test_block} of its "
            f"length; windows (+-{max_shift} shift) crossing a block boundary dropped"
        )
        split_info = {"blocks": blocks}
    else:
        if valid_chroms is None:
            valid_chroms, test_chroms = choose_split_chroms(df, valid_frac, test_frac, seed)
        _, valid_df, test_df = split_by_chrom(df, valid_chroms, test_chroms)  # checks the lists
        split = np.zeros(len(df), dtype=np.int8)
        split[df.index.isin(valid_df.index)] = 1
        split[df.index.isin(test_df.index)] = 2
        summary_rule = "by chromosome"
        split_info = {"valid_chroms": list(valid_chroms), "test_chroms": list(test_chroms)}
    off_end = int(((win_start < 0) | (win_end > sizes)).sum())
    if off_end:
        warnings.warn(
            f"{bed_path}: {off_end} windows of {seq_len} bp run past a chromosome end; their "
            "missing bases are read as N (summary['windows_past_chrom_end'])",
            stacklevel=2,
        )
    strands = df["strand"].to_numpy() if "strand" in df else None
    parts = []
    for k in range(3):
        idx = np.flatnonzero(split == k)
        parts.append(
            IntervalDataset(
                genome,
                df["chrom"].to_numpy()[idx],
                df["start"].to_numpy()[idx],
                df["end"].to_numpy()[idx],
                y[idx],
                seq_len,
                strands=None if strands is None else strands[idx],
            )
        )
    summary = {
        "sources": [str(genome_path), str(bed_path)],
        "task_type": task_type,
        "seq_len": seq_len,
        "sizes": {s: len(p) for s, p in zip(SPLITS, parts, strict=True)},
        "class_balance": {
            s: class_balance(y[split == k], task_type, label_names) for k, s in enumerate(SPLITS)
        },
        "split_rule": summary_rule,
        **split_info,
        "dropped": dropped,
        "windows_past_chrom_end": off_end,
        "window_rule": "centre (start+end)//2, window [centre - seq_len//2, +seq_len); '-' strand read as RC",
        "augmentation": {"rc": rc_augment, "max_shift": max_shift},
    }
    return TaskData(
        name=name or Path(bed_path).name,
        task_type=task_type,
        label_names=label_names,
        seq_len=seq_len,
        train=parts[0],
        valid=parts[1],
        test=parts[2],
        summary=summary,
        train_augmented=parts[0].augmented(rc_augment=rc_augment, max_shift=max_shift, seed=seed),
    )
