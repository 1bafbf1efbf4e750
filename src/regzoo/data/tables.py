"""Labelled sequences from tables (CSV / TSV) and FASTA files.

Formats read by :func:`read_table`:

- **CSV / TSV** (optionally ``.gz``): a header row, a sequence column (``seq_col``), one or more
  numeric label columns. The delimiter comes from the extension (``.csv`` comma; ``.tsv``, ``.tab``,
  ``.txt`` tab) or else is sniffed from the header line. By default every column except the
  sequence column and an optional ``name`` / ``id`` column is a label.
- **FASTA with labels** (``.fa``, ``.fasta``, ``.fna``, ``.fas``, optionally ``.gz``, or any file
  whose first character is ``>``): labels are ``key=value`` pairs after the record id, e.g.
  ``>seq1 bound=1 accessible=0``; the keys name the label columns. Every record must carry the
  same keys. Sequences may span several lines.

Sequences of unequal length are brought to one ``seq_len`` by :func:`fit_sequences`, which
reports how many were cropped or padded.
"""

from __future__ import annotations

import csv
import gzip
import logging
import os
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from regzoo.data.encode import encode, fit_length
from regzoo.errors import InputError, option

log = logging.getLogger(__name__)

FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fas")
ID_COLUMNS = ("name", "id")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return Path(name).suffix


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _open_text(path: Path):
    return gzip.open(path, "rt") if _is_gzip(path) else open(path)


def _readable(path: Path, line: Callable[[], int]):
    """Undecodable bytes or a damaged gzip stream -> :class:`InputError` naming file and line."""
    from regzoo.data.intervals import unreadable_as_error

    return unreadable_as_error(path, line, "a text table or FASTA")


def _first_char(path: Path) -> str:
    with _open_text(path) as fh, _readable(path, lambda: 1):
        for line in fh:
            if line.strip():
                return line.lstrip()[0]
    return ""


MISSING_TOKENS = ("", "NA", "N/A", "NaN", "nan", "null", "None", ".")


def read_table(
    path: str | os.PathLike,
    seq_col: str = "sequence",
    label_cols: list[str] | None = None,
    keep_cols: Sequence[str] = (),
) -> pd.DataFrame:
    """Read labelled sequences from a CSV, TSV or FASTA-with-labels file.

    Args:
        path: the file (see the module docstring for the formats).
        seq_col: name of the sequence column (tables only; FASTA sequences are always ``seq_col``).
        label_cols: label column names; default every column but ``seq_col``, ``name``/``id``
            and ``keep_cols``.
        keep_cols: columns kept as text, not labels (e.g. a split column).

    Returns:
        DataFrame with columns ``name`` (row or record id), ``seq_col`` (str), then the labels
        (float32), one row per sequence. ``df.attrs`` holds ``source``, ``label_cols`` and
        ``seq_col`` and ``row_kind`` (``"line"`` for tables, ``"record"`` for FASTA: what the
        index counts).

    Raises:
        InputError: missing file or column (the message lists the available columns), no label
            column, empty or invalid sequence (names the row or record), non-numeric label (names
            file, row and column).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    if _suffix(path) in FASTA_SUFFIXES or _first_char(path) == ">":
        df, where = _read_labelled_fasta(path, seq_col), "record"
        id_col = "name"
    else:
        df, where = _read_delimited(path), "line"
        id_col = next((c for c in df.columns if c.lower() in ID_COLUMNS), None)
        if seq_col not in df.columns:
            raise InputError(
                f"{path}: no column {seq_col!r}; available columns: {', '.join(df.columns)}"
            )
    for col in keep_cols:
        if col not in df.columns:
            raise InputError(
                f"{path}: no column {col!r}; available columns: {', '.join(df.columns)}"
            )
    picked = label_cols is None
    if label_cols is None:
        label_cols = [c for c in df.columns if c not in (seq_col, id_col, *keep_cols)]
    else:
        for col in label_cols:
            if col not in df.columns:
                raise InputError(
                    f"{path}: no column {col!r}; available columns: {', '.join(df.columns)}"
                )
    if not label_cols:
        hint = ""
        if where == "record" and df["name"].astype(str).str.contains("|", regex=False).any():
            hint = (
                f" (a header such as '>{df['name'].iloc[0]}' is not read as labels: labels go "
                "after the id as key=value pairs, e.g. '>seq1 label=1')"
            )
        raise InputError(
            f"{path}: no label column; expected one or more numeric columns besides "
            f"{seq_col!r}{hint}"
        )
    empty = df[seq_col].str.strip() == ""
    if empty.any():
        raise InputError(f"{path}: {where} {int(df.index[empty][0])}: empty sequence")
    out = pd.DataFrame(index=df.index)
    out["name"] = df[id_col] if id_col else [f"{where}{i}" for i in df.index]
    out[seq_col] = df[seq_col].str.strip()
    for col in keep_cols:
        out[col] = df[col].astype(str).str.strip()
    for col in label_cols:
        text = df[col].astype(str).str.strip()
        missing = text.isin(MISSING_TOKENS)
        values = pd.to_numeric(text.where(~missing), errors="coerce")
        bad = values.isna() & ~missing
        if bad.any():
            row = int(df.index[bad][0])
            if picked and bad.mean() > 0.5:
                raise InputError(
                    f"{path}: column {col!r} holds text ({df.loc[row, col]!r} at {where} {row}), "
                    f"not labels; choose the label columns with {option('label_cols', 'a,b')}"
                )
            raise InputError(
                f"{path}: {where} {row}, column {col!r}: {df.loc[row, col]!r} is not a number "
                f"(missing values may be written NA or left empty)"
            )
        out[col] = values.astype(np.float32)
    out.attrs.update(source=str(path), label_cols=list(label_cols), seq_col=seq_col, row_kind=where)
    return out


def _read_delimited(path: Path) -> pd.DataFrame:
    """CSV/TSV as strings; index = line number in the file (header = line 1)."""
    suffix = _suffix(path)
    if suffix == ".csv":
        sep = ","
    elif suffix in (".tsv", ".tab", ".txt"):
        sep = "\t"
    else:
        with _open_text(path) as fh, _readable(path, lambda: 1):
            head = fh.readline()
        try:
            sep = csv.Sniffer().sniff(head, delimiters=",\t;").delimiter
        except csv.Error as err:
            raise InputError(
                f"{path}: cannot tell the delimiter; use a .csv or .tsv extension"
            ) from err
    try:
        with warnings.catch_warnings():
            # a row with more fields than the header: pandas would drop the extra fields
            warnings.simplefilter("error", pd.errors.ParserWarning)
            with _open_text(path) as fh:  # Python's gzip: a truncated stream is an error
                df = pd.read_csv(
                    fh,
                    sep=sep,
                    dtype=str,
                    keep_default_na=False,
                    skip_blank_lines=True,
                    index_col=False,
                )
    except pd.errors.ParserWarning:
        raise InputError(
            f"{path}: line {_long_row(path, sep)}: more fields than the header's; every row "
            "needs one field per column"
        ) from None
    except UnicodeDecodeError as err:
        with _readable(path, lambda: 0):
            raise err
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        detail = " ".join(str(err).split())  # pandas' messages end with a newline
        raise InputError(f"{path}: cannot read as a table ({detail})") from None
    except (EOFError, OSError) as err:
        raise InputError(f"{path}: cannot read ({err}); the file is damaged or truncated") from None
    if df.empty:
        raise InputError(f"{path}: a header but no rows; expected one row per sequence")
    _check_unique_header(path, sep)
    df.columns = [str(c).strip() for c in df.columns]
    df.index = df.index + 2
    return df


def _check_unique_header(path: Path, sep: str) -> None:
    """Refuse a header that names a column twice (pandas would rename the second ``name.1``)."""
    with _open_text(path) as fh:
        for header in csv.reader(fh, delimiter=sep):
            if header:
                break
        else:
            return
    seen: dict[str, int] = {}
    for name in (h.strip() for h in header):
        seen[name] = seen.get(name, 0) + 1
    twice = [f"{name!r} ({n} times)" for name, n in seen.items() if n > 1]
    if twice:
        raise InputError(
            f"{path}: line 1: the header names a column more than once: {', '.join(twice)}; "
            "column names must be unique"
        )


def _long_row(path: Path, sep: str) -> int:
    """Line number of the first row with more fields than the header (0 if none)."""
    with _open_text(path) as fh:
        rows = csv.reader(fh, delimiter=sep)
        width = None
        for row in rows:
            if not row:
                continue
            if width is None:
                width = len(row)
            elif len(row) > width:
                return rows.line_num
    return 0


def _read_labelled_fasta(path: Path, seq_col: str) -> pd.DataFrame:
    """FASTA with ``key=value`` labels in the headers; index = record number (1-based)."""
    records: list[dict] = []
    keys: list[str] | None = None
    chunks: list[str] = []
    lineno = 0
    with _open_text(path) as fh, _readable(path, lambda: lineno + 1):
        for lineno, line in enumerate(fh, start=1):
            text = line.strip()
            if not text:
                continue
            if text.startswith(">"):
                if records:
                    records[-1][seq_col] = "".join(chunks)
                chunks = []
                fields = text[1:].split()
                if not fields:
                    raise InputError(f"{path}:{lineno}: record {len(records) + 1} has no id")
                rec = {"name": fields[0]}
                for field in fields[1:]:
                    key, sep, value = field.partition("=")
                    if not sep or not key:
                        raise InputError(
                            f"{path}:{lineno}: record {fields[0]!r}: header field {field!r} is "
                            "not key=value; expected e.g. '>seq1 label=1'"
                        )
                    rec[key] = value
                rec_keys = [k for k in rec if k != "name"]
                if keys is None:
                    keys = rec_keys
                elif sorted(rec_keys) != sorted(keys):
                    raise InputError(
                        f"{path}:{lineno}: record {fields[0]!r} has labels {rec_keys} but the "
                        f"first record has {keys}; every record needs the same keys"
                    )
                records.append(rec)
            elif not records:
                raise InputError(f"{path}:{lineno}: sequence before the first '>' header")
            else:
                chunks.append(text)
    if not records:
        raise InputError(f"{path}: no FASTA record found")
    records[-1][seq_col] = "".join(chunks)
    df = pd.DataFrame(records, columns=["name", seq_col, *(keys or [])])
    df.index = df.index + 1
    return df


def default_seq_len(lengths: Sequence[int]) -> int:
    """The default common length: the most frequent length (the longest of several modes).

    The mode rather than the maximum, so that a few long outliers are cropped instead of padding
    every other sequence with N.
    """
    counts = Counter(int(n) for n in lengths)
    top = max(counts.values())
    return max(n for n, c in counts.items() if c == top)


def fit_sequences(
    seqs: Sequence[str],
    seq_len: int | None = None,
    source: str = "sequences",
    row_names: Sequence[str] | None = None,
) -> tuple[np.ndarray, dict]:
    """Encode sequences of any lengths into one ``(N, seq_len)`` code array.

    Each sequence goes through :func:`regzoo.data.encode.fit_length`: a longer one keeps its centre
    ``seq_len`` bases, a shorter one is centred and padded with N on both sides.

    Args:
        seqs: N DNA strings.
        seq_len: target length; default :func:`default_seq_len` of the lengths.
        source: name used in error and log messages (e.g. the file).
        row_names: how to call each sequence in an error (e.g. ``"line 7"``); default
            ``"sequence i"`` (1-based).

    Returns:
        codes ``uint8`` ``(N, seq_len)`` and a report ``{"seq_len", "n", "n_cropped",
        "n_padded", "bases_cropped", "bases_padded", "min_len", "max_len"}`` (also logged at
        INFO, or WARNING when anything was cropped or padded).
    """
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    if len(lengths) == 0:
        raise InputError(f"{source}: no sequences")
    if seq_len is None:
        seq_len = default_seq_len(lengths)
    if seq_len < 1:
        raise InputError(f"{source}: seq_len must be positive, got {seq_len}")
    codes = np.empty((len(seqs), seq_len), dtype=np.uint8)
    for i, seq in enumerate(seqs):
        where = row_names[i] if row_names is not None else f"sequence {i + 1}"
        codes[i] = fit_length(encode(seq, name=f"{source}: {where}"), seq_len)
    longer, shorter = lengths > seq_len, lengths < seq_len
    report = {
        "seq_len": int(seq_len),
        "n": len(lengths),
        "n_cropped": int(longer.sum()),
        "n_padded": int(shorter.sum()),
        "bases_cropped": int((lengths[longer] - seq_len).sum()),
        "bases_padded": int((seq_len - lengths[shorter]).sum()),
        "min_len": int(lengths.min()),
        "max_len": int(lengths.max()),
    }
    level = logging.WARNING if report["n_cropped"] or report["n_padded"] else logging.INFO
    log.log(
        level,
        "%s: %d sequences fitted to %d bp (centre crop / N-pad): %d cropped, %d padded",
        source,
        report["n"],
        seq_len,
        report["n_cropped"],
        report["n_padded"],
    )
    return codes, report


def read_fasta_records(path: str | os.PathLike) -> tuple[list[str], list[str]]:
    """Plain FASTA (headers free-form, sequences may span lines, optionally gzip).

    Returns:
        ``(names, sequences)``: the first word of each header, and the sequences.

    Raises:
        InputError: missing file, no ``>`` header, sequence before the first header, a record
            with an empty sequence (names file, line and record).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    names: list[str] = []
    seqs: list[list[str]] = []
    header_line: list[int] = []
    lineno = 0
    with _open_text(path) as fh, _readable(path, lambda: lineno + 1):
        for lineno, line in enumerate(fh, start=1):
            text = line.strip()
            if not text:
                continue
            if text.startswith(">"):
                fields = text[1:].split()
                names.append(fields[0] if fields else f"record{len(names) + 1}")
                seqs.append([])
                header_line.append(lineno)
            elif not names:
                raise InputError(
                    f"{path}:{lineno}: sequence before the first '>' header; expected FASTA"
                )
            else:
                seqs[-1].append(text)
    if not names:
        raise InputError(f"{path}: no FASTA record ('>' header) found")
    joined = ["".join(chunks) for chunks in seqs]
    for i, seq in enumerate(joined):
        if not seq:
            raise InputError(f"{path}:{header_line[i]}: record {names[i]!r} has an empty sequence")
    return names, joined


def read_sequences(
    path: str | os.PathLike, seq_col: str = "sequence"
) -> tuple[list[str], list[str]]:
    """Unlabelled sequences to score: a FASTA file, or a CSV/TSV with a ``seq_col`` column (and an
    optional ``name``/``id`` column).

    Returns:
        ``(names, sequences)``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    if _suffix(path) in FASTA_SUFFIXES or _first_char(path) == ">":
        return read_fasta_records(path)
    df = _read_delimited(path)
    if seq_col not in df.columns:
        raise InputError(
            f"{path}: no column {seq_col!r}; available columns: {', '.join(df.columns)}"
        )
    empty = df[seq_col].str.strip() == ""
    if empty.any():
        raise InputError(f"{path}: line {int(df.index[empty][0])}: empty sequence")
    id_col = next((c for c in df.columns if c.lower() in ID_COLUMNS), None)
    names = list(df[id_col]) if id_col else [f"line{i}" for i in df.index]
    return [str(n) for n in names], [s.strip() for s in df[seq_col]]
