"""Training, metrics, saved models and prediction."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from regzoo.data.synthetic import planted_motif_task
from regzoo.errors import InputError, RegzooError
from regzoo.inference import as_tensor, predict
from regzoo.saved import load, save_model
from regzoo.train import evaluate, score, train_model


@pytest.fixture(scope="module")
def planted():
    return planted_motif_task(n_train=1600, n_valid=300, n_test=400, seq_len=101, seed=1)


@pytest.fixture(scope="module")
def deepbind_fit(planted):
    return train_model(
        "deepbind",
        planted,
        seed=0,
        model_args={"compact": True},
        max_epochs=8,
        progress=False,
        lr=3e-3,
    )


def test_deepbind_learns_planted_motif(planted, deepbind_fit):
    metrics = evaluate(deepbind_fit.model, planted.test, "binary")
    assert metrics["auroc"] >= 0.95, metrics
    assert set(metrics) == {"auroc", "auprc", "accuracy", "mcc"}
    assert deepbind_fit.history and "val/auroc" in deepbind_fit.history[0]
    assert 0 <= deepbind_fit.best_epoch < deepbind_fit.epochs


def test_same_seed_same_numbers(planted):
    runs = [
        train_model(
            "deepbind", planted, seed=3, model_args={"compact": True}, max_epochs=2, progress=False
        )
        for _ in range(2)
    ]
    a, b = (evaluate(r.model, planted.test, "binary") for r in runs)
    assert a == b
    # every logged number is identical; only the wall-clock time per epoch may differ
    untimed = [[{k: v for k, v in row.items() if k != "time_s"} for row in r.history] for r in runs]
    assert untimed[0] == untimed[1]


def test_budget_stops_training(planted):
    result = train_model(
        "deepbind",
        planted,
        seed=0,
        model_args={"compact": True},
        max_epochs=1000,
        budget_minutes=0.02,
        progress=False,
        patience=1000,
    )
    assert result.stopped_by == "budget"
    assert result.epochs < 1000
    # a budget that cuts the last allowed epoch short is still the budget, not max_epochs
    larger = planted_motif_task(n_train=3000, n_valid=100, n_test=100, seq_len=100, seed=0)
    cut = train_model(
        "danq",
        larger,
        seed=0,
        model_args={"compact": True},
        max_epochs=1,
        batch_size=8,
        budget_minutes=0.01,
        progress=False,
    )
    assert cut.stopped_by == "budget"


def test_metrics_known_answers():
    y = np.array([[0], [0], [1], [1]], dtype=np.float32)
    perfect = score("binary", np.array([[0.1], [0.2], [0.8], [0.9]]), y)
    assert perfect["auroc"] == pytest.approx(1.0) and perfect["mcc"] == pytest.approx(1.0)
    inverted = score("binary", np.array([[0.9], [0.8], [0.2], [0.1]]), y)
    assert inverted["auroc"] == pytest.approx(0.0) and inverted["accuracy"] == pytest.approx(0.0)
    reg = score("regression", np.array([[1.0], [2.0], [3.0]]), np.array([[2.0], [4.0], [6.0]]))
    assert reg["pearson"] == pytest.approx(1.0, abs=1e-5) and reg["spearman"] == pytest.approx(
        1.0, abs=1e-5
    )
    assert reg["mse"] == pytest.approx((1 + 4 + 9) / 3)
    probs = np.eye(3)[[0, 1, 2, 1]]
    multi = score("multiclass", probs, np.array([[0], [1], [2], [0]], dtype=np.float32))
    assert multi["accuracy"] == pytest.approx(0.75)


def test_regression_and_multiclass_train(planted):
    """The other task types train end to end and beat chance on the planted motif."""
    from dataclasses import replace

    from regzoo.data.datasets import SequenceDataset

    def relabel(ds, fn):
        return SequenceDataset(ds.codes, fn(ds.labels))

    reg = replace(
        planted,
        task_type="regression",
        train=relabel(planted.train, lambda y: 2 * y + 1),
        valid=relabel(planted.valid, lambda y: 2 * y + 1),
        test=relabel(planted.test, lambda y: 2 * y + 1),
        train_augmented=None,
    )
    fitted = train_model(
        "deepbind", reg, seed=0, model_args={"compact": True}, max_epochs=6, progress=False, lr=3e-3
    )
    assert evaluate(fitted.model, reg.test, "regression")["pearson"] > 0.8

    mc = replace(
        planted, task_type="multiclass", label_names=["absent", "present"], train_augmented=None
    )
    fitted = train_model(
        "deepbind", mc, seed=0, model_args={"compact": True}, max_epochs=6, progress=False, lr=3e-3
    )
    assert evaluate(fitted.model, mc.test, "multiclass")["accuracy"] > 0.85


def test_save_load_round_trip(tmp_path, planted, deepbind_fit):
    task = {"name": planted.name, "task_type": "binary", "label_names": ["motif"], "seq_len": 101}
    save_model(tmp_path / "m", deepbind_fit.model, task, {"epochs": 3}, {"test": {"auroc": 1.0}})
    assert {p.name for p in (tmp_path / "m").iterdir()} == {
        "model.safetensors",
        "config.json",
        "metrics.json",
    }
    loaded = load(tmp_path / "m")
    x = torch.stack([planted.test[i][0] for i in range(32)])
    with torch.no_grad():
        assert torch.equal(deepbind_fit.model.eval()(x), loaded(x))
    assert loaded.regzoo_task["label_names"] == ["motif"]
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["model"]["name"] == "deepbind" and config["format"] == "regzoo-model/1"


def test_load_refuses_broken_directories(tmp_path, deepbind_fit):
    with pytest.raises(InputError, match="not a directory"):
        load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="missing model.safetensors, config.json"):
        load(tmp_path / "empty")
    save_model(
        tmp_path / "m",
        deepbind_fit.model,
        {"task_type": "binary", "label_names": ["x"], "seq_len": 101},
    )
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["model"]["n_detectors"] = 3  # architecture no longer matches the weights
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(RegzooError):
        load(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text("{ not json")
    with pytest.raises(InputError, match="config.json: line 1"):
        load(tmp_path / "m")


def test_predict_any_input(deepbind_fit):
    model = deepbind_fit.model
    model.regzoo_task = {"task_type": "binary", "seq_len": 101}
    seqs = ["ACGT" * 30, "TTGACTCAGCATT"]  # 120 bp is centre-cropped, 13 bp N-padded to 101
    x = as_tensor(seqs, 101)
    assert x.shape == (2, 4, 101)
    assert x[1].sum() == 13  # 13 real bases, the rest all-zero N
    p = predict(model, seqs)
    assert p.shape == (2, 1) and ((p >= 0) & (p <= 1)).all()
    p_rc = predict(model, seqs, rc_average=True)
    assert p_rc.shape == (2, 1) and not np.allclose(p, p_rc)
