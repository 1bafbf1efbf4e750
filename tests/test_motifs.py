"""First-layer filters -> PFMs, seqlet motifs, JASPAR matching, MEME round trip."""

from __future__ import annotations

import numpy as np
import torch

from regzoo.interpret.motifs import (
    Motif,
    attribution_motifs,
    bh_qvalues,
    counts_to_pfm,
    filter_motifs,
    jaspar_motifs,
    match_jaspar,
    read_meme,
    write_meme,
)
from regzoo.models import create

MOTIF = "TGACGTCA"


def _planted(n=200, length=60, frac=0.5, seed=0):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, length))
    where = []
    for i in range(n):
        if rng.random() < frac:
            p = int(rng.integers(0, length - len(MOTIF)))
            codes[i, p : p + len(MOTIF)] = ["ACGT".index(b) for b in MOTIF]
            where.append((i, p))
    return np.eye(4, dtype=np.float32)[codes].transpose(0, 2, 1), where


def test_filter_set_to_a_motif_returns_it():
    torch.manual_seed(0)
    model = create("deepbind", seq_len=60, n_detectors=3, detector_len=len(MOTIF)).eval()
    with torch.no_grad():
        w = torch.full((4, len(MOTIF)), -1.0)
        for j, b in enumerate(MOTIF):
            w[("ACGT".index(b)), j] = 1.0
        model.detectors.weight[0] = w
        model.detectors.bias[0] = 0.0
    x, _ = _planted()
    motifs = {m.name: m for m in filter_motifs(model, x, device="cpu")}
    pfm = motifs["filter0"].pfm
    assert pfm.shape == (4, len(MOTIF))
    assert "".join("ACGT"[i] for i in pfm.argmax(0)) == MOTIF
    assert pfm.max(0).min() > 0.9  # only (near-)exact matches pass 0.5 x max
    assert motifs["filter0"].n_sites >= 80


def test_seqlets_cluster_into_the_planted_motif():
    x, where = _planted(n=120, length=80, frac=0.6, seed=1)
    attr = np.zeros_like(x)
    for i, p in where:  # an ideal attribution map: the planted bases only
        attr[i, :, p : p + len(MOTIF)] = x[i, :, p : p + len(MOTIF)]
    motifs = attribution_motifs(x, attr, width=12, quantile=0.9)
    assert motifs and motifs[0].n_sites >= 0.8 * len(where)
    best = motifs[0].pfm
    consensus = "".join("ACGT"[i] for i in best.argmax(0))
    rc = consensus[::-1].translate(str.maketrans("ACGT", "TGCA"))
    assert MOTIF in (consensus, rc) or MOTIF in consensus or MOTIF in rc


def test_jaspar_ranks_the_planted_matrix_first():
    database = jaspar_motifs()
    assert len(database) > 500
    ctcf = next(m for m in database if m.name == "MA0139.2")
    rng = np.random.default_rng(0)
    sites = np.array([[rng.choice(4, p=c) for c in ctcf.pfm.T] for _ in range(60)])
    planted = Motif("planted", counts_to_pfm(np.stack([(sites == b).sum(0) for b in range(4)])))
    shuffled = Motif("noise", counts_to_pfm(rng.integers(5, 10, (4, 12))))
    table = match_jaspar([planted, shuffled], database, n_best=3)
    top = table[(table.motif == "planted") & (table["rank"] == 1)].iloc[0]
    assert top.jaspar_id == "MA0139.2" and top.tf_name == "CTCF"
    assert top.q_value < 0.05
    noise = table[(table.motif == "noise") & (table["rank"] == 1)].iloc[0]
    assert noise.q_value > 0.05
    assert set(table.columns) >= {"motif", "source", "jaspar_id", "tf_name", "p_value", "q_value"}


def test_bh_qvalues():
    q = bh_qvalues(np.array([0.01, 0.04, 0.03, 0.5]))
    # ranks 1..4: 0.01*4/1, 0.03*4/2, 0.04*4/3, 0.5*4/4, then the running minimum from the top
    np.testing.assert_allclose(q, [0.04, 0.16 / 3, 0.16 / 3, 0.5], rtol=1e-9)


def test_meme_round_trip(tmp_path):
    m = Motif("m1", counts_to_pfm(np.array([[5, 0], [0, 5], [0, 0], [0, 0]])), tf_name="X")
    back = read_meme(write_meme(tmp_path / "a.meme", [m]))
    assert back[0].name == "m1" and back[0].tf_name == "X"
    np.testing.assert_allclose(back[0].pfm, m.pfm, atol=1e-6)
