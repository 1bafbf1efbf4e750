"""Coverage tracks (bigWig) -> binned profile targets, from an on-disk cache or streamed.

A *track* is one bigWig file (ChIP, DNase/ATAC, CAGE, RNA coverage) described by a
:class:`TrackSpec`. Training reads, for each window, a ``float32`` array ``(n_tracks, n_bins)``:
the coverage summarised over bins of ``bin_size`` bp.

Rules (one place, used by the cache and by streaming alike):

- **Binning**: bin ``i`` of a chromosome covers ``[i * bin_size, (i + 1) * bin_size)``; the last
  bin of a chromosome may be partial. ``summary="sum"`` (Basenji's default ``sum_stat``) adds the
  bases' values; ``"mean"`` divides by the bin's bases inside the chromosome (``bin_size`` except in
  a partial last bin).
- **Missing coverage**: bases the bigWig leaves uncovered or holds as NaN count as ``0`` (the
  rule; pyBigWig returns both as NaN). Their number is counted per track (``nan_bases`` in the
  build summary).
- **Transforms, in Basenji's order** (``basenji_data_read.py``): summary per bin, then
  ``transform`` (``log1p``: ``log(1 + x)``; ``sqrt``: ``sqrt(x)``, needs ``x >= 0``), then the
  soft clip: values above ``clip`` become ``clip + sqrt(x - clip)`` (Basenji's ``clip_soft``, in
  the units after the transform). They are applied **at build time** (the cache holds transformed
  values, as Basenji's TFRecords do) and by the streaming reader per window, so both give the same
  numbers.
- **Chromosome names** go through :func:`regzoo.data.chroms.match_chroms` (``chrII`` <-> ``II``;
  the alias line is in the summary). bigWig chromosomes absent from the genome are left out and
  counted in the message; **genome chromosomes a bigWig lacks get zeros**, with a warning and a
  count (``missing_chroms`` in the summary), unless ``missing="error"`` is passed.
- **Storage**: one ``float16`` memory map ``values.bin`` of shape ``(total_bins, n_tracks)``
  (bin-major: one window is one contiguous slice), chromosomes one after the other, plus
  ``index.json`` (specs, chromosome offsets, per-track statistics, the fingerprint of every bigWig:
  resolved path, size, mtime). If a value exceeds float16's range (65,504; e.g. summed RNA
  coverage without a transform) the cache is stored as ``float32`` and the summary says so.
  The cache lives in ``<cache>/tracks/<key>/`` (``<cache>`` = :func:`regzoo.data.genome.cache_dir`)
  where ``key`` hashes the specs, the fingerprints, the bin size and the chromosome sizes, so a
  changed bigWig gives a new key and a rebuild. It is built in a temporary folder and moved into
  place with ``os.replace``: a killed build never leaves a half-written cache.
- **Reading** (:class:`BinnedTracks`): out-of-chromosome bins read as 0. Window starts that are not
  a multiple of ``bin_size`` (shift augmentation) round to the nearest bin boundary, so targets stay
  fixed under shifts smaller than half a bin (as Basenji keeps targets fixed under its +-3 bp
  shifts). The memory map is opened lazily and dropped when pickled (DataLoader workers reopen it);
  :class:`StreamedTracks` opens its pyBigWig handles lazily per process, never shared.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import time
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from regzoo.errors import InputError

log = logging.getLogger(__name__)

SUMMARIES = ("sum", "mean")
TRANSFORMS = ("none", "log1p", "sqrt")
TABLE_COLUMNS = ("file", "name", "summary", "transform", "clip", "strand_pair")
CACHE_VERSION = 1
FLOAT16_MAX = 65504.0
_CHUNK_BINS = 1 << 15  # bins read from a bigWig per call while building (4 Mb at 128 bp)
STALE_TMP_S = 24 * 3600  # temporary build folders older than this are removed


@dataclass(frozen=True)
class TrackSpec:
    """One coverage track.

    Attributes:
        file: the bigWig file.
        name: the track's name (the label of output ``i``).
        summary: ``"sum"`` (default, Basenji's) or ``"mean"`` of the bases in a bin.
        transform: ``"none"``, ``"log1p"`` or ``"sqrt"``, applied per bin after the summary.
        clip: soft clip: values above it become ``clip + sqrt(x - clip)`` (after the transform);
            ``None`` for none.
        strand_pair: the name of the opposite-strand track (RNA ``+``/``-``), or ``None``.
    """

    file: Path
    name: str
    summary: str = "sum"
    transform: str = "none"
    clip: float | None = None
    strand_pair: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "file", Path(self.file))
        if not self.name:
            raise InputError(f"{self.file}: empty track name")
        if self.summary not in SUMMARIES:
            raise InputError(
                f"track {self.name!r}: summary {self.summary!r}; expected one of {SUMMARIES}"
            )
        if self.transform not in TRANSFORMS:
            raise InputError(
                f"track {self.name!r}: transform {self.transform!r}; expected one of {TRANSFORMS}"
            )
        if self.clip is not None and not (math.isfinite(self.clip) and self.clip >= 0):
            raise InputError(f"track {self.name!r}: clip {self.clip!r}; expected a number >= 0")

    def to_json(self) -> dict:
        d = asdict(self)
        d["file"] = str(self.file)
        return d


def specs_from_files(
    files: Sequence[str | os.PathLike], summary: str = "sum", transform: str = "none"
) -> list[TrackSpec]:
    """Specs for ``--tracks A.bw B.bw``: one track per file, named by the file stem."""
    specs = [
        TrackSpec(
            Path(f), Path(f).name.removesuffix(".bw").removesuffix(".bigWig"), summary, transform
        )
        for f in files
    ]
    for spec in specs:
        if not spec.file.is_file():
            raise InputError(f"{spec.file}: bigWig file not found")
    _check_names(specs, "--tracks")
    return specs


def _check_names(specs: Sequence[TrackSpec], source: str) -> None:
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise InputError(
                f"{source}: track name {spec.name!r} appears twice; names must be unique"
            )
        seen.add(spec.name)


def read_tracks_table(path: str | os.PathLike) -> list[TrackSpec]:
    """Read a tracks table (``--tracks-table``).

    Tab-separated with a header; columns ``file`` and ``name`` required, ``summary`` (sum|mean),
    ``transform`` (none|log1p|sqrt), ``clip`` (number) and ``strand_pair`` (another row's name)
    optional; empty cells take the defaults. Lines starting with ``#`` and blank lines are skipped.
    Relative ``file`` paths are resolved against the table's folder.

    Raises:
        InputError: missing file or column, unknown column, a row with the wrong number of fields,
            a bad value, a missing bigWig, a duplicate name or an unknown ``strand_pair``; the
            message names the table, the line and the column.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: tracks table not found")
    lines = [
        (i, line.rstrip("\r\n"))
        for i, line in enumerate(path.read_text().splitlines(), start=1)
        if line.strip() and not line.startswith("#")
    ]
    if not lines:
        raise InputError(f"{path}: empty tracks table; expected a header with 'file' and 'name'")
    header_line, header = lines[0]
    columns = [c.strip() for c in header.split("\t")]
    for required in ("file", "name"):
        if required not in columns:
            raise InputError(
                f"{path}: line {header_line}: no {required!r} column in the header {columns}; "
                f"expected tab-separated columns {', '.join(TABLE_COLUMNS)}"
            )
    unknown = [c for c in columns if c not in TABLE_COLUMNS]
    if unknown:
        raise InputError(
            f"{path}: line {header_line}: unknown column(s) {unknown}; "
            f"valid columns: {', '.join(TABLE_COLUMNS)}"
        )
    specs: list[TrackSpec] = []
    pair_names: list[tuple[int, str]] = []
    for lineno, line in lines[1:]:
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) != len(columns):
            raise InputError(
                f"{path}: line {lineno}: {len(fields)} tab-separated fields, expected "
                f"{len(columns)} ({', '.join(columns)})"
            )
        row = dict(zip(columns, fields, strict=True))
        for col in ("file", "name"):
            if not row[col]:
                raise InputError(f"{path}: line {lineno}: column {col!r} is empty")
        file = Path(row["file"])
        if not file.is_absolute():
            file = path.parent / file
        if not file.is_file():
            raise InputError(f"{path}: line {lineno}: column 'file': bigWig {file} not found")
        clip = None
        if row.get("clip"):
            try:
                clip = float(row["clip"])
            except ValueError:
                raise InputError(
                    f"{path}: line {lineno}: column 'clip': {row['clip']!r} is not a number"
                ) from None
        try:
            spec = TrackSpec(
                file=file,
                name=row["name"],
                summary=row.get("summary") or "sum",
                transform=row.get("transform") or "none",
                clip=clip,
                strand_pair=row.get("strand_pair") or None,
            )
        except InputError as err:
            raise InputError(f"{path}: line {lineno}: {err}") from None
        specs.append(spec)
        pair_names.append((lineno, spec.strand_pair or ""))
    if not specs:
        raise InputError(f"{path}: the tracks table has a header but no rows")
    _check_names(specs, str(path))
    names = {s.name for s in specs}
    for lineno, pair in pair_names:
        if pair and pair not in names:
            raise InputError(
                f"{path}: line {lineno}: column 'strand_pair': no track named {pair!r}; "
                f"tracks: {', '.join(sorted(names))}"
            )
    strand_pair_indices(specs, source=str(path))  # consistency
    return specs


def strand_pair_indices(specs: Sequence[TrackSpec], source: str = "tracks") -> list[int]:
    """Partner index of each track (its own index when unpaired), as Basenji's targets file.

    A pair may be given on one side only (``RNA.fwd -> RNA.rev``); both sides that name a partner
    must name each other.

    Raises:
        InputError: an unknown partner, a track paired with itself, or an inconsistent pair.
    """
    index = {s.name: i for i, s in enumerate(specs)}
    pairs = list(range(len(specs)))
    for i, spec in enumerate(specs):
        if spec.strand_pair is None:
            continue
        if spec.strand_pair not in index:
            raise InputError(
                f"{source}: track {spec.name!r}: unknown strand_pair {spec.strand_pair!r}"
            )
        j = index[spec.strand_pair]
        if j == i:
            raise InputError(f"{source}: track {spec.name!r} is its own strand_pair")
        other = specs[j].strand_pair
        if other is not None and other != spec.name:
            raise InputError(
                f"{source}: track {spec.name!r} pairs with {spec.strand_pair!r}, which pairs "
                f"with {other!r}; strand pairs must name each other"
            )
        if pairs[j] not in (j, i):
            raise InputError(f"{source}: track {specs[j].name!r} is in two strand pairs")
        pairs[i], pairs[j] = j, i
    return pairs


# -- binning -----------------------------------------------------------------------------------


def bin_values(values: np.ndarray, bin_size: int, summary: str) -> tuple[np.ndarray, int]:
    """Per-base values -> per-bin summary, NaN counted as 0.

    Args:
        values: ``float`` ``(n_bases,)``, NaN where missing.
        bin_size: bases per bin; the last bin may be partial.
        summary: ``"sum"`` or ``"mean"`` (over the bases present, ``bin_size`` but in a partial
            last bin).

    Returns:
        ``(bins float64 (ceil(n_bases / bin_size),), n_nan)``.
    """
    values = np.asarray(values, dtype=np.float64)
    nan = np.isnan(values)
    n_nan = int(nan.sum())
    if n_nan:
        values = np.where(nan, 0.0, values)
    n = values.shape[0]
    n_full = n // bin_size
    rest = n - n_full * bin_size
    out = np.empty(n_full + (1 if rest else 0), dtype=np.float64)
    out[:n_full] = values[: n_full * bin_size].reshape(n_full, bin_size).sum(axis=1)
    if rest:
        out[n_full] = values[n_full * bin_size :].sum()
    if summary == "mean":
        out[:n_full] /= bin_size
        if rest:
            out[n_full] /= rest
    return out, n_nan


def apply_transform(bins: np.ndarray, spec: TrackSpec) -> np.ndarray:
    """``transform`` then soft ``clip`` (Basenji's order and ``clip_soft``), on binned values."""
    x = np.asarray(bins, dtype=np.float64)
    if spec.transform == "log1p":
        if (x < -1).any():
            raise InputError(f"{spec.file}: log1p of values below -1 (min {x.min():g})")
        x = np.log1p(x)
    elif spec.transform == "sqrt":
        if (x < 0).any():
            raise InputError(
                f"{spec.file}: sqrt of negative values (min {x.min():g}); use transform none"
            )
        x = np.sqrt(x)
    if spec.clip is not None:
        above = x > spec.clip
        x = np.where(above, spec.clip + np.sqrt(np.where(above, x - spec.clip, 0.0)), x)
    return x


def n_chrom_bins(size: int, bin_size: int) -> int:
    return -(-int(size) // bin_size)


# -- fingerprints and chromosome mapping --------------------------------------------------------


def fingerprint(path: Path) -> dict:
    """``{"path", "size", "mtime_ns"}`` of a file: the cache key's view of its content."""
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _open_bigwig(path: Path):
    import pyBigWig

    if not path.is_file():
        raise InputError(f"{path}: bigWig file not found")
    try:
        bw = pyBigWig.open(str(path))
    except RuntimeError as err:
        raise InputError(f"{path}: cannot open as bigWig ({err})") from err
    if bw is None or not bw.isBigWig():
        raise InputError(f"{path}: not a bigWig file")
    return bw


def track_chrom_map(
    spec: TrackSpec, bw, genome_chroms: Sequence[str]
) -> tuple[dict[str, str], str]:
    """``{genome name: bigWig name}`` and the alias/drop message, via ``match_chroms``."""
    from regzoo.data.chroms import match_chroms

    mapping, message = match_chroms(list(bw.chroms()), genome_chroms, str(spec.file), "drop")
    return {g: f for f, g in mapping.items()}, message


# -- the cache ----------------------------------------------------------------------------------


def _cache_key(
    specs: Sequence[TrackSpec], chrom_sizes: Mapping[str, int], bin_size: int, missing: str
) -> str:
    payload = {
        "version": CACHE_VERSION,
        "bin_size": bin_size,
        "missing": missing,
        "chroms": list(chrom_sizes.items()),
        "tracks": [{**s.to_json(), "fingerprint": fingerprint(s.file)} for s in specs],
    }
    return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _remove_stale_tmp(root: Path) -> None:
    now = time.time()
    for tmp in root.glob(".tmp-*"):
        try:
            if now - tmp.stat().st_mtime > STALE_TMP_S:
                shutil.rmtree(tmp, ignore_errors=True)
        except OSError:
            pass


def build_track_cache(
    specs: Sequence[TrackSpec],
    chrom_sizes: Mapping[str, int],
    bin_size: int = 128,
    cache_root: str | os.PathLike | None = None,
    chrom_map: Mapping[str, Mapping[str, str]] | None = None,
    missing: str = "zero",
) -> Path:
    """Bin every track over the genome once into a memory-mapped cache; return its folder.

    Args:
        specs: the tracks (their order is the output order).
        chrom_sizes: the genome's ``{chrom: length}``.
        bin_size: bases per bin (128 by default, Basenji's and Enformer's).
        cache_root: parent folder; default ``cache_dir() / "tracks"``.
        chrom_map: optional ``{track name: {genome chrom: bigWig chrom}}`` overriding the
            automatic alias mapping for a track.
        missing: ``"zero"`` (genome chromosomes a bigWig lacks read as zeros, with a warning and a
            count) or ``"error"``.

    Returns:
        The cache folder (``values.bin`` + ``index.json``); open it with :class:`BinnedTracks`.
        An existing cache with the same key (same specs, bigWig fingerprints, bins and
        chromosomes) is reused without reading the bigWigs.

    Raises:
        InputError: a missing or unreadable bigWig, no chromosome in common, ``missing="error"``
            with a genome chromosome absent from a bigWig, a transform of invalid values.
    """
    if bin_size < 1:
        raise InputError(f"bin_size must be >= 1, got {bin_size}")
    if missing not in ("zero", "error"):
        raise InputError(f"missing={missing!r}; expected 'zero' or 'error'")
    if not specs:
        raise InputError("no tracks given")
    _check_names(specs, "tracks")
    pairs = strand_pair_indices(specs)
    for spec in specs:
        if not spec.file.is_file():
            raise InputError(f"{spec.file}: bigWig file not found (track {spec.name!r})")
    if cache_root is None:
        from regzoo.data.genome import cache_dir

        cache_root = cache_dir() / "tracks"
    root = Path(cache_root)
    root.mkdir(parents=True, exist_ok=True)
    key = _cache_key(specs, chrom_sizes, bin_size, missing)
    final = root / key
    if (final / "index.json").is_file():
        return final
    _remove_stale_tmp(root)

    chroms = list(chrom_sizes)
    offsets = np.zeros(len(chroms) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([n_chrom_bins(chrom_sizes[c], bin_size) for c in chroms])
    total = int(offsets[-1])
    tmp = root / f".tmp-{key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    t0 = time.perf_counter()
    try:
        values = np.lib.format.open_memmap(
            tmp / "values32.npy", mode="w+", dtype=np.float32, shape=(total, len(specs))
        )
        stats = []
        for t, spec in enumerate(specs):
            stats.append(
                _bin_track(
                    spec,
                    t,
                    values,
                    chroms,
                    chrom_sizes,
                    offsets,
                    bin_size,
                    missing,
                    None if chrom_map is None else chrom_map.get(spec.name),
                )
            )
        vmax = float(np.abs(values).max()) if total else 0.0
        dtype = "float16" if vmax <= FLOAT16_MAX else "float32"
        out = np.memmap(tmp / "values.bin", mode="w+", dtype=dtype, shape=(total, len(specs)))
        for lo in range(0, total, 1 << 22):
            out[lo : lo + (1 << 22)] = values[lo : lo + (1 << 22)]
        out.flush()
        del out, values
        (tmp / "values32.npy").unlink()
        index = {
            "version": CACHE_VERSION,
            "key": key,
            "bin_size": bin_size,
            "dtype": dtype,
            "dtype_reason": (
                "float16"
                if dtype == "float16"
                else f"float32: values up to {vmax:g} exceed float16's range (65504)"
            ),
            "n_bins": total,
            "missing": missing,
            "chroms": chroms,
            "chrom_sizes": [int(chrom_sizes[c]) for c in chroms],
            "offsets": offsets.tolist(),
            "tracks": [s.to_json() for s in specs],
            "names": [s.name for s in specs],
            "strand_pairs": pairs,
            "fingerprints": [fingerprint(s.file) for s in specs],
            "stats": stats,
            "build_seconds": round(time.perf_counter() - t0, 3),
        }
        (tmp / "index.json").write_text(json.dumps(index, indent=1))
        try:
            os.replace(tmp, final)
        except OSError:
            if not (final / "index.json").is_file():  # not a lost race: a real failure
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("binned %d tracks into %s (%.1f s)", len(specs), final, time.perf_counter() - t0)
    return final


def _bin_track(
    spec: TrackSpec,
    t: int,
    values: np.ndarray,
    chroms: list[str],
    chrom_sizes: Mapping[str, int],
    offsets: np.ndarray,
    bin_size: int,
    missing: str,
    chrom_map: Mapping[str, str] | None,
) -> dict:
    """Fill column ``t`` of ``values`` from one bigWig; return its statistics."""
    bw = _open_bigwig(spec.file)
    try:
        bw_chroms = bw.chroms()
        if chrom_map is None:
            gmap, message = track_chrom_map(spec, bw, chroms)
        else:
            gmap, message = dict(chrom_map), "chromosome map given by the caller"
        absent = [c for c in chroms if c not in gmap]
        if len(absent) == len(chroms):
            raise InputError(
                f"{spec.file}: no chromosome in common with the genome (bigWig: "
                f"{', '.join(list(bw_chroms)[:5])}; genome: {', '.join(chroms[:5])})"
            )
        if absent:
            text = (
                f"{spec.file}: {len(absent)} genome chromosomes have no coverage in this bigWig "
                f"({', '.join(absent[:5])}{', ...' if len(absent) > 5 else ''})"
            )
            if missing == "error":
                raise InputError(f"{text}; pass missing='zero' to read them as 0")
            warnings.warn(f"{text}; their bins are 0", stacklevel=3)
        n_nan = 0
        for ci, chrom in enumerate(chroms):
            lo = int(offsets[ci])
            size = int(chrom_sizes[chrom])
            if chrom not in gmap:
                values[lo : int(offsets[ci + 1]), t] = 0.0
                continue
            bw_name = gmap[chrom]
            bw_size = int(bw_chroms[bw_name])
            step = _CHUNK_BINS * bin_size
            for start in range(0, size, step):
                end = min(start + step, size)
                raw = _bw_values(bw, bw_name, start, end, bw_size)
                binned, nn = bin_values(raw, bin_size, spec.summary)
                n_nan += nn
                b0 = lo + start // bin_size
                values[b0 : b0 + binned.shape[0], t] = apply_transform(binned, spec)
        col = values[:, t]
        return {
            "name": spec.name,
            "nan_bases": n_nan,
            "missing_chroms": absent,
            "alias_message": message,
            "mean": float(col.mean(dtype=np.float64)) if col.size else 0.0,
            "max": float(col.max()) if col.size else 0.0,
        }
    finally:
        bw.close()


def _bw_values(bw, chrom: str, start: int, end: int, bw_size: int) -> np.ndarray:
    """Per-base values of ``[start, end)``, NaN where the bigWig has none or past its chromosome."""
    out = np.full(end - start, np.nan, dtype=np.float64)
    hi = min(end, bw_size)
    if hi > start:
        out[: hi - start] = bw.values(chrom, start, hi, numpy=True)
    return out


# -- reading ------------------------------------------------------------------------------------


class _TrackReader:
    """Shared window arithmetic of :class:`BinnedTracks` and :class:`StreamedTracks`."""

    names: list[str]
    strand_pairs: list[int]
    bin_size: int
    chrom_sizes: dict[str, int]

    @property
    def n_tracks(self) -> int:
        return len(self.names)

    def _start_bin(self, start: int) -> int:
        return (int(start) + self.bin_size // 2) // self.bin_size

    def _check_chrom(self, chrom: str) -> None:
        if chrom not in self.chrom_sizes:
            raise InputError(
                f"unknown chromosome {chrom!r} for these tracks; known: "
                f"{', '.join(list(self.chrom_sizes)[:5])}"
            )

    def read(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Targets of one window: ``float32 (n_tracks, (end - start) // bin_size)``.

        ``start`` is rounded to the nearest bin boundary; bins outside the chromosome are 0.
        """
        n = (int(end) - int(start)) // self.bin_size
        return self.read_batch([chrom], np.array([start]), n)[0]

    def read_batch(self, chroms: Sequence[str], starts, n_bins: int) -> np.ndarray:
        raise NotImplementedError


class BinnedTracks(_TrackReader):
    """Binned targets from a cache folder made by :func:`build_track_cache`.

    Attributes:
        names: track names; ``strand_pairs``: partner index per track (own index if unpaired);
        bin_size; chrom_sizes; index: the cache's ``index.json`` (statistics, fingerprints).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        index_file = self.path / "index.json"
        if not index_file.is_file():
            raise InputError(f"{self.path}: not a track cache (no index.json)")
        self.index = json.loads(index_file.read_text())
        if self.index.get("version") != CACHE_VERSION:
            raise InputError(f"{self.path}: track cache version {self.index.get('version')}")
        self.names = list(self.index["names"])
        self.strand_pairs = list(self.index["strand_pairs"])
        self.bin_size = int(self.index["bin_size"])
        self.chrom_sizes = dict(zip(self.index["chroms"], self.index["chrom_sizes"], strict=True))
        self._offset = {
            c: int(o) for c, o in zip(self.index["chroms"], self.index["offsets"][:-1], strict=True)
        }
        self._nbins = {c: n_chrom_bins(s, self.bin_size) for c, s in self.chrom_sizes.items()}
        self._values: np.ndarray | None = None

    @property
    def values(self) -> np.ndarray:
        """The memory map ``(total_bins, n_tracks)``, opened on first use in each process."""
        if self._values is None:
            self._values = np.memmap(
                self.path / "values.bin",
                mode="r",
                dtype=self.index["dtype"],
                shape=(int(self.index["n_bins"]), len(self.names)),
            )
        return self._values

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_values"] = None
        return state

    def chrom_bins(self, chrom: str) -> np.ndarray:
        """All bins of one chromosome, ``float32 (n_tracks, n_chrom_bins)``."""
        self._check_chrom(chrom)
        lo = self._offset[chrom]
        return np.ascontiguousarray(self.values[lo : lo + self._nbins[chrom]].T, dtype=np.float32)

    def read_batch(self, chroms: Sequence[str], starts, n_bins: int) -> np.ndarray:
        """Targets of a batch of windows in one gather.

        Args:
            chroms: ``B`` chromosome names; starts: ``B`` window starts (bp); n_bins: bins per
                window.

        Returns:
            ``float32 (B, n_tracks, n_bins)``; bins outside a chromosome are 0.
        """
        starts = np.asarray(starts, dtype=np.int64).reshape(-1)
        if len(chroms) != starts.shape[0]:
            raise InputError(f"{len(chroms)} chromosomes but {starts.shape[0]} starts")
        for c in set(chroms):
            self._check_chrom(c)
        first = (starts + self.bin_size // 2) // self.bin_size
        offset = np.array([self._offset[c] for c in chroms], dtype=np.int64)
        nb = np.array([self._nbins[c] for c in chroms], dtype=np.int64)
        local = first[:, None] + np.arange(int(n_bins), dtype=np.int64)[None, :]
        inside = (local >= 0) & (local < nb[:, None])
        if inside.all():  # contiguous slices: faster than a fancy-index gather
            vals = self.values
            out = np.empty((starts.shape[0], int(n_bins), len(self.names)), dtype=np.float32)
            for b in range(starts.shape[0]):
                lo = int(offset[b] + first[b])
                out[b] = vals[lo : lo + n_bins]
        else:
            idx = offset[:, None] + np.clip(local, 0, np.maximum(nb[:, None] - 1, 0))
            out = np.asarray(self.values[idx], dtype=np.float32)
            out[~inside] = 0.0
        return np.ascontiguousarray(out.transpose(0, 2, 1))

    def summary(self) -> dict:
        """Plain-JSON description: sources, bins, NaN counts, missing chromosomes, transforms."""
        return {
            "cache": str(self.path),
            "bin_size": self.bin_size,
            "total_bins": int(self.index["n_bins"]),
            "dtype": self.index["dtype_reason"],
            "tracks": [
                {**spec, **{k: v for k, v in st.items() if k != "name"}}
                for spec, st in zip(self.index["tracks"], self.index["stats"], strict=True)
            ],
            "strand_pairs": self.strand_pairs,
        }


class StreamedTracks(_TrackReader):
    """Targets read from the bigWigs for each window (no cache), with the cache's rules.

    pyBigWig handles are opened on first use in each process and dropped when pickled.
    """

    def __init__(
        self,
        specs: Sequence[TrackSpec],
        chrom_sizes: Mapping[str, int],
        bin_size: int = 128,
        missing: str = "zero",
    ) -> None:
        if not specs:
            raise InputError("no tracks given")
        _check_names(specs, "tracks")
        self.specs = list(specs)
        self.names = [s.name for s in specs]
        self.strand_pairs = strand_pair_indices(specs)
        self.bin_size = int(bin_size)
        self.chrom_sizes = {c: int(s) for c, s in chrom_sizes.items()}
        self._handles: list | None = None
        self._pid = -1
        self.maps: list[dict[str, str]] = []
        self.messages: list[str] = []
        self.bw_sizes: list[dict[str, int]] = []
        for spec in self.specs:  # map names and fail early, in the parent process
            bw = _open_bigwig(spec.file)
            try:
                gmap, message = track_chrom_map(spec, bw, list(self.chrom_sizes))
                absent = [c for c in self.chrom_sizes if c not in gmap]
                if absent and missing == "error":
                    raise InputError(
                        f"{spec.file}: {len(absent)} genome chromosomes have no coverage "
                        f"({', '.join(absent[:5])})"
                    )
                if absent:
                    warnings.warn(
                        f"{spec.file}: {len(absent)} genome chromosomes have no coverage in this "
                        f"bigWig ({', '.join(absent[:5])}); their bins are 0",
                        stacklevel=2,
                    )
                self.maps.append(gmap)
                self.messages.append(message)
                self.bw_sizes.append({k: int(v) for k, v in bw.chroms().items()})
            finally:
                bw.close()

    def _open(self) -> list:
        if self._handles is None or self._pid != os.getpid():
            self._handles = [_open_bigwig(s.file) for s in self.specs]
            self._pid = os.getpid()
        return self._handles

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_handles"] = None
        state["_pid"] = -1
        return state

    def close(self) -> None:
        if self._handles is not None and self._pid == os.getpid():
            for bw in self._handles:
                bw.close()
        self._handles = None

    def read_batch(self, chroms: Sequence[str], starts, n_bins: int) -> np.ndarray:
        """Like :meth:`BinnedTracks.read_batch`, reading each bigWig per window."""
        starts = np.asarray(starts, dtype=np.int64).reshape(-1)
        handles = self._open()
        bs = self.bin_size
        out = np.zeros((starts.shape[0], len(self.specs), int(n_bins)), dtype=np.float32)
        for b, chrom in enumerate(chroms):
            self._check_chrom(chrom)
            size = self.chrom_sizes[chrom]
            first = self._start_bin(int(starts[b]))
            b_lo = max(first, 0)
            b_hi = min(first + int(n_bins), n_chrom_bins(size, bs))
            if b_hi <= b_lo:
                continue
            lo, hi = b_lo * bs, min(b_hi * bs, size)
            for t, spec in enumerate(self.specs):
                name = self.maps[t].get(chrom)
                if name is None:
                    continue
                raw = _bw_values(handles[t], name, lo, hi, self.bw_sizes[t][name])
                binned, _ = bin_values(raw, bs, spec.summary)
                out[b, t, b_lo - first : b_hi - first] = apply_transform(binned, spec)
        return out


def load_tracks(
    specs: Sequence[TrackSpec],
    chrom_sizes: Mapping[str, int],
    bin_size: int = 128,
    stream: bool = False,
    missing: str = "zero",
    cache_root: str | os.PathLike | None = None,
) -> BinnedTracks | StreamedTracks:
    """The target provider for ``specs``: the binned cache (built once), or ``stream=True`` to
    read the bigWigs per window."""
    if stream:
        return StreamedTracks(specs, chrom_sizes, bin_size, missing)
    return BinnedTracks(
        build_track_cache(specs, chrom_sizes, bin_size, cache_root=cache_root, missing=missing)
    )
