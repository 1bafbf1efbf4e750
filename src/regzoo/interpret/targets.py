"""Which model output an interpretation method explains: one scalar per sequence.

Every method in :mod:`regzoo.interpret` explains a single number per sequence. For a sequence-level
model (output ``(B, n_tasks)``) it is one task's output; for a profile model (output
``(B, n_tasks, n_bins)``) it is one track summed over all bins or over a chosen range of bins. The
explained value is the model's **raw output** (logits for classification, the softplus rate of
profile models), as is usual for attributions: the sigmoid saturates and would hide effects.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from regzoo.errors import InputError


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` as a :class:`torch.device`; default CUDA when available, else CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def reducer(
    target: int | None = None, target_bins: tuple[int, int] | None = None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function turning model outputs into one value per sequence.

    Args:
        target: task (track) index; ``None`` = the mean over all tasks.
        target_bins: for profile outputs, sum over bins ``[a, b)`` only (default: all bins).

    Returns:
        ``f(output) -> (B,)`` for outputs ``(B, n_tasks)`` or ``(B, n_tasks, n_bins)``.
    """

    def reduce(out: torch.Tensor) -> torch.Tensor:
        if out.ndim == 3:  # profile: (B, tasks, bins)
            if target_bins is not None:
                a, b = target_bins
                if not 0 <= a < b <= out.shape[-1]:
                    raise InputError(
                        f"target bins {a}:{b} outside the model's {out.shape[-1]} output bins"
                    )
                out = out[..., a:b]
            out = out.sum(-1)
        elif target_bins is not None:
            raise InputError("target bins apply to profile models only; this model is scalar")
        if out.ndim != 2:
            raise InputError(f"unexpected model output shape {tuple(out.shape)}")
        if target is None:
            return out.mean(1)
        if not -out.shape[1] <= target < out.shape[1]:
            raise InputError(f"target {target} outside the model's {out.shape[1]} outputs")
        return out[:, target]

    return reduce


class Explained(nn.Module):
    """``model`` followed by :func:`reducer`: ``(B, 4, L) -> (B,)``; for captum and ISM."""

    def __init__(
        self,
        model: nn.Module,
        target: int | None = None,
        target_bins: tuple[int, int] | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.reduce = reducer(target, target_bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.reduce(self.model(x))


def target_index(model: nn.Module, target: int | str | None) -> int | None:
    """A task given by name (one of the saved model's label names) or index -> index."""
    if target is None or isinstance(target, int):
        return target
    if target.lstrip("-").isdigit():
        return int(target)
    names = list((getattr(model, "regzoo_task", {}) or {}).get("label_names") or [])
    if target not in names:
        raise InputError(f"unknown target {target!r}; the model's tasks: {', '.join(names)}")
    return names.index(target)
