"""Peak files, the DeepSEA label rule against hand-computed overlaps, windows and from_peaks."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from conftest import fasta_text
from regzoo.data.cache import GenomeCache, build_genome_cache
from regzoo.data.encode import decode
from regzoo.data.peaks import from_peaks, label_name, label_windows, read_peak_files
from regzoo.data.windows import (
    drop_n_windows,
    exclude_windows,
    n_counts,
    overlaps_any,
    read_regions,
    tile_windows,
)
from regzoo.errors import InputError

# one peak per label; window [0, 400) has centre [100, 300), window [200, 600) centre [300, 500)
HAND_PEAKS = [
    (250, 260),
    (295, 305),
    (296, 306),
    (0, 199),
    (0, 200),
    (150, 1150),
    (201, 1201),
    (300, 310),
]
HAND_EXPECTED = [
    [1, 1, 0, 0, 1, 1, 0, 0],  # 10 bp inside; 5 of 10; 4 of 10; 99 < 99.5; 100 of 200; 150; 99; 0
    [0, 1, 1, 0, 0, 1, 1, 1],
    [0, 0, 0, 0, 0, 0, 0, 0],  # another chromosome
]


def test_label_rule_against_hand_computed_overlaps():
    windows = pd.DataFrame(
        {"chrom": ["c1", "c1", "c2"], "start": [0, 200, 0], "end": [400, 600, 400]}
    )
    peaks = pd.DataFrame(
        {
            "chrom": "c1",
            "start": [s for s, _ in HAND_PEAKS],
            "end": [e for _, e in HAND_PEAKS],
            "label": np.arange(8, dtype=np.int32),
        }
    )
    y = label_windows(windows, peaks, 8, label_center=200, min_overlap=0.5)
    assert y.dtype == np.float32 and y.shape == (3, 8)
    assert y.tolist() == HAND_EXPECTED
    # any 1-bp overlap with min_overlap=0; the half-open end [300, 310) still does not touch [100, 300)
    y0 = label_windows(windows, peaks, 8, label_center=200, min_overlap=0.0)
    assert y0[0].tolist() == [1, 1, 1, 1, 1, 1, 1, 0]
    # window order does not matter
    rev = label_windows(windows.iloc[::-1].reset_index(drop=True), peaks, 8)
    assert rev[::-1].tolist() == HAND_EXPECTED


def test_label_rule_matches_brute_force_on_random_data():
    rng = np.random.default_rng(1)
    starts = rng.integers(0, 200_000, 3000)
    windows = pd.DataFrame(
        {"chrom": rng.choice(["a", "b"], 3000), "start": starts, "end": starts + 1000}
    )
    ps = rng.integers(0, 200_000, 800)
    peaks = pd.DataFrame(
        {
            "chrom": rng.choice(["a", "b", "z"], 800),
            "start": ps,
            "end": ps + rng.integers(1, 3000, 800),
            "label": rng.integers(0, 5, 800).astype(np.int32),
        }
    )
    y = label_windows(windows, peaks, 5, label_center=200, min_overlap=0.5)
    want = np.zeros_like(y)
    pc, pst, pen, plab = (peaks[c].to_numpy() for c in ("chrom", "start", "end", "label"))
    for i, (chrom, start, end) in enumerate(windows[["chrom", "start", "end"]].to_numpy()):
        cs = (start + end) // 2 - 100
        ov = np.minimum(cs + 200, pen) - np.maximum(cs, pst)
        ok = (pc == chrom) & (ov >= 0.5 * np.minimum(pen - pst, 200)) & (ov > 0)
        want[i, plab[ok]] = 1
    assert y.sum() > 50 and np.array_equal(y, want)


def test_read_peak_files(write, tmp_path):
    a = write(
        "CTCF.narrowPeak",
        "track name=x\nbrowser position c1\n# comment\nc1\t10\t20\tp1\t5\t.\t1\t2\t3\t4\n",
    )
    b = tmp_path / "DNase.bed.gz"
    with gzip.open(b, "wt") as fh:
        fh.write("c2\t0\t5\nc1\t3\t9\n")
    peaks, names = read_peak_files([a, b])
    assert names == ["CTCF", "DNase"]
    assert peaks[["chrom", "start", "end", "label"]].values.tolist() == [
        ["c1", 10, 20, 0],
        ["c2", 0, 5, 1],
        ["c1", 3, 9, 1],
    ]
    assert label_name("x/ATF3.peaks.narrowPeak.gz") == "ATF3.peaks"
    sites = write("sites.bed", "chrI\t5\t15\tREB1\nchrI\t40\t50\tABF1\nchrII\t1\t9\tREB1\n")
    peaks, names = read_peak_files([sites], peak_name_col=4)
    assert names == ["ABF1", "REB1"] and peaks["label"].tolist() == [1, 0, 1]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "chrom\tstart\tend\nc1\t1\t2\n",
            r"bad.bed:1: 'chrom\\tstart\\tend' is not an interval; expected",
        ),
        ("c1\t1\t2\nc1\t5\n", r"bad.bed:2: 2 fields; expected at least 3"),
        ("c1\t5\t5\n", r"bad.bed:1: start 5, end 5; expected 0 <= start < end"),
        ("# only a comment\n", "no intervals"),
    ],
)
def test_bad_peak_lines_name_file_and_line(write, text, match):
    with pytest.raises(InputError, match=match):
        read_peak_files([write("bad.bed", text)])


def test_duplicate_label_names_refused(write, tmp_path):
    (tmp_path / "d").mkdir()
    a = write("X.bed", "c1\t1\t2\n")
    b = write("d/X.narrowPeak", "c1\t1\t2\n")
    with pytest.raises(InputError, match="same label name 'X'"):
        read_peak_files([a, b])


# -- windows --------------------------------------------------------------------------------------

RNG = np.random.default_rng(0)
SEQ = {
    "I": "".join(RNG.choice(list("ACGT"), 2400)) + "N" * 600,
    "II": "".join(RNG.choice(list("ACGT"), 2000)),
    "III": "".join(RNG.choice(list("ACGT"), 2000)),
    "Mito": "".join(RNG.choice(list("ACGT"), 500)),
}


@pytest.fixture
def genome(tmp_path):
    path = tmp_path / "genome.fa"
    path.write_text(fasta_text(SEQ, width=60))
    return path


@pytest.fixture
def cache(genome, tmp_path):
    return GenomeCache(build_genome_cache(genome, tmp_path / "codes"))


def test_tile_exclude_and_n_filter(cache, write):
    tiles = tile_windows(cache.chrom_sizes, 400, 200)
    assert len(tiles) == 14 + 9 + 9 + 1
    assert tiles[tiles.chrom == "I"]["start"].tolist() == list(range(0, 2601, 200))
    assert (tiles.end - tiles.start == 400).all()
    n = n_counts(cache, tiles)
    on_i = (tiles.chrom == "I").to_numpy()
    want = [max(0, min(s + 400, 3000) - max(s, 2400)) for s in range(0, 2601, 200)]
    assert n[on_i].tolist() == want
    # positions past a chromosome end count as N
    edge = pd.DataFrame({"chrom": ["II", "II"], "start": [-100, 1900], "end": [300, 2300]})
    assert n_counts(cache, edge).tolist() == [100, 300]
    kept, n_drop = drop_n_windows(tiles, cache, 0.1)
    assert n_drop == 3 and len(kept) == 30  # I: starts 2200, 2400, 2600
    bl = write("black.bed", "chrII\t1000\t1001\nchrZ\t0\t5\n")
    kept2, n_ex, message = exclude_windows(kept, bl, cache.names)
    assert (
        n_ex == 2 and len(kept2) == 28
    )  # [800, 1200) and [1000, 1400); [600, 1000) does not touch
    assert "chrII->II" in message and "dropped 1 chromosome names" in message
    assert not ((kept2.chrom == "II") & kept2.start.isin([800, 1000])).any()


def test_overlaps_any_merges_nested_sets():
    hit = overlaps_any(
        np.array([0, 10, 25, 40]),
        np.array([5, 20, 30, 50]),
        np.array([12, 0, 14]),
        np.array([13, 30, 15]),
    )
    assert hit.tolist() == [True, True, True, False]


def test_read_regions_centres_windows(cache, write):
    bed = write("regions.bed", "chrII\t100\t201\nchrII\t100\t201\nMT\t10\t20\n")
    windows, info = read_regions(bed, cache, 50)
    assert windows.values.tolist() == [["II", 125, 175], ["Mito", -10, 40]]
    assert info["duplicates"] == 1 and "chrII->II" in info["chrom_message"]
    bad = write("bad.bed", "chr1\t1\t5\n")
    with pytest.raises(InputError, match="chr1"):
        read_regions(bad, cache, 50)


def test_from_peaks_end_to_end(genome, write, capsys):
    peaks = write(
        "Sites.bed",
        "chrI\t300\t310\tA\nchrII\t900\t1100\tB\nchrIII\t100\t110\tA\nchrM\t240\t260\tB\nchrI\t1000\t1010\tB\n",
    )
    task = from_peaks(
        genome,
        [peaks],
        seq_len=400,
        stride=200,
        valid_chroms=["chrII"],
        test_chroms=["III"],
        peak_name_col=4,
        negatives_per_positive=None,
        exclude=write("bl.bed", "II\t1999\t2000\n"),
    )
    s = task.summary
    assert task.task_type == "multilabel" and task.label_names == ["A", "B"]
    assert "mapped 4 chromosome names of Sites.bed" in capsys.readouterr().err
    assert "chrM->Mito" in s["chrom_names"]
    assert s["dropped"]["too_many_n"] == 3 and s["dropped"]["excluded"] == 1
    assert task.sizes() == {"train": 12, "valid": 8, "test": 9}
    assert s["valid_chroms"] == ["II"] and s["test_chroms"] == ["III"]
    # every window's labels by the rule: centre [start+100, start+300)
    for part in (task.train, task.valid, task.test):
        for i in range(len(part)):
            chrom, start, end, _ = part.window(i)
            x, y = part[i]
            assert decode(np.argmax(x.numpy(), 0)) == SEQ[chrom][start:end].replace("N", "A")
            if chrom == "I":
                assert y.tolist() == [float(start == 200), float(start == 800)]
    assert s["positives_per_label"]["valid"] == {"A": 0, "B": 1}  # [900, 1100): window 800 only
    assert s["positives_per_label"]["test"] == {"A": 1, "B": 0}


def test_from_peaks_subsamples_empty_windows_and_refuses_mismatch(genome, write):
    peaks = write("P.bed", "chrI\t300\t310\nchrII\t900\t910\nchrIII\t100\t110\n")
    task = from_peaks(
        genome,
        [peaks],
        seq_len=400,
        stride=200,
        valid_chroms=["II"],
        test_chroms=["III"],
        verbose=False,
    )
    assert task.task_type == "binary" and task.label_names == ["P"]
    for part in (task.train, task.valid, task.test):
        y = part.labels[:, 0]
        assert y.sum() >= 1 and (y == 0).sum() == y.sum()  # one empty window per labelled one
    assert task.summary["dropped"]["empty_windows_subsampled"] > 0
    bad = write("Q.bed", "chr1\t300\t310\n")
    with pytest.raises(InputError, match="chr1"):
        from_peaks(
            genome, [bad], seq_len=400, valid_chroms=["II"], test_chroms=["III"], verbose=False
        )
