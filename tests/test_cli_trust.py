"""Results a user can trust from the command line: each test reproduces a defect or friction a new
user hit (augmentation defaults, wrong split, counts as classes, undefined metrics, DDP writing
twice, ...) and asserts the corrected behaviour."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.test_cli import _planted_genome, run

MOTIF = "GGATTACCA"  # not its own reverse complement


def _rc(seq: str) -> str:
    return seq[::-1].translate(str.maketrans("ACGT", "TGCA"))


def _strand_table(path: Path, n: int = 800, seed: int = 0) -> Path:
    """41-bp sites, motif centred: label 1 on the + strand, 0 the same motif reverse-complemented
    at the same place. Strand- and position-specific (like a modification site)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        seq = "".join(rng.choice(list("ACGT"), 41))
        site = MOTIF if i % 2 else _rc(MOTIF)
        start = 20 - len(site) // 2
        rows.append(f"{seq[:start]}{site}{seq[start + len(site) :]},{i % 2}")
    path.write_text("sequence,label\n" + "\n".join(rows) + "\n")
    return path


def _metrics(model_dir: Path) -> dict:
    return json.loads((model_dir / "metrics.json").read_text())


def test_augmentation_default_keeps_a_strand_specific_signal(capsys, monkeypatch, tmp_path):
    table = _strand_table(tmp_path / "sites.csv")
    args = ["train", "--model", "deepbind", "--table", str(table), "--max-epochs", "6"]
    args += ["--lr", "0.01"]
    code, _, err = run(capsys, monkeypatch, *args, "--out", str(tmp_path / "plain"))
    assert code == 0, err
    assert "augmentation: none (off by default for user files" in err
    code, _, err = run(
        capsys,
        monkeypatch,
        *args,
        "--out",
        str(tmp_path / "rc"),
        "--rc-augment",
        "--max-shift",
        "3",
    )
    assert code == 0, err
    assert "augmentation: reverse complement + shifts up to 3 bp" in err
    plain, rc = _metrics(tmp_path / "plain"), _metrics(tmp_path / "rc")
    assert plain["test"]["auroc"] > 0.95
    # a reverse complement turns a positive into a negative: RC augmentation destroys the signal
    assert rc["test"]["auroc"] < plain["test"]["auroc"] - 0.15
    saved = json.loads((tmp_path / "rc" / "config.json").read_text())
    assert saved["training"]["augmentation"]["rc"] is True
    assert saved["training"]["augmentation"]["max_shift"] == 3
    assert saved["task"]["augmentation"]["rc"] is True


def test_evaluate_scores_the_stored_test_split(capsys, monkeypatch, tmp_path):
    """Trained with --valid-chroms chr2 --test-chroms chr3; evaluate without the flags must score
    chr3 (the test chromosome), not re-split on its own."""
    genome, bed = _planted_genome(tmp_path)
    model_dir = tmp_path / "m"
    code, _, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        "deepbind",
        "--genome",
        str(genome),
        "--intervals",
        str(bed),
        "--valid-chroms",
        "chr2",
        "--test-chroms",
        "chr3",
        "--out",
        str(model_dir),
        "--max-epochs",
        "2",
    )
    assert code == 0, err
    # the intervals are all 100 bp: seq_len defaults to that width, and says so
    assert "100 bp, the width of every interval" in err
    saved = _metrics(model_dir)["test"]
    code, out, err = run(capsys, monkeypatch, "evaluate", str(model_dir))
    assert code == 0, err
    assert "scoring the test split (300 rows)" in err and "split as in training" in err
    payload = json.loads(out.strip().splitlines()[-1])
    assert payload["split"] == "test" and payload["n"] == 300
    assert payload["metrics"]["auroc"] == pytest.approx(saved["auroc"], abs=1e-6)
    # the same files given explicitly: still the stored split
    code, out, err = run(
        capsys,
        monkeypatch,
        "evaluate",
        str(model_dir),
        "--genome",
        str(genome),
        "--intervals",
        str(bed),
        "--split",
        "valid",
    )
    assert code == 0, err
    payload = json.loads(out.strip().splitlines()[-1])
    assert payload["split"] == "valid" and payload["n"] == 300


def test_evaluate_external_table_scores_every_row(capsys, monkeypatch, tmp_path):
    table = _strand_table(tmp_path / "train.csv", n=400)
    other = _strand_table(tmp_path / "other.csv", n=120, seed=5)
    model_dir = tmp_path / "m"
    code, _, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        "deepbind",
        "--table",
        str(table),
        "--out",
        str(model_dir),
        "--max-epochs",
        "1",
    )
    assert code == 0, err
    code, out, err = run(capsys, monkeypatch, "evaluate", str(model_dir), "--table", str(other))
    assert code == 0, err
    assert "scoring the all split (120 rows)" in err
    assert json.loads(out.strip().splitlines()[-1])["n"] == 120


def test_counts_are_not_turned_into_classes(capsys, monkeypatch, tmp_path):
    rng = np.random.default_rng(1)
    seqs = ["".join(rng.choice(list("ACGT"), 30)) for _ in range(200)]
    counts = rng.integers(0, 21, size=200)
    path = tmp_path / "counts.csv"
    pd.DataFrame({"sequence": seqs, "reads": counts}).to_csv(path, index=False)
    code, _, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        "deepbind",
        "--table",
        str(path),
        "--out",
        str(tmp_path / "m"),
        "--max-epochs",
        "1",
    )
    assert code == 0, err
    assert "task type: regression (inferred: one column of 21 distinct integers" in err
    assert "--task-type multiclass" in err  # the flag that changes it, named as a flag
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    assert saved["task"]["task_type"] == "regression" and saved["task"]["label_names"] == ["reads"]


def test_undefined_metrics_are_null_and_na(capsys, monkeypatch, tmp_path):
    """A test table with no positives: AUROC, AUPRC and MCC are undefined, not 0 / -1."""
    table = _strand_table(tmp_path / "train.csv", n=300)
    test = tmp_path / "negatives.csv"
    frame = pd.read_csv(_strand_table(tmp_path / "t.csv", n=60, seed=3))
    frame[frame.label == 0].to_csv(test, index=False)
    code, out, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        "deepbind",
        "--table",
        str(table),
        "--test-table",
        str(test),
        "--out",
        str(tmp_path / "m"),
        "--max-epochs",
        "1",
    )
    assert code == 0, err
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert metrics["test"]["auroc"] is None and metrics["test"]["auprc"] is None
    assert metrics["test"]["mcc"] is None and metrics["test"]["accuracy"] is not None
    assert "only negatives (30 items)" in metrics["undefined"]["test"]["label"]
    assert "n/a" in out
    assert "test split, label 'label': only negatives" in err


def test_multilabel_metrics_per_label(capsys, monkeypatch, tmp_path):
    rng = np.random.default_rng(2)
    seqs = ["".join(rng.choice(list("ACGT"), 30)) for _ in range(300)]
    a = rng.integers(0, 2, 300)
    b = np.zeros(300, dtype=int)  # never positive: undefined in every split
    path = tmp_path / "ml.csv"
    pd.DataFrame({"sequence": seqs, "a": a, "b": b}).to_csv(path, index=False)
    code, out, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        "deepbind",
        "--table",
        str(path),
        "--out",
        str(tmp_path / "m"),
        "--max-epochs",
        "1",
    )
    assert code == 0, err
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert set(metrics["test_per_label"]) == {"a", "b"}
    assert metrics["test_per_label"]["b"]["auroc"] is None
    assert metrics["test_per_label"]["a"]["auroc"] is not None
    # the macro average is over the labels where the metric is defined
    assert metrics["test"]["auroc"] == pytest.approx(metrics["test_per_label"]["a"]["auroc"])
    assert "per label (test)" in out and "b *" in out


def test_missing_labels_refused_then_masked(capsys, monkeypatch, tmp_path):
    rng = np.random.default_rng(3)
    seqs = ["".join(rng.choice(list("ACGT"), 30)) for _ in range(200)]
    a = rng.integers(0, 2, 200).astype(object)
    b = rng.integers(0, 2, 200).astype(object)
    a[::7] = "NA"
    b[3] = ""
    path = tmp_path / "na.csv"
    pd.DataFrame({"sequence": seqs, "a": a, "b": b}).to_csv(path, index=False)
    base = ["train", "--model", "deepbind", "--table", str(path), "--max-epochs", "1"]
    code, _, err = run(capsys, monkeypatch, *base, "--out", str(tmp_path / "m"))
    assert code == 2
    assert "30 missing label value(s)" in err and "--missing-labels mask" in err
    code, _, err = run(
        capsys, monkeypatch, *base, "--out", str(tmp_path / "m"), "--missing-labels", "mask"
    )
    assert code == 0, err
    assert "missing labels: 30 value(s), rule mask" in err
    metrics = _metrics(tmp_path / "m")
    assert metrics["test_per_label"]["a"]["auroc"] is not None  # scored on its known rows
    code, _, err = run(
        capsys, monkeypatch, *base, "--out", str(tmp_path / "d"), "--missing-labels", "drop"
    )
    assert code == 0, err
    saved = json.loads((tmp_path / "d" / "config.json").read_text())
    assert sum(saved["task"]["sizes"].values()) == 200 - 30


def test_out_folder_is_not_overwritten_silently(capsys, monkeypatch, tmp_path):
    table = _strand_table(tmp_path / "t.csv", n=200)
    out = tmp_path / "m"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    args = ["train", "--model", "deepbind", "--table", str(table), "--max-epochs", "1"]
    code, _, err = run(capsys, monkeypatch, *args, "--out", str(out))
    assert code == 2 and "pass --overwrite" in err
    assert (out / "notes.txt").read_text() == "mine"
    code, _, err = run(capsys, monkeypatch, *args, "--out", str(out), "--overwrite")
    assert code == 0, err
    assert not (out / "notes.txt").exists() and (out / "model.safetensors").is_file()


def test_config_records_command_line_and_data_checksums(capsys, monkeypatch, tmp_path):
    import hashlib

    table = _strand_table(tmp_path / "t.csv", n=200)
    code, _, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        "deepbind",
        "--table",
        str(table),
        "--out",
        str(tmp_path / "m"),
        "--max-epochs",
        "1",
    )
    assert code == 0, err
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    assert "train --model deepbind --table" in saved["training"]["run"]["command"]
    assert saved["training"]["devices"] == 1 and saved["training"]["world_size"] == 1
    (record,) = saved["task"]["data_files"]
    assert record["path"] == str(table.resolve())
    assert record["sha256"] == hashlib.sha256(table.read_bytes()).hexdigest()
    # evaluate warns when the file changed since training
    table.write_text(table.read_text().replace("sequence,label", "sequence,label", 1) + "")
    with open(table, "a") as fh:
        fh.write("ACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTA,1\n")
    code, _, err = run(capsys, monkeypatch, "evaluate", str(tmp_path / "m"))
    assert code == 0, err
    assert "changed since the model was trained" in err


def test_split_column_and_folds(capsys, monkeypatch, tmp_path):
    table = _strand_table(tmp_path / "t.csv", n=300)
    frame = pd.read_csv(table)
    frame["part"] = ["train"] * 200 + ["valid"] * 40 + ["test"] * 60
    frame.to_csv(table, index=False)
    code, _, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        "deepbind",
        "--table",
        str(table),
        "--split-col",
        "part",
        "--out",
        str(tmp_path / "m"),
        "--max-epochs",
        "1",
    )
    assert code == 0, err
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    assert saved["task"]["sizes"] == {"train": 200, "valid": 40, "test": 60}
    assert saved["task"]["label_names"] == ["label"]  # the split column is not a label
    table2 = _strand_table(tmp_path / "f.csv", n=150)
    code, out, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        "deepbind",
        "--table",
        str(table2),
        "--folds",
        "3",
        "--out",
        str(tmp_path / "cv"),
        "--max-epochs",
        "1",
    )
    assert code == 0, err
    oof = pd.read_csv(tmp_path / "cv" / "oof_predictions.tsv", sep="\t")
    assert sorted(oof["row"]) == list(range(150))  # every row predicted once, out of fold
    assert oof.groupby("fold").size().tolist() == [50, 50, 50]
    summary = json.loads((tmp_path / "cv" / "cv_metrics.json").read_text())
    assert summary["n_folds"] == 3 and "mean" in summary["summary"]["auroc"]
    assert "3-fold cross-validation" in out
    for k in range(3):
        assert (tmp_path / "cv" / f"fold{k}" / "model.safetensors").is_file()


def test_predict_creates_the_output_folder_and_reports_once(capsys, monkeypatch, tmp_path):
    table = _strand_table(tmp_path / "t.csv", n=200)
    code, _, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        "deepbind",
        "--table",
        str(table),
        "--out",
        str(tmp_path / "m"),
        "--max-epochs",
        "1",
    )
    assert code == 0, err
    fasta = tmp_path / "q.fa"
    fasta.write_text(">a\n" + "ACGT" * 20 + "\n>b\nACGTAC\n")
    out = tmp_path / "new" / "dir" / "p.tsv"
    code, _, err = run(
        capsys, monkeypatch, "predict", str(tmp_path / "m"), "--fasta", str(fasta), "-o", str(out)
    )
    assert code == 0, err
    assert out.is_file() and len(pd.read_csv(out, sep="\t")) == 2
    assert err.count("centre-cropped") == 1


@pytest.mark.parametrize(
    "content, suffix, expected",
    [
        (
            "chrom\tstart\tend\tlabel\nchr1\t0\t10\t1\n",
            ".bed",
            "looks like a header line; BED header lines start with '#'",
        ),
        (">s1|1\nACGT\n>s2|0\nACGT\n", ".fa", "labels go after the id as key=value"),
        ("sequence,gene,y\nACGT,abc,1\nACGT,xyz,0\n", ".csv", "--label-cols a,b"),
    ],
)
def test_format_errors_name_the_fix(capsys, monkeypatch, tmp_path, content, suffix, expected):
    path = tmp_path / f"in{suffix}"
    path.write_text(content)
    if suffix == ".bed":
        genome = tmp_path / "g.fa"
        genome.write_text(">chr1\n" + "ACGT" * 50 + "\n")
        source = ["--genome", str(genome), "--intervals", str(path)]
    else:
        source = ["--table", str(path)]
    code, _, err = run(
        capsys, monkeypatch, "train", "--model", "deepbind", *source, "--out", str(tmp_path / "m")
    )
    assert code == 2 and expected in err and "Traceback" not in err


def test_mostly_n_sequences_counted_and_dropped(capsys, monkeypatch, tmp_path):
    table = _strand_table(tmp_path / "t.csv", n=200)
    frame = pd.read_csv(table)
    frame.loc[:9, "sequence"] = "N" * 41
    frame.to_csv(table, index=False)
    args = ["train", "--model", "deepbind", "--table", str(table), "--max-epochs", "1"]
    code, _, err = run(capsys, monkeypatch, *args, "--out", str(tmp_path / "a"))
    assert code == 0, err
    assert "10 sequence(s) are more than 50% N (10 entirely N)" in err
    code, _, err = run(
        capsys, monkeypatch, *args, "--out", str(tmp_path / "b"), "--max-n-frac", "0.5"
    )
    assert code == 0, err
    assert "dropped 10 sequence(s) with more than 0.5 N" in err
    saved = json.loads((tmp_path / "b" / "config.json").read_text())
    assert sum(saved["task"]["sizes"].values()) == 190


def test_ddp_from_the_cli_writes_once(tmp_path):
    """Two CPU ranks through Lightning's launcher: one 'saved' line, one writer, world size and
    device count recorded, rank 0's wall time."""
    table = _strand_table(tmp_path / "t.csv", n=400)
    regzoo = Path(sys.executable).parent / "regzoo"
    proc = subprocess.run(
        [
            str(regzoo),
            "train",
            "--model",
            "deepbind",
            "--table",
            str(table),
            "--out",
            str(tmp_path / "m"),
            "--max-epochs",
            "2",
            "--accelerator",
            "cpu",
            "--devices",
            "2",
            "--strategy",
            "ddp",
        ],
        capture_output=True,
        text=True,
        timeout=400,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("saved to") == 1, proc.stdout
    assert proc.stdout.count("test metrics") == 1
    assert proc.stderr.count("augmentation:") == 1
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    assert saved["training"]["world_size"] == 2 and saved["training"]["devices"] == 2
    assert "DDP" in saved["training"]["strategy"]
    assert saved["training"]["wall_time_s"] > 1.0


@pytest.mark.parametrize("delay", [0.5, 8.0])  # a worker starting up; a worker training
def test_compare_ctrl_c_says_how_to_resume(tmp_path, delay):
    """Ctrl-C during compare (isolated workers): one line on how to resume, exit 130, no
    traceback from the worker or the parent."""
    import os
    import signal
    import time

    table = _strand_table(tmp_path / "t.csv", n=2000)
    regzoo = Path(sys.executable).parent / "regzoo"
    proc = subprocess.Popen(
        [str(regzoo), "compare", "--models", "danq,deepsite", "--table", str(table)]
        + ["--out", str(tmp_path / "cmp"), "--max-epochs", "50", "--patience", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        start_new_session=True,
        # a job started in the background (nohup ... &) inherits an ignored SIGINT: restore the
        # default so that the interrupt reaches regzoo as a terminal's Ctrl-C would
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 120
    while time.time() < deadline and not (tmp_path / "cmp" / "runs").is_dir():
        time.sleep(0.5)
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted — run the same command again to resume" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
