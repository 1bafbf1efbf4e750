"""Basset — Kelley, Snoek & Rinn, Genome Res 2016: a 3-layer CNN with batch norm, 164 DNase tasks.

::

    one-hot (B, 4, 600)
    conv(300, 19) BN ReLU pool(3)           -> (B, 300, 194)
    conv(200, 11) BN ReLU pool(4)           -> (B, 200, 46)
    conv(200, 7)  BN ReLU pool(4)           -> (B, 200, 10)
    flatten                                 -> (B, 2000)
    dense 1000 BN ReLU dropout 0.3          -> (B, 1000)
    dense 1000 BN ReLU dropout 0.3          -> (B, 1000)
    dense 164                               -> (B, 164) logits
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
    name="basset",
    family="3-layer CNN with batch norm, multi-task",
    paper="Kelley, Snoek & Rinn, Genome Res 2016",
    year=2016,
    seq_len=600,
    n_tasks=164,
    output="scalar",
    published_params=4_135_064,
    # conv 64/32/32, dense 64 x 2; pools 3/2/2 (not 3/4/4) so that seq_len >= ~100 fits.
    # fwd+bwd of a batch of 64 x 1000 bp: 0.069 s (2 threads) / 0.101 s (1 thread), 2-core CPU.
    compact={
        "conv_channels": (64, 32, 32),
        "pools": (3, 2, 2),
        "hidden": (64, 64),
    },
    published_results=(
        "Mean test AUC 0.895 across the 164 cell types [paper]; the official pretrained model's "
        "per-target AUCs average 0.894."
    ),
    notes=(
        "Padding rule verified against the Kipoi conversion of the official Torch7 model "
        "(kipoi/models Basset, pretrained_model_reloaded_th.py, as copied in several public "
        "repositories): Conv2d(4,300,(19,1)) with no padding, BN, ReLU, MaxPool(3,3) floor mode; "
        "Conv(300,200,11), MaxPool(4,4); Conv(200,200,7), MaxPool(4,4); Linear(2000,1000) BN ReLU "
        "Dropout(0.3); Linear(1000,1000) BN ReLU Dropout(0.3); Linear(1000,164) Sigmoid. "
        "'Valid' convolutions and floor pooling give 600->582->194->184->46->40->10 positions, "
        "200 x 10 = 2,000 flatten features. Count: convs 963,500 + BN 1,400 + dense 3,166,164 + "
        "BN 4,000 = 4,135,064 (ARCHITECTURES.md: about 4.14M). Deviation: no final sigmoid "
        "(logits)."
    ),
)


@register(CARD)
class Basset(nn.Module):
    """Basset (Kelley et al. 2016).

    Args:
        seq_len: input length (published 600). The flatten size follows from it.
        n_tasks: outputs (published 164).
        conv_channels: widths of the three convolutions (published 300, 200, 200).
        kernels: convolution widths (published 19, 11, 7).
        pools: max-pool widths/strides after each convolution (published 3, 4, 4).
        hidden: dense layer sizes (published 1000, 1000), each Linear-BN-ReLU-dropout.
        dropout: dropout after each dense layer (published 0.3).

    Shape:
        ``(batch, 4, seq_len)`` one-hot (A, C, G, T; N all-zero) -> ``(batch, n_tasks)``
        **logits** (no sigmoid: the training loss is BCE-with-logits).
    """

    output_kind = "scalar"

    def __init__(
        self,
        seq_len: int = 600,
        n_tasks: int = 164,
        conv_channels: Sequence[int] = (300, 200, 200),
        kernels: Sequence[int] = (19, 11, 7),
        pools: Sequence[int] = (3, 4, 4),
        hidden: Sequence[int] = (1000, 1000),
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        (c1, c2, c3), (k1, k2, k3), (p1, p2, p3) = conv_channels, kernels, pools
        self.convs = nn.Sequential(
            ConvBlock(4, c1, k1, pool=p1, batch_norm=True),
            ConvBlock(c1, c2, k2, pool=p2, batch_norm=True),
            ConvBlock(c2, c3, k3, pool=p3, batch_norm=True),
        )

        n_positions = check_seq_len("basset", seq_len, lambda n: blocks_out_len(self.convs, n))
        self.flatten = Rearrange("b c l -> b (c l)")
        self.head = DenseHead(
            c3 * n_positions, hidden=tuple(hidden), n_out=n_tasks, dropout=dropout, batch_norm=True
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.flatten(self.convs(x)))
