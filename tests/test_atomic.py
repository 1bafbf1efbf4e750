"""Atomic outputs: a failed or interrupted write leaves the old file (or none), never half a file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regzoo import atomic


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "report.html"
    atomic.write_text(path, "complete old report")
    with pytest.raises(RuntimeError), atomic.atomic_path(path) as tmp:
        tmp.write_text("half a new rep")
        raise RuntimeError("killed half-way")
    assert path.read_text() == "complete old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_npz_and_csv_land_under_the_exact_name(tmp_path):
    atomic.save_npz(tmp_path / "predictions.npz", preds=np.arange(3.0))
    atomic.save_npz(tmp_path / "plain.bin", compressed=False, x=np.ones(2))
    with np.load(tmp_path / "predictions.npz") as data:
        assert data["preds"].tolist() == [0.0, 1.0, 2.0]
    with np.load(tmp_path / "plain.bin") as data:
        assert data["x"].tolist() == [1.0, 1.0]
    frame = pd.DataFrame({"a": [1, 2]})
    atomic.to_csv(frame, tmp_path / "t.tsv", sep="\t", index=False)
    assert pd.read_csv(tmp_path / "t.tsv", sep="\t")["a"].tolist() == [1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.bin", "predictions.npz", "t.tsv"]
