"""GFF3 annotation: genes, transcripts and their transcription start sites.

Coordinates are converted to regzoo's convention, **0-based half-open**: a GFF feature ``1..10``
becomes ``start=0, end=10``. The TSS of a feature is its 5' base: ``start`` on ``+``, ``end - 1``
on ``-`` (0-based).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd

from regzoo.errors import InputError

GFF_COLUMNS = ["chrom", "source", "type", "start", "end", "score", "strand", "phase", "attributes"]
GENE_TYPES = ("gene", "pseudogene", "ncRNA_gene", "transposable_element_gene")
# sub-transcript parts: their Parent is a gene only in odd annotations; they do not start transcripts
SUBFEATURE_TYPES = ("exon", "CDS", "five_prime_UTR", "three_prime_UTR", "intron", "start_codon")


def read_gff(
    path: str | os.PathLike,
    types: tuple[str, ...] | None = None,
    skip_types: tuple[str, ...] = (),
    attributes: tuple[str, ...] = ("ID", "Parent", "Name", "gene_biotype"),
) -> pd.DataFrame:
    """Read a GFF3 file (plain or gzip) into a table.

    Args:
        path: ``.gff`` / ``.gff3``, optionally ``.gz``.
        types: keep only these feature types (column 3), e.g. ``("gene", "mRNA")``; all if None.
        skip_types: drop these feature types (e.g. ``SUBFEATURE_TYPES``: exons, CDS, UTRs), which
            makes reading a large annotation several times faster.
        attributes: attribute keys to parse out of column 9 into columns of their own (missing ->
            ``""``; values are percent-decoded).

    Returns:
        DataFrame with columns ``chrom, source, type, start, end, score, strand, phase,
        attributes`` (``start`` 0-based, ``end`` exclusive) plus one column per key in
        ``attributes``; index = line number in the file.

    Raises:
        InputError: missing file, a line without 9 tab-separated fields, non-integer or reversed
            coordinates (names file and line).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: GFF file not found")
    try:
        df = pd.read_csv(
            path,
            sep="\t",
            header=None,
            names=GFF_COLUMNS,
            dtype=str,
            quoting=csv.QUOTE_NONE,
            skip_blank_lines=False,
            keep_default_na=False,
            compression="infer",
        )
    except pd.errors.ParserError as err:
        raise InputError(
            f"{path}: not a GFF file ({err}); expected 9 tab-separated fields"
        ) from err
    df = df.fillna("")
    df.index = df.index + 1  # line numbers
    # '##FASTA' ends the annotation section
    fasta_mark = df.index[df["chrom"].str.startswith("##FASTA")]
    if len(fasta_mark):
        df = df.loc[: fasta_mark[0] - 1]
    df = df[(df["chrom"] != "") & ~df["chrom"].str.startswith("#")]
    short = df["attributes"] == ""
    if short.any():
        line = int(df.index[short][0])
        raise InputError(f"{path}: line {line}: expected 9 tab-separated GFF fields")
    if types is not None:
        df = df[df["type"].isin(types)]
    if skip_types:
        df = df[~df["type"].isin(skip_types)]
    for col in ("start", "end"):
        ok = df[col].str.fullmatch(r"\d+")
        if not ok.all():
            line = int(df.index[~ok][0])
            raise InputError(
                f"{path}: line {line}: {col} {df.loc[line, col]!r} is not a positive integer"
            )
    df = df.copy()
    df["start"] = df["start"].astype(np.int64) - 1
    df["end"] = df["end"].astype(np.int64)
    bad = df["start"] >= df["end"]
    if bad.any():
        line = int(df.index[bad][0])
        raise InputError(f"{path}: line {line}: start is after end")
    for key in attributes:
        values = df["attributes"].str.extract(f"(?:^|;){key}=([^;]*)", expand=False).fillna("")
        if values.str.contains("%", regex=False).any():
            values = values.map(unquote)
        df[key] = values
    return df


def tss_of(features: pd.DataFrame) -> np.ndarray:
    """0-based TSS (5' base) of each feature: ``start`` on ``+``, ``end - 1`` on ``-``. ``(N,)``."""
    return np.where(features["strand"].to_numpy() == "-", features["end"] - 1, features["start"])


def transcripts(gff: pd.DataFrame) -> pd.DataFrame:
    """Transcript-level features: those whose ``Parent`` is a gene (any ``GENE_TYPES``).

    The table keeps the gene's ``gene_biotype`` and ID (column ``gene_id``).
    """
    genes = gff[gff["type"].isin(GENE_TYPES)]
    biotype = dict(zip(genes["ID"], genes["gene_biotype"], strict=False))
    parent = gff["Parent"].str.split(",").str[0]
    tx = gff[parent.isin(biotype) & ~gff["type"].isin(SUBFEATURE_TYPES)].copy()
    tx["gene_id"] = parent[tx.index]
    tx["gene_biotype"] = tx["gene_id"].map(biotype)
    return tx


def protein_coding_tss(
    gff: pd.DataFrame, transcript_types: tuple[str, ...] = ("mRNA",), merge_distance: int = 100
) -> pd.DataFrame:
    """TSSs of protein-coding genes, one row per distinct promoter.

    Rule: the 5' end of every transcript of type ``transcript_types`` whose parent gene has
    ``gene_biotype=protein_coding`` (a protein-coding gene without such a transcript contributes its
    gene start). Identical positions count once, and on each strand of each chromosome a TSS closer
    than ``merge_distance`` bp to the previous kept TSS (in coordinate order) is merged into it, so
    alternative starts a few bases apart do not give near-identical windows.

    Returns:
        DataFrame ``chrom, tss (0-based), strand, gene_id, transcript_id`` sorted by chrom and tss;
        ``attrs`` holds ``n_distinct`` (distinct positions) and ``n_merged`` (merged away).
    """
    genes = gff[gff["type"].isin(GENE_TYPES) & (gff["gene_biotype"] == "protein_coding")]
    tx = transcripts(gff)
    tx = tx[tx["type"].isin(transcript_types) & (tx["gene_biotype"] == "protein_coding")]
    lonely = genes[~genes["ID"].isin(tx["gene_id"])]
    rows = pd.DataFrame(
        {
            "chrom": np.concatenate([tx["chrom"], lonely["chrom"]]),
            "tss": np.concatenate([tss_of(tx), tss_of(lonely)]).astype(np.int64),
            "strand": np.concatenate([tx["strand"], lonely["strand"]]),
            "gene_id": np.concatenate([tx["gene_id"], lonely["ID"]]),
            "transcript_id": np.concatenate([tx["ID"], np.full(len(lonely), "")]),
        }
    )
    rows = rows[rows["strand"].isin(["+", "-"])]
    rows = rows.sort_values(["chrom", "strand", "tss", "gene_id"], kind="stable")
    rows = rows.drop_duplicates(["chrom", "strand", "tss"])
    keep = np.ones(len(rows), dtype=bool)
    chrom, strand, tss = rows["chrom"].to_numpy(), rows["strand"].to_numpy(), rows["tss"].to_numpy()
    last = None
    for i in range(len(rows)):
        key = (chrom[i], strand[i])
        if last is not None and last[0] == key and tss[i] - last[1] < merge_distance:
            keep[i] = False
        else:
            last = (key, tss[i])
    out = rows[keep].sort_values(["chrom", "tss", "strand"], kind="stable").reset_index(drop=True)
    out.attrs["n_distinct"] = len(rows)  # distinct positions before merging
    out.attrs["n_merged"] = int((~keep).sum())
    return out


def all_tss(gff: pd.DataFrame) -> pd.DataFrame:
    """The TSS of every gene and every transcript (any biotype). ``chrom, tss, strand``."""
    genes = gff[gff["type"].isin(GENE_TYPES)]
    feats = pd.concat([genes, transcripts(gff)])
    out = pd.DataFrame({"chrom": feats["chrom"], "tss": tss_of(feats), "strand": feats["strand"]})
    return out.drop_duplicates().sort_values(["chrom", "tss"]).reset_index(drop=True)
