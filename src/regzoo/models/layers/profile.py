"""Blocks of the profile models (Basenji2, Enformer), written once.

Layout: every block takes and returns channels-first tensors ``(batch, channels, length)``, as
``nn.Conv1d`` does, except the transformer pieces, which work on ``(batch, length, channels)``
like ``nn.Linear``/``nn.LayerNorm`` (the model switches layout with einops around them).

Sources (read, then re-written): calico/basenji ``basenji/blocks.py``, ``basenji/layers.py``,
``basenji/seqnn.py`` (2020 versions) and google-deepmind/deepmind-research ``enformer/enformer.py``,
``enformer/attention_module.py``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from regzoo.errors import InputError

# ----------------------------------------------------------------------------------------------
# Initialisation helpers (TF/Sonnet conventions, which differ from PyTorch's defaults)
# ----------------------------------------------------------------------------------------------


def variance_scaling_(weight: torch.Tensor, scale: float, fan_in: int) -> torch.Tensor:
    """TF ``VarianceScaling(scale, "fan_in", "truncated_normal")``, in place.

    ``scale=1`` is Sonnet's default ``Linear``/``Conv1D`` init (LeCun), ``scale=2`` is He /
    Keras ``he_normal`` (both truncate at 2 std and rescale the std so the variance is exact).
    """
    std = math.sqrt(scale / fan_in) / 0.87962566103423978
    return nn.init.trunc_normal_(weight, std=std, a=-2 * std, b=2 * std)


def _fan_in(weight: torch.Tensor) -> int:
    return weight.shape[1] * math.prod(weight.shape[2:])


class SigmoidGELU(nn.Module):
    """GELU as both official codes compute it: ``x * sigmoid(1.702 x)`` (Hendrycks & Gimpel §2)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


# ----------------------------------------------------------------------------------------------
# Convolution blocks
# ----------------------------------------------------------------------------------------------


class BasenjiConvBlock(nn.Module):
    """Basenji's pre-activation block: GELU -> conv (no bias) -> BN -> [dropout] -> [max pool].

    As ``conv_block`` in ``basenji/blocks.py``: 'same' padding, ``use_bias=False``, He-normal
    kernels, batch norm with learnable scale and offset (scale initialised to 0 when the block
    closes a residual branch, ``zero_init=True``), max pooling with 'same' padding.

    Args:
        in_channels, out_channels: conv channels.
        kernel_size: conv width (odd).
        dilation: conv dilation.
        pool_size: max-pool width (1 = none).
        dropout: dropout rate after batch norm.
        bn_momentum: PyTorch convention (``1 - keras_momentum``; Keras 0.9 -> 0.1).
        bn_eps: Keras' default 1e-3.
        zero_init: initialise the batch-norm scale to 0 (residual branches).

    Shapes: ``(batch, in_channels, L)`` -> ``(batch, out_channels, ceil(L / pool_size))``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 1,
        dilation: int = 1,
        pool_size: int = 1,
        dropout: float = 0.0,
        bn_momentum: float = 0.1,
        bn_eps: float = 1e-3,
        zero_init: bool = False,
    ) -> None:
        super().__init__()
        self.act = SigmoidGELU()
        self.conv = nn.Conv1d(
            in_channels, out_channels, kernel_size, padding="same", dilation=dilation, bias=False
        )
        self.norm = nn.BatchNorm1d(out_channels, eps=bn_eps, momentum=bn_momentum)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.pool = nn.MaxPool1d(pool_size, ceil_mode=True) if pool_size > 1 else nn.Identity()
        variance_scaling_(self.conv.weight, 2.0, _fan_in(self.conv.weight))
        if zero_init:
            nn.init.zeros_(self.norm.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.dropout(self.norm(self.conv(self.act(x)))))


class EnformerConvBlock(nn.Sequential):
    """Enformer's pre-activation block: BN -> GELU -> conv (with bias), 'same' padding.

    Batch norm: learnable scale (init 1) and offset; Sonnet moving averages with decay 0.9 =
    PyTorch ``momentum=0.1`` (PyTorch's running statistics start at 0/1 where Sonnet's EMA is
    zero-debiased); eps 1e-5 (``snt.distribute.CrossReplicaBatchNorm``'s default, and
    PyTorch's). Conv init: Sonnet's default truncated normal with std ``1/sqrt(fan_in)``, zero
    bias.

    Shapes: ``(batch, in_channels, L)`` -> ``(batch, out_channels, L)``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int = 1, bn_momentum: float = 0.1
    ) -> None:
        conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding="same")
        variance_scaling_(conv.weight, 1.0, _fan_in(conv.weight))
        nn.init.zeros_(conv.bias)
        super().__init__(nn.BatchNorm1d(in_channels, momentum=bn_momentum), SigmoidGELU(), conv)


class Residual(nn.Module):
    """``x + module(x)``."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.module(x)


class DilatedResidualBlock(nn.Module):
    """Basenji2's dilated residual block (``dilated_residual`` in ``basenji/blocks.py``).

    ``x + [conv_block(mid_channels, k, dilation) -> conv_block(channels, 1, dropout, BN scale
    init 0)](x)``. Shapes: ``(batch, channels, L)`` -> same.
    """

    def __init__(
        self,
        channels: int,
        mid_channels: int,
        dilation: int,
        kernel_size: int = 3,
        dropout: float = 0.0,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        self.branch = nn.Sequential(
            BasenjiConvBlock(
                channels, mid_channels, kernel_size, dilation, bn_momentum=bn_momentum
            ),
            BasenjiConvBlock(
                mid_channels, channels, 1, dropout=dropout, bn_momentum=bn_momentum, zero_init=True
            ),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)


def dilation_schedule(n_blocks: int, mult: float = 1.5, round_each: bool = True) -> list[int]:
    """Dilations of Basenji2's dilated residual tower.

    The rate starts at 1 and is multiplied by ``mult`` after each block; with ``round_each`` (the
    cross2020 ``"round": true``) the running rate is rounded after every multiplication (numpy
    round-half-to-even, as Python's ``round``). Default: 1, 2, 3, 4, 6, 9, 14, 21, 32, 48, 72.
    """
    rate, out = 1.0, []
    for _ in range(n_blocks):
        out.append(int(round(rate)))
        rate *= mult
        if round_each:
            rate = float(round(rate))
    return out


def geometric_channels(start: float, mult: float, n: int) -> list[int]:
    """Basenji's ``conv_tower`` widths: ``round(start * mult**i)`` (339 x 1.1776^i -> 339 ... 768)."""
    return [int(round(start * mult**i)) for i in range(n)]


def exponential_linspace_channels(start: int, end: int, n: int, divisible_by: int = 1) -> list[int]:
    """Enformer's tower widths: ``n`` values from ``start`` to ``end`` growing geometrically, each
    rounded to the nearest multiple of ``divisible_by`` (768 -> 1536, n=6, 128: 768, 896, 1024,
    1152, 1280, 1536)."""
    if n == 1:
        return [end]
    base = (end / start) ** (1 / (n - 1))
    return [int(round(start * base**i / divisible_by) * divisible_by) for i in range(n)]


# ----------------------------------------------------------------------------------------------
# Pooling, cropping
# ----------------------------------------------------------------------------------------------


class AttentionPool1d(nn.Module):
    """Enformer's softmax pooling: a weighted average over each window of ``pool_size``.

    Per channel, weights are ``softmax`` over the window of learned logits ``W x`` (a pointwise
    linear map without bias; softmax ignores shifts). ``init_scale * identity`` init: 0 gives
    average pooling, Enformer's 2.0 makes each channel weight its own values (``softmax(2 x)``,
    close to max pooling for large activations).

    Shapes: ``(batch, channels, L)`` -> ``(batch, channels, L // pool_size)``; ``L`` must be a
    multiple of ``pool_size``.
    """

    def __init__(self, channels: int, pool_size: int = 2, init_scale: float = 2.0) -> None:
        super().__init__()
        self.pool_size = pool_size
        self.to_logits = nn.Conv1d(channels, channels, 1, bias=False)
        with torch.no_grad():
            self.to_logits.weight.copy_(init_scale * torch.eye(channels)[:, :, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % self.pool_size:
            raise ValueError(
                f"AttentionPool1d: length {x.shape[-1]} is not a multiple of {self.pool_size}"
            )
        windows = rearrange(x, "b c (n p) -> b c p n", p=self.pool_size)
        if self.pool_size == 2:
            # softmax of two logits = sigmoid of their difference, and the logits are linear:
            # W x_0 - W x_1 = W (x_0 - x_1), one C x C product at half the length (exact up to
            # float rounding)
            first = torch.sigmoid(self.to_logits(windows[:, :, 0] - windows[:, :, 1]))
            return torch.lerp(windows[:, :, 1], windows[:, :, 0], first)
        logits = rearrange(self.to_logits(x), "b c (n p) -> b c p n", p=self.pool_size)
        return (windows * logits.softmax(dim=2)).sum(dim=2)


class TargetLengthCrop(nn.Module):
    """Keep the central ``target_length`` positions of the last axis (Enformer's
    ``TargetLengthCrop1D``; Basenji's ``Cropping1D(crop)`` is ``target_length = L - 2 crop``).

    Shapes: ``(..., L)`` -> ``(..., target_length)``.
    """

    def __init__(self, target_length: int) -> None:
        super().__init__()
        self.target_length = target_length

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length = x.shape[-1]
        if length < self.target_length:
            raise ValueError(f"cannot crop length {length} to {self.target_length}")
        start = (length - self.target_length) // 2
        return x[..., start : start + self.target_length]


# ----------------------------------------------------------------------------------------------
# Chunked inference of Enformer's conv stages (no autograd, eval mode)
# ----------------------------------------------------------------------------------------------

#: Elements per intermediate tensor in :func:`enformer_stage_inference` (channels x chunk
#: length): about 6 MB in float32, so a chunk's intermediates stay in the last-level cache.
STAGE_CHUNK_ELEMENTS = 1_572_864


class _Tap:
    """One conv of a stage, as matrix products over a length window of one sequence.

    ``EnformerConvBlock`` (BN -> GELU -> conv, BN as its eval-mode affine map) or a bare
    ``nn.Conv1d`` (the stem's). A kernel-``k`` conv is ``k`` accumulated ``(out, in) @ (in, n)``
    products over shifted views (no im2col copy) or, with few input channels, one product with
    an im2col matrix. 'same' zero padding is applied to the conv input (after BN-GELU), as
    ``nn.Conv1d(padding="same")`` does.
    """

    def __init__(self, module: nn.Module) -> None:
        if isinstance(module, nn.Conv1d):
            conv, self.scale = module, None
        else:
            bn, _, conv = module
            invstd = torch.rsqrt(bn.running_var + bn.eps)
            self.scale = (bn.weight * invstd)[:, None]
            self.shift = (bn.bias - bn.running_mean * bn.weight * invstd)[:, None]
        self.k = conv.kernel_size[0]
        # products in autocast's dtype when it is on (BN-GELU stays in float32, as autocast
        # leaves element-wise ops)
        self.dtype = (
            torch.get_autocast_dtype("cpu")
            if torch.is_autocast_enabled("cpu")
            else conv.weight.dtype
        )
        self.bias = conv.bias[:, None].to(self.dtype)
        w = conv.weight.to(self.dtype)
        self.im2col = self.k > 1 and w.shape[1] < 64
        if self.k == 1:
            self.w = w[:, :, 0]
        elif self.im2col:
            self.w = w.reshape(w.shape[0], -1)
        else:
            self.w = w.permute(2, 0, 1).contiguous()

    def __call__(self, x: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        """``x (in, L)`` -> conv output at positions ``start:stop``, ``(out, stop - start)``."""
        length, n, half = x.shape[-1], stop - start, (self.k - 1) // 2
        lo, hi = max(0, start - half), min(length, stop + self.k - 1 - half)
        h = x[:, lo:hi]
        if self.scale is not None:  # BN (eval) then GELU x * sigmoid(1.702 x)
            h = torch.addcmul(self.shift, h, self.scale)
            h.mul_(torch.sigmoid(1.702 * h))
        h = h.to(self.dtype)
        if self.k == 1:
            return torch.addmm(self.bias, self.w, h)
        pad = (lo - (start - half), (stop + self.k - 1 - half) - hi)
        if any(pad):
            h = F.pad(h, pad)
        if self.im2col:
            cols = h.unfold(1, self.k, 1).permute(0, 2, 1).reshape(-1, n)
            return torch.addmm(self.bias, self.w, cols)
        out = torch.addmm(self.bias, self.w[0], h[:, :n])
        for j in range(1, self.k):
            out.addmm_(self.w[j], h[:, j : j + n])
        return out


def enformer_stage_inference(
    first: nn.Module,
    residual: nn.Module,
    pool: nn.Module,
    x: torch.Tensor,
    chunk_elements: int = STAGE_CHUNK_ELEMENTS,
) -> torch.Tensor:
    """``pool(residual(first(x)))`` of an Enformer stage, computed in length chunks.

    ``first``: the stem's ``nn.Conv1d`` or a tower ``EnformerConvBlock`` (odd kernel);
    ``residual``: ``Residual(EnformerConvBlock(c, c, 1))``; ``pool``: ``AttentionPool1d`` with
    ``pool_size=2``. For inference only (eval-mode BN, no autograd): each chunk of the output
    runs through the three layers while its intermediates are cache-sized, instead of one
    memory pass per element-wise op over activations of up to 600 MB (published size). Equal to
    the layer-by-layer forward up to float rounding.

    Shapes: ``(batch, in, L)`` -> ``(batch, out, L // 2)``.
    """
    first_tap, res_tap = _Tap(first), _Tap(residual.module)
    w_pool = pool.to_logits.weight[:, :, 0].to(first_tap.dtype)
    batch, _, length = x.shape
    channels = w_pool.shape[0]
    chunk = max(2, min(length, chunk_elements // channels) // 2 * 2)
    out = None  # allocated at the first chunk, in its dtype (bfloat16 under autocast)
    for b in range(batch):
        xb = x[b]
        for start in range(0, length, chunk):
            stop = min(length, start + chunk)
            y = first_tap(xb, start, stop)
            y += res_tap(y, 0, stop - start)
            even, odd = y[:, 0::2], y[:, 1::2]
            first_weight = torch.sigmoid_(w_pool @ (even - odd))
            if out is None:
                out = y.new_empty(batch, channels, length // 2)
            torch.lerp(odd, even, first_weight, out=out[b, :, start // 2 : stop // 2])
    return out


def enformer_stage_supported(stage: nn.Module) -> bool:
    """Whether :func:`enformer_stage_inference` computes ``stage`` (a 3-layer Sequential)."""
    if not isinstance(stage, nn.Sequential) or len(stage) != 3:
        return False
    first, residual, pool = stage
    conv = first if isinstance(first, nn.Conv1d) else None
    if isinstance(first, EnformerConvBlock):
        conv = first[2]
        if not first[0].affine or first[0].running_var is None:
            return False
    if any(m._forward_hooks or m._forward_pre_hooks for m in stage.modules()):
        return False  # someone watches a layer (e.g. the first conv's activations)
    return (
        conv is not None
        and conv.padding == "same"
        and conv.kernel_size[0] % 2 == 1
        and conv.stride[0] == 1
        and conv.dilation[0] == 1
        and conv.groups == 1
        and conv.bias is not None
        and isinstance(residual, Residual)
        and isinstance(residual.module, EnformerConvBlock)
        and residual.module[2].kernel_size[0] == 1
        and isinstance(pool, AttentionPool1d)
        and pool.pool_size == 2
    )


# ----------------------------------------------------------------------------------------------
# Relative positional encodings (Enformer, attention_module.py)
# ----------------------------------------------------------------------------------------------


def exponential_basis(distances: torch.Tensor, n: int, seq_len: int) -> torch.Tensor:
    """``exp(-ln2 |d| / h_k)`` with half-lives ``h_k = 2^linspace(3, log2 seq_len, n)``.

    ``distances (P,)`` float64 -> ``(P, n)``.
    """
    half_life = 2.0 ** torch.linspace(3.0, math.log2(seq_len), n, dtype=torch.float64)
    return torch.exp(-math.log(2.0) / half_life * distances.abs()[:, None])


def central_mask_basis(distances: torch.Tensor, n: int) -> torch.Tensor:
    """Step functions: feature ``k`` (1-based) is 1 where ``|d| < 2^k - 1``, else 0.

    ``distances (P,)`` -> ``(P, n)``.
    """
    widths = 2.0 ** torch.arange(1, n + 1, dtype=torch.float64) - 1
    return (widths[None, :] > distances.abs()[:, None]).to(torch.float64)


#: How the gamma basis is normalised (``gamma_norm``):
#: ``"feature"``: each feature divided by its own maximum over distances, so every feature peaks
#: at 1 -- what the released Enformer's TF-computed gammas do (enformer-pytorch ships them as
#: ``precomputed/tf_gammas.pt``, used with ``use_tf_gamma=True``); the default.
#: ``"global"``: everything divided by one global maximum, as the GitHub TF code
#: (deepmind-research ``enformer/attention_module.py``, ``tf.reduce_max(probabilities)``) reads.
#: ``"distance"``: each distance's row divided by its maximum over features, as enformer-pytorch
#: computes them in torch (``use_tf_gamma=False``, its default).
GAMMA_NORMS = ("feature", "global", "distance")


def gamma_basis(
    distances: torch.Tensor, n: int, seq_len: int, norm: str = "feature"
) -> torch.Tensor:
    """Gamma densities of ``|d|`` with means ``linspace(seq_len/n, seq_len, n)`` and standard
    deviation ``seq_len / (2n)``, plus 1e-8, normalised by ``norm`` (see :data:`GAMMA_NORMS`;
    default ``"feature"``: each feature divided by its maximum over the distances, so every
    feature peaks at 1). Computed in float64 (TF computes it in float32).

    ``distances (P,)`` -> ``(P, n)``.
    """
    if norm not in GAMMA_NORMS:
        raise ValueError(f"gamma_norm must be one of {GAMMA_NORMS}; got {norm!r}")
    mean = torch.linspace(seq_len / n, seq_len, n, dtype=torch.float64)
    std = seq_len / (2 * n)
    concentration = (mean / std) ** 2
    rate = mean / std**2
    x = distances.abs()[:, None]
    log_density = (
        torch.xlogy(concentration - 1, x)
        - rate * x
        - (torch.lgamma(concentration) - concentration * torch.log(rate))
    )
    density = torch.exp(log_density) + 1e-8
    if norm == "global":
        return density / density.max()
    return density / density.amax(dim=0 if norm == "feature" else 1, keepdim=True)


@lru_cache(maxsize=16)
def _relative_positional_features_cpu(
    seq_len: int, n_features: int, symmetric: bool, gamma_norm: str
) -> torch.Tensor:
    n_components = 3 if symmetric else 6
    if n_features % n_components:
        raise ValueError(
            f"relative positional features: {n_features} is not divisible by {n_components} "
            "(3 basis functions x (symmetric + sign) halves)"
        )
    n = n_features // n_components
    # a cached constant: never on the meta device, never an inference tensor (a first call under
    # inference_mode must not break later calls with autograd)
    with torch.device("cpu"), torch.inference_mode(False):
        distances = torch.arange(-seq_len + 1, seq_len, dtype=torch.float64)
        features = torch.cat(
            [
                exponential_basis(distances, n, seq_len),
                central_mask_basis(distances, n),
                gamma_basis(distances, n, seq_len, gamma_norm),
            ],
            dim=-1,
        )
        if not symmetric:
            features = torch.cat([features, torch.sign(distances)[:, None] * features], dim=-1)
        return features.float()


def relative_positional_features(
    seq_len: int, n_features: int, symmetric: bool = False, gamma_norm: str = "feature"
) -> torch.Tensor:
    """Enformer's relative positional features for distances ``-(seq_len-1) ... seq_len-1``.

    The three basis families (exponential, central mask, gamma) get ``n_features / 6`` features
    each, as functions of ``|d|``; the second half repeats them multiplied by ``sign(d)``, so the
    features of ``d`` and ``-d`` differ only in the sign of that half (``symmetric=True`` keeps
    the first half only, ``n_features / 3`` each). ``gamma_norm``: see :data:`GAMMA_NORMS`.

    Returns:
        float32 ``(2 seq_len - 1, n_features)``; row ``i`` is distance ``i - (seq_len - 1)``.
        Cached; do not modify in place.
    """
    return _relative_positional_features_cpu(
        int(seq_len), int(n_features), bool(symmetric), str(gamma_norm)
    )


def relative_shift(logits: torch.Tensor) -> torch.Tensor:
    """Turn logits indexed by relative distance into logits indexed by key position.

    ``logits (..., T, 2T-1)`` with column ``m`` = distance ``m - (T-1)`` -> ``(..., T, T)`` with
    ``out[..., i, j] = logits[..., i, (j - i) + T - 1]`` (distance = key - query).
    """
    t = logits.shape[-2]
    if not torch.is_grad_enabled() and logits.is_contiguous():
        # a strided view: row i starts at column T-1-i, rows T-2 apart (no index tensor, no copy)
        stride = list(logits.stride())
        stride[-2] -= 1
        return logits.as_strided((*logits.shape[:-1], t), stride, logits.storage_offset() + t - 1)
    pos = torch.arange(t, device=logits.device)
    index = (pos[None, :] - pos[:, None] + t - 1).expand(*logits.shape[:-1], t)
    return logits.gather(-1, index)


# ----------------------------------------------------------------------------------------------
# Transformer
# ----------------------------------------------------------------------------------------------


class RelativeMultiHeadAttention(nn.Module):
    """Multi-head attention with Transformer-XL relative position logits (Enformer).

    ``logits_ij = (q_i + r_w) . k_j + (q_i + r_r) . r_{j-i}`` with ``q`` scaled by
    ``key_size**-0.5``, ``r_d`` a linear projection (no bias) of the relative positional features
    of distance ``d``, and ``r_w`` / ``r_r`` learned per-head biases (content and position).
    q/k/v/r projections have no bias, init VarianceScaling(2.0); the output projection has a bias
    and is zero-initialised (each block starts as the identity). Dropout on the positional
    features and on the attention weights.

    Shapes: ``(batch, T, dim)`` -> ``(batch, T, dim)``.
    """

    def __init__(
        self,
        dim: int,
        n_heads: int = 8,
        key_size: int = 64,
        value_size: int | None = None,
        n_rel_pos_features: int | None = None,
        attn_dropout: float = 0.05,
        pos_dropout: float = 0.01,
        symmetric: bool = False,
        gamma_norm: str = "feature",
    ) -> None:
        super().__init__()
        if gamma_norm not in GAMMA_NORMS:
            raise ValueError(f"gamma_norm must be one of {GAMMA_NORMS}; got {gamma_norm!r}")
        self.gamma_norm = gamma_norm
        value_size = value_size or dim // n_heads
        self.n_heads, self.key_size = n_heads, key_size
        self.n_rel_pos_features = n_rel_pos_features or dim // n_heads
        self.symmetric = symmetric
        self.attn_dropout = attn_dropout
        n_components = 3 if symmetric else 6
        if self.n_rel_pos_features % n_components:
            raise ValueError(
                f"n_rel_pos_features={self.n_rel_pos_features} must be divisible by {n_components}"
            )
        self.to_q = nn.Linear(dim, key_size * n_heads, bias=False)
        self.to_k = nn.Linear(dim, key_size * n_heads, bias=False)
        self.to_v = nn.Linear(dim, value_size * n_heads, bias=False)
        self.to_rel_k = nn.Linear(self.n_rel_pos_features, key_size * n_heads, bias=False)
        self.to_out = nn.Linear(value_size * n_heads, dim)
        self.r_w_bias = nn.Parameter(torch.empty(1, n_heads, 1, key_size))
        self.r_r_bias = nn.Parameter(torch.empty(1, n_heads, 1, key_size))
        self.pos_dropout = nn.Dropout(pos_dropout)
        for layer in (self.to_q, self.to_k, self.to_v, self.to_rel_k):
            variance_scaling_(layer.weight, 2.0, layer.in_features)
        for bias in (self.r_w_bias, self.r_r_bias):  # Sonnet's fan-in of (1, H, 1, K) is H
            variance_scaling_(bias, 2.0, n_heads)
        nn.init.zeros_(self.to_out.weight)
        nn.init.zeros_(self.to_out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        q, k, v = (
            rearrange(f(x), "b t (h d) -> b h t d", h=self.n_heads)
            for f in (self.to_q, self.to_k, self.to_v)
        )
        q = q * self.key_size**-0.5
        features = relative_positional_features(
            t, self.n_rel_pos_features, self.symmetric, self.gamma_norm
        )
        features = self.pos_dropout(features.to(device=x.device, dtype=x.dtype))
        rel_k = rearrange(self.to_rel_k(features), "m (h d) -> h m d", h=self.n_heads)
        rel_logits = relative_shift(torch.einsum("bhid,hmd->bhim", q + self.r_r_bias, rel_k))
        if not self.training and not torch.is_grad_enabled():
            # inference: the same arithmetic as SDPA's reference path, with the position logits
            # added in place from the strided view (no mask copy)
            logits = torch.matmul(q + self.r_w_bias, k.transpose(-1, -2))
            logits += rel_logits
            out = torch.matmul(logits.softmax(dim=-1), v)
            return self.to_out(rearrange(out, "b h t d -> b t (h d)"))
        out = F.scaled_dot_product_attention(
            q + self.r_w_bias,
            k,
            v,
            attn_mask=rel_logits,
            dropout_p=self.attn_dropout if self.training else 0.0,
            scale=1.0,  # q is already scaled (before the biases are added, as in Enformer)
        )
        return self.to_out(rearrange(out, "b h t d -> b t (h d)"))


class TransformerBlock(nn.Module):
    """Enformer's pre-norm transformer layer.

    ``x + Dropout(MHA(LayerNorm(x)))`` then
    ``x + Dropout(Linear(ReLU(Dropout(Linear_2C(LayerNorm(x))))))``.

    Shapes: ``(batch, T, dim)`` -> same.
    """

    def __init__(
        self,
        dim: int,
        n_heads: int = 8,
        key_size: int = 64,
        value_size: int | None = None,
        n_rel_pos_features: int | None = None,
        dropout: float = 0.4,
        attn_dropout: float = 0.05,
        pos_dropout: float = 0.01,
        gamma_norm: str = "feature",
    ) -> None:
        super().__init__()
        self.attention = Residual(
            nn.Sequential(
                nn.LayerNorm(dim),
                RelativeMultiHeadAttention(
                    dim,
                    n_heads,
                    key_size,
                    value_size,
                    n_rel_pos_features,
                    attn_dropout,
                    pos_dropout,
                    gamma_norm=gamma_norm,
                ),
                nn.Dropout(dropout),
            )
        )
        linear_in, linear_out = nn.Linear(dim, 2 * dim), nn.Linear(2 * dim, dim)
        for layer in (linear_in, linear_out):  # Sonnet Linear default init
            variance_scaling_(layer.weight, 1.0, layer.in_features)
            nn.init.zeros_(layer.bias)
        self.mlp = Residual(
            nn.Sequential(
                nn.LayerNorm(dim),
                linear_in,
                nn.Dropout(dropout),
                nn.ReLU(),
                linear_out,
                nn.Dropout(dropout),
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.attention(x))


# ----------------------------------------------------------------------------------------------
# Bins and the scalar head
# ----------------------------------------------------------------------------------------------

PROFILE_OUTPUTS = ("profile", "scalar")


def profile_bins(
    seq_len: int,
    bin_size: int,
    output: str,
    crop: int | None,
    target_bins: int | None,
    default_crop_fraction: float,
) -> tuple[int, int]:
    """Output bins and input padding of a profile model built for ``seq_len``.

    The trunk downsamples by ``bin_size``; the output keeps the central bins after cropping
    ``crop`` bins per side, or exactly ``target_bins``, or by default
    ``int(bins * default_crop_fraction)`` per side (the published fraction).

    Returns:
        ``(n_bins, pad)``: output bins, and the N columns added to the input (scalar mode only).

    Raises:
        InputError: unknown ``output``; in profile mode, ``seq_len`` not a multiple of
            ``bin_size``; a crop that leaves no bin.
    """
    if output not in PROFILE_OUTPUTS:
        raise InputError(f"output={output!r}; expected 'profile' or 'scalar'")
    pad = (-seq_len) % bin_size
    if pad and output == "profile":
        raise InputError(
            f"seq_len={seq_len} is not a multiple of the bin size {bin_size} (the trunk's "
            "downsampling); use a multiple, or output='scalar' (pads with N)"
        )
    bins = (seq_len + pad) // bin_size
    if crop is not None and target_bins is not None:
        raise InputError("give crop or target_bins, not both")
    if target_bins is None:
        crop = int(bins * default_crop_fraction) if crop is None else crop
        target_bins = bins - 2 * crop
    if not 1 <= target_bins <= bins:
        raise InputError(
            f"seq_len={seq_len} gives {bins} bins of {bin_size} bp: too short for "
            f"{target_bins} output bins"
        )
    return target_bins, pad


SCALAR_POOLS = ("mean", "max", "attention")


class ScalarHead(nn.Module):
    """Pool a profile head's pre-activation over bins into one logit per task.

    ``(batch, n_tasks, n_bins)`` (pre-softplus) -> ``(batch, n_tasks)`` logits. Modes:

    - ``"mean"`` (the profile models' default): mean over bins. The head is linear, so this is
      the profile head applied to the mean trunk embedding; no parameters. On planted-motif tasks
      it learned as fast as ``"attention"`` and faster than ``"max"``.
    - ``"max"``: maximum over bins (the strongest bin decides; gradient reaches one bin).
    - ``"attention"``: ``sum_b softmax_b(w_t z_tb) z_tb``, a softmax-weighted mean with one
      learned sharpness ``w_t`` per task, initialised to 1; ``w=0`` is ``"mean"``, large ``w``
      approaches ``"max"``.
    """

    def __init__(self, n_tasks: int, pool: str = "mean") -> None:
        super().__init__()
        if pool not in SCALAR_POOLS:
            raise ValueError(f"scalar pool {pool!r}; expected one of {', '.join(SCALAR_POOLS)}")
        self.pool = pool
        self.sharpness = nn.Parameter(torch.ones(n_tasks, 1)) if pool == "attention" else None

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.pool == "mean":
            return z.mean(dim=-1)
        if self.pool == "max":
            return z.amax(dim=-1)
        weights = (self.sharpness * z).softmax(dim=-1)
        return (weights * z).sum(dim=-1)
