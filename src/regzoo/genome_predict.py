"""Genome-wide prediction: tile chromosomes (or BED regions) with windows, predict, write files.

:func:`predict_genome` reads windows from the genome code cache
(:class:`~regzoo.data.cache.GenomeCache`, one :meth:`~regzoo.data.cache.GenomeCache.fetch_batch`
per batch), one-hot encodes each batch on the model's device, runs the model under
``torch.no_grad`` and writes the predictions into the folder ``out``:

**Profile models** (Basenji, Enformer; ``model.output_kind == "profile"``): one bigWig per track,
``out/<track name>.bw``, header = every chromosome of the genome with its size, one value per
``bin_size`` bin (the last bin of a chromosome ends at the chromosome's end).

- Geometry: a window of ``seq_len`` bp has ``seq_len / bin_size`` bins; the model predicts the
  central ``n_bins`` of them, ``crop = (seq_len / bin_size - n_bins) // 2`` bins cropped on the
  left (the models' ``TargetLengthCrop``). A window starting at ``s`` predicts
  ``[s + crop * bin_size, s + (crop + n_bins) * bin_size)``.
- Tiling (``tile``): windows wholly inside each chromosome, starting at 0 every ``stride`` bp;
  default ``stride = n_bins * bin_size`` (Basenji's layout): the predicted parts abut, so the whole
  span from ``crop * bin_size`` to the end of the last window's prediction is covered once. A
  ``stride`` must be a multiple of ``bin_size`` (every window's bins then lie on one genome-wide
  grid of ``bin_size`` bins starting at 0).
- **Overlaps** (a smaller stride, or overlapping regions): each genomic bin takes its value from the
  window whose centre (``start + seq_len / 2``) is nearest to the bin's centre, among the windows
  that predict that bin; a tie goes to the window that starts first. With regular tiling this is
  the centre crop: every window contributes its central ``stride`` bp.
- Regions (``regions``, a BED): one window centred on each region (the rule of
  :func:`~regzoo.data.windows.read_regions`), its start then moved down to a multiple of
  ``bin_size`` (by less than one bin) so all windows share the bin grid. Windows may run past a
  chromosome end (those bases read as N); bins outside the chromosome are dropped.
- Bases of the predicted chromosomes with no prediction (chromosome ends the tiling cannot reach,
  gaps left by a stride larger than the predicted span, chromosomes shorter than a window) are
  left empty in the bigWig (no entry; pyBigWig reads them as NaN) and counted: ``uncovered_bp``.
- ``rc_average``: the prediction of each window is averaged with that of its reverse complement,
  whose bins are reversed and whose strand-paired tracks are swapped (``summary["strand_pairs"]``
  of the saved model's task, each track's partner; without it the bins are only reversed).

**Scalar models**: ``out/predictions.tsv`` with columns ``chrom, start, end`` (the window) and one
column per label (activated: probabilities for classification, values for regression); default
``stride = seq_len``. With ``bedgraph=True`` also ``out/<label>.bedGraph``: each window's value over
its central ``stride`` bp (clipped to the chromosome), overlaps split by the same nearest-centre
rule (at the midpoint between two window centres).

Every file is written under a temporary name in ``out`` and renamed into place with
:func:`os.replace` once all files are complete; a failed run leaves no partial file.

Memory: profile predictions are stitched one chromosome at a time in a ``float32`` array of
``n_tracks x chrom_size / bin_size`` values (e.g. 5,313 Enformer tracks x 1.9 M bins of human
chr1 = 41 GB; a few tracks of any genome are small).
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from regzoo.data.cache import GenomeCache
from regzoo.data.chroms import match_chroms
from regzoo.data.encode import reverse_complement
from regzoo.data.windows import read_regions, tile_windows
from regzoo.errors import InputError
from regzoo.train.metrics import activate

TSV_NAME = "predictions.tsv"
OVERLAP_RULE = (
    "each bin takes the prediction of the window whose centre is nearest to the bin's centre; "
    "ties go to the window that starts first"
)


@dataclass(frozen=True)
class ProfileGeometry:
    """Where a profile model's output bins lie in its input window (all in bp or bins)."""

    seq_len: int
    bin_size: int
    n_bins: int
    crop_bins: int  # bins cropped on the left of the window

    @property
    def crop_bp(self) -> int:
        return self.crop_bins * self.bin_size

    @property
    def span_bp(self) -> int:
        """bp predicted per window, ``n_bins * bin_size``."""
        return self.n_bins * self.bin_size

    @property
    def symmetric(self) -> bool:
        return self.seq_len // self.bin_size - self.n_bins == 2 * self.crop_bins


def profile_geometry(model: nn.Module) -> ProfileGeometry:
    """The bins a profile model predicts: from its ``bin_size``/``n_bins`` attributes, checked
    against the saved task's ``summary["bin_size"]``/``summary["n_bins"]`` when both exist.

    Raises:
        InputError: neither source gives them, or the two disagree.
    """
    task = getattr(model, "regzoo_task", {}) or {}
    summary = task.get("summary") or {}
    seq_len = int(task.get("seq_len") or model.regzoo_config["seq_len"])
    bin_size = getattr(model, "bin_size", None) or summary.get("bin_size")
    n_bins = getattr(model, "n_bins", None) or summary.get("n_bins")
    if bin_size is None or n_bins is None:
        raise InputError(
            "profile model without bin_size/n_bins (neither model attributes nor the task "
            "summary's 'bin_size' and 'n_bins' in config.json)"
        )
    for field, value in (("bin_size", bin_size), ("n_bins", n_bins)):
        if summary.get(field) is not None and int(summary[field]) != int(value):
            raise InputError(
                f"config.json task summary {field}={summary[field]} but the model has {value}"
            )
    bin_size, n_bins = int(bin_size), int(n_bins)
    if seq_len % bin_size or seq_len // bin_size < n_bins:
        raise InputError(f"seq_len {seq_len} does not hold {n_bins} bins of {bin_size} bp")
    return ProfileGeometry(seq_len, bin_size, n_bins, (seq_len // bin_size - n_bins) // 2)


def strand_pairs(model: nn.Module, n_tracks: int) -> np.ndarray | None:
    """Each track's strand partner ``(n_tracks,)`` from the task summary (``strand_pairs``), or
    None when the task records none.

    Raises:
        InputError: the recorded list is not a pairing of ``n_tracks`` tracks.
    """
    summary = (getattr(model, "regzoo_task", {}) or {}).get("summary") or {}
    pairs = summary.get("strand_pairs")
    if pairs is None:
        return None
    pairs = np.asarray(pairs, dtype=np.int64)
    if (
        pairs.shape != (n_tracks,)
        or pairs.min(initial=0) < 0
        or pairs.max(initial=0) >= n_tracks
        or not np.array_equal(pairs[pairs], np.arange(n_tracks))
    ):
        raise InputError(
            f"config.json task summary strand_pairs {pairs.tolist()} is not a pairing of the "
            f"model's {n_tracks} tracks"
        )
    return pairs


# -- windows --------------------------------------------------------------------------------------


def genome_windows(
    genome: GenomeCache,
    seq_len: int,
    stride: int,
    *,
    regions: str | os.PathLike | None = None,
    tile: Sequence[str] | None = None,
    align: int = 1,
) -> tuple[pd.DataFrame, dict]:
    """The windows to predict, sorted by genome order then start.

    Args:
        genome: the genome cache.
        seq_len: window length.
        stride: tiling step (``tile`` only).
        regions: BED of regions, one window centred on each (exclusive with ``tile``).
        tile: chromosomes to tile (genome names or aliases, ``chrI`` for ``I``).
        align: region window starts are moved down to a multiple of this (a profile's bin size).

    Returns:
        ``(windows, info)``: DataFrame ``chrom, start, end, chrom_idx`` and ``{"chroms" (genome
        names predicted, genome order), "chrom_message", "chroms_without_windows"}``.

    Raises:
        InputError: both or neither of ``regions`` and ``tile``; an unknown chromosome (with both
            name lists).
    """
    if (regions is None) == (tile is None):
        raise InputError("give exactly one of regions (a BED) and tile (chromosome names)")
    order = {name: i for i, name in enumerate(genome.names)}
    if tile is not None:
        tile = [str(c) for c in tile]
        if not tile:
            raise InputError("tile: no chromosome given")
        mapping, message = match_chroms(tile, genome.names, "--tile")
        chroms = sorted(set(mapping.values()), key=order.get)
        df = tile_windows(genome.chrom_sizes, seq_len, stride, chroms)
    else:
        df, info = read_regions(regions, genome, seq_len)
        message = info["chrom_message"]
        df["start"] = (df["start"] // align) * align
        df["end"] = df["start"] + seq_len
        df = df.drop_duplicates(ignore_index=True)
        chroms = sorted(set(df["chrom"]), key=order.get)
    df["chrom_idx"] = df["chrom"].map(order).astype(np.int64)
    df = df.sort_values(["chrom_idx", "start"], kind="stable", ignore_index=True)
    without = [c for c in chroms if c not in set(df["chrom"])]
    return df, {"chroms": chroms, "chrom_message": message, "chroms_without_windows": without}


# -- prediction -----------------------------------------------------------------------------------


def _one_hot(codes: np.ndarray, device: torch.device) -> torch.Tensor:
    """Codes ``uint8 (B, L)`` -> one-hot ``float32 (B, 4, L)`` on ``device`` (N all zero)."""
    c = torch.from_numpy(np.ascontiguousarray(codes)).to(device)
    acgt = torch.arange(4, device=device, dtype=c.dtype)[None, :, None]
    return (c[:, None, :] == acgt).float()


@torch.no_grad()
def predict_windows(
    model: nn.Module,
    genome: GenomeCache,
    windows: pd.DataFrame,
    *,
    batch_size: int = 32,
    rc_average: bool = False,
    pairs: np.ndarray | None = None,
    device: torch.device | None = None,
    progress: bool = True,
) -> Iterator[tuple[int, np.ndarray]]:
    """Predictions for ``windows`` in batches, in their order.

    Yields:
        ``(first row, predictions)``: ``float32`` ``(B, n_tasks)`` or ``(B, n_tracks, n_bins)``,
        activated as for the task type (:func:`regzoo.train.metrics.activate`).
    """
    from tqdm.auto import tqdm

    task_type = (getattr(model, "regzoo_task", {}) or {}).get("task_type", "binary")
    kind = getattr(model, "output_kind", "scalar")
    seq_len = int(windows["end"].iloc[0] - windows["start"].iloc[0]) if len(windows) else 0
    chrom_idx = windows["chrom_idx"].to_numpy()
    starts = windows["start"].to_numpy()
    with tqdm(
        total=len(windows), unit="win", desc="predict", disable=not progress, file=sys.stderr
    ) as bar:
        for lo in range(0, len(windows), batch_size):
            hi = min(lo + batch_size, len(windows))
            x = _one_hot(genome.fetch_batch(chrom_idx[lo:hi], starts[lo:hi], seq_len), device)
            pred = activate(task_type, model(x), kind)
            if rc_average:
                rc = activate(task_type, model(reverse_complement(x)), kind)
                if pred.ndim == 3:
                    rc = rc.flip(-1)
                    if pairs is not None:
                        rc = rc[:, torch.as_tensor(pairs, device=rc.device)]
                pred = (pred + rc) / 2
            bar.update(hi - lo)
            yield lo, pred.float().cpu().numpy()


# -- writers --------------------------------------------------------------------------------------


def _file_stems(names: Sequence[str]) -> list[str]:
    """Safe, unique file stems for label names (``exon+`` stays, ``a/b`` -> ``a_b``)."""
    stems: list[str] = []
    for i, name in enumerate(names):
        stem = re.sub(r"[^A-Za-z0-9._+-]", "_", str(name)).strip(".") or f"track{i}"
        if stem in stems:
            stem = f"{stem}_{i}"
        stems.append(stem)
    return stems


class _ProfileStitcher:
    """Stitches profile predictions one chromosome at a time into open bigWig writers."""

    def __init__(self, genome: GenomeCache, geom: ProfileGeometry, paths: list[Path]) -> None:
        import pyBigWig

        self.genome, self.geom = genome, geom
        self.writers = []
        for path in paths:
            bw = pyBigWig.open(str(path), "w")
            if bw is None:
                raise InputError(f"{path}: cannot open for writing a bigWig")
            self.writers.append(bw)
        header = [(name, int(size)) for name, size in genome.chrom_sizes.items()]
        for bw in self.writers:
            bw.addHeader(header)
        self.chrom: int | None = None
        self.covered_bp = 0

    def _start_chrom(self, chrom: int) -> None:
        self.flush()
        size = int(self.genome.sizes[chrom])
        n = -(-size // self.geom.bin_size)
        self.chrom, self.size = chrom, size
        self.values = np.zeros((len(self.writers), n), dtype=np.float32)
        self.best = np.full(n, np.inf)

    def add(self, chrom: int, start: int, pred: np.ndarray) -> None:
        """One window's prediction ``(n_tracks, n_bins)``; windows come in genome order."""
        if chrom != self.chrom:
            self._start_chrom(chrom)
        g = self.geom
        first = (start + g.crop_bp) // g.bin_size  # genomic bin of the first predicted bin
        bins = np.arange(first, first + g.n_bins)
        keep = (bins >= 0) & (bins < len(self.best))
        bins, pred = bins[keep], pred[:, keep]
        dist = np.abs((bins + 0.5) * g.bin_size - (start + g.seq_len / 2))
        wins = dist < self.best[bins]  # strict: a tie keeps the window that started first
        self.best[bins[wins]] = dist[wins]
        self.values[:, bins[wins]] = pred[:, wins]

    def flush(self) -> None:
        if self.chrom is None:
            return
        name, bs = self.genome.names[self.chrom], self.geom.bin_size
        covered = np.isfinite(self.best)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], covered.view(np.int8), [0]])))
        n = len(covered)
        for a, b in zip(edges[0::2], edges[1::2], strict=True):
            full_end = b - 1 if (b == n and self.size % bs) else b
            for t, bw in enumerate(self.writers):
                if full_end > a:
                    bw.addEntries(
                        name, int(a * bs), values=self.values[t, a:full_end].astype(np.float64),
                        span=bs, step=bs,
                    )  # fmt: skip
                if full_end < b:  # the chromosome's last, partial bin
                    bw.addEntries(
                        [name], [int(full_end * bs)], ends=[self.size],
                        values=[float(self.values[t, full_end])],
                    )  # fmt: skip
            self.covered_bp += min(int(b) * bs, self.size) - int(a) * bs
        self.chrom = None

    def close(self) -> None:
        self.flush()
        for bw in self.writers:
            bw.close()


def _write_scalar(
    windows: pd.DataFrame,
    preds: np.ndarray,
    labels: list[str],
    genome: GenomeCache,
    stride: int,
    tmp_dir: Path,
    bedgraph: bool,
) -> dict[str, Path]:
    """TSV (and bedGraphs) of scalar predictions into ``tmp_dir``; ``{final name: temp path}``."""
    files: dict[str, Path] = {}
    table = windows[["chrom", "start", "end"]].copy()
    for j, name in enumerate(labels):
        table[name] = preds[:, j]
    tmp = tmp_dir / f".{TSV_NAME}.tmp"
    table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    files[TSV_NAME] = tmp
    if not bedgraph:
        return files
    # each window's value over its central `stride` bp, split at midpoints between centres
    centre2 = (windows["start"] + windows["end"]).to_numpy()  # twice the centre, integer
    lo = (centre2 - stride) // 2
    hi = lo + stride
    chrom_idx = windows["chrom_idx"].to_numpy()
    same_prev = np.r_[False, chrom_idx[1:] == chrom_idx[:-1]]
    same_next = np.r_[chrom_idx[1:] == chrom_idx[:-1], False]
    mid_prev = np.r_[0, (centre2[1:] + centre2[:-1]) // 4]
    mid_next = np.r_[(centre2[1:] + centre2[:-1]) // 4, 0]
    lo = np.where(same_prev, np.maximum(lo, mid_prev), lo)
    hi = np.where(same_next, np.minimum(hi, mid_next), hi)
    sizes = genome.sizes[chrom_idx]
    lo, hi = np.clip(lo, 0, sizes), np.clip(hi, 0, sizes)
    keep = hi > lo
    for j, (name, stem) in enumerate(zip(labels, _file_stems(labels), strict=True)):
        tmp = tmp_dir / f".{stem}.bedGraph.tmp"
        bg = pd.DataFrame(
            {
                "chrom": windows["chrom"].to_numpy()[keep],
                "start": lo[keep],
                "end": hi[keep],
                "value": preds[keep, j],
            }
        )
        with open(tmp, "w") as fh:
            fh.write(f'track type=bedGraph name="{name}"\n')
            bg.to_csv(fh, sep="\t", index=False, header=False, float_format="%.6g")
        files[f"{stem}.bedGraph"] = tmp
    return files


# -- entry points ---------------------------------------------------------------------------------


def predict_genome(
    model: nn.Module | str | os.PathLike,
    genome: GenomeCache | str | os.PathLike,
    *,
    regions: str | os.PathLike | None = None,
    tile: Sequence[str] | None = None,
    stride: int | None = None,
    out: str | os.PathLike,
    batch_size: int = 32,
    rc_average: bool = False,
    bedgraph: bool = False,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> dict:
    """Predict a model over whole chromosomes (``tile``) or BED ``regions``; write into ``out``.

    Rules (geometry, tiling, overlaps, files): module docstring.

    Args:
        model: a model built by ``regzoo.models.create`` with ``regzoo_task`` (as
            :func:`regzoo.saved.load` returns it), or a saved model folder.
        genome: a :class:`GenomeCache`, its folder, or a FASTA (its cache is built if needed).
        regions: BED of regions (one window centred on each); exclusive with ``tile``.
        tile: chromosome names to tile (aliases such as ``chrI`` for ``I`` are mapped).
        stride: tiling step in bp; default ``n_bins * bin_size`` (profile) or ``seq_len``
            (scalar). Also the width given to each window in the bedGraphs.
        out: output folder (created; files of the same names are replaced).
        batch_size: windows per forward pass.
        rc_average: average each window with its reverse complement.
        bedgraph: scalar models: also write one bedGraph per label.
        device: default CUDA when available, else CPU.
        progress: show a tqdm bar on stderr.

    Returns:
        ``{"kind", "files", "windows", "chroms", "chrom_message", "seq_len", "stride", "bin_size",
        "n_bins", "covered_bp", "uncovered_bp", "chroms_without_windows", "rc_average",
        "strand_pairs", "overlap_rule", "device", "wall_s"}`` (profile-only fields None for scalar
        models, and ``uncovered_bp`` counts the bases of the predicted chromosomes outside every
        window's ``stride`` centre for them).

    Raises:
        InputError: unknown chromosome (both name lists given), a stride that is not a positive
            multiple of ``bin_size``, no window to predict, ``rc_average`` on a profile model whose
            crop is asymmetric.
    """
    from regzoo.saved import load

    t0 = time.perf_counter()
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if isinstance(model, (str, os.PathLike)):
        model = load(model, device=device)
    model = model.to(device).eval()
    if not isinstance(genome, GenomeCache):
        genome = GenomeCache(genome)
    task = getattr(model, "regzoo_task", {}) or {}
    seq_len = int(task.get("seq_len") or model.regzoo_config["seq_len"])
    is_profile = getattr(model, "output_kind", "scalar") == "profile"
    geom = profile_geometry(model) if is_profile else None
    if stride is None:
        stride = geom.span_bp if geom else seq_len
    stride = int(stride)
    if stride < 1 or (geom and stride % geom.bin_size):
        unit = f"a positive multiple of the bin size {geom.bin_size}" if geom else "positive"
        raise InputError(f"stride {stride}: expected {unit}")
    if rc_average and geom and not geom.symmetric:
        raise InputError(
            f"rc_average: the model crops {geom.seq_len // geom.bin_size - geom.n_bins} bins, an "
            "odd number, so the reverse complement's bins do not line up with the forward ones"
        )
    windows, info = genome_windows(
        genome, seq_len, stride, regions=regions, tile=tile, align=geom.bin_size if geom else 1
    )
    if not len(windows):
        raise InputError(
            f"no window of {seq_len} bp fits the chromosomes {', '.join(info['chroms'])}"
        )
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: a file is in the way; expected an output folder")
    out.mkdir(parents=True, exist_ok=True)

    labels = [str(n) for n in task.get("label_names") or []]
    chrom_total = int(sum(genome.chrom_sizes[c] for c in info["chroms"]))
    temps: dict[str, Path] = {}
    try:
        if geom:
            n_tracks = int(model.regzoo_config.get("n_tasks", len(labels)))
            pairs = strand_pairs(model, n_tracks)
            batches = predict_windows(
                model, genome, windows, batch_size=batch_size, rc_average=rc_average,
                pairs=pairs, device=device, progress=progress,
            )  # fmt: skip
            if len(labels) != n_tracks:
                labels = [f"track{i}" for i in range(n_tracks)]
            stems = _file_stems(labels)
            temps = {f"{s}.bw": out / f".{s}.bw.tmp" for s in stems}
            stitcher = _ProfileStitcher(genome, geom, list(temps.values()))
            try:
                chrom_idx, starts = windows["chrom_idx"].to_numpy(), windows["start"].to_numpy()
                for lo, pred in batches:
                    for k in range(len(pred)):
                        stitcher.add(int(chrom_idx[lo + k]), int(starts[lo + k]), pred[k])
            finally:
                stitcher.close()
            covered = stitcher.covered_bp
        else:
            pairs = None
            preds = np.concatenate(
                [
                    p
                    for _, p in predict_windows(
                        model,
                        genome,
                        windows,
                        batch_size=batch_size,
                        rc_average=rc_average,
                        device=device,
                        progress=progress,
                    )  # fmt: skip
                ]
            )
            preds = preds.reshape(len(preds), -1)
            if len(labels) != preds.shape[1]:
                labels = [f"task{j}" for j in range(preds.shape[1])]
            temps = _write_scalar(windows, preds, labels, genome, stride, out, bedgraph)
            covered = _scalar_covered(windows, stride, genome)
        for name, tmp in temps.items():
            os.replace(tmp, out / name)
    except BaseException:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        raise
    return {
        "kind": "profile" if geom else "scalar",
        "files": [str(out / name) for name in temps],
        "windows": len(windows),
        "chroms": info["chroms"],
        "chrom_message": info["chrom_message"],
        "chroms_without_windows": info["chroms_without_windows"],
        "seq_len": seq_len,
        "stride": stride,
        "bin_size": geom.bin_size if geom else None,
        "n_bins": geom.n_bins if geom else None,
        "covered_bp": int(covered),
        "uncovered_bp": chrom_total - int(covered),
        "rc_average": bool(rc_average),
        "strand_pairs": pairs.tolist() if pairs is not None else None,
        "overlap_rule": OVERLAP_RULE,
        "device": str(device),
        "wall_s": time.perf_counter() - t0,
    }


def _scalar_covered(windows: pd.DataFrame, stride: int, genome: GenomeCache) -> int:
    """bp of the union of the windows' central ``stride`` bp, clipped to the chromosomes."""
    total = 0
    for chrom, rows in windows.groupby("chrom", sort=False).indices.items():
        centre2 = (windows["start"].to_numpy()[rows] + windows["end"].to_numpy()[rows]).astype(
            np.int64
        )
        lo = np.clip((centre2 - stride) // 2, 0, genome.chrom_sizes[chrom])
        hi = np.clip((centre2 - stride) // 2 + stride, 0, genome.chrom_sizes[chrom])
        order = np.argsort(lo, kind="stable")
        lo, hi = lo[order], np.maximum.accumulate(hi[order])
        prev_end = np.r_[0, hi[:-1]]
        total += int(np.maximum(hi - np.maximum(lo, prev_end), 0).sum())
    return total


def predict_genome_cli(
    model_dir: str | os.PathLike,
    genome: str | os.PathLike,
    regions: str | os.PathLike | None,
    tile: str | Sequence[str] | None,
    stride: int | None,
    output: str | os.PathLike,
    batch_size: int,
    rc_average: bool,
    bedgraph: bool,
) -> None:
    """``regzoo predict DIR --genome FA (--regions BED | --tile C1,C2) -o OUT``: run
    :func:`predict_genome` and print what was written (``regzoo.cli.err_console``).

    ``tile`` may be one comma-separated string (``"chrI,chrII"``) or a list of names.
    """
    from regzoo.cli import err_console

    if isinstance(tile, str):
        tile = [c.strip() for c in tile.split(",") if c.strip()]
    elif tile is not None:
        tile = [c.strip() for item in tile for c in str(item).split(",") if c.strip()]
    result = predict_genome(
        model_dir,
        genome,
        regions=regions,
        tile=tile,
        stride=stride,
        out=output,
        batch_size=batch_size,
        rc_average=rc_average,
        bedgraph=bedgraph,
    )
    if result["chrom_message"]:
        err_console.print(f"regzoo: {result['chrom_message']}", highlight=False)
    if bedgraph and result["kind"] == "profile":
        err_console.print("regzoo: --bedgraph applies to scalar models; bigWigs written instead")
    what = (
        f"{len(result['files'])} bigWigs ({result['n_bins']} bins of {result['bin_size']} bp per "
        "window)"
        if result["kind"] == "profile"
        else f"{len(result['files'])} files (TSV{' + bedGraphs' if bedgraph else ''})"
    )
    err_console.print(
        f"regzoo: {result['windows']} windows of {result['seq_len']} bp, stride "
        f"{result['stride']}, on {len(result['chroms'])} chromosomes "
        f"({', '.join(result['chroms'][:6])}{', ...' if len(result['chroms']) > 6 else ''}) "
        f"in {result['wall_s']:.1f} s on {result['device']}; wrote {what} into {output}",
        highlight=False,
    )
    for path in result["files"]:
        err_console.print(f"  {path}", highlight=False)
    uncovered = result["uncovered_bp"]
    if uncovered:
        err_console.print(
            f"regzoo: {uncovered:,} bp of the predicted chromosomes have no prediction "
            "(chromosome ends beyond the first/last window's predicted part, or gaps); left "
            "empty",
            highlight=False,
        )
    if result["chroms_without_windows"]:
        err_console.print(
            f"regzoo: chromosomes shorter than one window, not predicted: "
            f"{', '.join(result['chroms_without_windows'])}",
            highlight=False,
        )
