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
``rc_augment``, a random reverse complement. **Both are off by default for user files**: their
strand and position semantics are unknown, and either augmentation destroys the signal of a
strand- or position-specific task (a modification site centred on the modified base, a splice
site, a TSS window read 5'->3'). Turn them on for strand-symmetric tasks (TF binding,
accessibility): ``rc_augment=True, max_shift=3``. The choice is in ``TaskData.augmentation``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

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
from regzoo.data.task import TASK_TYPES, TaskData, resolve_augmentation
from regzoo.errors import InputError, option, unknown_name
from regzoo.errors import cli_names as _cli_names

DEFAULT_INTERVAL_SEQ_LEN = 1000
USER_DATA_AUGMENTATION = (
    "off by default for user files: their strand and position semantics are unknown"
)


def user_augmentation(rc_augment: bool | None, max_shift: int | None) -> dict:
    """Augmentation of a task built from the user's files: off unless asked for."""
    return resolve_augmentation(rc_augment, max_shift, False, 0, USER_DATA_AUGMENTATION)


MAX_CLASSES = 10  # an integer column is read as class indices only up to this many classes


def explain_task_type(labels: np.ndarray) -> tuple[str, str]:
    """Task type from a label matrix ``(N, n_labels)`` and the reason, in words.

    Missing labels (NaN) are ignored. The rule: every label 0 or 1 -> ``binary`` (one column) or
    ``multilabel``; one column of integers that are exactly the class indices ``0..K-1`` with
    ``3 <= K <= 10`` -> ``multiclass``; anything else (real values, counts, integers with gaps or
    many values) -> ``regression``. Counts are never turned into classes silently: the reason
    says which flag changes the choice."""
    labels = np.asarray(labels, dtype=np.float64)
    labels = labels[:, None] if labels.ndim == 1 else labels
    values = labels[~np.isnan(labels)]
    if np.isin(values, (0.0, 1.0)).all():
        kind = "binary" if labels.shape[1] == 1 else "multilabel"
        return kind, f"{labels.shape[1]} label column(s) of 0/1 values"
    integers = bool(np.all(values == np.round(values)))
    distinct = np.unique(values)
    if labels.shape[1] == 1 and integers:
        k = len(distinct)
        if k <= MAX_CLASSES and np.array_equal(distinct, np.arange(k)):
            return "multiclass", (
                f"one column of integer class indices 0..{k - 1}; pass "
                f"{option('task_type', 'regression')} if they are counts or measurements"
            )
        return "regression", (
            f"one column of {k} distinct integers ({distinct.min():g}..{distinct.max():g}), "
            f"read as quantities (counts), not as class indices 0..K-1 with K <= {MAX_CLASSES}; "
            f"pass {option('task_type', 'multiclass')} if they are classes"
        )
    return "regression", f"{labels.shape[1]} label column(s) of real values"


def infer_task_type(labels: np.ndarray) -> str:
    """Task type from a label matrix ``(N, n_labels)`` (rule: :func:`explain_task_type`)."""
    return explain_task_type(labels)[0]


MISSING_LABEL_RULES = ("error", "mask", "drop")


def handle_missing_labels(
    y: np.ndarray,
    rule: str,
    source: str,
    label_names: list[str],
    row_names: list[str] | None = None,
) -> tuple[np.ndarray, dict]:
    """Apply the missing-label rule to ``y`` ``(N, n_labels)`` with NaN where a label is missing.

    ``error`` (default): refuse, naming the count and the option; ``mask``: keep NaN, which the
    loss and the metrics skip (each label is scored on the rows where it is known); ``drop``:
    drop every row with a missing label. Returns ``(keep_rows bool (N,), report)``."""
    if rule not in MISSING_LABEL_RULES:
        raise unknown_name("missing-label rule", rule, MISSING_LABEL_RULES)
    missing = np.isnan(y)
    n_missing = int(missing.sum())
    keep = np.ones(len(y), dtype=bool)
    report = {"rule": rule, "missing_values": n_missing, "rows_dropped": 0}
    if n_missing == 0:
        return keep, report
    per_label = {n: int(c) for n, c in zip(label_names, missing.sum(0), strict=True) if c}
    if rule == "error":
        first = int(np.flatnonzero(missing.any(1))[0])
        where = (
            f"first at {row_names[first]}" if row_names is not None else f"first at row {first + 1}"
        )
        raise InputError(
            f"{source}: {n_missing} missing label value(s) (NA or empty; {where}; per label: "
            f"{per_label}); "
            f"pass {option('missing_labels', 'mask')} to skip them in the loss and metrics, or "
            f"{option('missing_labels', 'drop')} to drop those rows"
        )
    report["per_label"] = per_label
    if rule == "drop":
        keep = ~missing.any(1)
        report["rows_dropped"] = int((~keep).sum())
    return keep, report


def prepare_labels(
    labels: np.ndarray, label_names: list[str], task_type: str | None, source: str
) -> tuple[np.ndarray, list[str], str]:
    """Check labels against the task type (inferred when None).

    Returns:
        ``(y, label_names, task_type)``; ``y`` is ``float32`` ``(N, n_labels)``, or ``(N, 1)`` of
        class indices for ``multiclass``, whose ``label_names`` become ``"col=value"`` per class.
        Missing labels (NaN) stay NaN (see :func:`handle_missing_labels`).
    """
    labels = np.asarray(labels, dtype=np.float32)
    labels = labels[:, None] if labels.ndim == 1 else labels
    if task_type is None:
        task_type = infer_task_type(labels)
    if task_type not in TASK_TYPES:
        raise unknown_name("task type", task_type, TASK_TYPES)
    known = labels[~np.isnan(labels)]
    if task_type in ("binary", "multilabel") and not np.isin(known, (0.0, 1.0)).all():
        bad = known[~np.isin(known, (0.0, 1.0))][0]
        raise InputError(
            f"{source}: task type {task_type} needs labels 0 or 1, found {bad:g}; pass "
            f"{option('task_type', 'regression')} for quantities"
        )
    if task_type == "binary" and labels.shape[1] != 1:
        raise InputError(
            f"{source}: task type binary needs one label column, got {labels.shape[1]} "
            f"({', '.join(label_names)}); use {option('task_type', 'multilabel')}"
        )
    if task_type == "multiclass":
        if labels.shape[1] != 1 or not np.all(known == np.round(known)) or len(known) < len(labels):
            raise InputError(
                f"{source}: task type multiclass needs one column of integer classes, no missing values"
            )
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


def _task_from_arrays(name, task_type, label_names, codes, y, splits, summary, aug) -> TaskData:
    parts = [SequenceDataset(codes[idx], y[idx]) for idx in splits]
    summary["sizes"] = {s: len(idx) for s, idx in zip(SPLITS, splits, strict=True)}
    summary["class_balance"] = {
        s: class_balance(y[idx], task_type, label_names)
        for s, idx in zip(SPLITS, splits, strict=True)
    }
    summary["augmentation"] = aug
    return TaskData(
        name=name,
        task_type=task_type,
        label_names=label_names,
        seq_len=int(codes.shape[1]),
        train=parts[0],
        valid=parts[1],
        test=parts[2],
        summary=summary,
        train_augmented=parts[0].augmented(rc_augment=aug["rc"], max_shift=aug["max_shift"]),
        augmentation=aug,
    )


SPLIT_VALUES = {"train": 0, "valid": 1, "validation": 1, "val": 1, "test": 2}
MOSTLY_N = 0.5  # sequences with more N than this are counted and warned about


def kfold_split(
    n: int, n_folds: int, fold: int, valid_frac: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fold ``fold`` of a seeded ``n_folds``-fold split of ``range(n)``.

    The rows are permuted with ``seed`` and cut into ``n_folds`` near-equal folds; fold ``fold`` is
    the test split, so over all folds every row is tested exactly once (out-of-fold
    predictions). From the other rows, ``round(valid_frac * n)`` (drawn with ``seed + fold``) are
    held out for validation (early stopping) and the rest train. Returns sorted index arrays."""
    if n_folds < 2:
        raise InputError(f"folds must be at least 2, got {n_folds}")
    if not 0 <= fold < n_folds:
        raise InputError(f"fold must be in 0..{n_folds - 1}, got {fold}")
    if n < n_folds:
        raise InputError(f"{n} rows cannot make {n_folds} folds")
    order = np.random.default_rng(seed).permutation(n)
    folds = np.array_split(order, n_folds)
    test = folds[fold]
    rest = np.concatenate([f for k, f in enumerate(folds) if k != fold])
    rest = np.random.default_rng(seed + fold + 1).permutation(rest)
    n_valid = round(valid_frac * n)
    return np.sort(rest[n_valid:]), np.sort(rest[:n_valid]), np.sort(test)


def _split_from_column(values: pd.Series, path, split_col: str, row_kind: str) -> np.ndarray:
    """Split codes 0/1/2 from a column of train / valid / test (case-insensitive)."""
    lowered = values.str.lower()
    bad = ~lowered.isin(SPLIT_VALUES)
    if bad.any():
        row = values.index[bad][0]
        raise InputError(
            f"{path}: {row_kind} {row}, column {split_col!r}: {values[row]!r} is not a split; "
            "expected train, valid or test"
        )
    return lowered.map(SPLIT_VALUES).to_numpy(dtype=np.int8)


def splits_test_rows(split: np.ndarray, keep: np.ndarray) -> list[int]:
    """Row numbers (0-based, in file order) of the test split: out-of-fold predictions map back."""
    return np.flatnonzero((split == 2) & keep).tolist()


def _n_report(codes: np.ndarray, max_n_frac: float | None, source: str) -> tuple[np.ndarray, dict]:
    """Count sequences that are all or mostly N; drop those above ``max_n_frac`` if given."""
    n_frac = (codes == 4).mean(1) if codes.size else np.zeros(len(codes))
    report = {
        "all_n": int((n_frac == 1).sum()),
        "mostly_n": int((n_frac > MOSTLY_N).sum()),
        "max_n_frac": max_n_frac,
        "dropped": 0,
    }
    keep = np.ones(len(codes), dtype=bool)
    if max_n_frac is not None:
        keep = n_frac <= max_n_frac
        report["dropped"] = int((~keep).sum())
    elif report["mostly_n"] and not _cli_names():
        warnings.warn(
            f"{source}: {report['mostly_n']} sequence(s) are more than {MOSTLY_N:.0%} N "
            f"({report['all_n']} entirely N); drop them with {option('max_n_frac', 0.5)}",
            stacklevel=3,
        )
    return keep, report


def from_table(
    path: str | os.PathLike,
    seq_col: str = "sequence",
    label_cols: list[str] | None = None,
    seq_len: int | None = None,
    task_type: str | None = None,
    valid_frac: float = 0.1,
    test_frac: float = 0.1,
    seed: int = 0,
    rc_augment: bool | None = None,
    max_shift: int | None = None,
    name: str | None = None,
    *,
    split_col: str | None = None,
    valid_table: str | os.PathLike | None = None,
    test_table: str | os.PathLike | None = None,
    n_folds: int | None = None,
    fold: int = 0,
    missing_labels: str = "error",
    max_n_frac: float | None = None,
) -> TaskData:
    """A task from a CSV / TSV (or FASTA-with-labels) file of sequences and labels.

    Args:
        path: the table (formats: :mod:`regzoo.data.tables`).
        seq_col: sequence column; ``label_cols``: label columns (default: all others but
            name/id and the split column).
        seq_len: common input length; default the most frequent sequence length. Other lengths
            are centre-cropped or N-padded, and counted in ``summary["lengths"]``.
        task_type: ``binary`` | ``multilabel`` | ``multiclass`` | ``regression``; inferred if None
            (:func:`explain_task_type`; the reason is in ``summary["task_type_reason"]``).
        valid_frac, test_frac, seed: the seeded random split (disjoint), used when no other
            split is given.
        rc_augment, max_shift: training augmentation; None = off (see the module docstring).
        name: task name; default the file name.
        split_col: a column of ``train`` / ``valid`` / ``test`` giving each row's split.
        valid_table, test_table: separate files (same columns) for validation / test; the main
            table is then the training set (with only ``test_table``, ``valid_frac`` of it is
            held out for validation).
        n_folds, fold: k-fold cross-validation: fold ``fold`` of :func:`kfold_split` is the test
            split.
        missing_labels: ``error`` | ``mask`` | ``drop`` (:func:`handle_missing_labels`).
        max_n_frac: drop sequences with a larger fraction of N (counted); by default they are
            kept and counted, with a warning when more than half N.

    Returns:
        :class:`TaskData` whose datasets yield ``(x (4, seq_len), y (n_labels,))``.
    """
    path = Path(path)
    keep = [split_col] if split_col else []
    frames = [read_table(path, seq_col=seq_col, label_cols=label_cols, keep_cols=keep)]
    label_cols = frames[0].attrs["label_cols"]
    for extra in (valid_table, test_table):
        if extra is not None:
            frames.append(read_table(extra, seq_col=seq_col, label_cols=label_cols))
    return _from_frames(
        frames,
        path,
        seq_len=seq_len,
        task_type=task_type,
        valid_frac=valid_frac,
        test_frac=test_frac,
        seed=seed,
        aug=user_augmentation(rc_augment, max_shift),
        name=name,
        split_col=split_col,
        has_valid=valid_table is not None,
        has_test=test_table is not None,
        n_folds=n_folds,
        fold=fold,
        missing_labels=missing_labels,
        max_n_frac=max_n_frac,
    )


def from_fasta(
    path: str | os.PathLike,
    label_cols: list[str] | None = None,
    seq_len: int | None = None,
    task_type: str | None = None,
    valid_frac: float = 0.1,
    test_frac: float = 0.1,
    seed: int = 0,
    rc_augment: bool | None = None,
    max_shift: int | None = None,
    name: str | None = None,
    **options,
) -> TaskData:
    """A task from a FASTA file whose headers carry ``key=value`` labels (``>seq1 bound=1``).

    Same arguments and rules as :func:`from_table` (``seq_col`` does not apply)."""
    return from_table(
        path,
        label_cols=label_cols,
        seq_len=seq_len,
        task_type=task_type,
        valid_frac=valid_frac,
        test_frac=test_frac,
        seed=seed,
        rc_augment=rc_augment,
        max_shift=max_shift,
        name=name,
        **options,
    )


def _from_frames(
    frames,
    path,
    *,
    seq_len,
    task_type,
    valid_frac,
    test_frac,
    seed,
    aug,
    name,
    split_col,
    has_valid,
    has_test,
    n_folds,
    fold,
    missing_labels,
    max_n_frac,
):
    main = frames[0]
    seq_col, label_cols, row_kind = (
        main.attrs["seq_col"],
        main.attrs["label_cols"],
        main.attrs["row_kind"],
    )
    sources = [str(f.attrs["source"]) for f in frames]
    seqs = [s for f in frames for s in f[seq_col]]
    row_names = [  # the file is named when it is not the main table
        f"{'' if f is main else str(f.attrs['source']) + ': '}{f.attrs['row_kind']} {i}"
        for f in frames
        for i in f.index
    ]
    codes, lengths = fit_sequences(seqs, seq_len, source=str(path), row_names=row_names)
    labels = np.concatenate([f[label_cols].to_numpy(dtype=np.float32) for f in frames])
    y, label_names, task_type_used = prepare_labels(labels, label_cols, task_type, str(path))
    reason = "given" if task_type else explain_task_type(labels)[1]
    n_main = len(main)
    # which split each row belongs to (0 train, 1 valid, 2 test)
    if (
        sum(x is not None and x is not False for x in (split_col, has_valid or has_test, n_folds))
        > 1
    ):
        raise InputError(
            "give one way of splitting: a split column, separate valid/test tables, or folds"
        )
    split = np.zeros(len(codes), dtype=np.int8)
    if split_col:
        split[:n_main] = _split_from_column(main[split_col], path, split_col, row_kind)
        rule = f"from column {split_col!r} of {path}"
    elif has_valid or has_test:
        offset = n_main
        if has_valid:
            split[offset : offset + len(frames[1])] = 1
            offset += len(frames[1])
        if has_test:
            split[offset:] = 2
        if not has_valid:
            _, valid_idx, _ = fraction_split(n_main, valid_frac, 0.0, seed)
            split[valid_idx] = 1
        rule = "separate tables: " + ", ".join(
            f"{s} {src}"
            for s, src in zip(
                ("train", *(["valid"] if has_valid else []), *(["test"] if has_test else [])),
                sources,
                strict=False,
            )
        )
        if not has_valid:
            rule += f"; valid = seeded {valid_frac} of the training table (seed={seed})"
    elif n_folds:
        train_idx, valid_idx, test_idx = kfold_split(n_main, n_folds, fold, valid_frac, seed)
        split[valid_idx], split[test_idx] = 1, 2
        rule = f"fold {fold} of {n_folds} (seed={seed}); valid {valid_frac} of the other folds"
    else:
        _, valid_idx, test_idx = fraction_split(n_main, valid_frac, test_frac, seed)
        split[valid_idx], split[test_idx] = 1, 2
        rule = f"seeded random fractions (seed={seed}): valid {valid_frac}, test {test_frac}"
    keep_labels, missing = handle_missing_labels(
        y, missing_labels, str(path), label_names, row_names
    )
    keep_n, n_report = _n_report(codes, max_n_frac, str(path))
    keep = keep_labels & keep_n
    row_index = np.arange(len(codes))
    splits = [row_index[(split == k) & keep] for k in range(3)]
    for k, s in enumerate(SPLITS):
        if len(splits[k]) == 0 and k != 1:
            raise InputError(f"{path}: the {s} split is empty ({rule})")
    summary = {
        "sources": sources,
        "task_type": task_type_used,
        "task_type_reason": reason,
        "seq_len": int(codes.shape[1]),
        "lengths": lengths,
        "split_rule": rule,
        "split": {
            "kind": "column"
            if split_col
            else "tables"
            if (has_valid or has_test)
            else "folds"
            if n_folds
            else "fractions",
            "split_col": split_col,
            "n_folds": n_folds,
            "fold": fold if n_folds else None,
            "test_rows": splits_test_rows(split, keep) if n_folds else None,
            "valid_frac": valid_frac,
            "test_frac": test_frac,
            "seed": seed,
        },
        "missing_labels": missing,
        "n_content": n_report,
    }
    return _task_from_arrays(
        name or path.name, task_type_used, label_names, codes, y, splits, summary, aug
    )


def from_intervals(
    genome_path: str | os.PathLike,
    bed_path: str | os.PathLike,
    label_cols: list[str] | None = None,
    seq_len: int | None = None,
    valid_chroms: list[str] | None = None,
    test_chroms: list[str] | None = None,
    seed: int = 0,
    valid_frac: float = 0.1,
    test_frac: float = 0.1,
    valid_block: tuple[float, float] = (0.8, 0.9),
    test_block: tuple[float, float] = (0.9, 1.0),
    task_type: str | None = None,
    rc_augment: bool | None = None,
    max_shift: int | None = None,
    name: str | None = None,
    unknown_chroms: str = "error",
) -> TaskData:
    """A task from a genome and a BED file of labelled intervals; windows read lazily.

    Args:
        genome_path: FASTA (plain, bgzip, or plain gzip decompressed once into the cache).
        bed_path: BED with label columns (:func:`~regzoo.data.intervals.read_bed`).
        label_cols: label columns (default columns 7+).
        seq_len: window length, centred on each interval (``IntervalDataset`` window rule);
            default the intervals' width when all are equal, else 1,000 (said in
            ``summary["seq_len_rule"]``).
        valid_chroms, test_chroms: held-out chromosomes (both or neither). When neither: drawn
            with ``seed`` to hold ``valid_frac`` / ``test_frac`` of the intervals, or, with fewer
            than 3 chromosomes, the contiguous ``valid_block`` / ``test_block`` of each chromosome.
        task_type: inferred when None (module docstring).
        rc_augment, max_shift: training augmentation, None = off (module docstring); the shift
            reads real flanking sequence.

    Returns:
        :class:`TaskData` of :class:`IntervalDataset` splits.
    """
    aug = user_augmentation(rc_augment, max_shift)
    max_shift = aug["max_shift"]
    genome = Genome(genome_path)
    df = read_bed(bed_path, genome=genome, label_cols=label_cols, unknown_chroms=unknown_chroms)
    label_cols = df.attrs["label_cols"]
    if not label_cols:
        raise InputError(
            f"{bed_path}: no label columns; add numeric columns 7+ or name one with "
            f"{option('label_cols', 'score')}"
        )
    widths = (df["end"] - df["start"]).to_numpy()
    if seq_len is not None:
        seq_len_rule = f"{seq_len} bp, given"
    elif len(widths) and (widths == widths[0]).all():
        seq_len = int(widths[0])
        seq_len_rule = f"{seq_len} bp, the width of every interval"
    else:
        seq_len = DEFAULT_INTERVAL_SEQ_LEN
        seq_len_rule = (
            f"{seq_len} bp windows centred on each interval (default; interval widths vary from "
            f"{widths.min()} to {widths.max()} bp; set {option('seq_len', 'N')})"
        )
    labels = df[label_cols].to_numpy(dtype=np.float32)
    reason = "given" if task_type else explain_task_type(labels)[1]
    y, label_names, task_type = prepare_labels(labels, label_cols, task_type, str(bed_path))
    handle_missing_labels(y, "error", str(bed_path), label_names)
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
        "task_type_reason": reason,
        "seq_len": seq_len,
        "seq_len_rule": seq_len_rule,
        "sizes": {s: len(p) for s, p in zip(SPLITS, parts, strict=True)},
        "class_balance": {
            s: class_balance(y[split == k], task_type, label_names) for k, s in enumerate(SPLITS)
        },
        "split_rule": summary_rule,
        **split_info,
        "dropped": dropped,
        "windows_past_chrom_end": off_end,
        "window_rule": "centre (start+end)//2, window [centre - seq_len//2, +seq_len); '-' strand read as RC",
        "augmentation": aug,
        "split": {
            "kind": "chromosomes" if "valid_chroms" in split_info else "blocks",
            "seed": seed,
            "valid_frac": valid_frac,
            "test_frac": test_frac,
            **split_info,
        },
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
        train_augmented=parts[0].augmented(rc_augment=aug["rc"], max_shift=max_shift),
        augmentation=aug,
    )
