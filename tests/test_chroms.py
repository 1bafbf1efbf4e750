"""Chromosome-name reconciliation: exact, aliases, refusal, explicit drops."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from regzoo.data.chroms import alias_key, match_chroms, rename_chroms
from regzoo.errors import InputError

YEAST = Path("/work/shared/data/yeast_r64")


def test_exact_names_need_no_message():
    mapping, message = match_chroms(["chr1", "chr2", "chr1"], ["chr1", "chr2", "chrX"], "a.bed")
    assert mapping == {"chr1": "chr1", "chr2": "chr2"}
    assert message == ""


def test_chr_prefix_and_mito_aliases():
    genome = ["I", "II", "Mito"]
    mapping, message = match_chroms(["chrI", "chrII", "chrM"], genome, "sites.bed")
    assert mapping == {"chrI": "I", "chrII": "II", "chrM": "Mito"}
    assert message.startswith("mapped 3 chromosome names of sites.bed to the genome's:")
    assert "chrI->I" in message and "chrM->Mito" in message
    for name in ("MT", "M", "chrMito", "chrMT", "mitochondrion"):
        assert match_chroms([name], ["chr1", "chrM"], "x")[0] == {name: "chrM"}
    assert match_chroms(["1", "X"], ["chr1", "chrX"], "x")[0] == {"1": "chr1", "X": "chrX"}
    assert match_chroms(["Chr1"], ["1"], "x")[0] == {"Chr1": "1"}
    assert alias_key("chr") == "chr"


def test_roman_is_not_arabic_and_mismatch_is_refused():
    with pytest.raises(InputError) as err:
        match_chroms(["chr1", "chr2", "chrI"], ["I", "II"], "sites.bed")
    text = str(err.value)
    assert "sites.bed" in text and "chr1" in text and "genome names: I, II" in text


def test_ambiguous_alias_is_refused():
    # the genome has both chr1 and 1: '01'? no; 'Chr1' has key '1' shared by two genome names
    with pytest.raises(InputError):
        match_chroms(["Chr1"], ["chr1", "1"], "x.bed")


def test_drop_is_explicit_and_counted():
    df = pd.DataFrame({"chrom": ["chrI", "chrI", "chrZ", "chrQ"], "start": [0, 1, 2, 3]})
    out, message, n = rename_chroms(df, ["I", "II"], "x.bed", unknown="drop")
    assert list(out["chrom"]) == ["I", "I"] and n == 2
    assert "dropped 2 chromosome names" in message and "(2 rows dropped)" in message
    assert "chrI->I" in message
    with pytest.raises(InputError):
        rename_chroms(df, ["I", "II"], "x.bed")


@pytest.mark.skipif(not YEAST.is_dir(), reason="shared yeast data not present")
def test_real_yeast_sites_map_onto_the_ensembl_genome():
    sites = pd.read_csv(YEAST / "tf_sites_chip_supported.bed", sep="\t", header=None)
    with gzip.open(YEAST / "Saccharomyces_cerevisiae.R64-1-1.dna.toplevel.fa.gz", "rt") as fh:
        genome = [line[1:].split()[0] for line in fh if line.startswith(">")]
    assert "Mito" in genome and "I" in genome
    mapping, message = match_chroms(sites[0], genome, "tf_sites_chip_supported.bed")
    assert len(mapping) == 15  # XVI is withheld from the label files
    assert all(mapping[f"chr{g}"] == g for g in genome if f"chr{g}" in mapping)
    assert message.startswith("mapped 15 chromosome names of tf_sites_chip_supported.bed")
