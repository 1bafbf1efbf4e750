"""Motifs a model learned: first-layer filters, seqlets of attributions, and their JASPAR matches.

Three steps, each a plain function:

1. :func:`filter_motifs` (DeepBind / Basset practice, Kelley et al. 2016): for each filter of the
   first convolution (input channels A, C, G, T), every window of the input whose activation
   exceeds ``threshold`` x the filter's maximum activation over the whole set is counted into a
   position frequency matrix (N bases count nowhere).
2. :func:`attribution_motifs` (seqlet calling and clustering; modisco-lite was considered but
   needs igraph/leidenalg/h5py and thousands of seqlets, so regzoo does a documented simple
   version): the per-position contribution ``sum_b X[b, p] * A[b, p]`` is smoothed over
   ``flank * 2 + 1`` bases; peaks above the ``quantile`` of the absolute smoothed contribution
   over all positions, at least ``width`` apart, are the **seqlets**: windows of ``width`` (21)
   bases centred on the centroid of the positive contribution around the peak, so that a motif
   as long as REST's (21 bp) sits whole in its window. Seqlets are clustered greedily,
   strongest first: a seqlet joins the first cluster whose consensus (the mean of its aligned
   contribution-weighted windows) it correlates with at Pearson r >= ``min_corr`` at some shift
   of at most ``max_shift`` bases on either strand, its window re-read from the sequence at the
   shifted position (never wrapped around); otherwise it starts a cluster. A cluster of at least
   ``min_seqlets`` seqlets is a motif: the PFM of its aligned windows, trimmed to the span of
   columns holding >= ``trim_threshold`` of the largest column's contribution, then to the
   columns of information >= 0.3 bits. Optionally (``background``) the same output's seqlets on
   sequences without the feature (a task's negatives) are counted per cluster, and a cluster not
   enriched in the foreground (a co-occurring motif) is dropped.
3. :func:`match_jaspar`: TOMTOM (Gupta et al. 2007; the ``memelite`` implementation) of every
   motif against a JASPAR collection read from ``pyjaspar`` (offline); per motif, the best match
   with its p-value and the Benjamini–Hochberg q-value over that motif's comparisons with all
   targets (TOMTOM's convention).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from regzoo import atomic
from regzoo.data.genome import cache_dir
from regzoo.errors import InputError
from regzoo.inference import as_tensor
from regzoo.interpret.targets import resolve_device

BASES = "ACGT"


@dataclass
class Motif:
    """A DNA motif.

    Attributes:
        name: identifier (``filter3``, ``pattern0``, ``MA0139.2``).
        pfm: ``(4, W)`` base probabilities per position (columns sum to 1).
        source: ``filter``, ``attribution``, ``jaspar`` or ``planted``.
        n_sites: how many windows / seqlets it was built from.
        tf_name: for database motifs, the TF's name.
        extra: anything else (e.g. the contribution-weighted matrix).
    """

    name: str
    pfm: np.ndarray
    source: str = ""
    n_sites: int = 0
    tf_name: str = ""
    extra: dict = field(default_factory=dict)


def counts_to_pfm(counts: np.ndarray, pseudocount: float = 0.0) -> np.ndarray:
    """``(4, W)`` counts -> probabilities; an all-zero column becomes uniform."""
    counts = np.asarray(counts, dtype=np.float64) + pseudocount
    total = counts.sum(0, keepdims=True)
    return np.where(total > 0, counts / np.where(total > 0, total, 1), 0.25)


def information(pfm: np.ndarray) -> np.ndarray:
    """Information content (bits) of each column of a ``(4, W)`` PFM."""
    p = np.clip(pfm, 1e-9, 1)
    return 2 + (p * np.log2(p)).sum(0)


def trim(pfm: np.ndarray, min_info: float = 0.3) -> np.ndarray:
    """Drop flanking columns with less than ``min_info`` bits (keeps at least one column)."""
    keep = np.flatnonzero(information(pfm) >= min_info)
    if keep.size == 0:
        return pfm[:, [int(information(pfm).argmax())]]
    return pfm[:, keep[0] : keep[-1] + 1]


# -- 1. first-layer filters -------------------------------------------------------------------


def first_conv(model: nn.Module) -> nn.Conv1d:
    """The first ``Conv1d`` of ``model`` that reads the 4 one-hot channels."""
    for module in model.modules():
        if isinstance(module, nn.Conv1d) and module.in_channels == 4:
            return module
    raise InputError(f"{type(model).__name__} has no Conv1d layer with 4 input channels")


@torch.inference_mode()
def _activations(model, conv, x, batch_size, device):
    """Yield ``(batch one-hot as the conv saw it, conv output)`` per batch."""
    seen = {}

    def hook(module, inputs, output):
        seen["in"], seen["out"] = inputs[0], output

    handle = conv.register_forward_hook(hook)
    try:
        for batch in torch.split(x, batch_size):
            model(batch.to(device))
            yield seen["in"], seen["out"]
    finally:
        handle.remove()


def filter_motifs(
    model: nn.Module,
    X,
    threshold: float = 0.5,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> list[Motif]:
    """PFMs of the first-layer filters from their maximally activating windows.

    Args:
        model: a model with a first ``Conv1d(4, F, W)`` (every regzoo architecture).
        X: sequences ``(N, 4, L)`` (anything :func:`regzoo.inference.as_tensor` takes).
        threshold: a window counts when the filter's activation is > ``threshold`` x its maximum
            activation over ``X`` (0.5 in Basset). Filters whose maximum is <= 0 give no motif.

    Returns:
        one :class:`Motif` per filter that has sites: ``name="filter{i}"``, ``pfm`` ``(4, W)``,
        ``n_sites`` the number of windows counted.
    """
    device = resolve_device(device)
    model = model.to(device).eval()
    conv = first_conv(model)
    x = as_tensor(X, (getattr(model, "regzoo_task", {}) or {}).get("seq_len"))
    n_filters, _, width = conv.weight.shape
    (stride,), (padding,), (dilation,) = conv.stride, conv.padding, conv.dilation
    if dilation != 1 or isinstance(conv.padding, str):
        raise InputError("filter motifs need an undilated first convolution with numeric padding")
    best = torch.full((n_filters,), -torch.inf, device=device)
    for _, act in _activations(model, conv, x, batch_size, device):
        best = torch.maximum(best, act.amax((0, 2)))
    cutoff = threshold * best
    counts = torch.zeros(n_filters, 4, width, dtype=torch.float64, device=device)
    for seen, act in _activations(model, conv, x, batch_size, device):
        padded = torch.nn.functional.pad(seen, (padding, padding))
        windows = padded.unfold(2, width, stride)[:, :, : act.shape[2]]  # (B, 4, P, W)
        mask = ((act > cutoff[None, :, None]) & (best[None, :, None] > 0)).to(windows.dtype)
        counts += torch.einsum("bfp,bcpw->fcw", mask, windows).double()
    motifs = []
    for i in range(n_filters):
        n_sites = int(round(float(counts[i, :, :].sum(0).max())))
        if n_sites == 0:
            continue
        motifs.append(
            Motif(f"filter{i}", counts_to_pfm(counts[i].cpu().numpy()), "filter", n_sites)
        )
    return motifs


# -- 2. seqlets from attributions -------------------------------------------------------------


def call_seqlets(
    contrib: np.ndarray, width: int = 21, flank: int = 3, quantile: float = 0.99
) -> list[tuple[int, int, float]]:
    """Seqlets from per-position contributions ``(N, L)``: ``[(seq, start, score)]``, strongest
    first. Peaks of the contribution smoothed over ``2 * flank + 1`` bases above the ``quantile``
    of its absolute values, at least ``width`` apart; each window ``[start, start + width)`` is
    centred on the centroid of the positive contribution around its peak (so a motif longer
    than the smoothing sits whole in the middle of its window) and lies inside the sequence."""
    return _seqlets_and_cutoff(contrib, width, quantile, flank=flank)[0]


def _seqlets_and_cutoff(
    contrib: np.ndarray,
    width: int,
    quantile: float,
    cutoff: float | None = None,
    flank: int = 3,
) -> tuple[list[tuple[int, int, float]], float]:
    """:func:`call_seqlets` and the cutoff it used (``cutoff`` given: that one instead of the
    ``quantile`` of these contributions, to call a background set by the foreground's rule)."""
    kernel = np.ones(2 * flank + 1) / (2 * flank + 1)
    smooth = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="same"), 1, contrib)
    if cutoff is None:
        cutoff = float(np.quantile(np.abs(smooth), quantile))
    n, length = contrib.shape
    width = min(width, length)
    out = []
    for i in range(n):
        row = smooth[i].copy()
        while True:
            p = int(np.argmax(row))
            if row[p] <= cutoff or row[p] <= 0:
                break
            score, centre = float(row[p]), p
            for _ in range(4):  # move the window onto the centre of its positive contribution
                lo, hi = max(centre - width // 2, 0), min(centre + width // 2 + 1, length)
                mass = np.clip(contrib[i, lo:hi], 0, None)
                if mass.sum() <= 0:
                    break
                centre = int(round(lo + float((mass * np.arange(hi - lo)).sum() / mass.sum())))
            start = min(max(centre - width // 2, 0), length - width)
            out.append((i, start, score))
            row[max(min(p, centre) - width, 0) : max(p, centre) + width] = -np.inf
    out.sort(key=lambda s: -s[2])
    return out, cutoff


def _best_alignment(a: np.ndarray, b: np.ndarray, max_shift: int) -> tuple[float, int, bool]:
    """Highest Pearson r of ``b`` (or its reverse complement) against ``a`` over shifts.

    ``(r, s, rc)`` means ``a[:, p]`` lines up with column ``p - s`` of ``b`` (reverse-complemented
    first when ``rc``)."""
    best = (-1.0, 0, False)
    width = a.shape[1]
    for rc in (False, True):
        bb = b[::-1, ::-1] if rc else b
        for s in range(-max_shift, max_shift + 1):
            lo, hi = max(0, s), min(width, width + s)
            if hi - lo < width // 2:
                continue
            u, v = a[:, lo:hi].ravel(), bb[:, lo - s : hi - s].ravel()
            if u.std() == 0 or v.std() == 0:
                continue
            r = float(np.corrcoef(u, v)[0, 1])
            if r > best[0]:
                best = (r, s, rc)
    return best


def _window(a: np.ndarray, start: int, width: int) -> np.ndarray:
    """Columns ``[start, start + width)`` of ``a`` ``(4, L)``; columns outside the sequence are
    zeros (they count towards no base), never wrapped around from the other end."""
    out = np.zeros((a.shape[0], width), dtype=a.dtype)
    lo, hi = max(start, 0), min(start + width, a.shape[1])
    if hi > lo:
        out[:, lo - start : hi - start] = a[:, lo:hi]
    return out


def _aligned(a: np.ndarray, start: int, width: int, shift: int, rc: bool) -> np.ndarray:
    """The window of ``a`` that a seqlet at ``start`` covers once aligned to a cluster by
    :func:`_best_alignment`'s ``(shift, rc)``: re-read from the sequence (so the flank that the
    shift brings in is the real neighbouring sequence), reverse-complemented when ``rc``."""
    if rc:
        return _window(a, start + shift, width)[::-1, ::-1]
    return _window(a, start - shift, width)


def trim_by_contribution(contribution: np.ndarray, threshold: float = 0.3) -> tuple[int, int]:
    """``(lo, hi)``: the span from the first to the last column whose summed contribution is at
    least ``threshold`` x the largest (modisco's trimming rule); the whole width when none is
    positive."""
    column = contribution.sum(0)
    if column.max() <= 0:
        return 0, contribution.shape[1]
    keep = np.flatnonzero(column >= threshold * column.max())
    return int(keep[0]), int(keep[-1]) + 1


def _binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    from math import exp, lgamma, log

    if k <= 0:
        return 1.0
    if p <= 0 or p >= 1:
        return float(p >= 1)
    terms = [lgamma(n + 1) - lgamma(i + 1) - lgamma(n - i + 1) + i * log(p) + (n - i) * log(1 - p)
             for i in range(k, n + 1)]  # fmt: skip
    return float(min(1.0, sum(exp(t) for t in terms)))


def _assign(clusters: list[dict], weighted: np.ndarray, min_corr: float, max_shift: int):
    """The first cluster ``weighted`` correlates with at ``r >= min_corr`` -> ``(index, shift,
    rc)``; ``None`` when none does."""
    for k, cl in enumerate(clusters):
        r, shift, rc = _best_alignment(cl["consensus"], weighted, max_shift)
        if r >= min_corr:
            return k, shift, rc
    return None


def attribution_motifs(
    X,
    attributions: np.ndarray,
    width: int = 21,
    quantile: float = 0.99,
    min_corr: float = 0.6,
    max_shift: int = 4,
    min_seqlets: int = 10,
    max_seqlets: int = 2000,
    trim_threshold: float = 0.1,
    background: tuple | None = None,
    min_enrichment: float = 2.0,
    max_p: float = 0.01,
) -> list[Motif]:
    """Motifs from attribution maps by seqlet calling and greedy clustering (module docstring).

    Args:
        X: one-hot ``(N, 4, L)``.
        attributions: ``(N, 4, L)`` from :mod:`regzoo.interpret.attribution` (hypothetical or
            observed-base; they are projected on the observed bases).
        width: seqlet window (bases); wide enough for the longest motif expected (CTCF 19,
            REST 21): the flanks are trimmed away afterwards.
        trim_threshold: a motif keeps the span of columns whose summed contribution is at least
            this fraction of its largest column's (:func:`trim_by_contribution`), then the
            columns of information >= 0.3 bits (:func:`trim`). Kept low (0.1): a motif's
            flanking columns that carry little contribution can still tell paralogs apart
            (SPI1's A-rich 5' flank against the ETS core that ELF1 shares).
        background: optional ``(X_neg, attributions_neg)`` of the same output on sequences
            where the pattern being explained is absent (e.g. a task's negatives). Their seqlets
            (same cutoff as the foreground's) are assigned to the foreground clusters; a
            cluster is kept only if its seqlets per foreground sequence are at least
            ``min_enrichment`` x its seqlets per background sequence and that excess is
            significant: the one-sided binomial probability of at least its foreground count
            among all its seqlets, were they spread over the two sets in proportion to their
            sizes, is <= ``max_p``. Seqlets of another feature that the sequences also hold (a
            co-occurring motif) are then as frequent in the background and dropped. ``extra``
            records ``n_background``, ``enrichment`` and ``p_value``. Off by default: with
            input x gradient, a model that max-pools its first layer (DeepBind) attributes the
            best partial match on a negative sequence as strongly as a real site, and the
            contrast then drops true motifs too (seen on the planted benchmark).
    """
    x = as_tensor(X).numpy()
    attributions = np.asarray(attributions, dtype=np.float32)
    if attributions.shape != x.shape:
        raise InputError(f"attributions have shape {attributions.shape}; expected {x.shape} (X)")
    contrib = (x * attributions).sum(1)
    seqlets, cutoff = _seqlets_and_cutoff(contrib, width, quantile)
    seqlets = seqlets[:max_seqlets]
    clusters: list[dict] = []
    for seq, start, _score in seqlets:
        weighted = _window(x[seq] * attributions[seq], start, width)
        hit = _assign(clusters, weighted, min_corr, max_shift)
        if hit is None:
            onehot = _window(x[seq], start, width)
            clusters.append({"counts": onehot.astype(np.float64), "sum": weighted.astype(np.float64),
                             "n": 1, "consensus": weighted, "n_bg": 0})  # fmt: skip
            continue
        cl = clusters[hit[0]]
        cl["counts"] += _aligned(x[seq], start, width, *hit[1:])
        cl["sum"] += _aligned(x[seq] * attributions[seq], start, width, *hit[1:])
        cl["n"] += 1
        cl["consensus"] = cl["sum"] / cl["n"]
    n_fg, n_bg = len(x), 0
    kept = [cl for cl in clusters if cl["n"] >= min_seqlets]
    if background is not None:
        x_bg = as_tensor(background[0]).numpy()
        a_bg = np.asarray(background[1], dtype=np.float32)
        n_bg = len(x_bg)
        if n_bg == 0 or a_bg.shape != x_bg.shape or x_bg.shape[1:] != x.shape[1:]:
            raise InputError(
                f"background: expected (X_neg, attributions_neg) of one shape (M >= 1, "
                f"{x.shape[1]}, {x.shape[2]}); got {x_bg.shape} and {a_bg.shape}"
            )
        bg_seqlets = _seqlets_and_cutoff((x_bg * a_bg).sum(1), width, quantile, cutoff)[0]
        for seq, start, _score in bg_seqlets[:max_seqlets]:
            hit = _assign(kept, _window(x_bg[seq] * a_bg[seq], start, width), min_corr, max_shift)
            if hit is not None:
                kept[hit[0]]["n_bg"] += 1
    motifs = []
    for cl in sorted(kept, key=lambda c: -c["n"]):
        extra = {"contribution": cl["consensus"]}
        if background is not None:
            enrichment = (cl["n"] / n_fg) / max(cl["n_bg"] / max(n_bg, 1), 1e-12)
            p_value = _binomial_tail(cl["n"], cl["n"] + cl["n_bg"], n_fg / (n_fg + n_bg))
            if enrichment < min_enrichment or p_value > max_p:
                continue
            extra.update(n_background=cl["n_bg"], enrichment=float(min(enrichment, 1e6)),
                         p_value=p_value)  # fmt: skip
        lo, hi = trim_by_contribution(cl["consensus"], trim_threshold)
        pfm = trim(counts_to_pfm(cl["counts"][:, lo:hi]))
        motifs.append(Motif(f"pattern{len(motifs)}", pfm, "attribution", cl["n"], extra=extra))
    return motifs


# -- 3. JASPAR ---------------------------------------------------------------------------------


def jaspar_motifs(
    collection: str = "CORE", tax_group: str | None = "vertebrates", release: str | None = None
) -> list[Motif]:
    """The latest version of every matrix of a JASPAR collection, from pyjaspar's bundled
    database (no network). Read once (about 10 s) and cached as ``.npz`` in regzoo's cache."""
    from pyjaspar import jaspardb

    db = jaspardb(release=release) if release else jaspardb()
    key = json.dumps([db.release, collection, tax_group])
    path = cache_dir() / "jaspar" / f"{hashlib.sha1(key.encode()).hexdigest()[:10]}.npz"
    if not path.exists():
        found = db.fetch_motifs(collection=collection, tax_group=[tax_group] if tax_group else None)
        ids = np.array([m.matrix_id for m in found])
        names = np.array([m.name for m in found])
        lengths = np.array([m.length for m in found])
        flat = np.concatenate([np.array([m.counts[b] for b in BASES]) for m in found], axis=1)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, ids=ids, names=names, lengths=lengths, counts=flat)
        tmp.replace(path)
    with np.load(path) as npz:
        ids, names, lengths, flat = npz["ids"], npz["names"], npz["lengths"], npz["counts"]
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    return [
        Motif(str(i), counts_to_pfm(flat[:, a:b]), "jaspar", tf_name=str(n))
        for i, n, a, b in zip(ids, names, bounds[:-1], bounds[1:], strict=True)
    ]


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg q-values of a 1-D array of p-values (same order)."""
    p = np.asarray(p, dtype=np.float64)
    n = len(p)
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def match_jaspar(
    motifs: list[Motif],
    database: list[Motif] | None = None,
    n_best: int = 1,
    min_informative: int = 4,
) -> pd.DataFrame:
    """Compare motifs with JASPAR by TOMTOM (memelite).

    Each query is first trimmed to its informative columns (>= 0.3 bits, :func:`trim`); a query
    with fewer than ``min_informative`` such columns is not compared (one row, no match, p = q =
    1): memelite's TOMTOM gives near-uniform queries spuriously tiny p-values against long
    targets (seen here: a uniform 12-column query at p ~ 1e-16 against CTCF MA1930.2).

    Args:
        motifs: queries.
        database: targets (default :func:`jaspar_motifs`).
        n_best: rows per query (best first).

    Returns:
        DataFrame with columns ``motif, source, n_sites, rank, jaspar_id, tf_name, p_value,
        q_value, strand, offset`` (q: Benjamini–Hochberg over the query's comparisons with every
        target).
    """
    from memelite import tomtom

    database = jaspar_motifs() if database is None else database
    columns = ["motif", "source", "n_sites", "rank", "jaspar_id", "tf_name", "p_value",
               "q_value", "strand", "offset"]  # fmt: skip
    informative = [m for m in motifs if (information(m.pfm) >= 0.3).sum() >= min_informative]
    rows = [[m.name, m.source, m.n_sites, 1, "", "", 1.0, 1.0, "", 0]
            for m in motifs if not any(m is k for k in informative)]  # fmt: skip
    if not informative:
        return pd.DataFrame(rows, columns=columns)
    p, _scores, offsets, _overlaps, strands = tomtom(
        [trim(m.pfm).astype(np.float64) for m in informative],
        [t.pfm.astype(np.float64) for t in database],
        n_jobs=1,
    )
    for i, motif in enumerate(informative):
        q = bh_qvalues(p[i])
        for rank, j in enumerate(np.argsort(p[i], kind="stable")[:n_best]):
            rows.append(
                [motif.name, motif.source, motif.n_sites, rank + 1, database[j].name,
                 database[j].tf_name, float(p[i, j]), float(q[j]),
                 "-" if strands[i, j] else "+", int(offsets[i, j])]
            )  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def write_meme(path: str | Path, motifs: list[Motif], background: tuple = (0.25,) * 4) -> Path:
    """Write motifs in MEME minimal format (letter-probability matrices)."""
    path = Path(path)
    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
             "Background letter frequencies",
             " ".join(f"{b} {f:.3f}" for b, f in zip(BASES, background, strict=True)), ""]  # fmt: skip
    for m in motifs:
        label = f"MOTIF {m.name}" + (f" {m.tf_name}" if m.tf_name else "")
        lines += [label, f"letter-probability matrix: alength= 4 w= {m.pfm.shape[1]} "
                  f"nsites= {max(m.n_sites, 1)} E= 0"]  # fmt: skip
        lines += ["  ".join(f"{v:.6f}" for v in col) for col in m.pfm.T]
        lines.append("")
    atomic.write_text(path, "\n".join(lines))
    return path


def read_meme(path: str | Path) -> list[Motif]:
    """Read a MEME motif file (memelite's reader) into :class:`Motif` objects."""
    from memelite.io import read_meme as _read

    return [
        Motif(key.split()[0], counts_to_pfm(pwm), "meme", tf_name=" ".join(key.split()[1:]))
        for key, pwm in _read(str(path)).items()
    ]
