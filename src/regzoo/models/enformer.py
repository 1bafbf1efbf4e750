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

import math
from fractions import Fraction
from functools import lru_cache

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


_GELU_K = 1.702  # SigmoidGELU: x * sigmoid(1.702 x) = silu(1.702 x) / 1.702


def _bn_gelu_scaled(
    x: torch.Tensor, bn: nn.BatchNorm1d, input_offset=None, out=None
) -> torch.Tensor:
    """``1.702 * gelu(bn(x - input_offset))`` of a channels-last ``x (..., C)``, eval-mode BN:
    one affine pass (into ``out`` if given), then ``silu`` in place."""
    scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
    shift = bn.bias - bn.running_mean * scale
    if input_offset is not None:
        shift = shift - scale * input_offset
    h = torch.addcmul(shift * _GELU_K, x, scale * _GELU_K, out=out)
    return F.silu(h, inplace=True)


@lru_cache(maxsize=8)
def winograd_matrices(m: int, r: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Winograd/Toom-Cook ``F(m, r)`` for correlation: ``(AT (m, n), G (n, r), BT (n, n))``,
    ``n = m + r - 1``, with ``y = AT [(G g) * (BT d)]``, ``y_j = sum_k g_k d_(j+k)``.

    Interpolation points 0, 1, -1, 2, -2, 1/2, -1/2, ... and infinity; exact rational
    arithmetic, then each row of ``BT`` scaled to integers (the scale moved to ``G``).
    Float64 tensors.
    """
    n = m + r - 1
    points = [Fraction(0), Fraction(1), Fraction(-1), Fraction(2), Fraction(-2)]
    points += [Fraction(s, 2) for s in (1, -1)] + [Fraction(s * 3) for s in (1, -1)]
    if n - 1 > len(points):
        raise ValueError(f"F({m}, {r}) needs {n - 1} finite points")
    points = points[: n - 1]

    def vandermonde(k: int) -> list[list[Fraction]]:  # rows: points, then infinity
        return [[p**j for j in range(k)] for p in points] + [[Fraction(0)] * (k - 1) + [1]]

    a = [row + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(vandermonde(n))]
    for c in range(n):  # Gauss-Jordan: a = [V | I] -> [I | V^-1]
        pivot = next(i for i in range(c, n) if a[i][c] != 0)
        a[c], a[pivot] = a[pivot], a[c]
        a[c] = [v / a[c][c] for v in a[c]]
        for i in range(n):
            if i != c and a[i][c] != 0:
                a[i] = [x - a[i][c] * y for x, y in zip(a[i], a[c], strict=True)]
    bt = [[a[j][n + i] for j in range(n)] for i in range(n)]  # (V^-1)^T
    g = vandermonde(r)
    at = [[row[j] for row in vandermonde(m)] for j in range(m)]
    for p in range(n):
        d = math.lcm(*(v.denominator for v in bt[p]))
        bt[p] = [v * d for v in bt[p]]
        g[p] = [v / d for v in g[p]]

    def tensor(rows: list[list[Fraction]]) -> torch.Tensor:
        return torch.tensor([[float(v) for v in row] for row in rows], dtype=torch.float64)

    return tensor(at), tensor(g), tensor(bt)


#: Rows x channels per chunk of the residual block and the pool in the fused inference path
#: (about 16 MB of float32: each chunk's intermediates stay in the last-level cache).
FUSED_CHUNK_ELEMENTS = 1 << 22
#: Winograd tile (outputs per tile) of the tower's kernel-5 convolutions in the fused inference
#: path: F(2, 5) does 3 instead of 5 multiply-adds per output and input channel.
WINOGRAD_TILE = 4
#: Tiles per chunk of the Winograd convolution (bounds its transformed copies: n/m times the
#: chunk's input and output).
WINOGRAD_CHUNK_TILES = 1024


def _winograd_conv(
    hp: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    m: int | None = None,
    weight_scale: float = 1.0,
) -> torch.Tensor:
    """'same' correlation of a padded channels-last ``hp (batch, L + k - 1, in)`` with
    ``weight (out, in, k)`` plus ``bias``, by Winograd ``F(m, k)``: the ``n = m + k - 1``
    transformed inputs of each tile of ``m`` outputs go through ``n`` matrix products
    ``(tiles, in) @ (in, out)`` (one ``bmm``), then back. ``L`` must be a multiple of ``m``.
    ``weight_scale`` multiplies the weights (folded into the weight transform).

    Returns ``(batch, L, out)``.
    """
    m = m or WINOGRAD_TILE
    k = weight.shape[-1]
    batch, length, c_in = hp.shape[0], hp.shape[1] - (k - 1), hp.shape[2]
    at, g, bt = winograd_matrices(m, k)
    n = m + k - 1
    # U[p] = (G w)[p]: (n, out, in), one (n, k) @ (k, out * in) product
    c_out = weight.shape[0]
    u = torch.mm((g * weight_scale).to(weight), weight.reshape(-1, k).t()).view(n, c_out, c_in)
    at, bt = at.to(hp), bt.to(hp)
    out = hp.new_empty(batch, length, weight.shape[0])
    tiles_total = length // m
    for b in range(batch):
        src = hp[b]
        for t0 in range(0, tiles_total, WINOGRAD_CHUNK_TILES):
            nt = min(WINOGRAD_CHUNK_TILES, tiles_total - t0)
            base = t0 * m
            # the nt overlapping input windows of n rows, as a (nt, n, in) view
            tiles = src[base:].as_strided((nt, n, c_in), (m * c_in, c_in, 1))
            v = torch.matmul(bt, tiles)  # (nt, n, in)
            prod = torch.bmm(v.transpose(0, 1), u.transpose(1, 2))  # (n, nt, out)
            del v
            prod[1] += bias  # point 1: every output of the tile takes it with weight 1
            y = out[b, base : base + m * nt].view(nt, m, -1)
            torch.matmul(at, prod.transpose(0, 1), out=y)
    return out


def _conv_channels_last(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """'same' ``conv1d`` of a channels-last ``h (batch, L, in)`` -> ``(batch, L, out)``."""
    k = weight.shape[-1]
    if k == 1:
        out = torch.addmm(bias, h.reshape(-1, h.shape[-1]), weight[:, :, 0].t())
        return out.view(*h.shape[:-1], -1)
    # oneDNN on a channels-last (N, C, 1, L) view: no layout reorders, output channels-last
    out = F.conv2d(h.transpose(1, 2).unsqueeze(2), weight.unsqueeze(2), bias, padding=(0, k // 2))
    return out.squeeze(2).transpose(1, 2).contiguous()


def _fused_stage(stage: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """One stem/tower stage (first conv [block] -> residual BN-GELU-conv k1 -> attention pool
    over 2) of a channels-last ``h (batch, L, in)`` -> ``(batch, L / 2, out)``."""
    first, residual, pool = stage
    res_bn, _, res_conv = residual.module
    res_bias = res_conv.bias
    if isinstance(first, nn.Conv1d):  # the stem's bare conv
        conv, weight = first, first.weight
    else:
        bn, _, conv = first
    k = conv.kernel_size[0]
    if first is not conv and k > 1 and h.shape[1] % WINOGRAD_TILE == 0:
        # BN-GELU written straight into the zero-padded input of the Winograd convolution
        hp = h.new_empty(h.shape[0], h.shape[1] + k - 1, h.shape[2])
        hp[:, : k // 2].zero_()
        hp[:, h.shape[1] + k // 2 :].zero_()
        _bn_gelu_scaled(h, bn, out=hp[:, k // 2 : h.shape[1] + k // 2])
        del h
        z = _winograd_conv(hp, conv.weight, conv.bias + res_bias, weight_scale=1 / _GELU_K)
        del hp
    else:
        weight = conv.weight
        if first is not conv:
            h = _bn_gelu_scaled(h, bn)
            weight = weight / _GELU_K
        # z = first(h) + the residual conv's bias
        z = _conv_channels_last(h, weight, conv.bias + res_bias)
        del h
    batch, length, channels = z.shape
    w_res, w_pool = res_conv.weight[:, :, 0].t(), pool.to_logits.weight[:, :, 0].t()
    out = z.new_empty(batch, length // 2, channels)
    rows = max(2, FUSED_CHUNK_ELEMENTS // channels // 2 * 2)
    for b in range(batch):
        for start in range(0, length, rows):
            # a chunk of rows, its intermediates cache-sized
            zc = z[b, start : start + rows]
            # residual: zc += gelu(bn(zc - res_bias)) @ W_res^T (1/1.702 folded into alpha)
            zc.addmm_(_bn_gelu_scaled(zc, res_bn, res_bias), w_res, alpha=1 / _GELU_K)
            # attention pool over 2: softmax over 2 = sigmoid of the logit difference,
            # W x0 - W x1 = W (x0 - x1); x1 + w (x0 - x1)
            windows = zc.view(-1, 2, channels)
            diff = windows[:, 0] - windows[:, 1]
            weight_first = torch.mm(diff, w_pool).sigmoid_()
            torch.addcmul(
                windows[:, 1], weight_first, diff, out=out[b, start // 2 : (start + rows) // 2]
            )
    return out


def _fused_supported(model: nn.Module) -> bool:
    """The modules :meth:`Enformer._fused_trunk` reads have the published structure, plain
    eval-mode batch norms and no hooks."""
    for module in model.modules():
        if module._forward_hooks or module._forward_pre_hooks:
            return False
        if isinstance(module, nn.BatchNorm1d) and (not module.affine or module.running_var is None):
            return False
    return all(enformer_stage_supported(s) for s in (model.stem, *model.conv_tower))


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
        if self._fused_inference_ok(x):
            return self._fused_trunk(x)
        x = self.transformer(self._conv_stages(x))
        return self.final_pointwise(self.crop_final(x))

    def _fused_inference_ok(self, x: torch.Tensor) -> bool:
        """Whether :meth:`_fused_trunk` computes this call (see there)."""
        return (
            not self.chunked_inference
            and not self.training
            and not torch.is_grad_enabled()
            and x.device.type == "cpu"
            and x.dtype == torch.float32
            and not torch.is_autocast_enabled("cpu")
            and not nn.modules.module._global_forward_hooks
            and not nn.modules.module._global_forward_pre_hooks
            and _fused_supported(self)
        )

    def _fused_trunk(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`trunk` for CPU float32 inference (eval mode, no autograd, no hooks).

        The same function as the layers, with fewer multiply-adds and fewer passes over the
        activations (up to 600 MB each at the published size): the tower runs channels-last
        ``(batch, length, channels)``, so that convolutions are matrix products and the
        attention pool's windows are row views; the tower's kernel-5 convolutions use Winograd
        ``F(4, 5)`` (:func:`winograd_matrices`: 8 instead of 20 products per 4 outputs, i.e.
        0.4x the conv multiply-adds; the stem's 4-channel conv stays oneDNN); batch norm (eval)
        and GELU ``x * sigmoid(1.702 x)`` are one affine pass plus one in-place ``silu`` pass
        (``gelu(a) = silu(1.702 a) / 1.702``, the 1/1.702 folded into the next conv's
        weights); the residual branch is accumulated into its input by the matrix product (its
        bias folded into the previous conv's) and, with the attention pool, runs in row chunks
        of ``FUSED_CHUNK_ELEMENTS`` (intermediates cache-sized); heads are matrix products.
        Equal to the layer-by-layer forward up to float rounding (relative 1e-6 at 49,152 bp
        against enformer-pytorch; tests/test_enformer_fast.py).
        """
        h = x.transpose(1, 2).contiguous()  # (batch, L, 4)
        for stage in (self.stem, *self.conv_tower):
            h = _fused_stage(stage, h)
        for block in list(self.transformer)[1:-1]:
            h = block(h)
        h = self.crop_final(h.transpose(1, 2)).transpose(1, 2)
        bn, _, conv = self.final_pointwise[0]
        g = _bn_gelu_scaled(h, bn)  # 1.702 gelu(bn(h))
        # 1.702 conv(gelu(bn(h))), then silu of it = 1.702 gelu(...): the final SigmoidGELU
        y = torch.addmm(conv.bias * _GELU_K, g.reshape(-1, g.shape[-1]), conv.weight[:, :, 0].t())
        y = F.silu(y, inplace=True).div_(_GELU_K).view(*g.shape[:-1], -1)
        return y.transpose(1, 2).contiguous()

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

    def _head(self, embedding: torch.Tensor, head: str, fused: bool = False) -> torch.Tensor:
        if fused:  # kernel-1 conv as one matrix product per sequence
            layer = self.heads[head]
            z = torch.matmul(layer.weight[:, :, 0], embedding).add_(layer.bias[:, None])
        else:
            z = self.heads[head](embedding)
        if self.scalar_heads is not None:
            return self.scalar_heads[head](z)
        return F.softplus(z)

    def forward(self, x: torch.Tensor, head: str = "human") -> torch.Tensor:
        """``(batch, 4, seq_len)`` -> ``(batch, n_tracks, n_bins)`` coverage (softplus) of
        ``head``, or ``(batch, n_tracks)`` logits when ``output="scalar"``."""
        if head not in self.heads:
            raise unknown_name("head", head, list(self.heads))
        return self._head(self.trunk(x), head, self._fused_inference_ok(x))

    def forward_heads(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every head's output, as in the official model: ``{"human": ..., "mouse": ...}``."""
        embedding, fused = self.trunk(x), self._fused_inference_ok(x)
        return {name: self._head(embedding, name, fused) for name in self.heads}
