"""DeepSite — Zhang, Qiao, Ji & Li, Int J Mach Learn Cybern 2020: a BiLSTM, then a CNN on top.

"Input layer, BLSTM layer, CNN layer, pooling layer, full connection layer and output layer":
the BiLSTM reads the one-hot sequence and the convolution scans the BiLSTM's output sequence
(stacked, unlike DanQ's conv-then-LSTM order)::

    one-hot (B, 4, 101)
    BiLSTM 32 per direction, all steps      -> (B, 64, 101)
    conv(64, 10) ReLU pool(4)               -> (B, 64, 23)
    flatten                                 -> (B, 1472)
    dense 128 ReLU dropout 0.5              -> (B, 128)
    dense 1                                 -> (B, 1) logits
"""

from __future__ import annotations

import torch
from einops.layers.torch import Rearrange
from torch import nn

from regzoo.models.layers.conv import BiLSTM, ConvBlock, DenseHead, check_seq_len
from regzoo.models.registry import ModelCard, register

CARD = ModelCard(
    name="deepsite",
    family="BiLSTM then CNN (stacked), binding sites",
    paper="Zhang, Qiao, Ji & Li, Int J Mach Learn Cybern 2020",
    year=2020,
    seq_len=101,
    n_tasks=1,
    output="scalar",
    # no published count: computed for the configuration below (PyTorch LSTM convention)
    published_params=239_425,
    # BiLSTM 16 per direction, conv(32, 10), pool 4, dense 32. The BiLSTM runs over every base,
    # so its sequential cost grows with seq_len: fwd+bwd of a batch of 64 x 1000 bp 0.117 s
    # (2 threads) / 0.129 s (1 thread), 2-core CPU.
    compact={"lstm_hidden": 16, "conv_channels": 32, "hidden": 32},
    published_results=(
        "Sn 87.12%, Sp 91.06%, ACC 89.19%, MCC 0.783 over the 690 ENCODE ChIP-seq experiments "
        "[paper abstract]."
    ),
    notes=(
        "Verified: the layer order (input, BLSTM, CNN, pooling, full connection, output) from the "
        "paper's abstract (doi:10.1007/s13042-019-00990-x) and the matching patent CN109559781A "
        "(BLSTM on the one-hot input, convolution kernels scanning the BLSTM output, max pooling, "
        "fully connected, output). Not found: the paper's layer sizes (full text and official "
        "code not available to us). Assumed (ARCHITECTURES.md defaults): BiLSTM 32 units per "
        "direction returning every step, conv(64, 10) ReLU, max pool(4), dense 128 ReLU "
        "dropout 0.5, 1 output. The patent's wording ('maximizing an output signal of each "
        "convolution kernel') may mean global max pooling; pool=0 gives that variant. "
        "published_params is the count of this assumed configuration (torch.nn.LSTM: two bias "
        "vectors per gate; 239,169 in Keras convention). No final sigmoid (logits)."
    ),
)


@register(CARD)
class DeepSite(nn.Module):
    """DeepSite (Zhang et al. 2020).

    Args:
        seq_len: input length (published 101). The flatten size follows from it.
        n_tasks: outputs (published 1).
        lstm_hidden: LSTM units per direction (assumed 32).
        conv_channels: convolution filters over the BiLSTM output (assumed 64).
        kernel: convolution width (assumed 10).
        pool: max-pool width and stride (assumed 4); 0 = global max pooling over positions.
        hidden: units of the dense layer (assumed 128).
        dropout: dropout after the dense layer (assumed 0.5).

    Shape:
        ``(batch, 4, seq_len)`` one-hot (A, C, G, T; N all-zero) -> ``(batch, n_tasks)``
        **logits** (no sigmoid: the training loss is BCE-with-logits).
    """

    output_kind = "scalar"

    def __init__(
        self,
        seq_len: int = 101,
        n_tasks: int = 1,
        lstm_hidden: int = 32,
        conv_channels: int = 64,
        kernel: int = 10,
        pool: int = 4,
        hidden: int = 128,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.bilstm = BiLSTM(4, lstm_hidden)
        self.conv = ConvBlock(2 * lstm_hidden, conv_channels, kernel, pool=max(pool, 1))
        n_positions = check_seq_len("deepsite", seq_len, self.conv.out_len)
        if pool == 0:  # global max pooling variant
            self.flatten = nn.Sequential(nn.AdaptiveMaxPool1d(1), Rearrange("b c 1 -> b c"))
            n_positions = 1
        else:
            self.flatten = Rearrange("b c l -> b (c l)")
        self.head = DenseHead(
            conv_channels * n_positions, hidden=(hidden,), n_out=n_tasks, dropout=dropout
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.flatten(self.conv(self.bilstm(x))))
