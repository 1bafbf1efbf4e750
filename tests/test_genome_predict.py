"""Genome-wide prediction: bigWigs read back to the model's own outputs, the tiling and overlap
rules, scalar TSV/bedGraph, chromosome aliases and refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyBigWig
import pytest
import torch

from regzoo import models
from regzoo.data.encode import one_hot
from regzoo.errors import InputError
from regzoo.genome_predict import predict_genome, predict_genome_cli
from regzoo.saved import load, save_model
from regzoo.train.profile import profile_model_overrides

SEQ_LEN, BIN, N_BINS = 1024, 32, 30  # crop (32 - 30) / 2 = 1 bin = 32 bp per side
# (a crop of one bin leaves the edge bins within reach of the zero padding, so two windows
# predict a shared bin differently and the overlap rule is visible)
CROP = (SEQ_LEN // BIN - N_BINS) // 2 * BIN
SPAN = N_BINS * BIN  # 960
TRACKS = ["sig+", "sig-", "flat"]
PAIRS = [1, 0, 2]
SIZES = {"I": 9000, "II": 5000, "III": 600}  # III is shorter than one window


def _random_genome(seed: int = 0) -> dict[str, str]:
    rng = np.random.default_rng(seed)
    seqs = {}
    for name, size in SIZES.items():
        s = rng.choice(list("ACGT"), size)
        s[300:340] = "N"  # a run of N inside each chromosome
        seqs[name] = "".join(s)
    return seqs


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    """``(fasta path, {name: sequence})``, chromosomes I, II, III."""
    seqs = _random_genome()
    path = tmp_path_factory.mktemp("genome") / "toy.fa"
    path.write_text("".join(f">{n}\n{s}\n" for n, s in seqs.items()))
    return path, seqs


@pytest.fixture(scope="module")
def profile_dir(tmp_path_factory):
    """A saved compact Basenji, 3 tracks (two strand-paired), 30 bins of 32 bp per 1,024 bp."""
    torch.manual_seed(0)
    model = models.create(
        "basenji",
        seq_len=SEQ_LEN,
        n_tasks=len(TRACKS),
        compact=True,
        **profile_model_overrides(BIN, N_BINS),
    )
    task = {
        "name": "toy-tracks",
        "task_type": "profile",
        "label_names": TRACKS,
        "seq_len": SEQ_LEN,
        "summary": {"bin_size": BIN, "n_bins": N_BINS, "strand_pairs": PAIRS},
    }
    return save_model(tmp_path_factory.mktemp("model") / "basenji", model, task)


@pytest.fixture(scope="module")
def scalar_dir(tmp_path_factory):
    torch.manual_seed(1)
    model = models.create("deepbind", seq_len=200, n_tasks=2, compact=True)
    task = {"name": "toy", "task_type": "multilabel", "label_names": ["p", "q"], "seq_len": 200}
    return save_model(tmp_path_factory.mktemp("model") / "deepbind", model, task)


def _model_out(model_dir, seqs: dict[str, str], chrom: str, starts, rc: bool = False):
    """The model's own output for windows read straight from the sequence (N beyond the ends)."""
    model = load(model_dir)
    seq = seqs[chrom]
    xs = []
    for s in starts:
        window = "".join(seq[p] if 0 <= p < len(seq) else "N" for p in range(s, s + SEQ_LEN))
        xs.append(one_hot(window))
    x = torch.from_numpy(np.stack(xs))
    with torch.no_grad():
        out = model(x)
        if rc:
            back = model(torch.flip(x, dims=(-2, -1))).flip(-1)[:, PAIRS]
            out = (out + back) / 2
    return out.numpy()


def _bin_values(path, chrom: str, size: int) -> np.ndarray:
    """Value of every ``BIN`` bin of ``chrom`` read back from a bigWig (NaN where empty)."""
    with pyBigWig.open(str(path)) as bw:
        assert bw.chroms() == SIZES  # header: every chromosome of the genome
        v = np.asarray(bw.values(chrom, 0, size), dtype=np.float64)
    return v[::BIN]  # the value at each bin's first base


def test_abutting_windows_read_back_to_model_outputs(genome, profile_dir, tmp_path):
    fasta, seqs = genome
    res = predict_genome(
        profile_dir, fasta, tile=["I", "II", "III"], out=tmp_path / "bw", progress=False
    )
    assert res["kind"] == "profile" and res["stride"] == SPAN
    assert sorted(p.split("/")[-1] for p in res["files"]) == sorted(f"{t}.bw" for t in TRACKS)
    assert res["chroms_without_windows"] == ["III"]
    covered = 0
    for chrom in ("I", "II"):
        size = SIZES[chrom]
        starts = list(range(0, size - SEQ_LEN + 1, SPAN))
        expect = _model_out(profile_dir, seqs, chrom, starts)  # (W, tracks, bins)
        first, last = CROP // BIN, (starts[-1] + CROP + SPAN) // BIN
        for t, name in enumerate(TRACKS):
            got = _bin_values(tmp_path / "bw" / f"{name}.bw", chrom, size)
            inside = got[first:last]
            assert not np.isnan(inside).any()  # abutting windows leave no gap
            assert np.isnan(got[:first]).all() and np.isnan(got[last:]).all()
            np.testing.assert_allclose(inside, expect[:, t, :].reshape(-1), rtol=1e-5, atol=1e-6)
        covered += (last - first) * BIN
    assert res["covered_bp"] == covered
    assert res["uncovered_bp"] == sum(SIZES.values()) - covered
    assert not list((tmp_path / "bw").glob(".*"))  # no temporary file left


@pytest.mark.parametrize("stride_bins", [8, 29])
def test_overlapping_windows_take_the_nearest_centre(genome, profile_dir, tmp_path, stride_bins):
    """8 bins: every bin predicted by three or four windows; 29 bins (odd): windows overlap by one
    bin whose centre is equally far from both window centres -- the tie goes to the first."""
    fasta, seqs = genome
    stride = stride_bins * BIN
    predict_genome(
        profile_dir, fasta, tile=["II"], stride=stride, out=tmp_path / "bw", progress=False
    )
    size = SIZES["II"]
    starts = np.arange(0, size - SEQ_LEN + 1, stride)
    expect = _model_out(profile_dir, seqs, "II", starts)
    got = _bin_values(tmp_path / "bw" / "sig+.bw", "II", size)
    observable = ties = 0
    for g in range(len(got)):
        centre = (g + 0.5) * BIN
        cover = [
            i for i, s in enumerate(starts) if s + CROP <= g * BIN < s + CROP + SPAN
        ]  # windows predicting bin g, in start order
        if not cover:
            assert np.isnan(got[g])
            continue
        dist = [abs(centre - (starts[i] + SEQ_LEN / 2)) for i in cover]
        best = cover[int(np.argmin(dist))]  # argmin: the first of equals
        values = [expect[i, 0, (g * BIN - starts[i] - CROP) // BIN] for i in cover]
        np.testing.assert_allclose(got[g], values[cover.index(best)], rtol=1e-5, atol=1e-6)
        disagree = np.ptp(values) > 1e-3 * np.abs(values).max()
        observable += bool(disagree)
        ties += bool(disagree) and dist.count(min(dist)) > 1
    # the windows disagree on shared bins (edge bins near the zero padding), so a wrong rule
    # would read back other values
    assert observable >= 3
    if stride_bins % 2:
        assert ties >= 3


def test_regions_aliases_and_partial_last_bin(genome, profile_dir, tmp_path):
    fasta, seqs = genome
    bed = tmp_path / "regions.bed"
    bed.write_text("chrII\t2000\t2100\nchrI\t8850\t8950\n")  # the second runs past I's end
    res = predict_genome(profile_dir, fasta, regions=bed, out=tmp_path / "bw", progress=False)
    assert "chrI->I" in res["chrom_message"] and res["chroms"] == ["I", "II"]
    with pyBigWig.open(str(tmp_path / "bw" / "flat.bw")) as bw:
        last = bw.intervals("I")[-1]
        assert last[1] == SIZES["I"]  # the partial last bin ends at the chromosome's end
    start_i = (8900 - SEQ_LEN // 2) // BIN * BIN  # centred, then moved down onto the bin grid
    expect = _model_out(profile_dir, seqs, "I", [start_i])[0]
    got = _bin_values(tmp_path / "bw" / "flat.bw", "I", SIZES["I"])
    first = (start_i + CROP) // BIN
    n_in = -(-SIZES["I"] // BIN) - first  # bins inside the chromosome
    assert n_in < N_BINS
    np.testing.assert_allclose(got[first : first + n_in], expect[2, :n_in], rtol=1e-5, atol=1e-6)


def test_rc_average_reverses_bins_and_swaps_strand_pairs(genome, profile_dir, tmp_path):
    fasta, seqs = genome
    res = predict_genome(
        profile_dir, fasta, tile=["II"], rc_average=True, out=tmp_path / "bw", progress=False
    )
    assert res["strand_pairs"] == PAIRS
    starts = list(range(0, SIZES["II"] - SEQ_LEN + 1, SPAN))
    expect = _model_out(profile_dir, seqs, "II", starts, rc=True)
    first = CROP // BIN
    got = _bin_values(tmp_path / "bw" / "sig+.bw", "II", SIZES["II"])[first:][
        : len(starts) * N_BINS
    ]
    np.testing.assert_allclose(got, expect[:, 0, :].reshape(-1), rtol=1e-5, atol=1e-6)
    model = load(profile_dir)
    x = torch.from_numpy(one_hot(seqs["II"][:SEQ_LEN]))[None]
    with torch.no_grad():
        unswapped = ((model(x) + model(torch.flip(x, dims=(-2, -1))).flip(-1)) / 2).numpy()
    assert not np.allclose(got[:N_BINS], unswapped[0, 0], rtol=1e-4)  # the swap matters


def test_unknown_chromosome_refused_with_both_lists(genome, profile_dir, tmp_path):
    fasta, _ = genome
    with pytest.raises(InputError, match=r"chrX.*genome names: I, II, III"):
        predict_genome(profile_dir, fasta, tile=["chrX"], out=tmp_path / "bw", progress=False)
    with pytest.raises(InputError, match="multiple of the bin size"):
        predict_genome(
            profile_dir, fasta, tile=["I"], stride=100, out=tmp_path / "bw", progress=False
        )
    assert not (tmp_path / "bw").exists() or not list((tmp_path / "bw").iterdir())


def test_scalar_model_tsv_and_bedgraph(genome, scalar_dir, tmp_path, capsys):
    fasta, seqs = genome
    predict_genome_cli(scalar_dir, fasta, None, "chrI", 150, tmp_path / "out", 16, False, True)
    assert "wrote" in capsys.readouterr().err
    table = pd.read_csv(tmp_path / "out" / "predictions.tsv", sep="\t")
    starts = np.arange(0, SIZES["I"] - 200 + 1, 150)
    assert list(table.columns) == ["chrom", "start", "end", "p", "q"]
    assert (table["chrom"] == "I").all()
    np.testing.assert_array_equal(table["start"], starts)
    np.testing.assert_array_equal(table["end"], starts + 200)
    model = load(scalar_dir)
    x = torch.from_numpy(np.stack([one_hot(seqs["I"][s : s + 200]) for s in starts]))
    with torch.no_grad():
        expect = torch.sigmoid(model(x)).numpy()
    np.testing.assert_allclose(table[["p", "q"]].to_numpy(), expect, rtol=1e-4, atol=1e-6)
    bg = pd.read_csv(tmp_path / "out" / "q.bedGraph", sep="\t", skiprows=1, header=None)
    np.testing.assert_array_equal(bg[1], starts + 25)  # central 150 bp of each window
    np.testing.assert_array_equal(bg[2], starts + 175)
    np.testing.assert_allclose(bg[3], expect[:, 1], rtol=1e-4, atol=1e-6)
