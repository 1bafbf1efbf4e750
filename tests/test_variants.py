"""score-variants on a VCF written here: known effects, REF mismatch, multi-allelic, indel rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from regzoo.errors import InputError
from regzoo.variants import read_variants, score_variants, write_vcf

rng = np.random.default_rng(0)
CHR = "".join(rng.choice(list("ACT"), 200))  # no G in the genome
SEQ_LEN = 21


class _CountG(nn.Module):
    """Regression: output 0 = number of G in the window; output 1 = G at the centre base."""

    output_kind = "scalar"
    regzoo_config = {"seq_len": SEQ_LEN}
    regzoo_task = {"seq_len": SEQ_LEN, "task_type": "regression", "label_names": ["g", "centre"]}

    def forward(self, x):
        return torch.stack([x[:, 2].sum(-1), x[:, 2, SEQ_LEN // 2]], 1)


@pytest.fixture
def genome(tmp_path):
    path = tmp_path / "g.fa"
    path.write_text(">chr1\n" + "\n".join(CHR[i : i + 60] for i in range(0, 200, 60)) + "\n")
    return path


def _vcf(tmp_path, rows):
    head = "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=200>\n"
    head += "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    path = tmp_path / "v.vcf"
    path.write_text(head + "".join("\t".join(map(str, r)) + "\n" for r in rows))
    return path


def test_scores_mismatch_multiallelic_indel(tmp_path, genome):
    rows = [
        ("chr1", 50, "snv", CHR[49], "G", ".", ".", "."),
        ("chr1", 60, "multi", CHR[59], "G,GG,<DEL>", ".", ".", "."),
        ("chr1", 70, "bad", "G", "T", ".", ".", "."),  # genome has no G: REF mismatch
        ("chr1", 80, "del", CHR[79:84], CHR[79], ".", ".", "."),
    ]
    vcf = _vcf(tmp_path, rows)
    variants, skipped = read_variants(vcf)
    assert [v.alt for v in variants if v.id == "multi"] == ["G", "GG"]
    assert skipped["symbolic"] == 1
    with pytest.warns(UserWarning, match="REF does not match"):
        frame = score_variants(_CountG(), genome, vcf, progress=False)
    by = {(r.id, r.alt): r for r in frame.itertuples()}
    snv = by[("snv", "G")]
    assert (snv.g_ref, snv.g_alt, snv.g_diff) == (0, 1, 1)
    assert snv.centre_diff == 1  # the SNV sits at index seq_len // 2
    assert snv.ref_match
    assert by[("multi", "G")].g_diff == 1
    ins = by[("multi", "GG")]  # insertion: centred allele 'GG' starts at L//2 - 1
    assert ins.g_diff == 2 and ins.centre_diff == 1  # REF C -> ALT GG: two G, one at L // 2
    assert not by[("bad", "T")].ref_match
    assert frame.attrs["summary"]["ref_mismatch"] == 1
    assert frame.attrs["summary"]["skipped"] == {"symbolic": 1}
    # deletion by the window rule: alt window = left flank + ALT + right flank after REF
    d = by[("del", CHR[79])]
    assert d.g_diff == 0 and d.ref_match
    assert np.isfinite(snv.g_log2_ratio) and snv.g_log2_ratio > 10
    out = write_vcf(vcf, frame, tmp_path / "out.vcf")
    text = out.read_text()
    assert "RZ_g_diff" in text and "RZ_REF_MATCH=1" in text


def test_window_rule_for_a_deletion(genome):
    from regzoo.data.genome import Genome
    from regzoo.variants.score import Variant, allele_windows

    v = Variant("chr1", 80, CHR[79:84], CHR[79])
    ref, alt, ok = allele_windows(Genome(genome), v, SEQ_LEN)
    assert ok and len(ref) == len(alt) == SEQ_LEN
    assert ref[SEQ_LEN // 2 - 2 : SEQ_LEN // 2 + 3] == CHR[79:84]  # REF centred
    left = SEQ_LEN // 2  # ALT (1 base) starts at L // 2
    assert alt == CHR[79 - left : 79] + CHR[79] + CHR[84 : 84 + SEQ_LEN - left - 1]


def test_ref_mismatch_refused_or_skipped(tmp_path, genome):
    vcf = _vcf(tmp_path, [("chr1", 70, "bad", "G", "T", ".", ".", ".")])
    with pytest.raises(InputError, match="line 4: REF G does not match"):
        score_variants(_CountG(), genome, vcf, on_ref_mismatch="error", progress=False)
    frame = score_variants(_CountG(), genome, vcf, on_ref_mismatch="skip", progress=False)
    assert len(frame) == 0 and frame.attrs["summary"]["ref_mismatch"] == 1


def test_tsv_input(tmp_path, genome):
    tsv = tmp_path / "v.tsv"
    tsv.write_text(f"chrom\tpos\tref\talt\nchr1\t50\t{CHR[49]}\tG\n")
    frame = score_variants(_CountG(), genome, tsv, progress=False)
    assert frame.loc[0, "g_diff"] == 1
