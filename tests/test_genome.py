import gzip
import pickle

import numpy as np
import pysam
import pytest

from conftest import CHR_A, CHR_B, fasta_text
from regzoo.data.encode import encode, reverse_complement
from regzoo.data.genome import Genome, gzip_kind
from regzoo.errors import InputError, NameNotFoundError


def test_fetch_plain(small_fasta):
    g = Genome(small_fasta)
    assert g.chrom_sizes == {"chrA": len(CHR_A), "chrB": len(CHR_B)}
    assert g.fetch("chrA", 0, 24) == CHR_A  # across line breaks, case kept
    assert g.fetch("chrA", 8, 15) == CHR_A[8:15]
    assert g.fetch("chrB", 2, 6, strand="-") == reverse_complement(CHR_B[2:6]) == "CCAA"
    codes = g.fetch_codes("chrA", 5, 13)
    assert codes.dtype == np.uint8
    np.testing.assert_array_equal(codes, encode(CHR_A[5:13]))
    np.testing.assert_array_equal(g.chrom_codes("chrB"), encode(CHR_B))
    assert g.padded_bases == 0


def test_padding_past_ends_is_counted_and_warned(small_fasta):
    g = Genome(small_fasta)
    with pytest.warns(UserWarning, match="padded 3 bases"):
        assert g.fetch("chrB", -3, 2) == "NNN" + CHR_B[:2]
    assert g.padded_bases == 3
    with pytest.warns(UserWarning, match="padded 2 bases"):
        assert g.fetch("chrB", 14, 18, strand="-") == "NN" + reverse_complement(CHR_B[14:])
    assert g.padded_bases == 5
    with pytest.warns(UserWarning):
        assert g.fetch("chrB", 30, 33) == "NNN"  # entirely off the end
    assert g.padded_bases == 8


def test_bgzip(tmp_path):
    plain = tmp_path / "g.fa"
    plain.write_text(fasta_text({"chrA": CHR_A, "chrB": CHR_B}))
    bgz = tmp_path / "g.fa.gz"
    pysam.tabix_compress(str(plain), str(bgz))
    assert gzip_kind(bgz) == "bgzip"
    g = Genome(bgz)
    assert g.path == bgz  # read in place, not decompressed
    assert g.fetch("chrA", 3, 17) == CHR_A[3:17]
    with pytest.warns(UserWarning):
        assert g.fetch("chrB", 12, 20) == CHR_B[12:] + "NNNN"


def test_plain_gzip_is_decompressed_into_cache_or_refused(tmp_path, regzoo_cache):
    gz = tmp_path / "g.fa.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write(fasta_text({"chrA": CHR_A}))
    assert gzip_kind(gz) == "gzip"
    g = Genome(gz)
    assert g.path.parent == regzoo_cache / "genomes"
    assert g.fetch("chrA", 0, 10) == CHR_A[:10]
    assert Genome(gz).path == g.path  # decompressed once, reused
    with pytest.raises(InputError, match="gunzip.*bgzip") as err:
        Genome(gz, decompress=False)
    assert str(gz) in str(err.value)


def test_unknown_chrom_lists_names(small_fasta):
    g = Genome(small_fasta)
    with pytest.raises(NameNotFoundError, match="unknown chromosome 'chr9'.*chrA, chrB"):
        g.fetch("chr9", 0, 5)
    with pytest.raises(NameNotFoundError, match="calls it 'chrA'"):
        g.fetch("A", 0, 5)


@pytest.mark.parametrize(
    "text, message",
    [
        ("ACGT\nACGT\n", "expected a '>' header"),
        ("", "is empty"),
        (">r1\nACGT\n>r2\n>r3\nAC\n", "record 'r2' has an empty sequence"),
        (">r1\nACGT\n>r2\nACXT\n", "record 'r2': invalid character 'X' at position 3"),
        (">r1\nACGT\n>r1\nACGT\n", "unique"),
        (">r1\nACGTA\nAC\nACGTA\n", "cannot index"),
    ],
)
def test_bad_fasta_is_one_line_input_error(write, text, message):
    path = write("bad.fa", text)
    with pytest.raises(InputError, match=message) as err:
        Genome(path)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        Genome(tmp_path / "nope.fa")


def test_fetch_rejects_bad_arguments(small_fasta):
    g = Genome(small_fasta)
    with pytest.raises(InputError, match="start is after end"):
        g.fetch("chrA", 10, 5)
    with pytest.raises(InputError, match="strand"):
        g.fetch("chrA", 0, 5, strand="x")


def test_pickles_without_the_file_handle(small_fasta):
    g = Genome(small_fasta)
    g.fetch("chrA", 0, 3)
    clone = pickle.loads(pickle.dumps(g))
    assert clone.fetch("chrA", 0, 5) == CHR_A[:5]
