"""Genome-scale data through the command line: multi-label peaks, bigWig tracks (profile
training for Basenji/Enformer, window totals for sequence-level models), the bundled elements and
tracks tasks."""

from __future__ import annotations

import json

import numpy as np
import pyBigWig
import pytest
from tests.test_cli import run


def _genome(tmp_path, n_chroms=3, size=40_000, seed=0):
    rng = np.random.default_rng(seed)
    seqs = {f"chr{i + 1}": "".join(rng.choice(list("ACGT"), size)) for i in range(n_chroms)}
    path = tmp_path / "genome.fa"
    path.write_text("".join(f">{c}\n{s}\n" for c, s in seqs.items()))
    return path, seqs


def test_peaks_with_chromosome_aliases(capsys, monkeypatch, tmp_path):
    """Peak files say '1', '2', '3' while the genome says chr1..chr3: mapped and said in one line;
    one label per file; evaluate reuses the stored chromosomes."""
    genome, _ = _genome(tmp_path)
    rng = np.random.default_rng(1)
    for name in ("tfA", "tfB"):
        lines = []
        for c in (1, 2, 3):
            for start in sorted(rng.choice(np.arange(1_000, 38_000, 500), 20, replace=False)):
                lines.append(f"{c}\t{start}\t{start + 100}")
        (tmp_path / f"{name}.bed").write_text("\n".join(lines) + "\n")
    model_dir = tmp_path / "m"
    code, _, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        "deepbind",
        "--genome",
        str(genome),
        "--peaks",
        str(tmp_path / "tfA.bed"),
        "--peaks",
        str(tmp_path / "tfB.bed"),
        "--seq-len",
        "400",
        "--valid-chroms",
        "chr2",
        "--test-chroms",
        "chr3",
        "--out",
        str(model_dir),
        "--max-epochs",
        "1",
    )
    assert code == 0, err
    saved = json.loads((model_dir / "config.json").read_text())
    assert saved["task"]["label_names"] == ["tfA", "tfB"]
    assert saved["task"]["task_type"] == "multilabel"
    assert "1->chr1" in err.replace(" ", "") or "1 -> chr1" in err
    code, out, err = run(capsys, monkeypatch, "evaluate", str(model_dir))
    assert code == 0, err
    payload = json.loads(out.strip().splitlines()[-1])
    assert payload["split"] == "test" and payload["n"] == saved["task"]["sizes"]["test"]


def _write_bigwig(path, seqs, value_fn):
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([(c, len(s)) for c, s in seqs.items()])
    for chrom, seq in seqs.items():
        values = value_fn(seq)
        bw.addEntries(chrom, 0, values=values.astype(float).tolist(), span=1, step=1)
    bw.close()


def test_tracks_profile_training_and_window_totals(capsys, monkeypatch, tmp_path):
    """Coverage = local GC (a signal the sequence determines): compact Basenji trains on the
    binned profile; DeepBind trains on log1p window totals (regression)."""
    genome, seqs = _genome(tmp_path, n_chroms=3, size=60_000)

    def gc_coverage(seq):
        gc = np.frombuffer(seq.encode(), dtype=np.uint8)
        gc = np.isin(gc, (ord("G"), ord("C"))).astype(float)
        return np.convolve(gc, np.ones(64) / 64, mode="same") * 10

    _write_bigwig(tmp_path / "gc.bw", seqs, gc_coverage)
    common = [
        "--genome",
        str(genome),
        "--tracks",
        str(tmp_path / "gc.bw"),
        "--seq-len",
        "4096",
        "--stride",
        "1024",
        "--valid-chroms",
        "chr2",
        "--test-chroms",
        "chr3",
        "--max-epochs",
        "2",
    ]
    code, out, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        "basenji",
        *common,
        "--out",
        str(tmp_path / "b"),
        "--profile-loss",
        "multinomial",
    )
    assert code == 0, err
    saved = json.loads((tmp_path / "b" / "config.json").read_text())
    assert saved["task"]["task_type"] == "profile"
    assert saved["training"]["profile_loss"] == "multinomial"
    metrics = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert {"pearson", "pearson_total", "spearman"} <= set(metrics["test"])
    assert set(metrics["test_per_label"]) == {"gc"}
    assert "pearson_total" in out
    # genome-wide prediction of a held-out chromosome to bigWig, read back
    code, _, err = run(
        capsys,
        monkeypatch,
        "predict",
        str(tmp_path / "b"),
        "--genome",
        str(genome),
        "--tile",
        "chr3",
        "-o",
        str(tmp_path / "pred"),
    )
    assert code == 0, err
    bw = pyBigWig.open(str(tmp_path / "pred" / "gc.bw"))
    assert bw.chroms("chr3") == 60_000
    values = np.asarray(bw.values("chr3", 4096, 50_000))
    assert np.isfinite(values).all() and values.std() > 0  # covered, and not a constant
    bw.close()
    code, out, err = run(
        capsys, monkeypatch, "train", "--model", "deepbind", *common, "--out", str(tmp_path / "d")
    )
    assert code == 0, err
    assert "trained on log1p window totals" in err
    saved = json.loads((tmp_path / "d" / "config.json").read_text())
    assert saved["task"]["task_type"] == "regression"
    code, out, err = run(capsys, monkeypatch, "evaluate", str(tmp_path / "d"))
    assert code == 0, err
    assert "pearson" in json.loads(out.strip().splitlines()[-1])["metrics"]


@pytest.mark.parametrize(
    "model, task, metric",
    [("deepsea", "elements-tiny", "auroc"), ("enformer", "tracks-tiny", "pearson")],
)
def test_bundled_genome_tasks_train(capsys, monkeypatch, tmp_path, model, task, metric):
    code, out, err = run(
        capsys,
        monkeypatch,
        "train",
        "--model",
        model,
        "--task",
        task,
        "--out",
        str(tmp_path / "m"),
        "--max-epochs",
        "1",
    )
    assert code == 0, err
    assert "reverse complement" in err  # these bundled tasks augment, and say so
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert metric in metrics["test"] and len(metrics["test_per_label"]) > 1


def test_compare_refuses_named_sequence_models_on_coverage_tracks(capsys, monkeypatch, tmp_path):
    """Named scalar models on a profile task are refused before anything trains (they used to
    fail one run each after the others had trained)."""
    out = tmp_path / "cmp"
    code, _, err = run(
        capsys,
        monkeypatch,
        "compare",
        "--task",
        "tracks-tiny",
        "--models",
        "deepbind,basenji,danq",
        "--quick",
        "--out",
        str(out),
    )
    assert code != 0
    assert "--models deepbind,danq: one value per sequence" in err
    assert "Traceback" not in err
    assert not out.exists()
