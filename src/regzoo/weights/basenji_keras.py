"""Basenji2 from the official Keras HDF5 model (calico/basenji, ``model.save`` of ``SeqNN``),
read with h5py -- no TensorFlow.

Layout (tf.keras 2.x HDF5): ``model_weights`` (or the root, for ``save_weights`` files) has the
attribute ``layer_names``; each layer's group has ``weight_names`` (``conv1d_3/kernel:0``, ...),
the arrays stored under those names. Basenji2's layers with weights, in ``layer_names`` order
(``basenji/blocks.py``: ``conv_block`` = Conv1D without bias, then BatchNormalization)::

    Conv1D kernel (k, in, out)                      -> Conv1d weight (out, in, k)
    BatchNormalization gamma, beta, moving_mean, moving_variance
                                                    -> weight, bias, running_mean, running_var
    Dense kernel (1536, tracks), bias               -> head Conv1d (tracks, 1536, 1), bias

The conv blocks are matched in order with regzoo's (stem, tower, dilated residual blocks, final
block): the file must come from a model configured as the regzoo one (the published cross2020
configuration by default; other widths/depths as keyword arguments). Bases A, C, G, T, as
regzoo. TF convolutions are cross-correlations, as PyTorch's (no flip).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from regzoo.errors import InputError
from regzoo.models import create
from regzoo.models.layers.profile import BasenjiConvBlock
from regzoo.weights._io import StateBuilder

_BN = ("gamma", "beta", "moving_mean", "moving_variance")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_keras_layers(path: Path) -> list[tuple[str, dict[str, np.ndarray]]]:
    """``[(layer name, {weight name without the layer prefix, e.g. 'kernel': array})]`` for the
    layers that hold weights, in ``layer_names`` order."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            root = f["model_weights"] if "model_weights" in f else f
            if "layer_names" not in root.attrs:
                raise InputError(f"{path}: no 'layer_names' attribute: not a Keras HDF5 model")
            layers = []
            for layer in map(_text, root.attrs["layer_names"]):
                if layer not in root:
                    continue
                names = [_text(n) for n in root[layer].attrs.get("weight_names", [])]
                if names:
                    arrays = {n.split("/")[-1].split(":")[0]: root[layer][n][()] for n in names}
                    layers.append((layer, arrays))
            return layers
    except OSError as err:
        raise InputError(f"{path}: cannot read HDF5 ({err})") from None
    except KeyError as err:
        raise InputError(f"{path}: missing group or dataset {err}") from None


def import_basenji(
    source: str | Path, seq_len: int | None = None, head: int = 0, **model_args: Any
) -> tuple[nn.Module, dict[str, Any]]:
    """Build regzoo's Basenji2 from a Keras HDF5 file.

    Args:
        seq_len: input length (default the published 131,072).
        head: which Dense layer is the output head, if the file has several (0 = the first).
        **model_args: regzoo ``basenji`` arguments when the file is not the published
            configuration (``stem_channels``, ``tower_blocks``, ...).
    """
    source = Path(source)
    layers = read_keras_layers(source)
    convs = [(n, w) for n, w in layers if set(w) == {"kernel"} and w["kernel"].ndim == 3]
    norms = [(n, w) for n, w in layers if set(w) >= set(_BN)]
    dense = [(n, w) for n, w in layers if set(w) == {"kernel", "bias"} and w["kernel"].ndim == 2]
    if not dense or head >= len(dense):
        raise InputError(f"{source}: no Dense layer number {head} (found {len(dense)})")
    dense_name, dense_w = dense[head]
    n_tasks = int(dense_w["kernel"].shape[1])
    model = create("basenji", seq_len=seq_len, n_tasks=n_tasks, **model_args)
    blocks = [(name, m) for name, m in model.named_modules() if isinstance(m, BasenjiConvBlock)]
    if len(blocks) != len(convs) or len(blocks) != len(norms):
        raise InputError(
            f"{source}: {len(convs)} conv and {len(norms)} batch-norm layers, but regzoo's basenji "
            f"as configured has {len(blocks)} conv blocks: pass the source's configuration"
        )
    b = StateBuilder(model, source)
    for (prefix, _), (conv_name, conv), (norm_name, norm) in zip(blocks, convs, norms, strict=True):
        b.set(
            f"{prefix}.conv.weight",
            conv["kernel"].transpose(2, 1, 0),
            f"layer {conv_name!r} kernel",
        )
        for ours, theirs in zip(
            ("weight", "bias", "running_mean", "running_var"), _BN, strict=True
        ):
            b.set(f"{prefix}.norm.{ours}", norm[theirs], f"layer {norm_name!r} {theirs}")
    b.set("head.weight", dense_w["kernel"].T[:, :, None], f"layer {dense_name!r} kernel")
    b.set("head.bias", dense_w["bias"], f"layer {dense_name!r} bias")
    model = b.load()
    task = {"task_type": "regression", "label_names": None, "seq_len": model.seq_len}
    return model, task
