"""Genomic intervals: BED files and chromosome splits.

BED rules used by :func:`read_bed`:

- Coordinates are 0-based, half-open (as in the BED format itself); ``start <= end``.
- Fields are tab-separated (whitespace when a line has no tab). Blank lines and lines starting with
  ``track``, ``browser`` or ``#`` are skipped.
- Columns 1-3 are ``chrom, start, end``; columns 4-6, when present, are ``name, score, strand``
  (standard BED6; ``strand`` is ``+``, ``-`` or ``.``). Columns 7 and later are **labels**.
- Label names: when the last ``#`` line before the first interval has as many fields as the data
  (e.g. ``#chrom  start  end  name  score  strand  CTCF  DNase``), its names 7+ name the labels;
  otherwise they are named by position, ``col7``, ``col8``, ... (1-based column numbers).
- Every line has the same number of fields. Label columns must be numeric.
- Chromosome names are checked against the genome when one is given. A name the genome does not
  have is an error (the message shows examples of both naming styles, e.g. ``chr1`` vs ``1`` or
  ``NC_003070.9``); nothing is ever dropped silently.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from regzoo.data.genome import Genome, _example_names, chrom_mismatch_hint
from regzoo.errors import InputError, option

BED_NAMES = ["chrom", "start", "end", "name", "score", "strand"]


def _open_text(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt")
    return open(path)


def undecodable_line(path: Path) -> tuple[int, int]:
    """``(line, byte)``: where the first byte that is not UTF-8 text lies in ``path`` (plain or
    gzip), ``(0, 0)`` if there is none (read again in chunks, so only on the error path)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    with (gzip.open if gz else open)(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as err:  # err.object = pending bytes (no newline) + chunk
                return line + err.object[: err.start].count(b"\n"), err.object[err.start]
            line += chunk.count(b"\n")
    return 0, 0


@contextlib.contextmanager
def unreadable_as_error(
    path: Path, line: Callable[[], int], expected: str = "a tab-separated text file"
):
    """Turn a text file that cannot be decoded or decompressed into an :class:`InputError`
    naming the file and the line (``line()``: the line being read, for a damaged gzip stream)."""
    try:
        yield
    except UnicodeDecodeError as err:
        try:
            where, byte = undecodable_line(path)
        except (EOFError, OSError):
            where, byte = line(), err.object[err.start]
        raise InputError(
            f"{path}:{where}: byte {byte:#04x} is not text; expected {expected}"
        ) from None
    except (EOFError, OSError) as err:  # gzip.BadGzipFile is an OSError
        raise InputError(
            f"{path}:{line()}: cannot read ({err}); the file is damaged or truncated"
        ) from None


def _chrom_sizes(genome) -> dict[str, int]:
    if genome is None:
        return {}
    if isinstance(genome, Genome):
        return genome.chrom_sizes
    if isinstance(genome, dict):
        return genome
    return Genome(genome).chrom_sizes


def read_bed(
    path: str | os.PathLike,
    genome: Genome | str | os.PathLike | dict[str, int] | None = None,
    label_cols: list[str] | None = None,
    unknown_chroms: str = "error",
) -> pd.DataFrame:
    """Read a BED file (3 to 6 standard columns, then any number of label columns).

    Args:
        path: BED file, plain or gzip.
        genome: a :class:`Genome`, a FASTA path or a ``{chrom: size}`` dict to check names and
            ends against; no check when None.
        label_cols: which columns are labels (names as in the returned frame, e.g. ``["col7"]`` or
            ``["score"]``); default all columns from the 7th on.
        unknown_chroms: ``"error"`` (default) or ``"drop"``: drop intervals on chromosomes the
            genome lacks, with a warning that counts them.

    Returns:
        DataFrame with ``chrom`` (str), ``start``, ``end`` (int64), then ``name``, ``score``,
        ``strand`` when present, then the label columns (float32), one row per interval in file
        order, index = line number. ``df.attrs`` holds ``source`` and ``label_cols``.

    Raises:
        InputError: a missing file, no intervals, unequal field counts, non-integer coordinates,
            negative start, start > end, end past the chromosome, unknown chromosome, bad strand,
            non-numeric label (message names file and line).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: BED file not found")
    rows, lines, header, lineno = [], [], None, 0
    with _open_text(path) as fh, unreadable_as_error(path, lambda: lineno + 1):
        for lineno, line in enumerate(fh, start=1):
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            if text.startswith(("track", "browser")):
                continue
            if text.startswith("#"):
                if not rows:
                    header = text.lstrip("#").strip()
                continue
            fields = text.split("\t") if "\t" in text else text.split()
            if rows and len(fields) != len(rows[0]):
                raise InputError(
                    f"{path}:{lineno}: {len(fields)} fields but the first interval has "
                    f"{len(rows[0])}; every line needs the same number of columns"
                )
            rows.append(fields)
            lines.append(lineno)
    if not rows:
        raise InputError(f"{path}: no intervals found; expected tab-separated chrom, start, end")
    n_cols = len(rows[0])
    if n_cols < 3:
        raise InputError(f"{path}:{lines[0]}: {n_cols} fields; a BED line needs chrom, start, end")
    names = BED_NAMES[: min(n_cols, 6)]
    if n_cols > 6:
        head = (header.split("\t") if "\t" in header else header.split()) if header else []
        extra = head[6:] if len(head) == n_cols else [f"col{i + 1}" for i in range(6, n_cols)]
        names += extra
    df = pd.DataFrame(rows, columns=names, index=pd.Index(lines, name="line"))

    first = df.iloc[0]
    if not any(str(first[c]).lstrip("-").isdigit() for c in ("start", "end")):
        raise InputError(
            f"{path}:{int(df.index[0])}: {text_of(first)!r} looks like a header line; BED "
            "header lines start with '#' (or 'track' / 'browser'): add '#' in front of "
            "it (its column names then name the label columns)"
        )
    for col in ("start", "end"):
        ok = df[col].str.fullmatch(r"-?[0-9]{1,18}")
        if not ok.all():
            line = int(df.index[~ok][0])
            raise InputError(
                f"{path}:{line}: {col} {df.loc[line, col]!r} is not an integer "
                "(expected digits 0-9, at most 18)"
            )
        df[col] = df[col].astype(np.int64)
    _check_rows(path, df, df["start"] < 0, "start {start} is negative; BED starts are >= 0")
    _check_rows(path, df, df["start"] > df["end"], "start {start} is after end {end}")
    if "strand" in df:
        _check_rows(
            path, df, ~df["strand"].isin(["+", "-", "."]), "strand {strand!r}; expected +, - or ."
        )

    if label_cols is None:
        label_cols = names[6:]
    missing = [c for c in label_cols if c not in df.columns]
    if missing:
        raise InputError(
            f"{path}: no column {missing[0]!r}; available columns: {', '.join(df.columns)}"
        )
    for col in label_cols:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=np.float64))
        if bad.any():
            line = int(df.index[bad][0])
            raise InputError(
                f"{path}:{line}: label column {col!r} holds {df.loc[line, col]!r}; expected a "
                "finite number"
            )
        df[col] = values.astype(np.float32)

    sizes = _chrom_sizes(genome)
    if sizes:
        df = _check_chroms(path, df, sizes, genome, unknown_chroms)
    key = ["chrom", "start", "end"] + (["strand"] if "strand" in df else [])
    dup = df.duplicated(key)
    if dup.any():
        line = int(df.index[dup][0])
        first = int(df.index[df.duplicated(key, keep=False) & ~dup][0])
        warnings.warn(
            f"{path}:{line}: {int(dup.sum())} duplicate interval(s) (same {', '.join(key)}) "
            f"kept, e.g. line {line} repeats line {first} (df.attrs['duplicates'])",
            stacklevel=2,
        )
    df.attrs["duplicates"] = int(dup.sum())
    df.attrs["source"] = str(path)
    df.attrs["label_cols"] = list(label_cols)
    return df


def text_of(row: pd.Series) -> str:
    return "\t".join(str(v) for v in row.to_numpy())


def _check_rows(path: Path, df: pd.DataFrame, bad: pd.Series, message: str) -> None:
    if bad.any():
        line = int(df.index[bad][0])
        raise InputError(f"{path}:{line}: " + message.format(**df.loc[line].to_dict()))


def _check_chroms(path, df, sizes, genome, unknown_chroms) -> pd.DataFrame:
    known = df["chrom"].isin(list(sizes))
    if not known.all():
        bed_names = list(dict.fromkeys(df.loc[~known, "chrom"]))
        gname = getattr(genome, "source", "the genome")
        if unknown_chroms == "drop":
            warnings.warn(
                f"{path}: dropped {int((~known).sum())} intervals on {len(bed_names)} chromosomes "
                f"absent from {gname} (e.g. {_example_names(bed_names, 3)})",
                stacklevel=3,
            )
            df = df[known]
        else:
            line = int(df.index[~known][0])
            first = bed_names[0]
            raise InputError(
                f"{path}:{line}: chromosome {first!r} is not in {gname}"
                f"{chrom_mismatch_hint(first, list(sizes))}; BED names: "
                f"{_example_names(bed_names)}; genome names: {_example_names(list(sizes))} "
                f"(rename one side, or pass {option('unknown_chroms', 'drop')})"
            )
    limit = df["chrom"].map(sizes).astype(np.int64)
    past = df["end"] > limit
    if past.any():
        line = int(df.index[past][0])
        raise InputError(
            f"{path}:{line}: end {df.loc[line, 'end']} is past the end of "
            f"{df.loc[line, 'chrom']} (length {limit[line]})"
        )
    return df


def split_by_chrom(
    df: pd.DataFrame, valid_chroms: list[str], test_chroms: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split intervals by chromosome into ``(train, valid, test)``.

    ``valid`` holds the intervals on ``valid_chroms``, ``test`` those on ``test_chroms``, ``train``
    everything else, so the three frames are disjoint and no chromosome is in two of them.

    Raises:
        InputError: a chromosome named in both lists, or a named chromosome with no interval.
    """
    valid_chroms, test_chroms = list(valid_chroms), list(test_chroms)
    both = sorted(set(valid_chroms) & set(test_chroms))
    if both:
        raise InputError(f"chromosome {both[0]!r} is in both valid_chroms and test_chroms")
    present = list(dict.fromkeys(df["chrom"]))
    for chrom in valid_chroms + test_chroms:
        if chrom not in present:
            raise InputError(
                f"split chromosome {chrom!r} has no interval; the intervals' chromosomes: "
                f"{_example_names(present, 10)}"
            )
    in_valid = df["chrom"].isin(valid_chroms)
    in_test = df["chrom"].isin(test_chroms)
    return df[~in_valid & ~in_test], df[in_valid], df[in_test]


# -- contiguous blocks of a chromosome ---------------------------------------------------------

SPLITS = ("train", "valid", "test")


def chrom_blocks(
    size: int,
    valid_block: tuple[float, float] = (0.8, 0.9),
    test_block: tuple[float, float] = (0.9, 1.0),
    positions: np.ndarray | None = None,
) -> list[tuple[str, int, int]]:
    """Cut a chromosome of ``size`` bp into contiguous split regions.

    ``valid_block`` and ``test_block`` are fractions ``(lo, hi)``. Without ``positions`` they are
    fractions of the length: ``(0.8, 0.9)`` is ``[floor(0.8 * size), floor(0.9 * size))``. With
    ``positions`` (e.g. the TSSs of a chromosome, ``(n,)``) they are fractions of those positions, so
    each block holds about that share of them even where genes are unevenly spread: the edge for
    fraction ``f`` lies halfway between the sorted positions ``floor(f * n) - 1`` and
    ``floor(f * n)``; ``0`` and ``1`` are the chromosome ends. Everything else is train.

    Returns:
        ``[(split, start, end), ...]`` sorted by start, covering ``[0, size)`` without overlap.
    """
    for name, (lo, hi) in (("valid_block", valid_block), ("test_block", test_block)):
        if not 0 <= lo < hi <= 1:
            raise InputError(f"{name}={(lo, hi)}; expected two fractions 0 <= lo < hi <= 1")
    if max(valid_block[0], test_block[0]) < min(valid_block[1], test_block[1]):
        raise InputError(f"valid_block {valid_block} and test_block {test_block} overlap")

    def edge(f: float) -> int:
        if positions is None or len(positions) < 2 or f in (0, 1):
            return int(f * size)
        pos = np.sort(np.asarray(positions))
        i = min(max(int(f * len(pos)), 1), len(pos) - 1)
        return int((pos[i - 1] + pos[i] + 1) // 2)

    cuts = sorted(
        [
            ("valid", edge(valid_block[0]), edge(valid_block[1])),
            ("test", edge(test_block[0]), edge(test_block[1])),
        ],
        key=lambda r: r[1],
    )
    regions, pos = [], 0
    for split, lo, hi in cuts:
        if lo > pos:
            regions.append(("train", pos, lo))
        if hi > lo:
            regions.append((split, lo, hi))
        pos = max(pos, hi)
    if pos < size:
        regions.append(("train", pos, size))
    return regions


def assign_to_blocks(
    starts: np.ndarray, ends: np.ndarray, regions: list[tuple[str, int, int]]
) -> np.ndarray:
    """Split index (0 train, 1 valid, 2 test) of each window ``[start, end)``; -1 when it
    straddles a boundary between two regions (such windows must be dropped and counted).

    Shapes: ``starts``, ``ends`` ``(N,)`` -> ``int8`` ``(N,)``.
    """
    starts, ends = np.asarray(starts), np.asarray(ends)
    out = np.full(len(starts), -1, dtype=np.int8)
    for split, lo, hi in regions:
        inside = (starts >= lo) & (ends <= hi)
        out[inside] = SPLITS.index(split)
    return out


def choose_split_chroms(
    df: pd.DataFrame, valid_frac: float = 0.1, test_frac: float = 0.1, seed: int = 0
) -> tuple[list[str], list[str]]:
    """Pick held-out chromosomes for a split by chromosome.

    Rule: shuffle the chromosomes with ``seed``; give chromosomes to test until it holds at least
    ``test_frac`` of the intervals, then to valid until it holds ``valid_frac``; the rest is train.

    Returns:
        ``(valid_chroms, test_chroms)``.

    Raises:
        InputError: fewer than 3 chromosomes, or nothing left for training.
    """
    counts = df["chrom"].value_counts()
    chroms = sorted(counts.index)
    if len(chroms) < 3:
        raise InputError(f"only {len(chroms)} chromosomes; a split by chromosome needs 3 or more")
    order = list(np.random.default_rng(seed).permutation(chroms))
    total, test, valid = len(df), [], []
    while order and counts[test].sum() < test_frac * total:
        test.append(order.pop(0))
    while order and counts[valid].sum() < valid_frac * total:
        valid.append(order.pop(0))
    if not order or not test or not valid:
        raise InputError(
            f"cannot hold out {test_frac:.0%} / {valid_frac:.0%} of the intervals by chromosome and "
            "keep some for training; pass valid_chroms and test_chroms"
        )
    return valid, test
