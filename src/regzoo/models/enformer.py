"""Enformer (Avsec et al., Nat Methods 2021): conv tower + transformer with relative positions.

Published configuration (google-deepmind/deepmind-research ``enformer/enformer.py``)::

    one-hot (4, 196608)
    stem: conv(768, 15) -> residual(BN-GELU-conv 768 k1) -> attention pool 2
    conv tower, 6 x: BN-GELU-conv(c, 5) -> residual(BN-GELU-conv c k1) -> attention pool 2
                     c = 768 896 1024 1152 1280 1536                        -> (1536, 1536 bins)
    11 x transformer layer (8 heads, key 64, value 192, 192 relative positional features)
    crop to 896 bins
    BN-GELU-conv(3072, 1) -> dropout 0.05 -> GELU
    heads: human 5313, mouse 1643 (per-bin linear, softplus)       -> (batch, 5313, 896)

``forward(x)`` returns the human (first) head, so the uniform contract ``(batch, n_tasks,
n_bins)`` holds; ``forward(x, head="mouse")`` returns another head, and ``forward_heads(x)`` all
of them as a dict (the trunk runs once).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops.layers.torch import Rearrange
from torch import nn

from regzoo.errors import InputError, unknown_name
from regzoo.models.layers.profile import (
    AttentionPool1d,
    EnformerConvBlock,
    Residual,
    ScalarHead,
    SigmoidGELU,
    TargetLengthCrop,
    TransformerBlock,
    enformer_stage_inference,
    enformer_stage_supported,
    exponential_linspace_channels,
    profile_bins,
    variance_scaling_,
)
from regzoo.models.registry import ModelCard, register

# Both heads, published hyper-parameters; equals lucidrains/enformer-pytorch 0.8.12
# (``Enformer(EnformerConfig())``: 251,221,292). Checked by tests/test_models_profile.py.
ENFORMER_PARAMS = 251_221_292

CARD = ModelCard(
    name="enformer",
    family="conv tower + transformer with relative positions, binned coverage",
    paper=(
        "Avsec et al., Effective gene expression prediction from sequence by integrating "
        "long-range interactions, Nat Methods 2021"
    ),
    year=2021,
    seq_len=196_608,
    n_tasks=5313,
    output="profile",
    published_params=ENFORMER_PARAMS,
    n_bins=896,
    # 23.8k parameters (n_tasks=1); 1000 bp -> 63 bins of 16 bp, 37 after the crop. One training
    # step (forward + backward + Adam, batch 64 x 1000 bp, output="scalar") on this 2-core CPU:
    # 0.057 s wall with 2 threads on an idle machine (0.076 s CPU on one thread).
    # C=48 learned the bundled promoter task slightly better (test AUROC 0.907 vs 0.894 after 2
    # epochs) at about twice the cost.
    compact={
        "channels": 32,
        "channels_divisible_by": 8,
        "tower_blocks": 3,
        "transformer_layers": 1,
        "n_heads": 2,
        "key_size": 16,
        "n_rel_pos_features": 12,
        "n_tasks_mouse": None,
    },
    published_results=(
        "CAGE gene-expression prediction: mean Pearson r 0.85 across human CAGE tracks vs 0.81 "
        "for Basenji2 (Avsec et al. 2021)."
    ),
    notes=(
        "Verified against google-deepmind/deepmind-research enformer/enformer.py (stem, conv "
        "tower widths exponential_linspace_int(768, 1536, 6, divisible_by=128) = 768 896 1024 "
        "1152 1280 1536, conv block BN(scale+offset, EMA decay 0.9)-GELU-Conv1D with bias, "
        "SoftmaxPooling1D per-channel with Identity(2.0) init and no bias, pre-norm transformer "
        "with dropout 0.4 and MLP 2C/ReLU, TargetLengthCrop1D 896, final pointwise 2C + dropout "
        "0.05 + GELU, softplus heads 5313/1643, GELU = x*sigmoid(1.702x)) and "
        "enformer/attention_module.py (q/k/v/r_k without bias, VarianceScaling(2.0) init, "
        "zero-initialised output projection with bias, r_w/r_r biases (1, H, 1, K), q scaled "
        "before adding the biases, relative_shift semantics: distance = key - query; basis "
        "functions exponential / central mask / gamma, symmetric + sign halves). Gamma "
        "normalisation (gamma_norm): the GitHub TF code divides the gamma features by ONE global "
        "maximum (tf.reduce_max over all distances and features, gamma_norm='global'); the "
        "released model's TF-computed gammas, as enformer-pytorch ships them for the pretrained "
        "weights (precomputed/tf_gammas.pt, use_tf_gamma=True; lucidrains/enformer-pytorch issue "
        "#31), peak at 1 per feature, which is regzoo's default (gamma_norm='feature': each "
        "feature divided by its own maximum over distances; matches tf_gammas.pt at T=1536 "
        "within 2.5e-3, the difference being TF's float32 vs our float64). enformer-pytorch's "
        "own torch computation (use_tf_gamma=False, its default) divides each distance's row by "
        "its maximum over features (gamma_norm='distance'); `regzoo import enformer` picks the "
        "rule from the checkpoint's use_tf_gamma. Cross-checked with lucidrains/enformer-pytorch "
        "0.8.12: 251,221,292 parameters with both heads, same here; an enformer-pytorch "
        "checkpoint imported with `regzoo import enformer` gives both heads' outputs within 1e-5 "
        "(tests/test_weights.py, skipped when enformer-pytorch is not installed). Conventions: "
        "gamma basis computed in float64; BN momentum 0.1 is PyTorch's name for Sonnet's "
        "decay 0.9; heads are kernel-1 Conv1d "
        "(channels-first output, same parameters as a per-bin Linear); output crop is derived "
        "from seq_len as the published fraction 320/1536 per side unless crop/target_bins is "
        "given. Scalar mode (output='scalar') pads the input with N (zeros) to a multiple of "
        "bin_size and pools the pre-softplus head over bins (ScalarHead). Compact: C=32, 3 tower "
        "blocks (bin 16 bp), 1 transformer layer, 2 heads of key size 16, 12 relative positional "
        "features, human head only."
    ),
)


@register(CARD)
class Enformer(nn.Module):
    """Enformer as a PyTorch module.

    Args:
        seq_len: input length (bp).
        n_tasks: tracks of the first ("human") head.
        channels: C; the stem has C/2 channels, the tower grows to C, the final block 2C.
        stem_kernel, tower_kernel: conv widths (15, 5).
        tower_blocks: conv tower blocks; ``bin_size = 2 ** (1 + tower_blocks)`` (128).
        channels_divisible_by: tower widths are rounded to multiples of this (128).
        transformer_layers, n_heads, key_size, value_size, n_rel_pos_features: transformer
            (11, 8, 64, C/8, C/8); ``n_rel_pos_features`` must be divisible by 6.
        dropout, attn_dropout, pos_dropout: 0.4, 0.05, 0.01; the final block uses dropout / 8.
        crop: bins cropped per side; default ``bins * 320 // 1536`` (1536 -> 896).
        target_bins: alternative to ``crop``: output bins.
        n_tasks_mouse: tracks of the second ("mouse") head; ``None`` or 0 = no second head.
        output: ``"profile"`` (softplus) or ``"scalar"`` (logits through a ScalarHead).
        scalar_pool: the ScalarHead's pooling (``"attention"``, ``"mean"``, ``"max"``).
        gamma_norm: normalisation of the gamma positional features: ``"feature"`` (each peaks
            at 1, as the released model's gammas; default), ``"global"`` (one global maximum, as
            the GitHub TF code) or ``"distance"`` (per distance, as enformer-pytorch computes
            them without ``use_tf_gamma``). See ``layers.profile.GAMMA_NORMS``.

    Input ``(batch, 4, seq_len)`` one-hot.
    """

    def __init__(
        self,
        seq_len: int = 196_608,
        n_tasks: int = 5313,
        *,
        channels: int = 1536,
        stem_kernel: int = 15,
        tower_blocks: int = 6,
        tower_kernel: int = 5,
        channels_divisible_by: int = 128,
        transformer_layers: int = 11,
        n_heads: int = 8,
        key_size: int = 64,
        value_size: int | None = None,
        n_rel_pos_features: int | None = None,
        dropout: float = 0.4,
        attn_dropout: float = 0.05,
        pos_dropout: float = 0.01,
        crop: int | None = None,
        target_bins: int | None = None,
        n_tasks_mouse: int | None = 1643,
        output: str = "profile",
        scalar_pool: str = "mean",
        gamma_norm: str = "feature",
    ) -> None:
        super().__init__()
        if channels % n_heads:
            raise InputError(f"channels={channels} must be divisible by n_heads={n_heads}")
        self.seq_len, self.n_tasks = seq_len, n_tasks
        self.bin_size = 2 ** (1 + tower_blocks)
        self.n_bins, _ = profile_bins(seq_len, self.bin_size, output, crop, target_bins, 320 / 1536)
        self.output_kind = output

        half = channels // 2
        widths = exponential_linspace_channels(half, channels, tower_blocks, channels_divisible_by)
        if min(widths) < 1:
            raise InputError(f"tower widths {widths}: lower channels_divisible_by")
        stem_conv = nn.Conv1d(4, half, stem_kernel, padding="same")
        variance_scaling_(stem_conv.weight, 1.0, 4 * stem_kernel)
        nn.init.zeros_(stem_conv.bias)
        self.stem = nn.Sequential(
            stem_conv, Residual(EnformerConvBlock(half, half)), AttentionPool1d(half, 2)
        )
        self.conv_tower = nn.Sequential(
            *(
                nn.Sequential(
                    EnformerConvBlock(c_in, c_out, tower_kernel),
                    Residual(EnformerConvBlock(c_out, c_out)),
                    AttentionPool1d(c_out, 2),
                )
                for c_in, c_out in zip([half, *widths[:-1]], widths, strict=True)
            )
        )
        trunk_channels = widths[-1]
        self.transformer = nn.Sequential(
            Rearrange("b c t -> b t c"),
            *(
                TransformerBlock(
                    trunk_channels,
                    n_heads,
                    key_size,
                    value_size or trunk_channels // n_heads,
                    n_rel_pos_features or trunk_channels // n_heads,
                    dropout,
                    attn_dropout,
                    pos_dropout,
                    gamma_norm=gamma_norm,
                )
                for _ in range(transformer_layers)
            ),
            Rearrange("b t c -> b c t"),
        )
        self.crop_final = TargetLengthCrop(self.n_bins)
        self.final_pointwise = nn.Sequential(
            EnformerConvBlock(trunk_channels, 2 * channels), nn.Dropout(dropout / 8), SigmoidGELU()
        )
        head_sizes = {"human": n_tasks}
        if n_tasks_mouse:
            head_sizes["mouse"] = n_tasks_mouse
        self.heads = nn.ModuleDict(
            {k: nn.Conv1d(2 * channels, n, 1) for k, n in head_sizes.items()}
        )
        for layer in self.heads.values():  # Sonnet Linear default init
            variance_scaling_(layer.weight, 1.0, 2 * channels)
            nn.init.zeros_(layer.bias)
        self.scalar_heads = (
            nn.ModuleDict({k: ScalarHead(n, scalar_pool) for k, n in head_sizes.items()})
            if output == "scalar"
            else None
        )

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, 4, L)`` -> embedding ``(batch, 2 C, n_bins)``."""
        if self.output_kind == "scalar":
            pad = (-x.shape[-1]) % self.bin_size
            x = F.pad(x, (pad // 2, pad - pad // 2))  # N = all-zero columns
        elif x.shape[-1] % self.bin_size:
            raise InputError(f"input length {x.shape[-1]} is not a multiple of {self.bin_size}")
        x = self.transformer(self._conv_stages(x))
        return self.final_pointwise(self.crop_final(x))

    #: ``True``: CPU inference (eval mode, no autograd) runs the stem and tower stages in length
    #: chunks (``layers.profile.enformer_stage_inference``: less CPU work on one thread, but
    #: slower wall time with 2 threads on a shared 2-core CPU, where its many small parallel
    #: regions wait on descheduled threads; see benchmarks/README.md). Off by default.
    chunked_inference = False

    def _conv_stages(self, x: torch.Tensor) -> torch.Tensor:
        if (
            not self.chunked_inference
            or self.training
            or torch.is_grad_enabled()
            or x.device.type != "cpu"
            or nn.modules.module._global_forward_hooks
            or nn.modules.module._global_forward_pre_hooks
        ):
            return self.conv_tower(self.stem(x))
        for stage in (self.stem, *self.conv_tower):
            x = enformer_stage_inference(*stage, x) if enformer_stage_supported(stage) else stage(x)
        return x

    def _head(self, embedding: torch.Tensor, head: str) -> torch.Tensor:
        z = self.heads[head](embedding)
        if self.scalar_heads is not None:
            return self.scalar_heads[head](z)
        return F.softplus(z)

    def forward(self, x: torch.Tensor, head: str = "human") -> torch.Tensor:
        """``(batch, 4, seq_len)`` -> ``(batch, n_tracks, n_bins)`` coverage (softplus) of
        ``head``, or ``(batch, n_tracks)`` logits when ``output="scalar"``."""
        if head not in self.heads:
            raise unknown_name("head", head, list(self.heads))
        return self._head(self.trunk(x), head)

    def forward_heads(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every head's output, as in the official model: ``{"human": ..., "mouse": ...}``."""
        embedding = self.trunk(x)
        return {name: self._head(embedding, name) for name in self.heads}
