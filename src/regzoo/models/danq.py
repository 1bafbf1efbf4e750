"""DanQ — Quang & Xie, Nucleic Acids Res 2016: a convolution then a BiLSTM over every position.

::

    one-hot (B, 4, 1000)
    conv(320, 26) ReLU pool(13) dropout 0.2 -> (B, 320, 75)
    BiLSTM 320 per direction, all steps     -> (B, 640, 75)
    dropout 0.5, flatten                    -> (B, 48000)
    dense 925 ReLU                          -> (B, 925)
    dense 919                               -> (B, 919) logits

The BiLSTM's whole output sequence is flattened (``return_sequences=True`` in the official
Keras model), not only its last step.
"""

from __future__ import annotations

import torch
from einops.layers.torch import Rearrange
from torch import nn

from regzoo.models.layers.conv import BiLSTM, ConvBlock, DenseHead, check_seq_len
from regzoo.models.registry import ModelCard, register

#: ``nn.LSTM`` keeps two bias vectors per gate: 2 directions x 4 gates x 320 more than Keras.
TORCH_LSTM_EXTRA_BIASES = 2 * 4 * 320

CARD = ModelCard(
    name="danq",
    family="CNN then BiLSTM",
    paper="Quang & Xie, Nucleic Acids Res 2016",
    year=2016,
    seq_len=1000,
    n_tasks=919,
    output="scalar",
    published_params=46_926_479,
    # conv 32 (kernel 26, pool 13 kept), BiLSTM 32 per direction, dense 64.
    # fwd+bwd of a batch of 64 x 1000 bp: 0.019 s (2 threads) / 0.027 s (1 thread), 2-core CPU.
    compact={"conv_channels": 32, "lstm_hidden": 32, "hidden": 64},
    published_results=(
        "Outperforms DeepSEA on 94.1% of the 919 targets (ROC AUC); for some regulatory markers "
        "over 50% relative improvement in PR AUC [paper]."
    ),
    notes=(
        "Layers checked against the official Keras code (uci-cbcl/DanQ DanQ_train.py, as copied "
        "in several public repositories): Convolution1D(320, 26, valid, relu), "
        "MaxPooling1D(13, stride 13), Dropout(0.2), Bidirectional(LSTM(320, "
        "return_sequences=True)), Dropout(0.5), Flatten, Dense(75*640 -> 925) relu, Dense(919) "
        "sigmoid. published_params is the Keras count (one LSTM bias vector per gate): 33,600 + "
        "1,640,960 + 44,400,925 + 850,994 = 46,926,479. regzoo uses torch.nn.LSTM (two bias "
        "vectors, b_ih and b_hh): 2,560 more, 46,929,039 in PyTorch convention (+0.005%). "
        "Deviation: no final sigmoid (logits)."
    ),
)


@register(CARD)
class DanQ(nn.Module):
    """DanQ (Quang & Xie 2016).

    Args:
        seq_len: input length (published 1000). The flatten size follows from it.
        n_tasks: outputs (published 919).
        conv_channels: convolution filters (published 320).
        kernel: convolution width (published 26).
        pool: max-pool width and stride (published 13).
        lstm_hidden: LSTM units per direction (published 320).
        hidden: units of the dense layer (published 925).
        dropout: dropout after pooling and after the BiLSTM (published 0.2, 0.5).

    Shape:
        ``(batch, 4, seq_len)`` one-hot (A, C, G, T; N all-zero) -> ``(batch, n_tasks)``
        **logits** (no sigmoid: the training loss is BCE-with-logits).
    """

    output_kind = "scalar"

    def __init__(
        self,
        seq_len: int = 1000,
        n_tasks: int = 919,
        conv_channels: int = 320,
        kernel: int = 26,
        pool: int = 13,
        lstm_hidden: int = 320,
        hidden: int = 925,
        dropout: tuple[float, float] = (0.2, 0.5),
    ) -> None:
        super().__init__()
        conv = ConvBlock(4, conv_channels, kernel, pool=pool, dropout=dropout[0])
        n_steps = check_seq_len("danq", seq_len, conv.out_len)
        self.conv = conv
        self.bilstm = BiLSTM(conv_channels, lstm_hidden)
        self.dropout = nn.Dropout(dropout[1])
        self.flatten = Rearrange("b c l -> b (l c)")  # step-major, as Keras Flatten
        self.head = DenseHead(2 * lstm_hidden * n_steps, hidden=(hidden,), n_out=n_tasks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.flatten(self.dropout(self.bilstm(self.conv(x)))))
