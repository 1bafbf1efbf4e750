import gzip
import logging

import numpy as np
import pytest

from regzoo.data.encode import decode
from regzoo.data.tables import default_seq_len, fit_sequences, read_table
from regzoo.errors import InputError


def test_csv_default_label_columns(write):
    path = write("t.csv", "id,sequence,bound,signal\ns1,ACGT,1,0.5\ns2,acgn,0,-2\n")
    df = read_table(path)
    assert df.attrs["label_cols"] == ["bound", "signal"]  # all but sequence and id
    assert df["name"].tolist() == ["s1", "s2"]
    assert df["sequence"].tolist() == ["ACGT", "acgn"]
    assert df["signal"].tolist() == [0.5, -2.0] and df["signal"].dtype == np.float32


def test_tsv_and_sniffed_delimiter_and_gzip(write, tmp_path):
    df = read_table(write("t.tsv", "seq\tlabel\nACGT\t1\nTTTT\t0\n"), seq_col="seq")
    assert df["label"].tolist() == [1.0, 0.0]
    df = read_table(write("t.dat", "seq;a;b\nACGT;1;2\n"), seq_col="seq", label_cols=["b"])
    assert df.attrs["label_cols"] == ["b"]
    gz = tmp_path / "t.csv.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("sequence,y\nACGT,3\n")
    assert read_table(gz)["y"].tolist() == [3.0]


def test_fasta_with_labels(write):
    path = write("l.fa", ">s1 bound=1 open=0\nACGT\nAC\n>s2 open=1 bound=0\nTTT\n")
    df = read_table(path)
    assert df["name"].tolist() == ["s1", "s2"]
    assert df["sequence"].tolist() == ["ACGTAC", "TTT"]
    assert df.attrs["label_cols"] == ["bound", "open"]
    assert df["open"].tolist() == [0.0, 1.0]
    with pytest.raises(InputError, match="record 's2' has labels"):
        read_table(write("m.fa", ">s1 a=1\nAC\n>s2 b=1\nAC\n"))
    with pytest.raises(InputError, match="not key=value"):
        read_table(write("k.fa", ">s1 1\nAC\n"))
    with pytest.raises(InputError, match="no label column"):
        read_table(write("n.fa", ">s1\nAC\n"))


def test_missing_column_lists_available(write):
    path = write("t.csv", "seq,y\nACGT,1\n")
    with pytest.raises(InputError, match="no column 'sequence'; available columns: seq, y") as err:
        read_table(path)
    assert str(path) in str(err.value)
    with pytest.raises(InputError, match="no column 'z'; available columns: seq, y"):
        read_table(path, seq_col="seq", label_cols=["z"])


def test_non_numeric_label_names_file_row_column(write):
    path = write("t.csv", "sequence,y,z\nACGT,1,2\nACGT,1,high\n")
    with pytest.raises(InputError) as err:
        read_table(path)
    assert str(err.value).startswith(f"{path}: line 3, column 'z': 'high' is not a number")
    path = write("l.fa", ">a y=1\nAC\n>b y=x\nAC\n")
    with pytest.raises(InputError, match=r"record 2, column 'y': 'x' is not a number"):
        read_table(path)


def test_empty_sequence_names_row(write):
    with pytest.raises(InputError, match=r"t\.csv: line 3: empty sequence"):
        read_table(write("t.csv", "sequence,y\nACGT,1\n,0\n"))
    with pytest.raises(InputError, match="record 2: empty sequence"):
        read_table(write("l.fa", ">a y=1\nAC\n>b y=0\n>c y=1\nAC\n"))


def test_fit_sequences_reports_crops_and_pads(caplog):
    seqs = ["ACGTACGT", "ACGTACGT", "ACGTACGTAA", "ACGT", "ACGTACGT"]
    assert default_seq_len([len(s) for s in seqs]) == 8  # the mode, not the longest
    with caplog.at_level(logging.INFO, logger="regzoo.data.tables"):
        codes, report = fit_sequences(seqs, source="x.csv")
    assert codes.shape == (5, 8)
    assert report["n_cropped"] == 1 and report["bases_cropped"] == 2
    assert report["n_padded"] == 1 and report["bases_padded"] == 4
    assert decode(codes[2]) == "CGTACGTA"  # centre crop
    assert decode(codes[3]) == "NNACGTNN"
    assert "1 cropped, 1 padded" in caplog.text
    _, report = fit_sequences(seqs, seq_len=10)
    assert report["n_padded"] == 4 and report["n_cropped"] == 0
    assert default_seq_len([5, 5, 7, 7, 3]) == 7  # tie between modes -> the longest
    with pytest.raises(InputError, match="x.csv: line 4: invalid character 'Z'"):
        fit_sequences(["ACGT", "ACZT"], source="x.csv", row_names=["line 3", "line 4"])
