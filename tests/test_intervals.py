import numpy as np
import pandas as pd
import pytest

from regzoo.data.genome import Genome
from regzoo.data.intervals import (
    assign_to_blocks,
    choose_split_chroms,
    chrom_blocks,
    read_bed,
    split_by_chrom,
)
from regzoo.errors import InputError

SIZES = {"chrA": 24, "chrB": 16}


def test_bed3_with_track_browser_comment_and_blank_lines(write):
    path = write(
        "a.bed",
        "track name=peaks\nbrowser position chrA:1-10\n# a comment\n\nchrA\t0\t10\nchrB\t5\t16\n",
    )
    df = read_bed(path)
    assert list(df.columns) == ["chrom", "start", "end"]
    assert df["start"].tolist() == [0, 5] and df["end"].tolist() == [10, 16]
    assert df.index.tolist() == [5, 6]  # line numbers
    assert df.attrs["label_cols"] == []


def test_bed6(write):
    df = read_bed(write("a.bed", "chrA\t0\t10\tp1\t500\t+\nchrB\t1\t3\tp2\t0\t-\n"))
    assert list(df.columns) == ["chrom", "start", "end", "name", "score", "strand"]
    assert df["strand"].tolist() == ["+", "-"]


def test_bed8_labels_named_by_position_or_header(write):
    rows = "chrA\t0\t10\tp\t0\t.\t1\t0.5\nchrB\t1\t3\tq\t0\t.\t0\t2\n"
    df = read_bed(write("a.bed", rows))
    assert df.attrs["label_cols"] == ["col7", "col8"]
    assert df["col8"].tolist() == [0.5, 2.0] and df["col8"].dtype == np.float32
    header = "#chrom\tstart\tend\tname\tscore\tstrand\tCTCF\tDNase\n"
    df = read_bed(write("b.bed", header + rows))
    assert df.attrs["label_cols"] == ["CTCF", "DNase"]
    df = read_bed(write("c.bed", header + rows), label_cols=["DNase"])
    assert df.attrs["label_cols"] == ["DNase"]


@pytest.mark.parametrize(
    "text, message, line",
    [
        ("chrA\t0\t10\nchrA\t12\t5\n", "start 12 is after end 5", 2),
        ("chrA\t-1\t10\n", "start -1 is negative", 1),
        ("chrA\t0\t10\nchrA\t1.5\t10\n", "start '1.5' is not an integer", 2),
        ("chrA\t0\tten\n", "end 'ten' is not an integer", 1),
        ("chrA\t0\t10\nchrA\t0\t10\tx\n", "4 fields but the first interval has 3", 2),
        ("chrA\t0\t10\tp\t0\t*\n", "strand '\\*'", 1),
        (
            "chrA\t0\t10\tp\t0\t+\t1\nchrA\t0\t10\tp\t0\t+\tyes\n",
            "label column 'col7' holds 'yes'",
            2,
        ),
        ("chrA\t0\n", "needs chrom, start, end", 1),
    ],
)
def test_bad_bed_names_file_and_line(write, text, message, line):
    path = write("bad.bed", text)
    with pytest.raises(InputError, match=message) as err:
        read_bed(path)
    assert f"{path}:{line}:" in str(err.value)
    assert "\n" not in str(err.value)


def test_empty_and_missing(write, tmp_path):
    with pytest.raises(InputError, match="no intervals"):
        read_bed(write("e.bed", "track x\n# only comments\n"))
    with pytest.raises(InputError, match="not found"):
        read_bed(tmp_path / "missing.bed")
    with pytest.raises(InputError, match="no column 'CTCF'; available columns: chrom, start"):
        read_bed(write("l.bed", "chrA\t0\t10\n"), label_cols=["CTCF"])


def test_chrom_names_checked_against_genome(write, small_fasta):
    genome = Genome(small_fasta)
    assert len(read_bed(write("ok.bed", "chrA\t0\t10\n"), genome=genome)) == 1
    # "A" vs "chrA": refused with examples of both naming styles, nothing dropped silently
    path = write("mismatch.bed", "A\t0\t10\nB\t0\t5\n")
    with pytest.raises(InputError) as err:
        read_bed(path, genome=genome)
    msg = str(err.value)
    assert "chromosome 'A' is not in" in msg and "calls it 'chrA'" in msg
    assert "BED names: A, B" in msg and "genome names: chrA, chrB" in msg
    nc = write("nc.bed", "NC_003070.9\t0\t10\n")
    with pytest.raises(InputError, match="BED names: NC_003070.9; genome names: chrA, chrB"):
        read_bed(nc, genome=SIZES)
    with pytest.warns(UserWarning, match="dropped 1 intervals"):
        df = read_bed(
            write("mixed.bed", "chrA\t0\t10\nchr9\t0\t5\n"), genome=SIZES, unknown_chroms="drop"
        )
    assert df["chrom"].tolist() == ["chrA"]
    with pytest.raises(
        InputError, match=r"past\.bed:1: end 30 is past the end of chrA \(length 24\)"
    ):
        read_bed(write("past.bed", "chrA\t0\t30\n"), genome=SIZES)


def _frame(chroms):
    return pd.DataFrame(
        {"chrom": chroms, "start": range(len(chroms)), "end": range(1, len(chroms) + 1)}
    )


def test_split_by_chrom_disjoint():
    df = _frame(["c1", "c2", "c3", "c1", "c4", "c2", "c5"])
    train, valid, test = split_by_chrom(df, ["c2"], ["c3", "c5"])
    assert set(valid["chrom"]) == {"c2"} and set(test["chrom"]) == {"c3", "c5"}
    assert set(train["chrom"]) == {"c1", "c4"}
    idx = [set(part.index) for part in (train, valid, test)]
    assert not (idx[0] & idx[1] or idx[0] & idx[2] or idx[1] & idx[2])
    assert sum(len(s) for s in idx) == len(df)
    with pytest.raises(InputError, match="in both"):
        split_by_chrom(df, ["c2"], ["c2"])
    with pytest.raises(InputError, match="'c9' has no interval"):
        split_by_chrom(df, ["c9"], ["c3"])


def test_choose_split_chroms_is_seeded_and_disjoint():
    df = _frame([f"c{i % 10}" for i in range(200)])
    valid, test = choose_split_chroms(df, 0.1, 0.2, seed=3)
    assert choose_split_chroms(df, 0.1, 0.2, seed=3) == (valid, test)
    assert not set(valid) & set(test)
    assert (df["chrom"].isin(test)).mean() >= 0.2 and (df["chrom"].isin(valid)).mean() >= 0.1
    with pytest.raises(InputError, match="3 or more"):
        choose_split_chroms(_frame(["c1", "c2"]))


def test_chrom_blocks_contiguous_and_straddlers():
    regions = chrom_blocks(1000, (0.8, 0.9), (0.9, 1.0))
    assert regions == [("train", 0, 800), ("valid", 800, 900), ("test", 900, 1000)]
    regions = chrom_blocks(1000, (0.1, 0.2), (0.5, 0.6))
    assert [r[0] for r in regions] == ["train", "valid", "train", "test", "train"]
    assert all(a[2] == b[1] for a, b in zip(regions, regions[1:], strict=False))
    split = assign_to_blocks(
        np.array([0, 790, 850, 899, 950]), np.array([10, 810, 860, 905, 1000]), chrom_blocks(1000)
    )
    assert split.tolist() == [0, -1, 1, -1, 2]
    # by positions: each block holds its share of the positions
    pos = np.concatenate([np.arange(0, 100, 10), np.arange(900, 1000, 1)])  # uneven
    regions = chrom_blocks(1000, (0.8, 0.9), (0.9, 1.0), positions=pos)
    for split_name, lo, hi in regions[1:]:
        assert ((pos >= lo) & (pos < hi)).sum() == 11, split_name
    with pytest.raises(InputError, match="overlap"):
        chrom_blocks(1000, (0.5, 0.7), (0.6, 0.8))
