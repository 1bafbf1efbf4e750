"""DeepSEA and Basset from their Kipoi (and Selene) PyTorch state dicts.

Layouts (read in kipoi/models, converted from the authors' Torch7 models):

- DeepSEA, ``DeepSEA/template/model_files/deepsea_cpu.py`` + ``deepsea_cpu.pth``: an
  ``nn.Sequential`` of ``Conv2d(4, 320, (1, 8))`` ... on input ``(N, 4, 1, L)``, keys ``0``, ``4``,
  ``8`` (convs, weight ``(out, in, 1, k)``), ``12.1`` and ``14.1`` (Linear); the model is wrapped
  after ``ReCodeAlphabet``, which feeds the channels in the order A, G, C, T (swapping C and G):
  the importer reorders the first kernel to regzoo's A, C, G, T. Its ``nn.Threshold(0, 1e-6)``
  (Torch7's ReLU) outputs 1e-6 instead of 0 for non-positive inputs; regzoo uses ReLU.
- DeepSEA, Selene (``selene_sdk``'s ``DeepSEA`` class): ``conv_net.{0,4,8}`` (Conv1d
  ``(out, in, k)``) and ``classifier.{0,2}``; A, C, G, T (Selene's encoding).
- Basset, ``Basset/model_files/pretrained_model_reloaded_th.py`` + ``.pth``: ``Conv2d(4, 300,
  (19, 1))`` on ``(N, 4, L, 1)``, keys ``0``, ``4``, ``8`` (convs), ``1``, ``5``, ``9``
  (BatchNorm2d), ``13.1``, ``17.1``, ``21.1`` (Linear), ``14``, ``18`` (BatchNorm1d); A, C, G, T
  (Basset's ``dna_io``). Both flatten channel-major, as regzoo.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from regzoo.errors import InputError
from regzoo.models import create
from regzoo.weights._io import StateBuilder, load_state_dict_file, take

#: index of each regzoo (A, C, G, T) channel in a source that feeds A, G, C, T
AGCT_TO_ACGT = [0, 2, 1, 3]
_BN = ("weight", "bias", "running_mean", "running_var")


def _conv(weight: torch.Tensor) -> torch.Tensor:
    """Conv2d kernels ``(out, in, 1, k)`` or ``(out, in, k, 1)`` -> Conv1d ``(out, in, k)``."""
    return weight.reshape(weight.shape[0], weight.shape[1], -1) if weight.ndim == 4 else weight


def _sizes(state: dict, keys: list[str], source: Path) -> list[int]:
    return [int(take(state, f"{k}.weight", source).shape[0]) for k in keys]


def import_deepsea(
    source: str | Path, seq_len: int = 1000, channels: str | None = None, **_: Any
) -> tuple[nn.Module, dict[str, Any]]:
    """DeepSEA from Kipoi's ``deepsea_cpu.pth`` or a Selene DeepSEA state dict.

    Args:
        channels: input channel order of the source, ``"AGCT"`` or ``"ACGT"``; default by layout
            (Kipoi: AGCT, Selene: ACGT).
    """
    source = Path(source)
    state = load_state_dict_file(source)
    if "conv_net.0.weight" in state:  # Selene
        convs, dense, default_order = (
            ["conv_net.0", "conv_net.4", "conv_net.8"],
            [
                "classifier.0",
                "classifier.2",
            ],
            "ACGT",
        )
    else:  # Kipoi
        convs, dense, default_order = ["0", "4", "8"], ["12.1", "14.1"], "AGCT"
    order = (channels or default_order).upper()
    if order not in ("AGCT", "ACGT"):
        raise InputError(f"--channels {channels!r}: expected AGCT or ACGT")
    widths = _sizes(state, convs, source)
    kernel = int(_conv(take(state, f"{convs[0]}.weight", source)).shape[-1])
    hidden, n_tasks = _sizes(state, dense, source)
    model = create(
        "deepsea",
        seq_len=seq_len,
        n_tasks=n_tasks,
        conv_channels=tuple(widths),
        kernel=kernel,
        hidden=hidden,
    )
    b = StateBuilder(model, source)
    for i, key in enumerate(convs):
        weight = _conv(take(state, f"{key}.weight", source))
        if i == 0 and order == "AGCT":
            weight = weight[:, AGCT_TO_ACGT]
        b.set(f"convs.{i}.conv.weight", weight, f"state-dict key {key + '.weight'!r}")
        b.set(f"convs.{i}.conv.bias", take(state, f"{key}.bias", source), f"{key}.bias")
    for i, key in zip((0, 2), dense, strict=True):
        for kind in ("weight", "bias"):
            b.set(f"head.{i}.{kind}", take(state, f"{key}.{kind}", source), f"key {key}.{kind}")
    task = {"task_type": "multilabel", "label_names": None, "seq_len": seq_len}
    return b.load(), task


def import_basset(
    source: str | Path, seq_len: int = 600, **_: Any
) -> tuple[nn.Module, dict[str, Any]]:
    """Basset from Kipoi's ``pretrained_model_reloaded_th.pth``."""
    source = Path(source)
    state = load_state_dict_file(source)
    convs, norms, dense, dense_norms = (
        ["0", "4", "8"],
        ["1", "5", "9"],
        ["13.1", "17.1", "21.1"],
        [
            "14",
            "18",
        ],
    )
    widths = _sizes(state, convs, source)
    kernels = [int(_conv(take(state, f"{k}.weight", source)).shape[-1]) for k in convs]
    *hidden, n_tasks = _sizes(state, dense, source)
    model = create(
        "basset",
        seq_len=seq_len,
        n_tasks=n_tasks,
        conv_channels=tuple(widths),
        kernels=tuple(kernels),
        hidden=tuple(hidden),
    )
    b = StateBuilder(model, source)
    for i, (conv, norm) in enumerate(zip(convs, norms, strict=True)):
        b.set(f"convs.{i}.conv.weight", _conv(take(state, f"{conv}.weight", source)), conv)
        b.set(f"convs.{i}.conv.bias", take(state, f"{conv}.bias", source), f"{conv}.bias")
        for kind in _BN:
            b.set(f"convs.{i}.norm.{kind}", take(state, f"{norm}.{kind}", source), norm)
    linears = [i for i, m in enumerate(model.head) if isinstance(m, nn.Linear)]
    norms_1d = [i for i, m in enumerate(model.head) if isinstance(m, nn.BatchNorm1d)]
    for i, key in zip(linears, dense, strict=True):
        for kind in ("weight", "bias"):
            b.set(f"head.{i}.{kind}", take(state, f"{key}.{kind}", source), f"{key}.{kind}")
    for i, key in zip(norms_1d, dense_norms, strict=True):
        for kind in _BN:
            b.set(f"head.{i}.{kind}", take(state, f"{key}.{kind}", source), f"{key}.{kind}")
    task = {"task_type": "multilabel", "label_names": None, "seq_len": seq_len}
    return b.load(), task
