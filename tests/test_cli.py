"""The command line, run in-process through its real entry point (``regzoo.cli.main``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from _zoo_helpers import run_cli

TINY = "promoters-tiny"


run = run_cli  # regzoo ARGS in this process -> (code, stdout, stderr)


def test_help_is_complete(capsys, monkeypatch):
    code, out, _ = run(capsys, monkeypatch, "--help")
    assert code == 0
    for command in ("models", "tasks", "train", "evaluate", "predict", "compare"):
        assert command in out
    code, out, _ = run(capsys, monkeypatch, "train", "--help")
    for option in (
        "--model",
        "--task",
        "--table",
        "--label-cols",
        "--genome",
        "--intervals",
        "--out",
        "--max-epochs",
        "--seq-len",
        "--batch-size",
        "--seed",
    ):
        assert option in out, option


def test_models_lists_all_nine(capsys, monkeypatch):
    code, out, _ = run(capsys, monkeypatch, "models", "--json")
    assert code == 0
    cards = json.loads(out)
    assert [c["name"] for c in cards] == [
        "deepbind",
        "deepsea",
        "basset",
        "danq",
        "expresnet",
        "basenji",
        "deepsite",
        "deep6mapred",
        "enformer",
    ]
    assert all(c["published_params"] > 0 for c in cards)
    code, out, _ = run(capsys, monkeypatch, "models")
    assert "52,843,119" in out  # DeepSEA's published parameter count


def test_train_evaluate_predict_end_to_end(capsys, monkeypatch, tmp_path):
    out_dir = tmp_path / "model"
    code, out, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        "deepbind",
        "--task",
        TINY,
        "--out",
        str(out_dir),
        "--max-epochs",
        "2",
        "--seed",
        "1",
    )
    assert code == 0, err
    assert "auroc" in out
    for name in ("model.safetensors", "config.json", "metrics.json"):
        assert (out_dir / name).is_file()
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["test"]["auroc"] <= 1.0
    config = json.loads((out_dir / "config.json").read_text())
    assert config["task"]["name"] == TINY and config["training"]["epochs"] >= 1

    code, out, err = run(
        capsys, monkeypatch, "evaluate", str(out_dir), "--json-out", str(tmp_path / "m.json")
    )
    assert code == 0, err
    payload = json.loads(out.strip().splitlines()[-1])
    assert payload["metrics"]["auroc"] == pytest.approx(metrics["test"]["auroc"], abs=1e-6)

    fasta = tmp_path / "query.fa"
    fasta.write_text(">a\n" + "ACGT" * 100 + "\n>b\n" + "TTGACA" * 20 + "\n")
    code, _, err = run(
        capsys,
        monkeypatch,
        "predict",
        str(out_dir),
        "--fasta",
        str(fasta),
        "-o",
        str(tmp_path / "p.tsv"),
    )
    assert code == 0, err
    preds = pd.read_csv(tmp_path / "p.tsv", sep="\t")
    assert list(preds["name"]) == ["a", "b"] and preds.shape == (2, 2)
    assert preds.iloc[:, 1].between(0, 1).all()

    table = tmp_path / "query.csv"
    table.write_text("id,sequence\nx,ACGTACGT\ny,GGGGCCCC\n")
    code, _, err = run(
        capsys,
        monkeypatch,
        "predict",
        str(out_dir),
        "--table",
        str(table),
        "-o",
        str(tmp_path / "q.tsv"),
    )
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "q.tsv", sep="\t")) == 2


def test_train_on_a_table(capsys, monkeypatch, tmp_path):
    from regzoo.data.encode import decode
    from regzoo.data.synthetic import planted_motif_codes

    codes, labels = planted_motif_codes(2000, 60, seed=4)
    path = tmp_path / "seqs.tsv"
    pd.DataFrame({"sequence": [decode(c) for c in codes], "bound": labels.astype(int)}).to_csv(
        path, sep="\t", index=False
    )
    code, out, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        "deepbind",
        "--table",
        str(path),
        "--label-cols",
        "bound",
        "--out",
        str(tmp_path / "m"),
        "--max-epochs",
        "10",
        "--lr",
        "0.005",
    )
    assert code == 0, err
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["test"]["auroc"] > 0.85


@pytest.mark.parametrize(
    "args, expected",
    [
        (
            ["train", "--model", "nosuch", "--task", TINY, "--out", "x"],
            "unknown model 'nosuch'; valid models:",
        ),
        (
            ["train", "--model", "deepbind", "--task", "nosuch", "--out", "x"],
            "unknown task 'nosuch'",
        ),
        (["train", "--model", "deepbind", "--table", "missing.csv", "--out", "x"], "missing.csv"),
        (["evaluate", "no-such-dir"], "no-such-dir: not a directory"),
        (["predict", "no-such-dir", "--fasta", "a.fa", "-o", "x.tsv"], "no-such-dir"),
        (["compare", "--models", "deepbind,nosuch", "--task", TINY], "unknown model 'nosuch'"),
    ],
)
def test_bad_input_one_line_error(capsys, monkeypatch, tmp_path, args, expected):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, monkeypatch, *args)
    assert code == 2
    assert expected in " ".join(err.split())
    assert "Traceback" not in err


def test_bad_table_errors(capsys, monkeypatch, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("sequence,label\nACGT,1\nACGA,yes\n")
    code, _, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        "deepbind",
        "--table",
        str(bad),
        "--out",
        str(tmp_path / "m"),
    )
    assert code == 2 and "bad.csv" in err and "Traceback" not in err
    code, _, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        "deepbind",
        "--table",
        str(bad),
        "--label-cols",
        "nope",
        "--out",
        str(tmp_path / "m"),
    )
    assert code == 2 and "nope" in err and "Traceback" not in err


def test_saved_model_dir_without_files(capsys, monkeypatch, tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    code, _, err = run(capsys, monkeypatch, "evaluate", str(tmp_path / "m"))
    assert code == 2 and "missing model.safetensors" in err


def test_console_script_exit_status(tmp_path):
    """The installed entry point: an error is one line on stderr, status 2, no traceback."""
    proc = subprocess.run(
        [sys.executable, "-c", "from regzoo.cli import main; main()", "models", "--bogus"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from regzoo.cli import main; main()",
            "evaluate",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def _planted_genome(tmp_path):
    """Three random chromosomes; BED intervals labelled 1 where the motif was planted."""
    import numpy as np

    from regzoo.data.encode import decode, encode
    from regzoo.data.synthetic import DEFAULT_MOTIF

    rng = np.random.default_rng(7)
    motif = encode(DEFAULT_MOTIF)
    fasta, bed = [], []
    for c in range(1, 4):
        n_sites = 300
        codes = rng.integers(0, 4, size=n_sites * 120).astype(np.uint8)
        for i in range(n_sites):
            start = i * 120 + 10
            label = i % 2
            site = motif if label else rng.permutation(motif)
            offset = int(rng.integers(0, 60))
            codes[start + offset : start + offset + len(site)] = site
            bed.append(f"chr{c}\t{start}\t{start + 100}\tsite{c}_{i}\t0\t+\t{label}")
        fasta.append(f">chr{c}\n{decode(codes)}")
    (tmp_path / "genome.fa").write_text("\n".join(fasta) + "\n")
    (tmp_path / "sites.bed").write_text("track name=sites\n" + "\n".join(bed) + "\n")
    return tmp_path / "genome.fa", tmp_path / "sites.bed"


def test_train_on_genome_and_intervals(capsys, monkeypatch, tmp_path):
    genome, bed = _planted_genome(tmp_path)
    code, out, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        "deepbind",
        "--genome",
        str(genome),
        "--intervals",
        str(bed),
        "--seq-len",
        "100",
        "--valid-chroms",
        "chr2",
        "--test-chroms",
        "chr3",
        "--out",
        str(tmp_path / "m"),
        "--max-epochs",
        "10",
        "--lr",
        "0.005",
    )
    assert code == 0, err
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    assert saved["task"]["sizes"] == {"train": 300, "valid": 300, "test": 300}
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["test"]["auroc"] > 0.85


def test_chromosome_name_mismatch_refused(capsys, monkeypatch, tmp_path):
    genome, bed = _planted_genome(tmp_path)
    renamed = tmp_path / "renamed.bed"
    renamed.write_text(bed.read_text().replace("chr", ""))  # '1' instead of 'chr1'
    code, _, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        "deepbind",
        "--genome",
        str(genome),
        "--intervals",
        str(renamed),
        "--seq-len",
        "100",
        "--out",
        str(tmp_path / "m"),
    )
    assert code == 2 and "Traceback" not in err
    message = " ".join(err.split())
    assert "renamed.bed" in message and "chr1" in message


@pytest.mark.parametrize(
    "model", __import__("regzoo.models", fromlist=["ARCHITECTURES"]).ARCHITECTURES
)
def test_every_architecture_trains_through_the_cli(capsys, monkeypatch, tmp_path, model):
    """`regzoo train --model NAME` works for all nine (compact) on the bundled tiny task, and the
    saved model reloads and predicts."""
    code, _, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        model,
        "--task",
        TINY,
        "--out",
        str(tmp_path / "m"),
        "--max-epochs",
        "1",
    )
    assert code == 0, err
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert 0.0 <= metrics["test"]["auroc"] <= 1.0
    fasta = tmp_path / "q.fa"
    fasta.write_text(">q\n" + "ACGT" * 125 + "\n")
    code, _, err = run(
        capsys,
        monkeypatch,
        "predict",
        str(tmp_path / "m"),
        "--fasta",
        str(fasta),
        "-o",
        str(tmp_path / "p.tsv"),
    )
    assert code == 0, err
    assert pd.read_csv(tmp_path / "p.tsv", sep="\t").shape == (1, 2)


def test_compare_command_writes_leaderboard_and_report(capsys, monkeypatch, tmp_path):
    out_dir = tmp_path / "cmp"
    code, out, err = run(
        capsys,
        monkeypatch,
        "compare",
        "--task",
        TINY,
        "--models",
        "deepbind,danq",
        "--max-epochs",
        "1",
        "--budget-minutes",
        "0",
        "--out",
        str(out_dir),
    )
    assert code == 0, err
    assert "deepbind" in out and "danq" in out and "auroc" in out
    board = pd.read_csv(out_dir / "leaderboard.csv")
    assert set(board["model"]) == {"deepbind", "danq"} and (board["status"] == "ok").all()
    assert (out_dir / "report.html").is_file()
    settings = json.loads((out_dir / "leaderboard.json").read_text())["settings"]
    assert settings["isolate"] is True and settings["budget_minutes"] is None
    # re-running resumes: both runs skipped
    code, _, err = run(
        capsys,
        monkeypatch,
        "compare",
        "--task",
        TINY,
        "--models",
        "deepbind,danq",
        "--max-epochs",
        "1",
        "--budget-minutes",
        "0",
        "--out",
        str(out_dir),
    )
    assert code == 0 and err.count("skipped") == 2


def test_label_cols_accept_commas_multilabel(capsys, monkeypatch, tmp_path):
    """`--label-cols a,b` equals `--label-cols a --label-cols b`: two 0/1 columns -> multilabel."""
    import numpy as np

    from regzoo.data.encode import decode
    from regzoo.data.synthetic import planted_motif_codes

    codes, labels = planted_motif_codes(400, 60, seed=5)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "sequence": [decode(c) for c in codes],
            "bound": labels.astype(int),
            "noise": rng.integers(0, 2, len(codes)),
            "ignored": 0.5,
        }
    )
    path = tmp_path / "two.csv"
    frame.to_csv(path, index=False)
    code, _, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        "deepbind",
        "--table",
        str(path),
        "--label-cols",
        "bound,noise",
        "--out",
        str(tmp_path / "m"),
        "--max-epochs",
        "1",
    )
    assert code == 0, err
    task = json.loads((tmp_path / "m" / "config.json").read_text())["task"]
    assert task["label_names"] == ["bound", "noise"] and task["task_type"] == "multilabel"
