"""DanQ from its released Keras 0.2.0 weights (``DanQ_bestmodel.hdf5``), read with h5py.

Layout (Keras 0.2.0 ``Sequential.save_weights``): root attribute ``nb_layers``; one group
``layer_{k}`` per layer of ``DanQ_train.py`` (uci-cbcl/DanQ) with attribute ``nb_params`` and
datasets ``param_{n}`` in the order of the layer's ``get_weights()``::

    layer_0  Convolution1D   param_0 W (320, 4, 26, 1), param_1 b (320,)
    layer_3  Bidirectional   param_0..11 forward LSTM, param_12..23 backward LSTM, each
             (seya)          W_i (in, H), U_i (H, H), b_i (H,), then c, f, o (Keras' order)
    layer_6  Dense           W (75 * 640, 925), b (925,)
    layer_8  Dense           W (925, 919), b (919,)

(layers without weights hold ``nb_params = 0``). Conversions: Theano's ``conv2d`` convolves
(flips the kernel), so the kernel is reversed along its width for PyTorch's cross-correlation;
DanQ trained on DeepSEA's data, whose one-hot rows are A, G, C, T, so the input channels are
reordered to A, C, G, T (``channels="ACGT"`` keeps them); Keras ``x . W`` kernels are
transposed; the LSTM gates are restacked to i, f, g, o. Keras' Flatten of ``(75, 640)`` is
step-major, as regzoo's DanQ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from regzoo.errors import InputError
from regzoo.models import create
from regzoo.weights._io import StateBuilder
from regzoo.weights.kipoi_torch import AGCT_TO_ACGT


def read_keras02(path: Path) -> list[list[np.ndarray]]:
    """The weight arrays of each layer of a Keras 0.2 ``save_weights`` file, in layer order."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "nb_layers" not in f.attrs:
                raise InputError(
                    f"{path}: no 'nb_layers' attribute: not a Keras 0.2 weights file "
                    "(DanQ_bestmodel.hdf5)"
                )
            layers = []
            for k in range(int(f.attrs["nb_layers"])):
                group = f[f"layer_{k}"]
                layers.append(
                    [group[f"param_{n}"][()] for n in range(int(group.attrs["nb_params"]))]
                )
            return layers
    except OSError as err:
        raise InputError(f"{path}: cannot read HDF5 ({err})") from None
    except KeyError as err:
        raise InputError(f"{path}: missing group or dataset {err}") from None


def import_danq(
    source: str | Path,
    seq_len: int = 1000,
    pool: int = 13,
    channels: str = "AGCT",
    **_: Any,
) -> tuple[nn.Module, dict[str, Any]]:
    """Build regzoo's DanQ (Keras gates) from a Keras 0.2 HDF5 weights file.

    Args:
        seq_len, pool: input length and pooling (not stored in the file; published 1000, 13).
        channels: input channel order of the source (``"AGCT"``: DeepSEA's data, the default).
    """
    source = Path(source)
    with_weights = [w for w in read_keras02(source) if w]
    if len(with_weights) != 4 or len(with_weights[1]) != 24:
        raise InputError(
            f"{source}: expected 4 layers with weights (conv, bidirectional LSTM with 24 arrays, "
            f"dense, dense), found {[len(w) for w in with_weights]}"
        )
    (conv_w, conv_b), lstm, (d1_w, d1_b), (d2_w, d2_b) = with_weights
    if conv_w.ndim != 4 or conv_w.shape[1] != 4:
        raise InputError(
            f"{source}: layer conv param_0: expected (filters, 4, width, 1), got {conv_w.shape}"
        )
    if channels.upper() not in ("AGCT", "ACGT"):
        raise InputError(f"--channels {channels!r}: expected AGCT or ACGT")
    kernel = conv_w[:, :, ::-1, 0]  # Theano convolution -> cross-correlation
    if channels.upper() == "AGCT":
        kernel = kernel[:, AGCT_TO_ACGT]
    hidden = lstm[1].shape[0]
    model = create(
        "danq",
        seq_len=seq_len,
        n_tasks=d2_w.shape[1],
        conv_channels=conv_w.shape[0],
        kernel=conv_w.shape[2],
        pool=pool,
        lstm_hidden=hidden,
        hidden=d1_w.shape[1],
        gates="keras",
    )
    b = StateBuilder(model, source)
    b.set("conv.conv.weight", kernel.copy(), "conv param_0")
    b.set("conv.conv.bias", conv_b, "conv param_1")
    for offset, name in ((0, "forward_lstm"), (12, "backward_lstm")):
        gates = dict(
            zip("icfo", (lstm[offset + 3 * g : offset + 3 * g + 3] for g in range(4)), strict=True)
        )
        b.set(
            f"bilstm.{name}.weight_ih", np.concatenate([gates[g][0].T for g in "ifco"]), f"{name} W"
        )
        b.set(
            f"bilstm.{name}.weight_hh", np.concatenate([gates[g][1].T for g in "ifco"]), f"{name} U"
        )
        b.set(f"bilstm.{name}.bias", np.concatenate([gates[g][2] for g in "ifco"]), f"{name} b")
    b.set(
        "head.0.weight", d1_w.T, f"dense 1 W (flatten size {d1_w.shape[0]}: check --seq-len/--pool)"
    )
    b.set("head.0.bias", d1_b, "dense 1 b")
    b.set("head.2.weight", d2_w.T, "dense 2 W")
    b.set("head.2.bias", d2_b, "dense 2 b")
    task = {"task_type": "multilabel", "label_names": None, "seq_len": seq_len}
    return b.load(), task
