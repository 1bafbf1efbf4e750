"""ExpResNet — Zhang, Zhou & Cai, bioRxiv 2020: a residual CNN regressing expression from promoters.

Stem, four stages of two residual modules, global average pooling, dense head. Lengths for the
default 10,500-bp promoter window (-7 kb .. +3.5 kb around the TSS, as in Xpresso)::

    one-hot (B, 4, 10500)
    conv(64, 15) BN ReLU pool(4)            -> (B, 64, 2621)
    stage 1: 2 x residual module(64)        -> (B, 64, 2621)    pool(4) -> 655
    stage 2: 2 x residual module(128)       -> (B, 128, 655)    pool(4) -> 163
    stage 3: 2 x residual module(256)       -> (B, 256, 163)    pool(4) -> 40
    stage 4: 2 x residual module(512)       -> (B, 512, 40)
    global average pooling                  -> (B, 512)
    [concatenate n_extra_features]          -> (B, 512 + n_extra_features)
    dense 256 ReLU dropout 0.3              -> (B, 256)
    dense n_tasks                           -> (B, n_tasks) (log expression; MSE)

Residual module (the article's "Detail of Residual Module"): conv(c, 5) BN ReLU conv(c, 5) BN,
plus the input (or its 1x1 conv + BN projection when the channels change), then ReLU.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from regzoo.models.layers.conv import (
    ConvBlock,
    DenseHead,
    GlobalPool,
    ResidualModule,
    check_seq_len,
    pool_len,
)
from regzoo.models.registry import ModelCard, register

CARD = ModelCard(
    name="expresnet",
    family="residual CNN (residual modules) for expression",
    paper="Zhang, Zhou & Cai, bioRxiv 2020 (doi:10.1101/2020.06.21.163956)",
    year=2020,
    seq_len=10_500,
    n_tasks=1,
    output="scalar",
    # no published count: computed from the specification below
    published_params=6_420_097,
    # channels 16/32/64/64, dense 64; pool 2 between stages (not 4) so that seq_len >= 46 fits
    # (stem pool 4 kept). fwd+bwd of a batch of 64 x 1000 bp: 0.034 s (2 threads) / 0.054 s
    # (1 thread), 2-core CPU.
    compact={"channels": (16, 32, 64, 64), "stage_pool": 2, "hidden": 64},
    published_results=(
        "No headline number verified: the preprint's full text was not available to us "
        "(it reports prediction of gene expression from promoter sequence, compared with "
        "Xpresso-style CNNs)."
    ),
    notes=(
        "Paper identified: Yilun Zhang, Xin Zhou & Xiaodong Cai, 'Predicting gene expression from "
        "DNA sequence using residual neural network', bioRxiv 2020 (figures 'Architecture of "
        "ExpResNet' and 'Detail of Residual Module'). No official code or published "
        "configuration found (a third-party 'based on ExpResNet' Selene model uses bottleneck "
        "blocks with 160-960 channels and average pooling; not followed). Built from the "
        "ARCHITECTURES.md specification: stem conv(64, 15) BN ReLU pool(4); 4 stages x 2 "
        "residual modules, channels 64/128/256/512, kernel 5, 1x1 conv + BN projection when the "
        "channels change, ReLU after the sum; pool(4) between stages; global average pooling; "
        "dense 256 ReLU dropout 0.3; linear output. Choices: convolutions followed by batch norm "
        "have no bias (ResNet convention); pooling is max pooling. published_params is the count "
        "of this specification (6,420,097 with n_tasks=1 and no extra features). Optional extra "
        "scalar features (e.g. mRNA half-life, as in Xpresso) are concatenated before the dense "
        "head: forward(x, extra)."
    ),
)


@register(CARD)
class ExpResNet(nn.Module):
    """ExpResNet (Zhang, Zhou & Cai 2020), as specified in ARCHITECTURES.md.

    Args:
        seq_len: input length (default 10,500: -7 kb .. +3.5 kb around the TSS).
        n_tasks: outputs (default 1: log expression).
        channels: channels of the four stages (64, 128, 256, 512); the stem has ``channels[0]``.
        modules_per_stage: residual modules per stage (2).
        stem_kernel: stem convolution width (15).
        stem_pool: max pooling after the stem (4).
        kernel: residual-module convolution width (5, odd).
        stage_pool: max pooling between stages (4).
        hidden: units of the dense layer (256).
        dropout: dropout after the dense layer (0.3).
        n_extra_features: scalar features concatenated to the pooled sequence features before the
            dense head (0 = none).

    Shape:
        ``(batch, 4, seq_len)`` one-hot (A, C, G, T; N all-zero) [+ ``extra`` ``(batch,
        n_extra_features)``] -> ``(batch, n_tasks)`` raw outputs (linear; regression with MSE,
        or logits for a classification task: no final activation).
    """

    output_kind = "scalar"

    def __init__(
        self,
        seq_len: int = 10_500,
        n_tasks: int = 1,
        channels: Sequence[int] = (64, 128, 256, 512),
        modules_per_stage: int = 2,
        stem_kernel: int = 15,
        stem_pool: int = 4,
        kernel: int = 5,
        stage_pool: int = 4,
        hidden: int = 256,
        dropout: float = 0.3,
        n_extra_features: int = 0,
    ) -> None:
        super().__init__()
        channels = tuple(channels)
        stem = ConvBlock(4, channels[0], stem_kernel, pool=stem_pool, batch_norm=True, bias=False)

        def out_len(length: int) -> int:
            length = stem.out_len(length)
            for _ in channels[1:]:
                length = pool_len(length, stage_pool)
            return length

        check_seq_len("expresnet", seq_len, out_len)
        self.n_extra_features = n_extra_features
        self.stem = stem
        stages: list[nn.Module] = []
        width = channels[0]
        for i, c in enumerate(channels):
            if i > 0:
                stages.append(nn.MaxPool1d(stage_pool) if stage_pool > 1 else nn.Identity())
            for _ in range(modules_per_stage):
                stages.append(ResidualModule(width, c, kernel))
                width = c
        self.stages = nn.Sequential(*stages)
        self.pool = GlobalPool("avg")
        self.head = DenseHead(
            width + n_extra_features, hidden=(hidden,), n_out=n_tasks, dropout=dropout
        )

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        features = self.pool(self.stages(self.stem(x)))
        if self.n_extra_features:
            if extra is None or extra.shape != (x.shape[0], self.n_extra_features):
                got = None if extra is None else tuple(extra.shape)
                raise ValueError(
                    f"expresnet was built with n_extra_features={self.n_extra_features}: "
                    f"forward(x, extra) needs extra of shape ({x.shape[0]}, "
                    f"{self.n_extra_features}); got {got}"
                )
            features = torch.cat([features, extra.to(features.dtype)], dim=1)
        elif extra is not None:
            raise ValueError("expresnet was built with n_extra_features=0 but got extra features")
        return self.head(features)
