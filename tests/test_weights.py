"""Importers of published weights (regzoo.weights, `regzoo import`).

Each importer is checked against an independent implementation of the source model: the pip
peer where one exists (enformer-pytorch, skipped when not installed), otherwise a file this test
writes in the published layout (documented in each importer module) and a reference forward
pass written here from the official code's definition. Imported models round-trip through the
regzoo model folder (safetensors + config.json).
"""

from __future__ import annotations

import json
import pickle
import sys
import types

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from regzoo.errors import InputError
from regzoo.models import create
from regzoo.saved import load
from regzoo.weights import import_weights
from regzoo.weights._io import load_state_dict_file

RNG = np.random.default_rng(0)


def _one_hot(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    codes = torch.randint(0, 4, (batch, length), generator=torch.Generator().manual_seed(seed))
    return nn.functional.one_hot(codes, 4).float().transpose(1, 2)  # (B, 4, L), A C G T


def _randomise(model: nn.Module, std: float = 0.3) -> nn.Module:
    """Every weight and batch-norm statistic random (init values would hide layout mistakes)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, std)
        for name, b in model.named_buffers():
            if name.endswith("running_var"):
                b.uniform_(0.5, 1.5)
            elif name.endswith("running_mean"):
                b.normal_(0, 0.2)
    return model.eval()


# --------------------------------------------------------------------------- safety


class _Evil:
    def __reduce__(self):
        return (print, ("this ran while unpickling",))


def test_malicious_pickle_is_refused(tmp_path, capsys):
    path = tmp_path / "pytorch_model.bin"
    torch.save({"weight": torch.zeros(2), "payload": _Evil()}, path)
    with pytest.raises(InputError, match="refused"):
        load_state_dict_file(path)
    assert "this ran" not in capsys.readouterr().out
    plain = tmp_path / "plain.pt"
    with open(plain, "wb") as f:  # a raw pickle of an arbitrary callable
        pickle.dump(_Evil(), f, protocol=2)
    with pytest.raises(InputError, match="refused|cannot read"):
        load_state_dict_file(plain)
    assert "this ran" not in capsys.readouterr().out


# --------------------------------------------------------------------------- enformer


def _enformer_pytorch():
    """enformer_pytorch.Enformer, with stand-ins for modules its model does not use
    (transformers' two base classes, polars for its data sets), as benchmarks/bench_peers.py."""
    try:
        import transformers  # noqa: F401
    except ImportError:
        stub = types.ModuleType("transformers")

        class PretrainedConfig:
            def __init__(self, **kwargs):
                self.__dict__.update(kwargs)

        class PreTrainedModel(nn.Module):
            def __init__(self, config):
                super().__init__()
                self.config = config

            @property
            def device(self):
                return next(self.parameters()).device

        stub.PretrainedConfig, stub.PreTrainedModel = PretrainedConfig, PreTrainedModel
        sys.modules.setdefault("transformers", stub)
    for name, attrs in (("polars", ()), ("pyfaidx", ("Fasta",))):
        try:
            __import__(name)
        except ImportError:
            module = types.ModuleType(name)
            for attr in attrs:
                setattr(module, attr, None)
            sys.modules.setdefault(name, module)
    return pytest.importorskip("enformer_pytorch").Enformer


@pytest.mark.parametrize("weights_file", ["pytorch_model.bin", "model.safetensors"])
def test_enformer_pytorch_checkpoint_gives_equal_outputs(tmp_path, weights_file):
    Enformer = _enformer_pytorch()
    torch.manual_seed(0)
    hparams = dict(
        dim=96,
        depth=2,
        heads=2,
        output_heads={"human": 5, "mouse": 3},
        target_length=8,
        num_downsamples=3,
        dim_divisible_by=16,
    )
    # std 0.2 keeps the outputs O(1), where float32 rounding stays far below 1e-5
    theirs = _randomise(Enformer.from_hparams(**hparams), std=0.2)
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    state = {k: v for k, v in theirs.state_dict().items() if not k.startswith("_trunk")}
    if weights_file.endswith(".bin"):
        torch.save(state, ckpt / weights_file)
    else:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, str(ckpt / weights_file))
    (ckpt / "config.json").write_text(json.dumps({**hparams, "use_tf_gamma": False}))

    out = import_weights("enformer", ckpt, tmp_path / "model", seq_len=128)
    ours = load(out)
    assert ours.regzoo_config["gamma_norm"] == "distance"
    assert ours.regzoo_task["seq_len"] == 128 and len(ours.regzoo_task["label_names"]) == 5
    x = _one_hot(2, 128)
    with torch.no_grad():
        expected = theirs(x.transpose(1, 2))  # enformer-pytorch: (B, L, 4) -> (B, bins, tracks)
        got = ours.forward_heads(x)
    for head in ("human", "mouse"):
        diff = (got[head].transpose(1, 2) - expected[head]).abs().max().item()
        assert diff <= 1e-5, (head, diff)
    # a bare state dict with the hyper-parameters as options gives the same model
    bare = import_weights(
        "enformer", ckpt / weights_file, tmp_path / "bare", seq_len=128, **hparams
    )
    with torch.no_grad():
        torch.testing.assert_close(load(bare)(x), got["human"])


def test_enformer_bare_state_dict_of_the_wrong_size_names_the_key(tmp_path):
    torch.save({"stem.0.weight": torch.zeros(3, 4, 15)}, tmp_path / "w.pt")
    hparams = dict(dim=48, depth=1, heads=2, target_length=8, num_downsamples=3, dim_divisible_by=8)
    with pytest.raises(InputError, match=r"w.pt: state-dict key 'stem.0.weight': expected shape"):
        import_weights("enformer", tmp_path / "w.pt", tmp_path / "m", seq_len=256, **hparams)


# --------------------------------------------------------------------------- Kipoi DeepSEA


class _ReCodeAlphabet(nn.Module):
    """Kipoi's DeepSEA wrapper: feeds the one-hot rows in the order A, G, C, T."""

    def forward(self, x):
        return x[:, [0, 2, 1, 3]]


class _Flatten(nn.Module):
    def forward(self, x):
        return x.reshape(x.shape[0], -1)


def _kipoi_deepsea(seq_len: int, widths=(8, 12, 16), kernel=8, hidden=10, n_tasks=3):
    """Kipoi's ``deepsea_cpu`` layout (Conv2d (1, k) on (N, 4, 1, L), Threshold(0, 1e-6)),
    with the same module indices so the state-dict keys are Kipoi's."""
    c1, c2, c3 = widths
    n = ((seq_len - kernel + 1) // 4 - kernel + 1) // 4 - kernel + 1
    return nn.Sequential(
        nn.Conv2d(4, c1, (1, kernel)),
        nn.Threshold(0, 1e-06),
        nn.MaxPool2d((1, 4), (1, 4)),
        nn.Dropout(0.2),
        nn.Conv2d(c1, c2, (1, kernel)),
        nn.Threshold(0, 1e-06),
        nn.MaxPool2d((1, 4), (1, 4)),
        nn.Dropout(0.2),
        nn.Conv2d(c2, c3, (1, kernel)),
        nn.Threshold(0, 1e-06),
        nn.Dropout(0.5),
        _Flatten(),
        nn.Sequential(nn.Identity(), nn.Linear(c3 * n, hidden)),
        nn.Threshold(0, 1e-06),
        nn.Sequential(nn.Identity(), nn.Linear(hidden, n_tasks)),
        nn.Sigmoid(),
    )


def test_kipoi_deepsea_round_trip(tmp_path):
    seq_len = 300
    kipoi = _randomise(_kipoi_deepsea(seq_len))
    torch.save(kipoi.state_dict(), tmp_path / "deepsea_cpu.pth")
    ours = load(
        import_weights("deepsea", tmp_path / "deepsea_cpu.pth", tmp_path / "m", seq_len=seq_len)
    )
    x = _one_hot(4, seq_len)
    with torch.no_grad():
        expected = kipoi(_ReCodeAlphabet()(x)[:, :, None, :])
        got = torch.sigmoid(ours(x))
    # Threshold(0, 1e-6) vs ReLU: at most 1e-6 per unit before the dense layers
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)
    # without the channel reorder the outputs differ: the reorder is exercised
    wrong = load(
        import_weights(
            "deepsea",
            tmp_path / "deepsea_cpu.pth",
            tmp_path / "w",
            seq_len=seq_len,
            channels="ACGT",
        )
    )
    with torch.no_grad():
        assert (torch.sigmoid(wrong(x)) - expected).abs().max() > 1e-3


# --------------------------------------------------------------------------- Kipoi Basset


def test_kipoi_basset_round_trip(tmp_path):
    """Kipoi's ``pretrained_model_reloaded_th`` layout: Conv2d (k, 1) on (N, 4, L, 1)."""
    seq_len, (c1, c2, c3), hidden, n_tasks = 200, (6, 5, 4), 7, 3
    n = (((seq_len - 18) // 3 - 10) // 4 - 6) // 4
    kipoi = _randomise(
        nn.Sequential(
            nn.Conv2d(4, c1, (19, 1)), nn.BatchNorm2d(c1), nn.ReLU(), nn.MaxPool2d((3, 1), (3, 1)),
            nn.Conv2d(c1, c2, (11, 1)), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d((4, 1), (4, 1)),
            nn.Conv2d(c2, c3, (7, 1)), nn.BatchNorm2d(c3), nn.ReLU(), nn.MaxPool2d((4, 1), (4, 1)),
            _Flatten(),
            nn.Sequential(nn.Identity(), nn.Linear(c3 * n, hidden)), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(0.3),
            nn.Sequential(nn.Identity(), nn.Linear(hidden, hidden)), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(0.3),
            nn.Sequential(nn.Identity(), nn.Linear(hidden, n_tasks)), nn.Sigmoid(),
        )
    )  # fmt: skip
    torch.save(kipoi.state_dict(), tmp_path / "basset.pth")
    ours = load(import_weights("basset", tmp_path / "basset.pth", tmp_path / "m", seq_len=seq_len))
    x = _one_hot(4, seq_len)
    with torch.no_grad():
        torch.testing.assert_close(torch.sigmoid(ours(x)), kipoi(x[..., None]), atol=1e-5, rtol=0)


# --------------------------------------------------------------------------- DanQ (Keras 0.2)


def _keras_lstm(x, params, reverse=False):
    """Keras 0.2.0 LSTM over x (L, in); params W_i, U_i, b_i, W_c, U_c, b_c, W_f, ..., b_o."""
    w = {g: params[3 * k : 3 * k + 3] for k, g in enumerate("icfo")}

    def hs(z):
        return np.clip(0.2 * z + 0.5, 0, 1)

    h = c = np.zeros(w["i"][1].shape[0])
    out = np.zeros((len(x), len(h)))
    for t in reversed(range(len(x))) if reverse else range(len(x)):
        gate = {g: x[t] @ w[g][0] + h @ w[g][1] + w[g][2] for g in "icfo"}
        c = hs(gate["f"]) * c + hs(gate["i"]) * np.tanh(gate["c"])
        h = hs(gate["o"]) * np.tanh(c)
        out[t] = h
    return out


def test_danq_keras02_hdf5_round_trip(tmp_path):
    """A Keras 0.2 ``save_weights`` file (layer_{k}/param_{n}), scored by a numpy DanQ written
    from DanQ_train.py with Theano semantics (flipped kernel, A G C T input rows)."""
    h5py = pytest.importorskip("h5py")
    seq_len, filters, width, pool, hidden, dense, n_tasks = 60, 6, 5, 4, 3, 7, 2
    steps = (seq_len - width + 1) // pool
    conv_w = RNG.normal(0, 0.5, (filters, 4, width, 1))
    conv_b = RNG.normal(0, 0.1, filters)
    lstm = []
    for _ in range(2):
        for _gate in "icfo":
            lstm += [
                RNG.normal(0, 0.8, (filters, hidden)),
                RNG.normal(0, 0.8, (hidden, hidden)),
                RNG.normal(0, 0.5, hidden),
            ]
    d1 = [RNG.normal(0, 0.3, (steps * 2 * hidden, dense)), RNG.normal(0, 0.1, dense)]
    d2 = [RNG.normal(0, 0.3, (dense, n_tasks)), RNG.normal(0, 0.1, n_tasks)]
    layers = [[conv_w, conv_b], [], [], lstm, [], [], d1, [], d2, []]
    with h5py.File(tmp_path / "DanQ_bestmodel.hdf5", "w") as f:
        f.attrs["nb_layers"] = len(layers)
        for k, params in enumerate(layers):
            g = f.create_group(f"layer_{k}")
            g.attrs["nb_params"] = len(params)
            for n, p in enumerate(params):
                g.create_dataset(f"param_{n}", data=p.astype(np.float32))

    model = load(
        import_weights(
            "danq", tmp_path / "DanQ_bestmodel.hdf5", tmp_path / "m", seq_len=seq_len, pool=pool
        )
    )
    x = _one_hot(2, seq_len)
    with torch.no_grad():
        got = model(x).double().numpy()
    for b in range(2):
        seq = x[b].double().numpy()[[0, 2, 1, 3]]  # the file's rows are A, G, C, T
        kernel = conv_w[:, :, ::-1, 0]  # Theano conv2d flips the kernel
        conv = np.stack(
            [
                np.einsum("fcw,cw->f", kernel, seq[:, i : i + width])
                for i in range(seq_len - width + 1)
            ],
            1,
        )
        conv = (
            np.maximum(conv + conv_b[:, None], 0)[:, : steps * pool]
            .reshape(filters, steps, pool)
            .max(-1)
            .T
        )
        bi = np.concatenate(
            [_keras_lstm(conv, lstm[:12]), _keras_lstm(conv, lstm[12:], reverse=True)], 1
        )
        h = np.maximum(bi.reshape(-1) @ d1[0] + d1[1], 0)
        np.testing.assert_allclose(got[b], h @ d2[0] + d2[1], atol=2e-5)  # fmt: skip


# --------------------------------------------------------------------------- DeepBind


def _deepbind_apply_model(p: dict, seq: str) -> float:
    """``apply_model`` of deepbind.cpp, transcribed (flat arrays, the official indexing)."""
    d, m, n = p["num_detectors"], p["detector_len"], len(seq)
    index = {"A": 0, "C": 1, "G": 2, "T": 3}
    maps = np.zeros((d, n + m - 1))
    for k in range(d):
        for i in range(n + m - 1):
            total = 0.0
            for j in range(m):
                pos = i - m + 1 + j
                c = seq[pos] if 0 <= pos < n else "N"
                if c == "N":
                    total += sum(0.25 * p["detectors"][k + d * (b + 4 * j)] for b in range(4))
                else:
                    total += p["detectors"][k + d * (index[c] + 4 * j)]
            maps[k, i] = max(total + p["thresholds"][k], 0.0)
    hidden1 = np.ravel(np.stack([maps.max(1), maps.mean(1)], 1))  # max_k, mean_k interleaved
    n2 = p["num_hidden"]
    h = np.array(
        [
            p["biases1"][j] + sum(p["weights1"][i * n2 + j] * hidden1[i] for i in range(2 * d))
            for j in range(n2)
        ]
    )
    return float(p["biases2"][0] + np.maximum(h, 0) @ p["weights2"])  # fmt: skip


def test_deepbind_parameter_file_round_trip(tmp_path):
    d, m, hidden = 3, 5, 4
    p = {
        "reverse_complement": 1, "num_detectors": d, "detector_len": m, "has_avg_pooling": 1,
        "num_hidden": hidden, "detectors": RNG.normal(0, 1, d * m * 4),
        "thresholds": RNG.normal(0, 0.3, d), "weights1": RNG.normal(0, 1, 2 * d * hidden),
        "biases1": RNG.normal(0, 0.3, hidden), "weights2": RNG.normal(0, 1, hidden),
        "biases2": RNG.normal(0, 0.3, 1),
    }  # fmt: skip
    lines = ["# deepbind 0.1"] + [
        f"{k} = {v}" if isinstance(v, int) else f"{k} = " + ",".join(f"{x:.8f}" for x in v)
        for k, v in p.items()
    ]
    path = tmp_path / "D00001.001.txt"
    path.write_text("\n".join(lines) + "\n")
    p = {k: (np.round(v, 8) if not isinstance(v, int) else v) for k, v in p.items()}

    seqs = ["ACGTTGCAAGGCTNACGTAC", "TTTTGGGGCCCCAAAATGCA"]
    model = load(import_weights("deepbind", path, tmp_path / "m", seq_len=20))
    assert model.both_strands and model.pad_value == 0.25
    assert model.regzoo_task["label_names"] == ["D00001.001"]
    from regzoo.data.encode import one_hot_batch, reverse_complement

    with torch.no_grad():
        got = model(torch.from_numpy(one_hot_batch(seqs)))[:, 0]
    for k, seq in enumerate(seqs):
        expected = max(
            _deepbind_apply_model(p, seq), _deepbind_apply_model(p, reverse_complement(seq))
        )
        assert got[k].item() == pytest.approx(expected, abs=1e-4)


def test_deepbind_bad_parameter_file(tmp_path):
    path = tmp_path / "D1.txt"
    path.write_text("# deepbind 0.1\nreverse_complement = 1\nnum_detectors = x\n")
    with pytest.raises(InputError, match="line 3"):
        import_weights("deepbind", path, tmp_path / "m")


# --------------------------------------------------------------------------- Basenji2


def test_basenji_keras_hdf5_round_trip(tmp_path):
    """A tf.keras HDF5 model file (model_weights, layer_names, weight_names) written from a
    small regzoo Basenji2 in Keras layout: kernels (k, in, out), BN gamma/beta/moving stats."""
    h5py = pytest.importorskip("h5py")
    from regzoo.models.layers.profile import BasenjiConvBlock

    args = dict(stem_channels=8, tower_channels_init=8, tower_channels_mult=1.25, tower_blocks=2,
                dilated_channels=6, dilated_blocks=2, final_channels=12)  # fmt: skip
    source = _randomise(create("basenji", seq_len=512, n_tasks=3, **args))
    blocks = [m for m in source.modules() if isinstance(m, BasenjiConvBlock)]
    with h5py.File(tmp_path / "model_human.h5", "w") as f:
        root = f.create_group("model_weights")
        names = ["sequence", "stochastic_reverse_complement"]
        for name in names:  # layers without weights: a group with empty weight_names
            root.create_group(name).attrs["weight_names"] = np.array([], dtype="S1")
        for i, block in enumerate(blocks):
            conv, bn = f"conv1d_{i}", f"batch_normalization_{i}"
            names += [conv, bn]
            root.create_group(conv).attrs["weight_names"] = [f"{conv}/kernel:0".encode()]
            root[conv].create_dataset(
                f"{conv}/kernel:0", data=block.conv.weight.detach().numpy().transpose(2, 1, 0)
            )
            stats = dict(
                gamma=block.norm.weight,
                beta=block.norm.bias,
                moving_mean=block.norm.running_mean,
                moving_variance=block.norm.running_var,
            )
            root.create_group(bn).attrs["weight_names"] = [f"{bn}/{k}:0".encode() for k in stats]
            for k, v in stats.items():
                root[bn].create_dataset(f"{bn}/{k}:0", data=v.detach().numpy())
        for name in ("dense", "switch_reverse"):
            names.append(name)
            root.create_group(name).attrs["weight_names"] = np.array([], dtype="S1")
        root["dense"].attrs["weight_names"] = [b"dense/kernel:0", b"dense/bias:0"]
        root["dense"].create_dataset(
            "dense/kernel:0", data=source.head.weight.detach().numpy()[:, :, 0].T
        )
        root["dense"].create_dataset("dense/bias:0", data=source.head.bias.detach().numpy())
        root.attrs["layer_names"] = [n.encode() for n in names]  # fmt: skip

    ours = load(
        import_weights("basenji", tmp_path / "model_human.h5", tmp_path / "m", seq_len=512, **args)
    )
    x = _one_hot(2, 512)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), source(x), atol=1e-5, rtol=1e-5)
    with pytest.raises(InputError, match="conv blocks"):  # published configuration: 20 blocks
        import_weights("basenji", tmp_path / "model_human.h5", tmp_path / "p")


# --------------------------------------------------------------------------- CLI


def test_cli_import_then_predict_with_the_saved_model(tmp_path):
    from regzoo.cli import app

    kipoi = _randomise(_kipoi_deepsea(300))
    torch.save(kipoi.state_dict(), tmp_path / "deepsea_cpu.pth")
    (tmp_path / "labels.txt").write_text("a\nb\nc\n")
    runner = CliRunner()
    result = runner.invoke(app, ["import", "deepsea", str(tmp_path / "deepsea_cpu.pth"), "-o", str(tmp_path / "m"), "--seq-len", "300", "--labels", str(tmp_path / "labels.txt")])  # fmt: skip
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["task"]["label_names"] == ["a", "b", "c"] and config["task"]["seq_len"] == 300
    from regzoo.inference import predict

    preds = predict(load(tmp_path / "m"), _one_hot(2, 300), device="cpu")
    assert preds.shape == (2, 3) and ((preds > 0) & (preds < 1)).all()
    bad = runner.invoke(app, ["import", "nosuch", str(tmp_path / "deepsea_cpu.pth"), "-o", str(tmp_path / "x")])  # fmt: skip
    assert bad.exit_code == 2 and "unknown" in bad.output
