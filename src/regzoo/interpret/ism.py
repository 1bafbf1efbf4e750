"""In-silico saturation mutagenesis (ISM): every single-base substitution, batched.

For each sequence ``x`` (``(4, L)`` one-hot) and each position ``p`` and base ``b`` different from
the one at ``p``, the substituted sequence is scored and the effect is

    ``delta[b, p] = f(x with base b at p) - f(x)``

where ``f`` is the explained value of :mod:`regzoo.interpret.targets` (one task's raw output, or a
profile track summed over all or chosen bins). The reference base's entry is 0. An ``N`` position
(all-zero column) gets four substitutions.

Speed: the substituted sequences of all sequences are laid out as one flat list of
``(sequence, position, base)`` edits and built on the model's device in batches of ``batch_size``
(a gather of the reference rows and a scatter of the edit), so the model always sees full batches
and no sequence is copied on the host. Reverse-complement averaging scores the reverse complement
of every sequence the same way and maps its effects back (position ``L - 1 - p``, complement
base).

Local recompute (fastISM, Nair et al., Bioinformatics 2022; the default, ``fast=True``): the model
is traced with ``torch.fx`` (through regzoo's own blocks; other modules stay opaque) and the
longest chain of layers that the input flows through first is taken when every layer in it is
position-local -- ``nn.Conv1d`` (zero padding, any stride/dilation/groups), ``nn.MaxPool1d``,
``nn.AvgPool1d`` (no padding), elementwise activations, ``nn.Dropout`` and ``nn.BatchNorm1d`` in
eval mode -- each node of the chain used only by the next, and the remainder of the graph reads
only the chain's last output. The reference activations of every layer of that prefix are
computed once per sequence (shared by its three substitutions at every position); a substitution
at ``p`` changes only a window of each layer's output (for a width-``k`` convolution, ``k - 1``
positions on either side of the window before it, shrunk by pooling), so only that window is
recomputed, from the reference activations with the window of the layer before written in; the
last window is written into the reference output of the prefix and the rest of the model runs on
that. The values are those of the full forward pass up to summation order. For compact DeepSEA
(conv-pool-conv-pool-conv, then a dense layer) the windows are 8, 4, 11, 5 and 12 positions
against 993, 331, 324, 108 and 101. Before it is used, the split model is checked against the
full model on one sequence (the reference and the substitutions at the first, middle and last
positions); a model that cannot be traced, has no local prefix with a convolution, gains nothing
(last window as wide as the layer), or fails the check takes the full forward pass per
substitution (every architecture works through that path).
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import torch
from torch import fx, nn

from regzoo.data.encode import reverse_complement
from regzoo.inference import as_tensor
from regzoo.interpret.targets import Explained, resolve_device

_LOCAL_CHUNK = 16  # sequences whose reference activations are held at once (local recompute)


# --------------------------------------------------------------------------- local recompute


_ELEMENTWISE = (
    nn.Identity,
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softplus,
    nn.Dropout,
)


class _Window(NamedTuple):
    """A layer whose output position ``j`` reads input positions ``j*stride - pad`` ...
    ``j*stride - pad + span - 1`` and nothing else; applied to a window with no padding."""

    module: nn.Module
    stride: int
    pad: int
    span: int
    fill: float  # value of the padding (0 for a convolution, -inf for max pooling)

    def out_len(self, length: int) -> int:
        return (length + 2 * self.pad - self.span) // self.stride + 1

    def apply(self, h: torch.Tensor) -> torch.Tensor:
        m = self.module
        if isinstance(m, nn.Conv1d):
            return nn.functional.conv1d(h, m.weight, m.bias, m.stride, 0, m.dilation, m.groups)
        if isinstance(m, nn.MaxPool1d):
            return nn.functional.max_pool1d(h, m.kernel_size, m.stride, 0, m.dilation)
        return nn.functional.avg_pool1d(h, m.kernel_size, m.stride, 0)


def _one(v) -> int:
    return int(v[0] if isinstance(v, tuple | list) else v)


def _local_layer(m: nn.Module) -> _Window | nn.Module | None:
    """A :class:`_Window` for a position-local layer, the module itself for an elementwise one
    (per position and channel), ``None`` for anything else (the local prefix ends there). Exact
    classes only (a subclass may override ``forward``), and no hooks."""
    kind = type(m)
    if m._forward_hooks or m._forward_pre_hooks:
        return None
    if kind in _ELEMENTWISE:
        return None if kind is nn.Dropout and m.training else m
    if kind is nn.BatchNorm1d:  # an affine map per channel once the statistics are fixed
        return None if m.training or m.running_mean is None else m
    if kind is nn.Conv1d:
        if m.padding_mode != "zeros" or isinstance(m.padding, str):
            return None
        span = _one(m.dilation) * (_one(m.kernel_size) - 1) + 1
        return _Window(m, _one(m.stride), _one(m.padding), span, 0.0)
    if kind is nn.MaxPool1d and not m.ceil_mode and not m.return_indices:
        span = _one(m.dilation) * (_one(m.kernel_size) - 1) + 1
        return _Window(m, _one(m.stride), _one(m.padding), span, float("-inf"))
    if kind is nn.AvgPool1d and not m.ceil_mode and _one(m.padding) == 0:
        return _Window(m, _one(m.stride), 0, _one(m.kernel_size), 0.0)
    return None


class _Tracer(fx.Tracer):
    """Traces through the model and regzoo's own blocks; any other module is one opaque node."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        if isinstance(m, nn.Sequential | nn.ModuleList | nn.ModuleDict):
            return False
        return not type(m).__module__.startswith("regzoo.")


def _split_local_prefix(model: nn.Module) -> tuple[list, nn.Module] | None:
    """``(layers, rest)`` with ``model(x) == rest(layers(x))`` where ``layers`` is the longest
    chain of position-local layers that the input flows through first (each node used only by
    the next), holding at least one convolution; ``None`` when the model cannot be traced or
    has no such prefix."""
    try:
        graph = _Tracer().trace(model)
    except Exception:  # data-dependent control flow, unknown tensor types ...: not traceable
        return None
    nodes = list(graph.nodes)
    inputs = [n for n in nodes if n.op == "placeholder"]
    if len(inputs) != 1:
        return None
    modules = dict(model.named_modules())
    layers, prefix, current = [], [], inputs[0]
    while len(current.users) == 1:
        (user,) = current.users
        if user.op != "call_module" or user.args != (current,) or user.kwargs:
            break
        layer = _local_layer(modules[user.target])
        if layer is None:
            break
        layers.append(layer)
        prefix.append(user)
        current = user
    if not any(isinstance(layer, _Window) for layer in layers):
        return None
    rest = fx.Graph()
    env = {prefix[-1]: rest.placeholder("h")}
    skip = set(prefix) | {inputs[0]}
    try:
        for node in nodes:
            if node not in skip:
                env[node] = rest.node_copy(node, lambda n: env[n])
    except KeyError:  # a later node reads the input or an inner prefix activation
        return None
    return layers, fx.GraphModule(model, rest)


class _LocalISM:
    """fastISM (Nair et al., Bioinformatics 2022) for a model whose input first flows through a
    chain of position-local layers (convolutions, pooling, elementwise activations, batch norm
    in eval mode, dropout in eval mode): the reference activations of every layer are computed
    once per sequence; for each substitution only the window of each layer's output that the
    substituted base can reach is recomputed (from the reference activations with the window of
    the layer before written in), the window is written into the reference output of the last
    local layer, and the rest of the model runs on that. Exact: every recomputed value reads
    only exact values; the same arithmetic as the full forward pass up to summation order."""

    def __init__(self, layers: list, rest: nn.Module, reduce, length: int, device) -> None:
        self.layers, self.rest, self.reduce = layers, rest, reduce
        self.plan = []  # per windowed layer: (window width, window start per edit position)
        lo = np.arange(length)
        hi, longest = lo + 1, 1
        for layer in layers:
            if not isinstance(layer, _Window):
                continue
            out = layer.out_len(length)
            empty = hi <= lo
            lo_next = -((layer.span - 1 - layer.pad - lo) // layer.stride)  # ceil division
            hi_next = (hi - 1 + layer.pad) // layer.stride + 1
            lo, hi = np.clip(lo_next, 0, out), np.clip(hi_next, 0, out)
            empty |= hi <= lo
            lo[empty], hi[empty] = 0, 0  # no output position reached
            width = int(np.clip((hi - lo).max(), 1, out))
            start = np.clip(lo, 0, out - width)
            self.plan.append((width, torch.as_tensor(start, device=device)))
            longest = max(longest, (width - 1) * layer.stride + layer.span)
            length = out
        self.out_len, self.arange = length, torch.arange(longest, device=device)

    @classmethod
    def build(cls, f: Explained, length: int, device) -> _LocalISM | None:
        split = _split_local_prefix(f.model)
        if split is None:
            return None
        fast = cls(*split, f.reduce, length, device)
        return fast if fast.plan[-1][0] < fast.out_len else None  # nothing saved otherwise

    def reference(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        """Padded channels-last inputs of every windowed layer, the prefix output, the value."""
        saved, h = [], x
        for layer in self.layers:
            if isinstance(layer, _Window):
                padded = nn.functional.pad(h, (layer.pad, layer.pad), value=layer.fill)
                saved.append(padded.transpose(1, 2).contiguous())
                h = layer.module(h)
            else:
                h = layer(h)
        return saved, h, self.reduce(self.rest(h))

    def edits(self, ref, s, b, p) -> torch.Tensor:
        """Values of the substitutions (sequence ``s`` of the reference batch, base ``b``,
        position ``p``), shape ``(len(s),)``."""
        saved, end, _ = ref
        rows = torch.arange(len(s), device=s.device)
        h = torch.zeros(len(s), saved[0].shape[2], 1, dtype=saved[0].dtype, device=s.device)
        h[rows, b, 0] = 1.0
        h_start, h_width, k = p, 1, 0
        for layer in self.layers:
            if not isinstance(layer, _Window):
                h = layer(h)
                continue
            width, starts = self.plan[k]
            start = starts[p]
            need = (width - 1) * layer.stride + layer.span
            idx = start[:, None] * layer.stride + self.arange[:need]  # padded coordinates
            window = saved[k][s[:, None], idx].transpose(1, 2)  # (B, C, need) reference
            rel = idx - layer.pad - h_start[:, None]  # where the recomputed window lies
            inside = ((rel >= 0) & (rel < h_width))[:, None, :]
            rel = rel.clamp(0, h_width - 1)[:, None, :].expand(-1, h.shape[1], -1)
            h = layer.apply(torch.where(inside, h.gather(2, rel), window))
            h_start, h_width, k = start, width, k + 1
        full = end[s]
        idx = (h_start[:, None] + self.arange[:h_width])[:, None, :].expand(-1, h.shape[1], -1)
        full.scatter_(2, idx, h)
        return self.reduce(self.rest(full))


def _agrees(local: _LocalISM, f: Explained, x: torch.Tensor, start: int, end: int) -> bool:
    """The local recompute and the full forward pass give the same reference value and the same
    substitution values at the first, middle and last substituted position of one sequence."""
    x = x[:1]
    ref = local.reference(x)
    cols = torch.tensor(sorted({start, (start + end) // 2, end - 1}), device=x.device)
    _, b, k = torch.nonzero(x[:, :, cols] == 0, as_tuple=True)
    p = cols[k]
    mutants = x.repeat(len(p), 1, 1)
    rows = torch.arange(len(p), device=x.device)
    mutants[rows, :, p] = 0.0
    mutants[rows, b, p] = 1.0
    want = torch.cat([f(x), f(mutants)]).double()
    got = torch.cat([ref[2], local.edits(ref, torch.zeros_like(p), b, p)]).double()
    return bool((got - want).abs().max() <= 1e-4 * max(1.0, float(want.abs().max())))


@torch.inference_mode()
def _ism_one_strand(
    f: Explained,
    x: torch.Tensor,
    start: int,
    end: int,
    batch_size: int,
    device: torch.device,
    fast: bool = True,
) -> torch.Tensor:
    n, _, length = x.shape
    x_dev = x.to(device)
    out = torch.zeros(n, 4, length, device=device)
    local = _LocalISM.build(f, length, device) if fast and end > start else None
    if local is not None and not _agrees(local, f, x_dev, start, end):
        warnings.warn(
            "ISM: the local recompute disagreed with the full model on a check; using full "
            "forward passes",
            stacklevel=3,
        )
        local = None
    if local is not None:
        # sequences a few at a time (the reference activations of every layer are kept)
        for lo in range(0, n, _LOCAL_CHUNK):
            chunk = x_dev[lo : lo + _LOCAL_CHUNK]
            ref = local.reference(chunk)
            s, b, p = torch.nonzero(chunk[:, :, start:end] == 0, as_tuple=True)
            p = p + start
            for i in range(0, len(s), batch_size):
                si, bi, pi = s[i : i + batch_size], b[i : i + batch_size], p[i : i + batch_size]
                out[lo + si, bi, pi] = (local.edits(ref, si, bi, pi) - ref[2][si]).float()
        return out.cpu()
    ref = torch.cat([f(b) for b in torch.split(x_dev, batch_size)]).float()
    # all edits: (sequence, position, base) where the base differs from the reference column
    window = x_dev[:, :, start:end]
    seq_idx, base_idx, pos_idx = torch.nonzero(window == 0, as_tuple=True)
    pos_idx = pos_idx + start
    rows = torch.arange(batch_size, device=device)
    for lo in range(0, len(seq_idx), batch_size):
        s, b, p = (t[lo : lo + batch_size] for t in (seq_idx, base_idx, pos_idx))
        m = len(s)
        batch = x_dev[s]
        batch[rows[:m], :, p] = 0.0
        batch[rows[:m], b, p] = 1.0
        out[s, b, p] = f(batch).float() - ref[s]
    return out.cpu()


def saturation_mutagenesis(
    model: nn.Module,
    X,
    target: int | None = None,
    target_bins: tuple[int, int] | None = None,
    rc_average: bool = False,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    start: int = 0,
    end: int | None = None,
    fast: bool = True,
) -> np.ndarray:
    """Effects of all single-base substitutions on the model's output.

    Args:
        model: any regzoo model (scalar or profile output).
        X: sequences, anything :func:`regzoo.inference.as_tensor` takes; ``(N, 4, L)`` one-hot.
        target: task index explained (``None``: mean of all tasks).
        target_bins: profile models: sum over bins ``[a, b)`` (default all bins).
        rc_average: average with the effects measured on the reverse complement (mapped back).
        batch_size: substituted sequences per forward pass.
        device: where to run (default CUDA if available, else CPU); the model is moved there.
        start, end: only substitute positions ``[start, end)`` (default the whole sequence).
        fast: recompute only the windows a substitution reaches in the model's leading local
            layers when the model has such a prefix (see the module docstring); ``False``: a
            full forward pass per substitution. Both give the same values up to rounding.

    Returns:
        ``float32`` array ``(N, 4, L)``: ``delta[n, b, p]`` = output with base ``b`` at ``p`` minus
        the reference output; 0 at the reference base and outside ``[start, end)``.
    """
    seq_len = (getattr(model, "regzoo_task", {}) or {}).get("seq_len")
    x = as_tensor(X, seq_len)
    length = x.shape[-1]
    end = length if end is None else end
    device = resolve_device(device)
    f = Explained(model.to(device).eval(), target, target_bins)
    out = _ism_one_strand(f, x, start, end, batch_size, device, fast)
    if rc_average:
        if target_bins is not None:  # bins count from the other end on the reverse strand
            n_bins = int(model(x[:1].to(device)).shape[-1])
            a, b = target_bins
            f = Explained(model, target, (n_bins - b, n_bins - a))
        rc = _ism_one_strand(
            f, reverse_complement(x), length - end, length - start, batch_size, device, fast
        )
        out = (out + reverse_complement(rc)) / 2
    return out.numpy()


def naive_ism(
    model: nn.Module, X, target: int | None = None, device: str | torch.device | None = None
) -> np.ndarray:
    """Reference implementation: one forward pass per substitution. Same output as
    :func:`saturation_mutagenesis` (without RC averaging); for tests and benchmarks only."""
    x = as_tensor(X)
    device = resolve_device(device)
    f = Explained(model.to(device).eval(), target)
    out = np.zeros(x.shape, dtype=np.float32)
    with torch.inference_mode():
        for n in range(x.shape[0]):
            ref = float(f(x[n : n + 1].to(device)))
            for p in range(x.shape[2]):
                for b in range(4):
                    if x[n, b, p] == 1:
                        continue
                    mutant = x[n : n + 1].clone()
                    mutant[0, :, p] = 0
                    mutant[0, b, p] = 1
                    out[n, b, p] = float(f(mutant.to(device))) - ref
    return out
