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
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from regzoo.data.encode import reverse_complement
from regzoo.inference import as_tensor
from regzoo.interpret.targets import Explained, resolve_device


@torch.inference_mode()
def _ism_one_strand(
    f: nn.Module, x: torch.Tensor, start: int, end: int, batch_size: int, device: torch.device
) -> torch.Tensor:
    n, _, length = x.shape
    x_dev = x.to(device)
    ref = torch.cat([f(b) for b in torch.split(x_dev, batch_size)]).float()
    # all edits: (sequence, position, base) where the base differs from the reference column
    window = x_dev[:, :, start:end]
    seq_idx, base_idx, pos_idx = torch.nonzero(window == 0, as_tuple=True)
    pos_idx = pos_idx + start
    out = torch.zeros(n, 4, length, device=device)
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
    out = _ism_one_strand(f, x, start, end, batch_size, device)
    if rc_average:
        if target_bins is not None:  # bins count from the other end on the reverse strand
            n_bins = int(model(x[:1].to(device)).shape[-1])
            a, b = target_bins
            f = Explained(model, target, (n_bins - b, n_bins - a))
        rc = _ism_one_strand(
            f, reverse_complement(x), length - end, length - start, batch_size, device
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
