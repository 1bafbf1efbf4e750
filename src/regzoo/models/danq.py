"""DanQ — Quang & Xie, Nucleic Acids Res 2016: a convolution then a BiLSTM over every position.

::

    one-hot (B, 4, 1000)
    conv(320, 26) ReLU pool(13) dropout 0.2 -> (B, 320, 75)
    BiLSTM 320 per direction, all steps     -> (B, 640, 75)
    dropout 0.5, flatten                    -> (B, 48000)
    dense 925 ReLU                          -> (B, 925)
    dense 919                               -> (B, 919) logits

The BiLSTM's whole output sequence is flattened (``return_sequences=True`` in the official
Keras model), not only its last step. The published configuration's LSTM computes as the
official model's Keras 0.2.0 LSTM did (``gates="keras"``: hard-sigmoid gates, one bias per
gate), so DanQ's released weights load; ``gates="torch"`` uses ``nn.LSTM`` (logistic gates, two
biases, much faster to train on CPU) and is the compact configuration's choice.
"""

from __future__ import annotations

import torch
from einops.layers.torch import Rearrange
from torch import nn

from regzoo.errors import InputError
from regzoo.models.layers.conv import BiLSTM, ConvBlock, DenseHead, KerasBiLSTM, check_seq_len
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
    # conv 32 (kernel 26, pool 13 kept), BiLSTM 32 per direction, dense 64; nn.LSTM gates (the
    # fused nn.LSTM trains several times faster than the step loop of the Keras cell, and the
    # compact results, golden outputs included, stay as they were).
    # fwd+bwd of a batch of 64 x 1000 bp: 0.019 s (2 threads) / 0.027 s (1 thread), 2-core CPU.
    compact={"conv_channels": 32, "lstm_hidden": 32, "hidden": 64, "gates": "torch"},
    published_results=(
        "Outperforms DeepSEA on 94.1% of the 919 targets (ROC AUC); for some regulatory markers "
        "over 50% relative improvement in PR AUC [paper]."
    ),
    notes=(
        "Layers checked against the official Keras code (uci-cbcl/DanQ DanQ_train.py, as copied "
        "in several public repositories): Convolution1D(320, 26, valid, relu), "
        "MaxPooling1D(13, stride 13), Dropout(0.2), Bidirectional(LSTM(320, "
        "return_sequences=True)), Dropout(0.5), Flatten, Dense(75*640 -> 925) relu, Dense(919) "
        "sigmoid. The official code ran on Keras 0.2.0 (its README), whose LSTM defaults to "
        "inner_activation='hard_sigmoid' (clip(0.2x + 0.5, 0, 1)) with ONE bias vector per gate "
        "and forget bias initialised to 1 (keras/layers/recurrent.py at the 0.2.0 tag); the "
        "published configuration computes exactly that (gates='keras', a step loop; tested "
        "against a hand-written per-gate reference cell), so published_params is the Keras "
        "count: 33,600 + 1,640,960 + 44,400,925 + 850,994 = 46,926,479. gates='torch' uses "
        "torch.nn.LSTM (logistic gates, two bias vectors b_ih and b_hh): 2,560 more, 46,929,039 "
        "(+0.005%); the compact configuration uses it (faster training; compact results "
        "unchanged). Bidirectional: seya's Bidirectional (forward and backward LSTM each with "
        "its own weights, backward outputs re-reversed, then concatenated forward first); the "
        "author shipped a modified seya (DanQ_seya.tar.gz) that could not be read here: the "
        "unmodified seya of that date reverses axis 0 of a (batch, time, features) tensor, so "
        "whether the released model's backward LSTM really reads the steps in reverse is not "
        "verified; regzoo's does. Keras 0.2 / Theano convolutions flip the kernel "
        "(`regzoo import danq` flips it back) and DeepSEA's data, which DanQ trained on, encode "
        "the bases A, G, C, T (the importer reorders to A, C, G, T). "
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
        gates: ``"keras"`` (published): the Keras 0.2.0 LSTM of the official model,
            hard-sigmoid gates and one bias per gate (:class:`KerasBiLSTM`); ``"torch"``:
            ``nn.LSTM`` (logistic gates, two biases; the compact configuration).

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
        gates: str = "keras",
    ) -> None:
        super().__init__()
        if gates not in ("keras", "torch"):
            raise InputError(f"danq: gates must be 'keras' or 'torch'; got {gates!r}")
        conv = ConvBlock(4, conv_channels, kernel, pool=pool, dropout=dropout[0])
        n_steps = check_seq_len("danq", seq_len, conv.out_len)
        self.conv = conv
        self.bilstm = (
            KerasBiLSTM(conv_channels, lstm_hidden)
            if gates == "keras"
            else BiLSTM(conv_channels, lstm_hidden)
        )
        self.dropout = nn.Dropout(dropout[1])
        self.flatten = Rearrange("b c l -> b (l c)")  # step-major, as Keras Flatten
        self.head = DenseHead(2 * lstm_hidden * n_steps, hidden=(hidden,), n_out=n_tasks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.flatten(self.dropout(self.bilstm(self.conv(x)))))
