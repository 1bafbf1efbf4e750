"""Blocks shared by the sequence-level CNN/RNN architectures (DeepBind ... ExpResNet).

Every block takes and returns channels-first tensors ``(batch, channels, length)`` unless its
docstring says otherwise, and blocks that change the length know their output length
(``out_len``), so that each architecture computes its flatten size from ``seq_len`` by arithmetic
instead of hard-coding it.

Blocks:
    :class:`ConvBlock`        conv -> [batch norm] -> activation -> [max pool] -> [dropout]
    :class:`ResidualModule`   conv-BN-ReLU-conv-BN + (identity | 1x1 projection) -> ReLU
    :class:`BiLSTM`           bidirectional LSTM over positions, channels-first in and out
    :class:`KerasLSTM`        one-direction LSTM as Keras 0.2 computes it (hard-sigmoid gates)
    :class:`KerasBiLSTM`      bidirectional :class:`KerasLSTM`, channels-first in and out
    :class:`PositionAttention` attention weights over positions -> weighted sum
    :class:`GlobalPool`       global max / average / max+average pooling over positions
    :class:`DenseHead`        [Linear -> [BN] -> ReLU -> [dropout]] x n -> Linear (logits)

Helpers: :func:`check_seq_len` raises a clear error when ``seq_len`` is too short for a
configuration and names the shortest length that works.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from einops import rearrange
from torch import nn

from regzoo.errors import InputError

__all__ = [
    "BiLSTM",
    "ConvBlock",
    "DenseHead",
    "GlobalPool",
    "KerasBiLSTM",
    "KerasLSTM",
    "PositionAttention",
    "ResidualModule",
    "blocks_out_len",
    "check_seq_len",
    "conv_len",
    "pool_len",
]


# --------------------------------------------------------------------------- length arithmetic


def conv_len(length: int, kernel: int, padding: int = 0, dilation: int = 1) -> int:
    """Output length of a stride-1 convolution."""
    return length + 2 * padding - dilation * (kernel - 1)


def pool_len(length: int, pool: int) -> int:
    """Output length of max pooling with width = stride = ``pool`` (floor, as PyTorch/Keras)."""
    return length // pool if pool > 1 else length


def blocks_out_len(blocks: nn.Module | Sequence[nn.Module], length: int) -> int:
    """Output length after a sequence of blocks that each define ``out_len``."""
    for block in blocks:
        length = block.out_len(length)
    return length


def check_seq_len(model: str, seq_len: int, out_len: Callable[[int], int], min_out: int = 1) -> int:
    """Raise if ``seq_len`` is too short; otherwise return ``out_len(seq_len)``.

    Args:
        model: architecture name used in the message.
        seq_len: the requested input length.
        out_len: maps an input length to the length reaching the layer that needs
            ``min_out`` positions (monotone non-decreasing in its argument).
        min_out: positions that layer needs (1 for a flatten/conv; ``k`` for a conv of width k).

    Raises:
        InputError (a ``ValueError`` and ``RegzooError``): naming the shortest valid ``seq_len``.
    """
    got = out_len(seq_len)
    if got >= min_out:
        return got
    low, high = max(seq_len, 1), max(seq_len, 1) * 2
    while out_len(high) < min_out:  # the needed length is finite for every architecture here
        low, high = high, high * 2
    while low < high:  # smallest length that works
        mid = (low + high) // 2
        if out_len(mid) >= min_out:
            high = mid
        else:
            low = mid + 1
    raise InputError(
        f"{model}: seq_len={seq_len} is too short for this configuration (its layers would "
        f"leave {got} positions); use seq_len >= {high} or smaller kernels/pooling"
    )


# --------------------------------------------------------------------------- convolution blocks


class ConvBlock(nn.Module):
    """conv(c, k) -> [BN] -> activation -> [max pool(p)] -> [dropout].

    The conv-BN-activation-pool block of DeepSEA, Basset, DanQ, DeepSite, Deep6mAPred and the
    ExpResNet stem.

    Args:
        in_channels, out_channels, kernel: the convolution (stride 1).
        pool: max-pooling width and stride (1 = no pooling). Floor mode: a partial last window
            is dropped, as in the official Torch7/Keras models.
        batch_norm: batch norm between the convolution and the activation (Basset, ExpResNet).
        dropout: dropout probability after pooling (0 = none).
        padding: zero padding on each side of the convolution (0 = "valid").
        bias: convolution bias (off where batch norm follows and the architecture says so).

    Shape:
        ``(batch, in_channels, L)`` -> ``(batch, out_channels, out_len(L))``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        pool: int = 1,
        batch_norm: bool = False,
        dropout: float = 0.0,
        padding: int = 0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.kernel, self.pool, self.padding = kernel, pool, padding
        self.conv = nn.Conv1d(in_channels, out_channels, kernel, padding=padding, bias=bias)
        self.norm = nn.BatchNorm1d(out_channels) if batch_norm else nn.Identity()
        self.act = nn.ReLU()
        self.pooling = nn.MaxPool1d(pool) if pool > 1 else nn.Identity()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def out_len(self, length: int) -> int:
        return pool_len(conv_len(length, self.kernel, self.padding), self.pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.pooling(self.act(self.norm(self.conv(x)))))


class ResidualModule(nn.Module):
    """ResNet basic block for 1-D sequences ("Detail of Residual Module", ExpResNet).

    ``y = ReLU(BN(conv_k(ReLU(BN(conv_k(x))))) + shortcut(x))``; the shortcut is the identity, or
    a 1x1 convolution + BN projection when the number of channels changes. Convolutions use
    "same" padding (odd ``kernel``), so the length is unchanged, and no bias (BN follows).

    Shape:
        ``(batch, in_channels, L)`` -> ``(batch, out_channels, L)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 5) -> None:
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"residual module kernel must be odd for 'same' padding; got {kernel}")
        pad = kernel // 2
        self.body = nn.Sequential(
            nn.Conv1d(in_channels, out_channels, kernel, padding=pad, bias=False),
            nn.BatchNorm1d(out_channels),
            nn.ReLU(),
            nn.Conv1d(out_channels, out_channels, kernel, padding=pad, bias=False),
            nn.BatchNorm1d(out_channels),
        )
        self.shortcut: nn.Module = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Sequential(
                nn.Conv1d(in_channels, out_channels, 1, bias=False), nn.BatchNorm1d(out_channels)
            )
        )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


# --------------------------------------------------------------------------- recurrent blocks


class BiLSTM(nn.Module):
    """Bidirectional LSTM over positions, returning every step (not only the last one).

    PyTorch's ``nn.LSTM`` has two bias vectors per gate (``b_ih`` and ``b_hh``): it holds
    ``8 * hidden`` more parameters than a Keras LSTM of the same size (one bias vector).

    Shape:
        ``(batch, in_channels, L)`` -> ``(batch, 2 * hidden, L)`` (forward and backward states
        concatenated along channels).
    """

    def __init__(self, in_channels: int, hidden: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_channels, hidden, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(rearrange(x, "b c l -> b l c"))
        return rearrange(out, "b l c -> b c l")


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Keras/Theano ``hard_sigmoid``: ``clip(0.2 x + 0.5, 0, 1)`` (torch's ``hardsigmoid`` uses
    slope 1/6 instead)."""
    return (0.2 * x + 0.5).clamp(0.0, 1.0)


class KerasLSTM(nn.Module):
    """One LSTM direction as Keras 0.2.0 computes it (``keras/layers/recurrent.py``, ``LSTM``).

    ``i, f, o = hard_sigmoid(W x_t + U h_{t-1} + b)``, ``c_t = f c_{t-1} + i tanh(W_c x_t +
    U_c h_{t-1} + b_c)``, ``h_t = o tanh(c_t)``, zero initial state, ONE bias vector per gate
    (``nn.LSTM`` has two and the logistic sigmoid). Parameters are stacked as in ``nn.LSTM``,
    gate order i, f, g (cell candidate), o: ``weight_ih (4H, in)``, ``weight_hh (4H, H)``,
    ``bias (4H,)``; Keras stores them per gate as ``W (in, H)``, ``U (H, H)``, ``b (H,)`` in the
    order i, c, f, o (see ``regzoo.weights.keras``).

    Args:
        in_channels: input features per step.
        hidden: units H.
        reverse: read the steps last to first (outputs stay aligned with their input step).

    Shape:
        ``(batch, L, in_channels)`` -> ``(batch, L, hidden)``.
    """

    def __init__(self, in_channels: int, hidden: int, reverse: bool = False) -> None:
        super().__init__()
        self.hidden, self.reverse = hidden, reverse
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden, in_channels))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden, hidden))
        self.bias = nn.Parameter(torch.zeros(4 * hidden))
        bound = hidden**-0.5  # nn.LSTM's init for the weights
        nn.init.uniform_(self.weight_ih, -bound, bound)
        nn.init.uniform_(self.weight_hh, -bound, bound)
        with torch.no_grad():  # Keras forget_bias_init="one"
            self.bias[hidden : 2 * hidden] = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        projected = x @ self.weight_ih.T + self.bias  # every step's input term at once
        h = x.new_zeros(batch, self.hidden)
        c = x.new_zeros(batch, self.hidden)
        outputs: list[torch.Tensor] = [h] * length
        steps = range(length - 1, -1, -1) if self.reverse else range(length)
        for t in steps:
            i, f, g, o = (projected[:, t] + h @ self.weight_hh.T).chunk(4, dim=-1)
            c = hard_sigmoid(f) * c + hard_sigmoid(i) * torch.tanh(g)
            h = hard_sigmoid(o) * torch.tanh(c)
            outputs[t] = h
        return torch.stack(outputs, dim=1)


class KerasBiLSTM(nn.Module):
    """Bidirectional :class:`KerasLSTM`: forward and backward states concatenated per step.

    Shape:
        ``(batch, in_channels, L)`` -> ``(batch, 2 * hidden, L)`` (forward channels first).
    """

    def __init__(self, in_channels: int, hidden: int) -> None:
        super().__init__()
        self.forward_lstm = KerasLSTM(in_channels, hidden)
        self.backward_lstm = KerasLSTM(in_channels, hidden, reverse=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = rearrange(x, "b c l -> b l c")
        out = torch.cat([self.forward_lstm(steps), self.backward_lstm(steps)], dim=-1)
        return rearrange(out, "b l c -> b c l")


class PositionAttention(nn.Module):
    """Additive attention over positions: a weight per position, then the weighted sum.

    ``u_t = tanh(W h_t + b)``, ``a = softmax_t(v . u_t)``, output ``sum_t a_t h_t`` (the
    hierarchical-attention-network form used by LSTM-attention models of DNA sites).

    Shape:
        ``(batch, channels, L)`` -> ``(batch, channels)``; the weights ``(batch, L)`` of the
        last call are kept in ``last_weights`` for inspection.
    """

    def __init__(self, channels: int, attention_dim: int = 32) -> None:
        super().__init__()
        self.project = nn.Linear(channels, attention_dim)
        self.score = nn.Linear(attention_dim, 1, bias=False)
        self.last_weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = rearrange(x, "b c l -> b l c")
        weights = torch.softmax(self.score(torch.tanh(self.project(h))).squeeze(-1), dim=1)
        self.last_weights = weights.detach()
        return torch.einsum("blc,bl->bc", h, weights)


# --------------------------------------------------------------------------- pooling and heads


class GlobalPool(nn.Module):
    """Global pooling over positions: ``"max"``, ``"avg"`` or ``"maxavg"`` (both, concatenated).

    Shape:
        ``(batch, C, L)`` -> ``(batch, C)`` (``(batch, 2C)`` for ``"maxavg"``: max first).
    """

    MODES = ("max", "avg", "maxavg")

    def __init__(self, mode: str = "max") -> None:
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f"global pooling must be one of {self.MODES}; got {mode!r}")
        self.mode = mode

    def out_channels(self, channels: int) -> int:
        return 2 * channels if self.mode == "maxavg" else channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "max":
            return x.amax(dim=-1)
        if self.mode == "avg":
            return x.mean(dim=-1)
        return torch.cat([x.amax(dim=-1), x.mean(dim=-1)], dim=1)


class DenseHead(nn.Sequential):
    """Fully connected head: ``[Linear -> [BN] -> ReLU -> [dropout]]`` per hidden layer, then a
    linear output layer (logits: no sigmoid/softplus; the loss applies it).

    Args:
        in_features: input features (a flatten size or pooled channels).
        hidden: sizes of the hidden layers (empty tuple = linear output only).
        n_out: outputs.
        dropout: dropout after each hidden layer's activation.
        batch_norm: batch norm between each hidden Linear and its ReLU (Basset).

    Shape:
        ``(batch, in_features)`` -> ``(batch, n_out)``.
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int] = (),
        n_out: int = 1,
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        layers: list[nn.Module] = []
        width = in_features
        for size in hidden:
            layers.append(nn.Linear(width, size))
            if batch_norm:
                layers.append(nn.BatchNorm1d(size))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, n_out))
        super().__init__(*layers)
