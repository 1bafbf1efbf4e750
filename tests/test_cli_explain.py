"""explain, motifs and score-variants end to end through the real entry point on a tiny model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from _zoo_helpers import run_cli
from regzoo.models import create
from regzoo.saved import save_model

SEQ_LEN = 60
rng = np.random.default_rng(0)
CHR = "".join(rng.choice(list("ACGT"), 400))


run = run_cli  # regzoo ARGS in this process -> (code, stdout, stderr)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    model = create("deepbind", seq_len=SEQ_LEN, n_detectors=4, detector_len=8)
    task = {"task_type": "binary", "label_names": ["bound"], "seq_len": SEQ_LEN}
    return save_model(tmp_path_factory.mktemp("m") / "model", model, task)


@pytest.fixture
def inputs(tmp_path):
    fasta = tmp_path / "s.fa"
    fasta.write_text("".join(f">s{i}\n{CHR[i * 20 : i * 20 + SEQ_LEN]}\n" for i in range(15)))
    genome = tmp_path / "g.fa"
    genome.write_text(">chr1\n" + CHR + "\n")
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t100\t130\tr1\nchr1\t200\t260\tr2\n")
    return fasta, genome, bed


def test_explain_fasta_and_regions(capsys, monkeypatch, tmp_path, model_dir, inputs):
    fasta, genome, bed = inputs
    code, _, err = run(capsys, monkeypatch, "explain", str(model_dir), "--fasta", str(fasta),
                       "--method", "ism", "--out", str(tmp_path / "e1"))  # fmt: skip
    assert code == 0, err
    with np.load(tmp_path / "e1" / "attributions.npz") as npz:
        assert npz["attributions"].shape == (15, 4, SEQ_LEN)
        assert list(npz["names"][:2]) == ["s0", "s1"]
    assert "data:image/png;base64" in (tmp_path / "e1" / "report.html").read_text()
    code, _, err = run(capsys, monkeypatch, "explain", str(model_dir), "--genome", str(genome),
                       "--regions", str(bed), "--method", "ixg", "--out", str(tmp_path / "e2"))  # fmt: skip
    assert code == 0, err
    with np.load(tmp_path / "e2" / "attributions.npz") as npz:
        assert npz["attributions"].shape == (2, 4, SEQ_LEN)


def test_explain_regions_write_a_contribution_bigwig(capsys, monkeypatch, tmp_path, model_dir):
    """Per-base attribution of the base present, at genome coordinates: overlapping windows are
    averaged, bases past the chromosome end are left out, the rest read back exactly."""
    import pyBigWig

    genome = tmp_path / "g.fa"
    genome.write_text(">chr1\n" + CHR + "\n>chr2\n" + CHR[:100] + "\n")
    bed = tmp_path / "r.bed"  # windows chr1:70-130, chr1:100-160 (overlap 100-130), chr2:70-130
    bed.write_text("chr1\t90\t110\ta\nchr1\t120\t140\tb\nchr2\t95\t105\tc\n")
    code, _, err = run(capsys, monkeypatch, "explain", str(model_dir), "--genome", str(genome),
                       "--regions", str(bed), "--method", "ixg", "--out", str(tmp_path / "e"))  # fmt: skip
    assert code == 0, err
    assert (
        "attributions.bw (120 bp)" in err and "30 bases" in err and "past a chromosome end" in err
    )
    with np.load(tmp_path / "e" / "attributions.npz") as npz:
        contrib = (npz["attributions"] * npz["one_hot"]).sum(1)
    assert np.abs(contrib).max() > 0
    bw = pyBigWig.open(str(tmp_path / "e" / "attributions.bw"))
    try:
        assert bw.chroms() == {"chr1": 400, "chr2": 100}
        got = np.array(bw.values("chr1", 70, 160))
        want = np.zeros(90)
        want[:60] += contrib[0]
        want[30:] += contrib[1]
        want[30:60] /= 2
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
        assert np.isnan(bw.values("chr1", 69, 70)[0]) and np.isnan(bw.values("chr1", 160, 161)[0])
        np.testing.assert_allclose(
            bw.values("chr2", 70, 100), contrib[2, :30], rtol=1e-5, atol=1e-7
        )
    finally:
        bw.close()


def test_explain_errors(capsys, monkeypatch, tmp_path, model_dir, inputs):
    fasta, genome, bed = inputs
    code, _, err = run(capsys, monkeypatch, "explain", str(model_dir), "--fasta", str(fasta),
                       "--method", "magic", "--out", str(tmp_path / "x"))  # fmt: skip
    assert code == 2 and "unknown --method 'magic'" in err
    code, _, err = run(capsys, monkeypatch, "explain", str(model_dir), "--out", str(tmp_path))
    assert code == 2 and "exactly one of --fasta" in err
    code, _, err = run(capsys, monkeypatch, "explain", str(model_dir), "--fasta", str(fasta),
                       "--max-seqs", "3", "--out", str(tmp_path / "m"))  # fmt: skip
    assert code == 0 and "has 15 sequences; using the first 3 (--max-seqs)" in err
    with np.load(tmp_path / "m" / "attributions.npz") as npz:
        assert npz["attributions"].shape == (3, 4, SEQ_LEN)


def test_motifs(capsys, monkeypatch, tmp_path, model_dir, inputs):
    fasta, _, _ = inputs
    out = tmp_path / "m"
    code, _, err = run(capsys, monkeypatch, "motifs", str(model_dir), "--fasta", str(fasta),
                       "--out", str(out), "--min-seqlets", "2")  # fmt: skip
    assert code == 0, err
    header = (out / "matches.tsv").read_text().splitlines()[0].split("\t")
    assert header[:2] == ["motif", "source"] and {"jaspar_id", "tf_name", "q_value"} <= set(header)
    assert (out / "motifs.meme").read_text().startswith("MEME version 4")
    assert (out / "report.html").exists()


def test_score_variants(capsys, monkeypatch, tmp_path, model_dir, inputs):
    _, genome, _ = inputs
    vcf = tmp_path / "v.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=400>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"chr1\t150\tv1\t{CHR[149]}\t{'A' if CHR[149] != 'A' else 'C'},<DEL>\t.\t.\t.\n"
    )
    out = tmp_path / "s.tsv"
    code, _, err = run(capsys, monkeypatch, "score-variants", str(model_dir), "--vcf", str(vcf),
                       "--genome", str(genome), "-o", str(out), "--out-vcf",
                       str(tmp_path / "o.vcf"))  # fmt: skip
    assert code == 0, err
    assert "scored 1 of 2" in err and '"symbolic": 1' in err
    lines = out.read_text().splitlines()
    assert lines[0].split("\t")[:6] == ["chrom", "pos", "id", "ref", "alt", "ref_match"]
    assert "bound_diff" in lines[0] and len(lines) == 2
    assert "RZ_bound_diff" in (tmp_path / "o.vcf").read_text()
