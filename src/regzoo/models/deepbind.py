"""DeepBind — Alipanahi, Delong, Weirauch & Frey, Nat Biotechnol 2015.

One layer of motif detectors, rectification with a learned threshold, global pooling, and a
small fully connected output (ChIP-seq configuration)::

    one-hot (B, 4, 101)
    [pre_pool: max pool(p)]                 -> (B, 4, 101 // p)     (option, off by default)
    N (all-zero column) -> 0.25 per base    -> (B, 4, 101)          (pad_value=0.25)
    pad m-1 = 23 N each side                -> (B, 4, 147)
    conv(16, 24): motif detectors           -> (B, 16, 124)
    max(0, x - b): learned threshold        -> (B, 16, 124)
    global max + average pooling            -> (B, 32)
    dense 32 ReLU dropout                   -> (B, 32)
    dense 1                                 -> (B, 1) logits
    [both_strands: the same on the reverse complement, keep the larger score]

The published configuration scores as the official ``deepbind`` executable does
(``deepbind.cpp``, ``apply_model``): an N -- in the padding or in the sequence -- adds 0.25 of
each of the four detector weights at its position, and ChIP-seq models
(``reverse_complement = 1`` in their parameter file) score both strands and keep the larger score.
"""

from __future__ import annotations

import torch
from torch import nn

from regzoo.models.layers.conv import DenseHead, GlobalPool, check_seq_len, pool_len
from regzoo.models.registry import ModelCard, register

CARD = ModelCard(
    name="deepbind",
    family="one conv layer, global pooling",
    paper="Alipanahi, Delong, Weirauch & Frey, Nat Biotechnol 2015",
    year=2015,
    seq_len=101,
    n_tasks=1,
    output="scalar",
    published_params=2_641,
    # The published configuration is already tiny (2,641 parameters): compact has the same
    # layers, and keeps regzoo's original scoring (zero padding, one strand) so that compact
    # results (golden outputs, earlier `regzoo compare` tables) are unchanged.
    # fwd+bwd of a batch of 64 x 1000 bp: 0.007 s (2 threads) / 0.011 s (1 thread), 2-core CPU.
    compact={"pad_value": 0.0, "both_strands": False},
    published_results=(
        "In vivo (ENCODE ChIP-seq, 101-bp peaks vs dinucleotide-shuffled negatives): per-"
        "experiment test AUCs in the paper's supplementary tables [not re-checked here]; "
        "DeepBind outperformed the DREAM5/ChIP-seq motif baselines on most experiments [paper]."
    ),
    notes=(
        "From the paper (Fig. 1 and Supplementary Notes): 16 detectors of length 24 for "
        "ChIP-seq, input padded with m-1 N on both sides, rectification max(0, x - b) with a "
        "learned threshold b per detector, global max or max+average pooling (a calibrated "
        "choice), no hidden layer or 32 ReLU units with dropout. Parameter count 16*4*24 + 16 + "
        "(32*32 + 32) + (32 + 1) = 2,641 for max+avg pooling with 32 hidden units. Choices: the "
        "threshold b is the convolution bias (conv(x) + bias = x - b with bias = -b), the same "
        "function and parameter count as a bias-free conv followed by a threshold (the official "
        "parameter files store the added value, `thresholds`, which is the bias itself). Scoring "
        "as the official code (deepbind.cpp, apply_model and main, read in a public copy of the "
        "DeepBind 0.11 sources): the input is padded with m-1 N on both sides and an N adds "
        "0.25 of each detector weight at its position (pad_value=0.25; N inside the sequence, "
        "regzoo's all-zero column, is scored as 0.25 per base too); models whose parameter file "
        "says reverse_complement = 1 (the ChIP-seq models) score the reverse complement as well "
        "and keep the larger score (both_strands=True). Both are the defaults of the published "
        "configuration. The compact configuration keeps regzoo's original rule (pad_value=0: "
        "N all-zero, an overhanging detector scores only the real bases; one strand), so "
        "compact results, golden outputs included, are unchanged. Not reproduced: the "
        "executable scans inputs longer than its window (default int(1.5 m) = 36 bp, option "
        "--window-size) and keeps the best window; regzoo scores the whole input (the "
        "executable with --window-size >= the input length). The official pooled features "
        "interleave max and mean per detector (max_1, mean_1, max_2, ...); regzoo concatenates "
        "all maxima then all means (`regzoo import deepbind` permutes the weights). The mean "
        "is over the n + m - 1 detector positions, padding included, as in the official code. "
        "Dropout 0.5 stands for the paper's per-experiment "
        "calibrated value; training (SGD with momentum, random hyper-parameter search) is not part "
        "of the module. pre_pool is the article's 'simplest CNN' variant (a max-pooling layer "
        "before the convolution), off by default. No final sigmoid (logits)."
    ),
)


@register(CARD)
class DeepBind(nn.Module):
    """DeepBind (Alipanahi et al. 2015).

    Args:
        seq_len: input length (published 101 for ChIP-seq).
        n_tasks: outputs (published 1).
        n_detectors: motif detectors (published 16).
        detector_len: detector width m (published 24).
        pooling: ``"max"`` or ``"maxavg"`` (published calibrated; the 2,641-parameter
            configuration uses ``"maxavg"``), or ``"avg"``.
        hidden: units of the hidden layer (32), or 0 for a linear output layer.
        dropout: dropout after the hidden layer.
        pad_n: pad m-1 N on both sides so detectors can overhang the ends.
        pad_value: the value of each base's channel for an N, in the padding and (when not 0)
            for N inside the input (all-zero columns): 0.25 as the official scorer (published
            default), 0 = N all-zero (regzoo's encoding; the compact configuration).
        both_strands: also score the reverse complement and keep the larger output (official
            ChIP-seq models; published default), element-wise per task.
        pre_pool: width/stride of a max-pooling layer applied to the one-hot input BEFORE the
            convolution (the article's "simplest CNN"); 0 = off (published DeepBind).

    Shape:
        ``(batch, 4, seq_len)`` one-hot (A, C, G, T; N all-zero) -> ``(batch, n_tasks)``
        **logits** (no sigmoid: the training loss is BCE-with-logits).
    """

    output_kind = "scalar"

    def __init__(
        self,
        seq_len: int = 101,
        n_tasks: int = 1,
        n_detectors: int = 16,
        detector_len: int = 24,
        pooling: str = "maxavg",
        hidden: int = 32,
        dropout: float = 0.5,
        pad_n: bool = True,
        pre_pool: int = 0,
        pad_value: float = 0.25,
        both_strands: bool = True,
    ) -> None:
        super().__init__()
        pad = detector_len - 1 if pad_n else 0

        def out_len(length: int) -> int:  # detector positions (0 if pre-pooling leaves nothing)
            pooled = pool_len(length, pre_pool)
            return pooled + 2 * pad - detector_len + 1 if pooled >= 1 else 0

        check_seq_len("deepbind", seq_len, out_len)
        self.pre_pool = nn.MaxPool1d(pre_pool) if pre_pool > 1 else nn.Identity()
        self.pad_value, self.both_strands = float(pad_value), bool(both_strands)
        self.pad = nn.ConstantPad1d(pad, self.pad_value)  # N columns on both sides
        # conv bias = -threshold: relu(w * x + bias) = max(0, w * x - b)
        self.detectors = nn.Conv1d(4, n_detectors, detector_len)
        self.rectify = nn.ReLU()
        self.pool = GlobalPool(pooling)
        self.head = DenseHead(
            self.pool.out_channels(n_detectors),
            hidden=(hidden,) if hidden else (),
            n_out=n_tasks,
            dropout=dropout if hidden else 0.0,
        )

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """One strand: ``(batch, 4, seq_len)`` -> ``(batch, n_tasks)`` logits."""
        x = self.pre_pool(x)
        if self.pad_value:  # N inside the input (all-zero column) -> pad_value per base
            x = x + self.pad_value * (x.sum(dim=1, keepdim=True) == 0).to(x.dtype)
        return self.head(self.pool(self.rectify(self.detectors(self.pad(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.score(x)
        if self.both_strands:  # reverse complement of A, C, G, T rows = flip both axes
            out = torch.maximum(out, self.score(x.flip(dims=(1, 2))))
        return out
