"""Multi-label peak tasks (DeepSEA / Basset style): windows of a genome labelled by peak files.

**Labels.** One label per peak file (BED or narrowPeak/broadPeak), named by the file stem
(``CTCF.narrowPeak`` -> ``CTCF``); or, with ``peak_name_col`` (1-based column, e.g. 4 in a TF-sites
BED whose 4th column is the TF), one label per distinct name in that column.

**Label rule** (DeepSEA's, :func:`label_windows`): the window's *centre* is its central
``label_center`` bp, ``[c - label_center // 2, c - label_center // 2 + label_center)`` with
``c = (start + end) // 2``. Label ``j`` is 1 when some peak of ``j`` overlaps the centre by at least
``min_overlap * min(peak length, label_center)`` bp (and by at least 1 bp): a broad peak must cover
half the centre, a short site (a motif) must lie mostly inside it.

**Windows** (:func:`from_peaks`): either centred on ``regions`` (a BED), or tiled over every
chromosome with ``stride`` (default ``label_center``, DeepSEA's 200 bp). Then, each step counted in
``summary["dropped"]``: windows overlapping the ``exclude`` BED (blacklist) are dropped; windows with
more than ``max_n_frac`` N are dropped; when tiling, windows without any label are subsampled to
``negatives_per_positive`` times the windows with at least one label, per split (default **1.0**;
``None`` keeps every window). DeepSEA kept only windows with at least one peak; keeping all windows
of a large genome is large and mostly empty, so regzoo's default keeps as many empty windows as
labelled ones, drawn with ``seed``; the rule and the counts are in the summary. With ``regions``
every window is kept (the user chose them).

**Chromosome names** of the peak, region and exclude files are matched to the genome's with
:func:`regzoo.data.chroms.match_chroms` (``chrI`` -> ``I``; the line is printed and kept in the
summary); peaks on chromosomes the genome lacks are an error unless ``unknown_chroms="drop"``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from regzoo.data.cache import GenomeCache, build_genome_cache
from regzoo.data.chroms import rename_chroms
from regzoo.data.intervals import SPLITS
from regzoo.data.sources import class_balance
from regzoo.data.streaming import WindowDataset
from regzoo.data.task import TaskData
from regzoo.data.windows import (
    drop_n_windows,
    exclude_windows,
    read_intervals,
    read_regions,
    split_by_chroms,
    tile_windows,
)
from regzoo.errors import InputError

log = logging.getLogger(__name__)

PEAK_SUFFIXES = (".gz", ".bed", ".narrowPeak", ".broadPeak", ".txt", ".tsv")


def label_name(path: str | os.PathLike) -> str:
    """A peak file's label: its name without ``.gz`` / ``.bed`` / ``.narrowPeak`` / ... suffixes."""
    name = Path(path).name
    changed = True
    while changed:
        changed = False
        for suffix in PEAK_SUFFIXES:
            if name.lower().endswith(suffix.lower()) and len(name) > len(suffix):
                name, changed = name[: -len(suffix)], True
    return name


def read_peak_files(
    paths: Sequence[str | os.PathLike], peak_name_col: int | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Read peak files into one table of labelled intervals.

    Args:
        paths: BED / narrowPeak / broadPeak files (plain or gzip; header lines starting with
            ``track``, ``browser`` or ``#`` are skipped; any other non-interval line is an error).
        peak_name_col: 1-based column holding each peak's label (one label per distinct value,
            sorted); None: one label per file, named by :func:`label_name`.

    Returns:
        ``(peaks, label_names)``: DataFrame ``chrom, start, end, label`` (label = index into
        ``label_names``, int32), ``attrs["sources"]`` the files and ``attrs["per_file"]`` peak counts.

    Raises:
        InputError: no file, two files with the same label name, or a bad line (file and line).
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no peak files given")
    frames = [read_intervals(p, name_col=peak_name_col, what="peak") for p in paths]
    if peak_name_col:
        peaks = pd.concat(frames, ignore_index=True)
        names = sorted(peaks["name"].unique())
        peaks["label"] = pd.Categorical(peaks["name"], categories=names).codes.astype(np.int32)
        peaks = peaks.drop(columns="name")
    else:
        names = [label_name(p) for p in paths]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            same = [str(p) for p, n in zip(paths, names, strict=True) if n == dup[0]]
            raise InputError(
                f"peak files {', '.join(same)} give the same label name {dup[0]!r}; rename one "
                "(labels are named by the file stem)"
            )
        for j, frame in enumerate(frames):
            frame["label"] = np.int32(j)
        peaks = pd.concat(frames, ignore_index=True)
    peaks.attrs["sources"] = [str(p) for p in paths]
    peaks.attrs["per_file"] = {str(p): len(f) for p, f in zip(paths, frames, strict=True)}
    return peaks, list(names)


def label_windows(
    windows: pd.DataFrame,
    peaks: pd.DataFrame,
    n_labels: int,
    label_center: int = 200,
    min_overlap: float = 0.5,
) -> np.ndarray:
    """DeepSEA labels of windows from peaks (rule: module docstring).

    Args:
        windows: ``chrom, start, end`` (N rows).
        peaks: ``chrom, start, end, label`` (label an int in ``[0, n_labels)``), same chromosome
            names as ``windows``.
        n_labels: number of labels.
        label_center: bp of the window's centre that peaks must overlap.
        min_overlap: fraction of ``min(peak length, label_center)`` the overlap must reach.

    Returns:
        ``float32 (N, n_labels)`` of 0/1.

    Per chromosome, windows are sorted by centre start; each peak finds the windows whose centre it
    touches with two ``searchsorted`` calls, so the work is proportional to the number of
    (window, peak) overlaps, not windows x peaks.
    """
    if label_center < 1 or not 0 <= min_overlap <= 1:
        raise InputError(
            f"label_center={label_center}, min_overlap={min_overlap}; expected label_center >= 1 "
            "and 0 <= min_overlap <= 1"
        )
    out = np.zeros((len(windows), n_labels), dtype=np.float32)
    if len(windows) == 0 or len(peaks) == 0:
        return out
    w_chrom = windows["chrom"].to_numpy()
    centre = (windows["start"].to_numpy() + windows["end"].to_numpy()) // 2
    c_start = centre - label_center // 2
    peak_groups = peaks.groupby("chrom", sort=False).indices
    for chrom, rows in pd.Series(w_chrom).groupby(w_chrom, sort=False).indices.items():
        if chrom not in peak_groups:
            continue
        p = peaks.iloc[peak_groups[chrom]]
        ps, pe = p["start"].to_numpy(), p["end"].to_numpy()
        plab = p["label"].to_numpy()
        order = np.argsort(c_start[rows], kind="stable")
        cs = c_start[rows][order]
        # windows whose centre [cs, cs + C) touches [ps, pe): cs > ps - C and cs < pe
        lo = np.searchsorted(cs, ps - label_center, side="right")
        hi = np.searchsorted(cs, pe, side="left")
        counts = np.maximum(hi - lo, 0)
        total = int(counts.sum())
        if total == 0:
            continue
        pk = np.repeat(np.arange(len(ps)), counts)
        first = np.repeat(np.cumsum(counts) - counts, counts)
        wpos = lo[pk] + (np.arange(total) - first)
        wcs = cs[wpos]
        overlap = np.minimum(wcs + label_center, pe[pk]) - np.maximum(wcs, ps[pk])
        need = min_overlap * np.minimum(pe[pk] - ps[pk], label_center)
        hit = (overlap >= need) & (overlap > 0)
        out[rows[order[wpos[hit]]], plab[pk[hit]]] = 1.0
    return out


def _subsample_negatives(
    labels: np.ndarray, split: np.ndarray, ratio: float | None, rng: np.random.Generator
) -> tuple[np.ndarray, dict]:
    """Indices kept: every window with a label, plus ``ratio`` x as many empty ones per split."""
    has = labels.any(axis=1)
    if ratio is None:
        return np.arange(len(labels)), {s: 0 for s in SPLITS}
    keep = [np.flatnonzero(has)]
    dropped = {}
    for k, s in enumerate(SPLITS):
        empty = np.flatnonzero(~has & (split == k))
        want = min(len(empty), int(round(ratio * int((has & (split == k)).sum()))))
        keep.append(np.sort(rng.choice(empty, size=want, replace=False)))
        dropped[s] = len(empty) - want
    return np.sort(np.concatenate(keep)), dropped


def from_peaks(
    genome: str | os.PathLike | GenomeCache,
    peak_files: Sequence[str | os.PathLike],
    *,
    regions: str | os.PathLike | None = None,
    seq_len: int = 1000,
    stride: int | None = None,
    valid_chroms: Sequence[str],
    test_chroms: Sequence[str],
    exclude: str | os.PathLike | None = None,
    max_n_frac: float = 0.1,
    label_center: int = 200,
    min_overlap: float = 0.5,
    peak_name_col: int | None = None,
    negatives_per_positive: float | None = 1.0,
    unknown_chroms: str = "error",
    rc_augment: bool = False,
    max_shift: int = 0,
    seed: int = 0,
    name: str | None = None,
    verbose: bool = True,
) -> TaskData:
    """A multi-label task from a genome and peak files (rules: module docstring).

    Args:
        genome: FASTA (plain, gzip, bgzip; converted once into the code cache) or a GenomeCache.
        peak_files: BED / narrowPeak files, one label each (or see ``peak_name_col``).
        regions: BED of regions to centre windows on; None: tile every chromosome.
        seq_len: window length. stride: tiling step (default ``label_center``).
        valid_chroms, test_chroms: held-out chromosomes (aliases such as ``chrI`` accepted).
        exclude: blacklist BED; windows overlapping it are dropped.
        max_n_frac: windows with a larger fraction of N are dropped.
        label_center, min_overlap: the label rule.
        peak_name_col: 1-based column naming each peak's label (e.g. 4).
        negatives_per_positive: empty windows kept per labelled window when tiling (None: all).
        unknown_chroms: ``"error"`` or ``"drop"`` for peak chromosomes absent from the genome.
        rc_augment, max_shift: training augmentation of ``train_augmented`` (real flanking bases).
        seed: seed of the negative subsampling.
        name: task name (default: the first peak file's name).
        verbose: print the one-line alias message and a short build report to stderr.

    Returns:
        :class:`TaskData` (``multilabel``, or ``binary`` with one label) of
        :class:`~regzoo.data.streaming.WindowDataset` splits, with a ``summary``.
    """
    cache = genome if isinstance(genome, GenomeCache) else GenomeCache(build_genome_cache(genome))
    stride = int(stride or label_center)
    peaks, label_names = read_peak_files(peak_files, peak_name_col)
    source = ", ".join(Path(p).name for p in peak_files[:3]) + (
        f" (+{len(peak_files) - 3} files)" if len(peak_files) > 3 else ""
    )
    peaks, chrom_message, peak_rows_dropped = rename_chroms(
        peaks, cache.names, source, unknown_chroms
    )
    messages = [m for m in [chrom_message] if m]
    dropped: dict[str, int] = {"peaks_on_unknown_chroms": peak_rows_dropped}
    size = peaks["chrom"].map(cache.chrom_sizes).to_numpy()
    beyond = peaks["start"].to_numpy() >= size  # can label no window: dropped, counted
    past = (peaks["end"].to_numpy() > size) & ~beyond
    dropped["peaks_beyond_chrom_end"] = int(beyond.sum())
    if beyond.any() or past.any():
        first = peaks[beyond | past].iloc[0]
        messages.append(
            f"{source}: {int(beyond.sum())} peaks start past their chromosome's end (dropped) and "
            f"{int(past.sum())} run past it (kept), e.g. {first['chrom']}:{first['start']}-"
            f"{first['end']} (length {cache.chrom_sizes[first['chrom']]}); is the genome the "
            "assembly the peaks were called on?"
        )
        peaks = peaks[~beyond]
    no_peaks = [c for c in cache.names if c not in set(peaks["chrom"])]
    if no_peaks:
        messages.append(
            f"{len(no_peaks)} genome chromosomes have no peak in any file (all their windows are "
            f"unlabelled): {', '.join(no_peaks[:6])}{', ...' if len(no_peaks) > 6 else ''}"
        )

    if regions is not None:
        windows, info = read_regions(regions, cache, seq_len, unknown_chroms)
        dropped["regions_duplicate"] = info["duplicates"]
        dropped["regions_on_unknown_chroms"] = info["unknown_chrom_rows"]
        messages += [info["chrom_message"]] if info["chrom_message"] else []
        window_rule = f"{seq_len} bp centred on each region of {Path(regions).name}"
    else:
        windows = tile_windows(cache.chrom_sizes, seq_len, stride)
        window_rule = f"{seq_len} bp tiled every {stride} bp over every chromosome, from 0"
    n_windows = len(windows)
    if exclude is not None:
        windows, n_ex, ex_message = exclude_windows(windows, exclude, cache.names)
        dropped["excluded"] = n_ex
        messages += [ex_message] if ex_message else []
    windows, dropped["too_many_n"] = drop_n_windows(windows, cache, max_n_frac)
    split, split_info = split_by_chroms(windows, valid_chroms, test_chroms, cache.names)
    labels = label_windows(windows, peaks, len(label_names), label_center, min_overlap)
    rng = np.random.default_rng(seed)
    ratio = None if regions is not None else negatives_per_positive
    keep, neg_dropped = _subsample_negatives(labels, split, ratio, rng)
    dropped["empty_windows_subsampled"] = int(sum(neg_dropped.values()))
    windows, labels, split = windows.iloc[keep].reset_index(drop=True), labels[keep], split[keep]

    task_type = "binary" if len(label_names) == 1 else "multilabel"
    chrom_idx = windows["chrom"].map({c: i for i, c in enumerate(cache.names)}).to_numpy()
    starts = windows["start"].to_numpy()
    parts = []
    for k in range(3):
        m = split == k
        parts.append(WindowDataset(cache, chrom_idx[m], starts[m], seq_len, labels=labels[m]))
    positives = {
        s: {n: int(v) for n, v in zip(label_names, labels[split == k].sum(0), strict=True)}
        for k, s in enumerate(SPLITS)
    }
    summary = {
        "sources": {
            "genome": cache.source["path"],
            "peaks": peaks.attrs.get("sources", [str(p) for p in peak_files]),
            "regions": str(regions) if regions is not None else None,
            "exclude": str(exclude) if exclude is not None else None,
        },
        "genome_cache": str(cache.path),
        "task_type": task_type,
        "label_names": label_names,
        "seq_len": seq_len,
        "seed": seed,
        "window_rule": window_rule,
        "windows_before_filters": n_windows,
        "label_rule": (
            f"label j = 1 where a peak of j overlaps the central {label_center} bp by at least "
            f"{min_overlap} x min(peak length, {label_center}) bp (DeepSEA)"
        ),
        "label_source": (
            f"one label per distinct value of column {peak_name_col}"
            if peak_name_col
            else "one label per file (file stem)"
        ),
        "negatives_rule": (
            "all windows kept (regions given)"
            if regions is not None
            else "all windows kept"
            if negatives_per_positive is None
            else f"windows with >= 1 label all kept; {negatives_per_positive} x as many windows "
            f"without a label drawn at random per split (seed {seed})"
        ),
        "chrom_names": "; ".join(messages),
        "chroms_without_peaks": no_peaks,
        "split_rule": "by chromosome",
        **split_info,
        "sizes": {s: int((split == k).sum()) for k, s in enumerate(SPLITS)},
        "windows_with_a_label": {
            s: int(labels[split == k].any(1).sum()) for k, s in enumerate(SPLITS)
        },
        "class_balance": {
            s: class_balance(labels[split == k], task_type, label_names)
            for k, s in enumerate(SPLITS)
        },
        "positives_per_label": positives,
        "peaks_per_file": peaks.attrs.get("per_file", {}),
        "dropped": dropped,
        "max_n_frac": max_n_frac,
        "augmentation": {"rc": rc_augment, "max_shift": max_shift},
    }
    if verbose:
        for m in messages:
            print(f"regzoo: {m}", file=sys.stderr)
        print(
            f"regzoo: {len(label_names)} labels, windows train/valid/test "
            f"{summary['sizes']['train']}/{summary['sizes']['valid']}/{summary['sizes']['test']}; "
            f"negatives: {summary['negatives_rule']}; dropped "
            + ", ".join(f"{k} {v}" for k, v in dropped.items()),
            file=sys.stderr,
        )
    return TaskData(
        name=name or Path(peak_files[0]).name,
        task_type=task_type,
        label_names=label_names,
        seq_len=seq_len,
        train=parts[0],
        valid=parts[1],
        test=parts[2],
        summary=summary,
        train_augmented=parts[0].augmented(rc_augment=rc_augment, max_shift=max_shift),
    )
