"""Deep6mAPred — Tang, Zheng, Li, Wu, Wei, Liu & Huang, Methods 2022.

A CNN branch and a BiLSTM-with-attention branch read the SAME one-hot input in parallel (not
stacked); their flattened outputs are concatenated and classified::

    one-hot (B, 4, 41) ─┬─ conv(32, 5) ReLU pool(2) dropout 0.25   -> (B, 32, 18)
                        │  conv(64, 5) ReLU pool(2) dropout 0.25   -> (B, 64, 7)
                        │  flatten                                 -> (B, 448)
                        └─ BiLSTM 32 per direction, all steps      -> (B, 64, 41)
                           attention over positions (weighted sum) -> (B, 64)
    concatenate                                                    -> (B, 512)
    dense 64 ReLU dropout 0.5                                      -> (B, 64)
    dense 1                                                        -> (B, 1) logits
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from einops.layers.torch import Rearrange
from torch import nn

from regzoo.models.layers.conv import (
    BiLSTM,
    ConvBlock,
    DenseHead,
    PositionAttention,
    blocks_out_len,
    check_seq_len,
)
from regzoo.models.registry import ModelCard, register

CARD = ModelCard(
    name="deep6mapred",
    family="CNN and BiLSTM in parallel on the same one-hot input",
    paper="Tang, Zheng, Li, Wu, Wei, Liu & Huang, Methods 2022",
    year=2022,
    seq_len=41,
    n_tasks=1,
    output="scalar",
    # no published count: computed for the configuration below (PyTorch LSTM convention)
    published_params=55_713,
    # conv 16/32, BiLSTM 16 per direction, attention 16, dense 32. The BiLSTM runs over every
    # base: fwd+bwd of a batch of 64 x 1000 bp 0.113 s (2 threads) / 0.128 s (1 thread), 2-core CPU.
    compact={
        "cnn_channels": (16, 32),
        "lstm_hidden": 16,
        "attention_dim": 16,
        "hidden": 32,
    },
    published_results=(
        "6mA-rice-Chen (880 + 880, 5-fold CV): better than Deep6mA by +0.1572 Sn, +0.0750 ACC, "
        "+0.1436 MCC and +0.0237 ROC AUC, slightly lower Sp [second-hand summary of the paper; "
        "absolute table not verified]. Competitive with Deep6mA on 6mA-rice-Lv; generalises to "
        "Fragaria vesca / Rosa chinensis sets (6mA-Fuse-F/R); attention helps in the paper's "
        "ablation."
    ),
    notes=(
        "Verified (paper abstract and second-hand summaries): 41-bp one-hot input; a CNN branch "
        "and a Bi-LSTM branch run IN PARALLEL on the same encoded DNA (not stacked), the BiLSTM "
        "branch with an attention mechanism (an ablation with/without attention is reported), "
        "outputs concatenated, fully connected layer, sigmoid output. Not found: layer sizes "
        "(full text and official code not available to us). Assumed: CNN branch 2 x [conv(32|64, "
        "5) ReLU max pool(2) dropout 0.25]; BiLSTM 32 per direction returning every step; "
        "additive attention over positions (tanh projection of size 32, softmax over positions, "
        "weighted sum: the hierarchical-attention form common in 6mA/LSTM models); dense 64 "
        "ReLU dropout 0.5; 1 output. attention=False flattens every BiLSTM step instead (the "
        "ablation). published_params is the count of this assumed configuration (torch.nn.LSTM: "
        "two bias vectors per gate; 55,457 in Keras convention). No final sigmoid (logits)."
    ),
)


@register(CARD)
class Deep6mAPred(nn.Module):
    """Deep6mAPred (Tang et al. 2022).

    Args:
        seq_len: input length (published 41). The CNN flatten size follows from it.
        n_tasks: outputs (published 1).
        cnn_channels: filters of the stacked CNN-branch convolutions (assumed 32, 64).
        kernel: convolution width (assumed 5).
        pool: max-pool width/stride after each convolution (assumed 2).
        cnn_dropout: dropout after each pooling (assumed 0.25).
        lstm_hidden: LSTM units per direction (assumed 32).
        attention: attention over BiLSTM positions (True, as published) or flatten all steps.
        attention_dim: size of the attention projection (assumed 32).
        hidden: units of the dense layer after concatenation (assumed 64).
        dropout: dropout after the dense layer (assumed 0.5).

    Shape:
        ``(batch, 4, seq_len)`` one-hot (A, C, G, T; N all-zero) -> ``(batch, n_tasks)``
        **logits** (no sigmoid: the training loss is BCE-with-logits).
    """

    output_kind = "scalar"

    def __init__(
        self,
        seq_len: int = 41,
        n_tasks: int = 1,
        cnn_channels: Sequence[int] = (32, 64),
        kernel: int = 5,
        pool: int = 2,
        cnn_dropout: float = 0.25,
        lstm_hidden: int = 32,
        attention: bool = True,
        attention_dim: int = 32,
        hidden: int = 64,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        widths = (4, *cnn_channels)
        blocks = [
            ConvBlock(c_in, c_out, kernel, pool=pool, dropout=cnn_dropout)
            for c_in, c_out in zip(widths[:-1], widths[1:], strict=True)
        ]
        n_positions = check_seq_len("deep6mapred", seq_len, lambda n: blocks_out_len(blocks, n))
        self.cnn_branch = nn.Sequential(*blocks, Rearrange("b c l -> b (c l)"))
        self.lstm_branch = nn.Sequential(
            BiLSTM(4, lstm_hidden),
            PositionAttention(2 * lstm_hidden, attention_dim)
            if attention
            else Rearrange("b c l -> b (c l)"),
        )
        lstm_features = 2 * lstm_hidden * (1 if attention else seq_len)
        self.head = DenseHead(
            widths[-1] * n_positions + lstm_features,
            hidden=(hidden,),
            n_out=n_tasks,
            dropout=dropout,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = torch.cat([self.cnn_branch(x), self.lstm_branch(x)], dim=1)
        return self.head(features)
