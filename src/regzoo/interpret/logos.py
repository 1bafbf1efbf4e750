"""Sequence logos (logomaker) and a self-contained HTML report (PNG images inlined as base64)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np
import pandas as pd

from regzoo import atomic
from regzoo.interpret.motifs import Motif, information


def _frame(matrix: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(np.asarray(matrix, dtype=float).T, columns=list("ACGT"))


def logo_png(matrix: np.ndarray, title: str = "", kind: str = "pfm", width: float = 0.0) -> str:
    """A logo as a base64 PNG string.

    Args:
        matrix: ``(4, W)``: a PFM (``kind="pfm"``, drawn in bits) or contributions
            (``kind="contribution"``, drawn as signed heights).
    """
    import logomaker
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(matrix, dtype=float)
    if kind == "pfm":
        matrix = matrix * information(matrix)[None]
    fig, ax = plt.subplots(figsize=(width or max(2.5, 0.25 * matrix.shape[1]), 1.6))
    logomaker.Logo(_frame(matrix), ax=ax, color_scheme="classic")
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=6)
    if kind == "pfm":
        ax.set_ylim(0, 2)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(data: str) -> str:
    return f'<img src="data:image/png;base64,{data}">'


def write_report(
    path: str | Path,
    title: str,
    motifs: list[Motif] | None = None,
    matches: pd.DataFrame | None = None,
    database: dict[str, Motif] | None = None,
    sequences: list[tuple[str, np.ndarray]] | None = None,
    notes: list[str] | None = None,
) -> Path:
    """Write an HTML report: the top sequences' attribution logos, and each motif's logo next to
    its best JASPAR match with p- and q-values.

    Args:
        motifs: discovered motifs; ``matches`` their rows from
            :func:`regzoo.interpret.motifs.match_jaspar` (rank 1 used); ``database`` JASPAR motifs by
            id, to draw the match.
        sequences: ``[(label, contribution (4, W))]`` for attribution logos.
    """
    parts = [f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif} td{padding:4px;vertical-align:middle}</style>",
             f"</head><body><h1>{html.escape(title)}</h1>"]  # fmt: skip
    for note in notes or []:
        parts.append(f"<p>{html.escape(note)}</p>")
    if sequences:
        parts.append("<h2>Top sequences (attribution x input)</h2>")
        for label, contrib in sequences:
            img = logo_png(contrib, label, kind="contribution", width=12)
            parts.append(f"<div>{_img(img)}</div>")
    if motifs:
        best = {}
        if matches is not None and len(matches):
            best = {r.motif: r for r in matches[matches["rank"] == 1].itertuples()}
        parts.append("<h2>Motifs and their best JASPAR match</h2><table>")
        parts.append("<tr><th>motif</th><th>logo</th><th>JASPAR match</th><th>match logo</th></tr>")
        for m in motifs:
            row = best.get(m.name)
            cells = [f"{html.escape(m.name)}<br>{m.source}, {m.n_sites} sites",
                     _img(logo_png(m.pfm, m.name))]  # fmt: skip
            if row is not None:
                cells.append(
                    f"{html.escape(str(row.jaspar_id))} {html.escape(str(row.tf_name))}<br>"
                    f"p = {row.p_value:.2g}, q = {row.q_value:.2g} ({row.strand})"
                )
                target = (database or {}).get(row.jaspar_id)
                pfm = None if target is None else target.pfm
                if pfm is not None and row.strand == "-":
                    pfm = pfm[::-1, ::-1]
                cells.append(_img(logo_png(pfm, str(row.tf_name))) if pfm is not None else "")
            else:
                cells += ["no match", ""]
            parts.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    path = Path(path)
    atomic.write_text(path, "\n".join(parts))
    return path
