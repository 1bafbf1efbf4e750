"""Windows over a genome: tiling, windows centred on regions, blacklists, N filter, splits.

A window table is a DataFrame with columns ``chrom`` (the genome's name), ``start``, ``end``
(0-based, half-open, all of one length) and optionally ``strand``. Every function that removes
windows returns how many it removed; callers put the counts in the task summary, so nothing is
dropped silently.

Interval files are read by :func:`read_intervals`, a strict BED reader: blank lines and lines
starting with ``track``, ``browser`` or ``#`` are skipped; every other line needs tab-separated
(whitespace when there is no tab) ``chrom, start, end`` with integer ``0 <= start < end``; a line
that is not (e.g. a header ``chrom start end`` without ``#``) is an error naming file, line and
what was expected. Files may be gzip-compressed.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from regzoo.data.cache import GenomeCache
from regzoo.data.chroms import match_chroms, rename_chroms
from regzoo.data.encode import N_CODE
from regzoo.data.intervals import unreadable_as_error
from regzoo.errors import InputError

_N_SCAN = 1 << 24  # bases scanned per step when finding runs of N
_INTEGER = re.compile(r"-?[0-9]{1,18}")  # a BED coordinate that fits in int64


def _open_text(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rt") if magic == b"\x1f\x8b" else open(path)


def read_intervals(
    path: str | os.PathLike, name_col: int | None = None, what: str = "BED"
) -> pd.DataFrame:
    """Read ``chrom, start, end`` (and optionally one name column) of a BED-like file.

    Args:
        path: BED, narrowPeak or broadPeak file (plain or gzip).
        name_col: 1-based column to keep as ``name`` (e.g. 4 for a TF-sites file); None: none.
        what: the file kind, for messages.

    Returns:
        DataFrame ``chrom`` (str), ``start``, ``end`` (int64)[, ``name`` (str)], index = line number.

    Raises:
        InputError: missing file, no interval, a line with fewer than 3 (or ``name_col``) fields,
            non-integer coordinates, ``start < 0`` or ``start >= end`` (names file and line).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {what} file not found")
    need = max(3, name_col or 0)
    chroms, starts, ends, names, lines, lineno = [], [], [], [], [], 0
    with _open_text(path) as fh, unreadable_as_error(path, lambda: lineno + 1):
        for lineno, line in enumerate(fh, start=1):
            text = line.rstrip("\r\n")
            if not text.strip() or text.startswith(("#", "track", "browser")):
                continue
            fields = text.split("\t") if "\t" in text else text.split()
            if len(fields) < need:
                raise InputError(
                    f"{path}:{lineno}: {len(fields)} fields; expected at least {need} "
                    f"tab-separated fields (chrom, start, end{', ...' if need > 3 else ''})"
                )
            try:
                if not (_INTEGER.fullmatch(fields[1]) and _INTEGER.fullmatch(fields[2])):
                    raise ValueError
                start, end = int(fields[1]), int(fields[2])
            except ValueError:
                raise InputError(
                    f"{path}:{lineno}: {text[:60]!r} is not an interval; expected tab-separated "
                    "chrom, start, end with integer start and end (header lines must start with "
                    "'#', 'track' or 'browser')"
                ) from None
            if start < 0 or start >= end:
                raise InputError(
                    f"{path}:{lineno}: start {start}, end {end}; expected 0 <= start < end"
                )
            chroms.append(fields[0])
            starts.append(start)
            ends.append(end)
            lines.append(lineno)
            if name_col:
                names.append(fields[name_col - 1])
    if not chroms:
        raise InputError(f"{path}: no intervals found; expected tab-separated chrom, start, end")
    df = pd.DataFrame(
        {
            "chrom": np.asarray(chroms, dtype=object),
            "start": np.asarray(starts, dtype=np.int64),
            "end": np.asarray(ends, dtype=np.int64),
        },
        index=pd.Index(lines, name="line"),
    )
    if name_col:
        df["name"] = names
    df.attrs["source"] = str(path)
    return df


def tile_windows(
    chrom_sizes: dict[str, int],
    seq_len: int,
    stride: int,
    chroms: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Windows of ``seq_len`` every ``stride`` bp, starting at 0, wholly inside each chromosome.

    Returns:
        DataFrame ``chrom, start, end`` in chromosome then position order (a chromosome shorter than
        ``seq_len`` gets none).
    """
    if seq_len < 1 or stride < 1:
        raise InputError(f"seq_len={seq_len}, stride={stride}; both must be >= 1")
    names = list(chrom_sizes) if chroms is None else list(chroms)
    parts = []
    for chrom in names:
        if chrom not in chrom_sizes:
            raise InputError(f"tile_windows: unknown chromosome {chrom!r}")
        starts = np.arange(0, chrom_sizes[chrom] - seq_len + 1, stride, dtype=np.int64)
        parts.append(pd.DataFrame({"chrom": chrom, "start": starts, "end": starts + seq_len}))
    if not parts:
        return pd.DataFrame({"chrom": [], "start": [], "end": []}).astype(
            {"start": np.int64, "end": np.int64}
        )
    return pd.concat(parts, ignore_index=True)


def read_regions(
    bed: str | os.PathLike, genome_cache: GenomeCache, seq_len: int, unknown: str = "error"
) -> tuple[pd.DataFrame, dict]:
    """Windows of ``seq_len`` centred on each region of a BED file.

    Rule: centre ``c = (start + end) // 2``, window ``[c - seq_len // 2, c - seq_len // 2 +
    seq_len)``; windows may run past a chromosome end (those bases read as N and count towards the
    N filter, :func:`drop_n_windows`). Chromosome names are matched with
    :func:`~regzoo.data.chroms.match_chroms`.

    Returns:
        ``(windows, info)``: DataFrame ``chrom, start, end`` (duplicate windows kept once) and
        ``{"regions", "duplicates", "chrom_message", "unknown_chrom_rows"}``.
    """
    df = read_intervals(bed, what="regions BED")
    df, message, n_unknown = rename_chroms(df, genome_cache.names, Path(bed).name, unknown)
    centre = (df["start"].to_numpy() + df["end"].to_numpy()) // 2
    start = centre - seq_len // 2
    out = pd.DataFrame({"chrom": df["chrom"].to_numpy(), "start": start, "end": start + seq_len})
    n = len(out)
    out = out.drop_duplicates(ignore_index=True)
    info = {
        "regions": n + n_unknown,
        "duplicates": n - len(out),
        "chrom_message": message,
        "unknown_chrom_rows": n_unknown,
    }
    return out, info


def merge_intervals(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted, non-overlapping union of intervals ``[starts, ends)`` (one chromosome)."""
    if len(starts) == 0:
        return starts, ends
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], ends[order]
    run_end = np.maximum.accumulate(e)
    new = np.ones(len(s), dtype=bool)
    new[1:] = s[1:] > run_end[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:], len(s)) - 1
    return s[first], run_end[last]


def overlaps_any(
    starts: np.ndarray, ends: np.ndarray, set_starts: np.ndarray, set_ends: np.ndarray
) -> np.ndarray:
    """Whether each ``[start, end)`` overlaps any interval of a set (one chromosome). ``(N,)`` bool."""
    if len(set_starts) == 0:
        return np.zeros(len(starts), dtype=bool)
    ms, me = merge_intervals(np.asarray(set_starts), np.asarray(set_ends))
    j = np.searchsorted(ms, ends, side="left") - 1  # last merged interval starting before end
    return (j >= 0) & (me[np.maximum(j, 0)] > starts)


def exclude_windows(
    df: pd.DataFrame, exclude_bed: str | os.PathLike, genome_names: Iterable[str]
) -> tuple[pd.DataFrame, int, str]:
    """Drop windows that overlap any interval of a blacklist BED by at least 1 bp.

    Returns:
        ``(kept windows, n_dropped, chrom_message)``. Blacklist chromosomes the genome lacks are
        ignored (they cannot overlap a window) and named in the message.
    """
    bl = read_intervals(exclude_bed, what="exclude BED")
    bl, message, _ = rename_chroms(bl, list(genome_names), Path(exclude_bed).name, "drop")
    hit = np.zeros(len(df), dtype=bool)
    for chrom, rows in df.groupby("chrom", sort=False).indices.items():
        b = bl[bl["chrom"] == chrom]
        hit[rows] = overlaps_any(
            df["start"].to_numpy()[rows],
            df["end"].to_numpy()[rows],
            b["start"].to_numpy(),
            b["end"].to_numpy(),
        )
    return df[~hit].reset_index(drop=True), int(hit.sum()), message


def n_runs(cache: GenomeCache, chrom: str) -> tuple[np.ndarray, np.ndarray]:
    """Runs of N in a chromosome: ``(starts, ends)``, sorted, maximal, 0-based half-open."""
    codes = cache.chrom_codes(chrom)
    size = len(codes)
    starts, ends = [], []
    for lo in range(0, size, _N_SCAN):
        is_n = np.asarray(codes[lo : lo + _N_SCAN]) == N_CODE
        if not is_n.any():
            continue
        edges = np.flatnonzero(np.diff(np.concatenate([[False], is_n, [False]]).astype(np.int8)))
        starts.append(edges[0::2] + lo)
        ends.append(edges[1::2] + lo)
    if not starts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    s, e = np.concatenate(starts), np.concatenate(ends)
    return merge_intervals(s, e)  # joins runs cut at a scan boundary


def n_counts(cache: GenomeCache, df: pd.DataFrame) -> np.ndarray:
    """Number of N bases in each window, positions outside the chromosome counted as N. ``(N,)``."""
    out = np.zeros(len(df), dtype=np.int64)
    for chrom, rows in df.groupby("chrom", sort=False).indices.items():
        size = cache.chrom_sizes[chrom]
        s = df["start"].to_numpy()[rows]
        e = df["end"].to_numpy()[rows]
        lo, hi = np.clip(s, 0, size), np.clip(e, 0, size)
        rs, re_ = n_runs(cache, chrom)
        cum = np.concatenate([[0], np.cumsum(re_ - rs)])

        def upto(x, rs=rs, re_=re_, cum=cum):  # N bases in [0, x)
            j = np.searchsorted(rs, x, side="right") - 1
            jj = np.maximum(j, 0)
            part = np.clip(x - rs[jj], 0, (re_ - rs)[jj]) if len(rs) else 0
            return np.where(j >= 0, cum[jj] + part, 0)

        outside = (e - s) - np.maximum(hi - lo, 0)
        out[rows] = outside + np.where(hi > lo, upto(hi) - upto(lo), 0)
    return out


def drop_n_windows(
    df: pd.DataFrame, cache: GenomeCache, max_n_frac: float
) -> tuple[pd.DataFrame, int]:
    """Drop windows whose fraction of N (positions past a chromosome end included) exceeds
    ``max_n_frac``. Returns ``(kept windows, n_dropped)``."""
    if len(df) == 0:
        return df, 0
    frac = n_counts(cache, df) / (df["end"] - df["start"]).to_numpy()
    bad = frac > max_n_frac
    return df[~bad].reset_index(drop=True), int(bad.sum())


def split_by_chroms(
    df: pd.DataFrame,
    valid_chroms: Iterable[str],
    test_chroms: Iterable[str],
    genome_names: Iterable[str],
) -> tuple[np.ndarray, dict]:
    """Split index per window: 0 train, 1 valid, 2 test, by chromosome.

    The chromosome lists may use aliases of the genome's names (``chrI`` for ``I``); they are
    mapped with :func:`~regzoo.data.chroms.match_chroms` (an unknown name is an error).

    Returns:
        ``(split int8 (N,), {"valid_chroms", "test_chroms"})`` with the genome's names.

    Raises:
        InputError: a chromosome in both lists, an unknown name, no window on a named chromosome, or
            no training window left.
    """
    genome_names = list(genome_names)
    valid, test = list(valid_chroms), list(test_chroms)
    vmap, _ = match_chroms(valid, genome_names, "valid_chroms")
    tmap, _ = match_chroms(test, genome_names, "test_chroms")
    valid, test = [vmap[c] for c in valid], [tmap[c] for c in test]
    both = sorted(set(valid) & set(test))
    if both:
        raise InputError(f"chromosome {both[0]!r} is in both valid_chroms and test_chroms")
    present = set(df["chrom"])
    for chrom in valid + test:
        if chrom not in present:
            raise InputError(
                f"split chromosome {chrom!r} has no window; the windows' chromosomes: "
                f"{', '.join(sorted(present)[:10])}"
            )
    split = np.zeros(len(df), dtype=np.int8)
    split[df["chrom"].isin(valid).to_numpy()] = 1
    split[df["chrom"].isin(test).to_numpy()] = 2
    if not (split == 0).any():
        raise InputError("every window is in valid or test; leave some chromosomes for training")
    return split, {"valid_chroms": valid, "test_chroms": test}
