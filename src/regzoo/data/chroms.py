"""Chromosome-name reconciliation between a file (BED, narrowPeak, bigWig) and a genome.

Real files disagree on names: UCSC writes ``chrI`` and ``chrM``, Ensembl ``I`` and ``Mito`` (or
``MT``). :func:`match_chroms` maps every name a file uses to the genome's name with one rule:

1. **exact**: a name the genome has is kept as it is;
2. **aliases**: otherwise both sides are reduced to a key (a leading ``chr``/``Chr``/``CHR`` removed;
   the mitochondrion's names ``M``, ``MT``, ``Mito``, ``mitochondrion`` made one) and the name maps to
   the genome name with the same key, when exactly one genome name has it. So ``chrI``<->``I``,
   ``chr1``<->``1``, ``chrM``/``MT``/``M``/``Mito``/``chrMito`` map onto each other. Roman and Arabic
   numerals are **not** aliases (``chr1`` never becomes ``I``): that would be a guess.
3. **nothing matched**: an :class:`~regzoo.errors.InputError` listing examples of both name lists,
   or, with ``unknown="drop"``, the names are left out of the mapping and the message says how many
   (the caller counts the rows it drops). Nothing is ever dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from regzoo.errors import InputError

MITO_NAMES = ("m", "mt", "mito", "mitochondrion", "mitochondria")


def _example_names(names: list[str], k: int = 5) -> str:
    shown = ", ".join(names[:k])
    return shown + (f", ... ({len(names)} in total)" if len(names) > k else "")


def alias_key(name: str) -> str:
    """The key two names share when they are aliases: ``chrI`` -> ``I``, ``chrM``/``MT`` -> ``M``."""
    key = name[3:] if name[:3].lower() == "chr" and len(name) > 3 else name
    if key.lower() in MITO_NAMES:
        return "M"
    return key


def match_chroms(
    file_names: Iterable[str],
    genome_names: Iterable[str],
    source: str,
    unknown: str = "error",
) -> tuple[dict[str, str], str]:
    """Map each chromosome name used in a file to the genome's name (rule: module docstring).

    Args:
        file_names: names used in the file (any order, repeats allowed).
        genome_names: the genome's record names.
        source: the file, for messages (e.g. ``"sites.bed"``).
        unknown: ``"error"`` (default): a name matching nothing raises; ``"drop"``: it is left out of
            the mapping and counted in the message.

    Returns:
        ``(mapping, message)``: ``mapping[file_name] = genome_name`` for every name that matched;
        ``message`` is one line saying which aliases were applied and which names were dropped,
        ``""`` when every name matched exactly.

    Raises:
        InputError: a name matching no genome name (with ``unknown="error"``), or ``unknown``
            not ``"error"``/``"drop"``.
    """
    if unknown not in ("error", "drop"):
        raise InputError(f"unknown={unknown!r}; expected 'error' or 'drop'")
    names = list(dict.fromkeys(str(n) for n in file_names))
    genome = list(dict.fromkeys(str(n) for n in genome_names))
    genome_set = set(genome)
    by_key: dict[str, list[str]] = {}
    for g in genome:
        by_key.setdefault(alias_key(g), []).append(g)

    mapping: dict[str, str] = {}
    aliased: list[tuple[str, str]] = []
    missing: list[str] = []
    for name in names:
        if name in genome_set:
            mapping[name] = name
            continue
        candidates = by_key.get(alias_key(name), [])
        if len(candidates) == 1:
            mapping[name] = candidates[0]
            aliased.append((name, candidates[0]))
        else:
            missing.append(name)

    if missing and unknown == "error":
        matched = f"; {len(mapping)} other names matched" if mapping else ""
        raise InputError(
            f"{source}: {len(missing)} chromosome names match no genome record (exactly or as a "
            f"chr/Mito alias): {_example_names(missing)}{matched}; genome names: "
            f"{_example_names(genome)}. Rename one side (Roman and Arabic numerals are not "
            "treated as aliases), or drop them explicitly (unknown='drop')"
        )
    parts = []
    if aliased:
        shown = ", ".join(f"{a}->{b}" for a, b in aliased[:6])
        more = ", ..." if len(aliased) > 6 else ""
        parts.append(
            f"mapped {len(aliased)} chromosome names of {source} to the genome's: {shown}{more}"
        )
    if missing:
        parts.append(
            f"dropped {len(missing)} chromosome names of {source} absent from the genome: "
            f"{_example_names(missing)}"
        )
    return mapping, "; ".join(parts)


def rename_chroms(
    df: pd.DataFrame,
    genome_names: Iterable[str],
    source: str,
    unknown: str = "error",
    col: str = "chrom",
) -> tuple[pd.DataFrame, str, int]:
    """Rename ``df[col]`` to the genome's names with :func:`match_chroms`.

    Returns:
        ``(df, message, n_dropped_rows)``: a renamed copy (rows on unmatched chromosomes removed
        when ``unknown="drop"``; their count is in the message and ``n_dropped_rows``).
    """
    mapping, message = match_chroms(df[col].unique(), genome_names, source, unknown)
    keep = df[col].isin(list(mapping))
    n_dropped = int((~keep).sum())
    out = df[keep].copy()
    out[col] = out[col].map(mapping)
    if n_dropped:
        message = f"{message} ({n_dropped} rows dropped)"
    return out, message, n_dropped
