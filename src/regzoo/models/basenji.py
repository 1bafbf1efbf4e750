"""Basenji2 (Kelley, PLoS Comput Biol 2020): dilated residual CNN predicting binned coverage.

Published configuration: the "cross2020" human model (calico/basenji
``manuscripts/cross2020/params_human.json``)::

    one-hot (4, 131072)
    conv_block(288, 15, pool 2)                                   GELU -> conv -> BN -> pool
    conv_tower: 6 x conv_block(339 x 1.1776^i rounded, 5, pool 2)  339 399 470 554 652 768
    11 x dilated residual (conv_block(384, 3, dilation d) -> conv_block(768, 1, dropout 0.3)) + x
                                                   d = 1 2 3 4 6 9 14 21 32 48 72
    crop 64 bins per side (1024 -> 896)
    conv_block(1536, 1, dropout 0.05) -> GELU (seqnn's "final activation")
    dense 5313 per bin, softplus                                  -> (batch, 5313, 896)

Every width and depth is an argument; ``seq_len`` sets the bins (``seq_len // bin_size`` with
``bin_size = 2 ** (1 + tower_blocks)``) and the crop (the published 1/16 of the bins per side
unless ``crop`` or ``target_bins`` is given).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from regzoo.errors import InputError
from regzoo.models.layers.profile import (
    BasenjiConvBlock,
    DilatedResidualBlock,
    ScalarHead,
    SigmoidGELU,
    TargetLengthCrop,
    dilation_schedule,
    geometric_channels,
    profile_bins,
    variance_scaling_,
)
from regzoo.models.registry import ModelCard, register

# Parameters of the published configuration (5,313 human tracks), counted from the official
# params file as built here: convs without bias, batch norm with scale and offset, dense head
# with bias. Checked by tests/test_models_profile.py.
BASENJI2_PARAMS = 30_088_228

CARD = ModelCard(
    name="basenji",
    family="dilated residual CNN, binned coverage (Basenji2)",
    paper="Kelley, Cross-species regulatory sequence activity prediction, PLoS Comput Biol 2020",
    year=2020,
    seq_len=131_072,
    n_tasks=5313,
    output="profile",
    published_params=BASENJI2_PARAMS,
    n_bins=896,
    # 42.0k parameters (n_tasks=1); 1000 bp -> 63 bins of 16 bp, 57 after the crop. One training
    # step (forward + backward + Adam, batch 64 x 1000 bp, output="scalar") on this 2-core CPU:
    # 0.055 s wall with 2 threads on an idle machine (0.085 s CPU on one thread).
    compact={
        "stem_channels": 32,
        "tower_channels_init": 32,
        "tower_channels_mult": 1.25,
        "tower_blocks": 3,
        "dilated_channels": 24,
        "dilated_blocks": 3,
        "final_channels": 64,
    },
    published_results=(
        "CAGE gene-level expression: mean Pearson r ~0.81 across human CAGE tracks (Basenji2, as "
        "reported in Avsec et al. 2021, Enformer)."
    ),
    notes=(
        "Verified against calico/basenji: manuscripts/cross2020/params_human.json (trunk, head, "
        "seq_length 131072, target_length 1024, GELU, batch norm momentum 0.9); basenji/blocks.py "
        "(conv_block: activation first, Conv1D 'same' use_bias=False he_normal, BatchNormalization "
        "with learnable gamma and beta, gamma init 0 on the block that closes a residual, dropout, "
        "MaxPool1D 'same'; conv_tower widths int(np.round(339*1.1776**i)) from the unrounded "
        "running product; dilated_residual: rate starts at 1, rate *= 1.5 and, with round=true, "
        "rounded half-to-even after every step -> 1,2,3,4,6,9,14,21,32,48,72; second conv back to "
        "the input width 768 with dropout 0.3); basenji/layers.py (GELU = x*sigmoid(1.702x), "
        "softplus head); basenji/seqnn.py (a final GELU after the trunk, before the head). "
        f"Published parameter count computed from that file: {BASENJI2_PARAMS:,} trainable "
        "(Keras' model.summary() total would add 35,356 non-trainable batch-norm moving "
        "statistics: 30,123,584). "
        "Deviations: Keras BatchNormalization(momentum=0.9) is PyTorch momentum=0.1 (opposite "
        "conventions) and eps keeps Keras' 1e-3; the per-bin dense head is a kernel-1 Conv1d "
        "(same parameters, channels-first output); softplus is not clipped at 1e4 as in "
        "layers.Softplus (no effect in float32 range). Scalar mode (output='scalar') replaces the "
        "softplus by a ScalarHead over bins and pads the input with N (zeros) to a multiple of "
        "bin_size; profile mode requires seq_len to be a multiple of bin_size. Compact: same "
        "blocks, 3 tower blocks (bin 16 bp; 1000 bp -> 63 bins, 57 after the crop), 3 dilated "
        "blocks (dilation 1, 2, 3), widths 32-64."
    ),
)


@register(CARD)
class Basenji(nn.Module):
    """Basenji2 (cross2020 human) as a PyTorch module.

    Args:
        seq_len: input length (bp).
        n_tasks: output tracks.
        stem_channels, stem_kernel: first conv block (pool 2).
        tower_channels_init, tower_channels_mult, tower_blocks, tower_kernel: conv tower (each
            block pools by 2); ``bin_size = 2 ** (1 + tower_blocks)``.
        dilated_channels, dilated_blocks, dilated_kernel, dilation_mult, dilated_dropout: the
            dilated residual tower (its width is the tower's last width).
        crop: bins cropped per side; default ``bins // 16`` (64 of 1024).
        target_bins: alternative to ``crop``: output bins.
        final_channels, final_dropout: the pointwise conv block before the head.
        bn_momentum: PyTorch convention (Keras 0.9 -> 0.1).
        output: ``"profile"`` -> softplus ``(batch, n_tasks, n_bins)``; ``"scalar"`` -> logits
            ``(batch, n_tasks)`` through a :class:`ScalarHead`.
        scalar_pool: the ScalarHead's pooling (``"attention"``, ``"mean"``, ``"max"``).

    Input ``(batch, 4, seq_len)`` one-hot.
    """

    def __init__(
        self,
        seq_len: int = 131_072,
        n_tasks: int = 5313,
        *,
        stem_channels: int = 288,
        stem_kernel: int = 15,
        tower_channels_init: float = 339,
        tower_channels_mult: float = 1.1776,
        tower_blocks: int = 6,
        tower_kernel: int = 5,
        dilated_channels: int = 384,
        dilated_blocks: int = 11,
        dilated_kernel: int = 3,
        dilation_mult: float = 1.5,
        dilated_dropout: float = 0.3,
        crop: int | None = None,
        target_bins: int | None = None,
        final_channels: int = 1536,
        final_dropout: float = 0.05,
        bn_momentum: float = 0.1,
        output: str = "profile",
        scalar_pool: str = "mean",
    ) -> None:
        super().__init__()
        self.seq_len, self.n_tasks = seq_len, n_tasks
        self.bin_size = 2 ** (1 + tower_blocks)
        self.n_bins, _ = profile_bins(seq_len, self.bin_size, output, crop, target_bins, 64 / 1024)
        self.output_kind = output

        tower = geometric_channels(tower_channels_init, tower_channels_mult, tower_blocks)
        widths = [stem_channels, *tower]
        trunk_channels = widths[-1]
        self.stem = BasenjiConvBlock(
            4, stem_channels, stem_kernel, pool_size=2, bn_momentum=bn_momentum
        )
        self.conv_tower = nn.Sequential(
            *(
                BasenjiConvBlock(c_in, c_out, tower_kernel, pool_size=2, bn_momentum=bn_momentum)
                for c_in, c_out in zip(widths[:-1], widths[1:], strict=True)
            )
        )
        self.dilated_tower = nn.Sequential(
            *(
                DilatedResidualBlock(
                    trunk_channels,
                    dilated_channels,
                    d,
                    dilated_kernel,
                    dilated_dropout,
                    bn_momentum,
                )
                for d in dilation_schedule(dilated_blocks, dilation_mult)
            )
        )
        self.crop_final = TargetLengthCrop(self.n_bins)
        self.final = nn.Sequential(
            BasenjiConvBlock(
                trunk_channels, final_channels, 1, dropout=final_dropout, bn_momentum=bn_momentum
            ),
            SigmoidGELU(),
        )
        self.head = nn.Conv1d(final_channels, n_tasks, 1)
        variance_scaling_(self.head.weight, 2.0, final_channels)  # Keras Dense he_normal
        nn.init.zeros_(self.head.bias)
        self.scalar_head = ScalarHead(n_tasks, scalar_pool) if output == "scalar" else None

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, 4, L)`` -> embedding ``(batch, final_channels, n_bins)``."""
        if self.output_kind == "scalar":
            pad = (-x.shape[-1]) % self.bin_size
            x = F.pad(x, (pad // 2, pad - pad // 2))  # N = all-zero columns
        elif x.shape[-1] % self.bin_size:
            raise InputError(f"input length {x.shape[-1]} is not a multiple of {self.bin_size}")
        x = self.dilated_tower(self.conv_tower(self.stem(x)))
        return self.final(self.crop_final(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, 4, seq_len)`` -> ``(batch, n_tasks, n_bins)`` coverage (softplus), or
        ``(batch, n_tasks)`` logits when ``output="scalar"``."""
        z = self.head(self.trunk(x))
        if self.scalar_head is not None:
            return self.scalar_head(z)
        return F.softplus(z)
