"""DeepSEA — Zhou & Troyanskaya, Nat Methods 2015: a 3-layer CNN predicting 919 chromatin features.

::

    one-hot (B, 4, 1000)
    conv(320, 8) ReLU pool(4) dropout 0.2   -> (B, 320, 248)
    conv(480, 8) ReLU pool(4) dropout 0.2   -> (B, 480, 60)
    conv(960, 8) ReLU dropout 0.5           -> (B, 960, 53)
    flatten                                 -> (B, 50880)
    dense 925 ReLU                          -> (B, 925)
    dense 919                               -> (B, 919) logits
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from einops.layers.torch import Rearrange
from torch import nn

from regzoo.models.layers.conv import (
    ConvBlock,
    DenseHead,
    blocks_out_len,
    check_seq_len,
)
from regzoo.models.registry import ModelCard, register

CARD = ModelCard(
    name="deepsea",
    family="3-layer CNN, multi-task",
    paper="Zhou & Troyanskaya, Nat Methods 2015",
    year=2015,
    seq_len=1000,
    n_tasks=919,
    output="scalar",
    published_params=52_843_119,
    # conv 32/48/96, dense 64; pool 3 (not 4) so that seq_len >= 100 still fits three convs.
    # fwd+bwd of a batch of 64 x 1000 bp: 0.036 s (2 threads) / 0.070 s (1 thread), 2-core CPU.
    compact={"conv_channels": (32, 48, 96), "pool": 3, "hidden": 64},
    published_results=(
        "Median AUC 0.958 (690 TF binding profiles), 0.923 (125 DNase I hypersensitivity), "
        "0.856 (104 histone marks) on held-out chr8/chr9 [paper]."
    ),
    notes=(
        "Layer list checked against the Kipoi conversion of the official Torch7 model "
        "(kipoi/models DeepSEA: Conv(4,320,8) Threshold(0,1e-6) MaxPool(4) Dropout(0.2) "
        "Conv(320,480,8) ... Conv(480,960,8) Dropout(0.5) Linear(50880,925) Linear(925,919) "
        "Sigmoid): 50,880 = 960 x 53 flatten features, no padding, floor pooling. "
        "Threshold(0, 1e-6) is ReLU up to 1e-6. Parameter count 52,843,119 matches exactly. "
        "Deviations: no final sigmoid (logits; the loss applies it); the paper's L2 5e-7, L1 1e-8 "
        "on the last hidden layer and max-norm 0.9 are training choices, not part of the module."
    ),
)


@register(CARD)
class DeepSEA(nn.Module):
    """DeepSEA (Zhou & Troyanskaya 2015).

    Args:
        seq_len: input length (published 1000). The flatten size follows from it.
        n_tasks: outputs (published 919).
        conv_channels: widths of the three convolutions (published 320, 480, 960).
        kernel: convolution width (published 8).
        pool: max-pool width and stride after conv 1 and 2 (published 4).
        hidden: units of the dense layer (published 925).
        dropout: dropout after conv 1, 2, 3 (published 0.2, 0.2, 0.5).

    Shape:
        ``(batch, 4, seq_len)`` one-hot (A, C, G, T; N all-zero) -> ``(batch, n_tasks)``
        **logits** (no sigmoid: the training loss is BCE-with-logits).
    """

    output_kind = "scalar"

    def __init__(
        self,
        seq_len: int = 1000,
        n_tasks: int = 919,
        conv_channels: Sequence[int] = (320, 480, 960),
        kernel: int = 8,
        pool: int = 4,
        hidden: int = 925,
        dropout: Sequence[float] = (0.2, 0.2, 0.5),
    ) -> None:
        super().__init__()
        c1, c2, c3 = conv_channels
        d1, d2, d3 = dropout
        self.convs = nn.Sequential(
            ConvBlock(4, c1, kernel, pool=pool, dropout=d1),
            ConvBlock(c1, c2, kernel, pool=pool, dropout=d2),
            ConvBlock(c2, c3, kernel, dropout=d3),
        )

        n_positions = check_seq_len("deepsea", seq_len, lambda n: blocks_out_len(self.convs, n))
        self.flatten = Rearrange("b c l -> b (c l)")
        self.head = DenseHead(c3 * n_positions, hidden=(hidden,), n_out=n_tasks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.flatten(self.convs(x)))
