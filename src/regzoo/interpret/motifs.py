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
   over all positions, at least ``width`` apart, are the **seqlets** (windows of ``width`` bases
   centred on the peak). Seqlets are clustered greedily, strongest first: a seqlet joins the first
   cluster whose consensus (the mean of its aligned one-hot windows weighted by contribution) it
   correlates with at Pearson r >= ``min_corr`` at some shift of at most ``max_shift`` bases on
   either strand; otherwise it starts a cluster. A cluster of at least ``min_seqlets`` seqlets is
   a motif: the PFM of its aligned windows, trimmed to the columns of information >= 0.3 bits.
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
    contrib: np.ndarray, width: int = 15, flank: int = 3, quantile: float = 0.99
) -> list[tuple[int, int, float]]:
    """Seqlets from per-position contributions ``(N, L)``: ``[(seq, start, score)]``, strongest
    first; windows ``[start, start + width)`` inside the sequence, peaks at least ``width`` apart."""
    kernel = np.ones(2 * flank + 1) / (2 * flank + 1)
    smooth = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="same"), 1, contrib)
    cutoff = np.quantile(np.abs(smooth), quantile)
    n, length = contrib.shape
    out = []
    for i in range(n):
        row = smooth[i].copy()
        while True:
            p = int(np.argmax(row))
            if row[p] <= cutoff or row[p] <= 0:
                break
            start = min(max(p - width // 2, 0), length - width)
            out.append((i, start, float(row[p])))
            row[max(p - width, 0) : p + width] = -np.inf
    out.sort(key=lambda s: -s[2])
    return out


def _best_alignment(a: np.ndarray, b: np.ndarray, max_shift: int) -> tuple[float, int, bool]:
    """Highest Pearson r of ``b`` (or its reverse complement) against ``a`` over shifts."""
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


def attribution_motifs(
    X,
    attributions: np.ndarray,
    width: int = 15,
    quantile: float = 0.99,
    min_corr: float = 0.6,
    max_shift: int = 4,
    min_seqlets: int = 10,
    max_seqlets: int = 2000,
) -> list[Motif]:
    """Motifs from attribution maps by seqlet calling and greedy clustering (module docstring).

    Args:
        X: one-hot ``(N, 4, L)``.
        attributions: ``(N, 4, L)`` from :mod:`regzoo.interpret.attribution` (hypothetical or
            observed-base; they are projected on the observed bases).
    """
    x = as_tensor(X).numpy()
    contrib = (x * attributions).sum(1)
    seqlets = call_seqlets(contrib, width, quantile=quantile)[:max_seqlets]
    clusters: list[dict] = []
    for seq, start, _score in seqlets:
        onehot = x[seq, :, start : start + width]
        weighted = (x[seq] * attributions[seq])[:, start : start + width]
        for cl in clusters:
            r, shift, rc = _best_alignment(cl["consensus"], weighted, max_shift)
            if r >= min_corr:
                oh = onehot[::-1, ::-1] if rc else onehot
                w = weighted[::-1, ::-1] if rc else weighted
                oh, w = np.roll(oh, shift, axis=1), np.roll(w, shift, axis=1)
                cl["counts"] += oh
                cl["sum"] += w
                cl["n"] += 1
                cl["consensus"] = cl["sum"] / cl["n"]
                break
        else:
            clusters.append(
                {"counts": onehot.copy(), "sum": weighted.copy(), "n": 1, "consensus": weighted}
            )
    motifs = []
    for cl in sorted(clusters, key=lambda c: -c["n"]):
        if cl["n"] < min_seqlets:
            continue
        pfm = trim(counts_to_pfm(cl["counts"]))
        motifs.append(
            Motif(
                f"pattern{len(motifs)}",
                pfm,
                "attribution",
                cl["n"],
                extra={"contribution": cl["consensus"]},
            )
        )
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
