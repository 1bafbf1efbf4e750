"""Gradient and reference-based attributions through captum.

Methods (``method`` argument of :func:`attribute`, or the functions themselves):

- ``saliency``: the gradient of the explained value with respect to the one-hot input,
  **mean-centred per position** (the gradient correction of Majdandzic et al. 2023: subtract the
  mean over the four bases, which removes the off-simplex component of the gradient). Returned at
  all four bases (a "hypothetical" map).
- ``ixg`` (input x gradient): the centred gradient times the one-hot input: only the observed base
  is non-zero.
- ``ig`` (integrated gradients, Sundararajan et al. 2017) and ``deepliftshap`` (DeepLIFT with the
  rescale rule averaged over references, Lundberg & Lee 2017): each sequence is explained against
  ``n_refs`` **dinucleotide shuffles of itself** (:func:`regzoo.data.shuffle.dinucleotide_shuffle`,
  seeded). captum returns the multipliers (``multiply_by_inputs=False``); regzoo centres them per
  position, multiplies by ``x - reference`` and averages over the references. Because every
  column of ``x - reference`` sums to zero, centring does not change the per-position sum, so the
  completeness property holds and the **convergence delta**
  ``sum(attributions) - (f(x) - f(reference))`` is that of the uncentred method; when its mean
  absolute value exceeds ``delta_tol`` times the mean ``|f(x) - f(reference)|``, a
  :class:`AttributionWarning` says so (for DeepLIFT this happens with operations that captum has
  no rule for, e.g. attention or LSTMs; for IG with too few steps).

All methods explain one value per sequence (see :mod:`regzoo.interpret.targets`) and return a
``float32`` array ``(N, 4, L)``.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from captum.attr import DeepLift, IntegratedGradients, Saliency
from torch import nn

from regzoo.data.shuffle import dinucleotide_shuffle
from regzoo.errors import InputError
from regzoo.inference import as_tensor
from regzoo.interpret.targets import Explained, resolve_device

METHODS = ("saliency", "ixg", "ig", "deepliftshap")


class AttributionWarning(UserWarning):
    """An attribution sanity check failed (large convergence delta)."""


def _centre(grad: torch.Tensor) -> torch.Tensor:
    return grad - grad.mean(dim=1, keepdim=True)


def _prepare(model, X, target, target_bins, device):
    seq_len = (getattr(model, "regzoo_task", {}) or {}).get("seq_len")
    x = as_tensor(X, seq_len)
    device = resolve_device(device)
    f = Explained(model.to(device).eval(), target, target_bins).eval()
    return f, x, device


def _gradients(f: nn.Module, x: torch.Tensor, batch_size: int, device) -> torch.Tensor:
    sal = Saliency(f)
    out = []
    for batch in torch.split(x, batch_size):
        batch = batch.to(device).requires_grad_(True)
        out.append(_centre(sal.attribute(batch, abs=False).detach()).cpu())
    return torch.cat(out)


def saliency(
    model: nn.Module,
    X,
    target: int | None = None,
    target_bins: tuple[int, int] | None = None,
    batch_size: int = 128,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Mean-centred gradients ``(N, 4, L)`` (all four bases; see the module docstring)."""
    f, x, device = _prepare(model, X, target, target_bins, device)
    return _gradients(f, x, batch_size, device).numpy()


def input_x_gradient(
    model: nn.Module,
    X,
    target: int | None = None,
    target_bins: tuple[int, int] | None = None,
    batch_size: int = 128,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """One-hot input times the mean-centred gradient ``(N, 4, L)`` (observed bases only)."""
    f, x, device = _prepare(model, X, target, target_bins, device)
    return (x * _gradients(f, x, batch_size, device)).numpy()


def shuffled_references(x: torch.Tensor, n_refs: int, seed: int = 0) -> torch.Tensor:
    """``n_refs`` dinucleotide shuffles of each one-hot sequence: ``(N, n_refs, 4, L)``.

    N columns (all zero) stay N: they are shuffled as a fifth letter."""
    xn = x.numpy()
    codes = np.where(xn.sum(1) > 0, xn.argmax(1), 4).astype(np.uint8)  # (N, L)
    shuffled = dinucleotide_shuffle(np.repeat(codes, n_refs, axis=0), seed)
    one_hot = np.eye(5, dtype=np.float32)[:, :4][shuffled]  # (N * n_refs, L, 4)
    return torch.from_numpy(one_hot).permute(0, 2, 1).reshape(len(x), n_refs, 4, -1)


def _reference_method(
    method: str,
    model: nn.Module,
    X,
    target: int | None,
    target_bins: tuple[int, int] | None,
    n_refs: int,
    n_steps: int,
    batch_size: int,
    device,
    seed: int,
    delta_tol: float,
) -> np.ndarray:
    f, x, device = _prepare(model, X, target, target_bins, device)
    refs = shuffled_references(x, n_refs, seed)
    if method == "ig":
        explainer = IntegratedGradients(f, multiply_by_inputs=False)
    else:
        explainer = DeepLift(f, multiply_by_inputs=False)
    out, deltas, spans = [], [], []
    per_batch = max(1, batch_size // n_refs)
    for lo in range(0, len(x), per_batch):
        xb = x[lo : lo + per_batch]
        inputs = xb.repeat_interleave(n_refs, 0).to(device)
        baselines = refs[lo : lo + per_batch].reshape(-1, *x.shape[1:]).to(device)
        if method == "ig":
            mult = explainer.attribute(
                inputs, baselines, n_steps=n_steps, internal_batch_size=batch_size
            )
        else:
            mult = explainer.attribute(inputs, baselines)
        mult = mult.detach()
        attr = (inputs - baselines) * _centre(mult)
        with torch.no_grad():
            span = f(inputs) - f(baselines)
        deltas.append((attr.sum((1, 2)) - span).abs().cpu())
        spans.append(span.abs().cpu())
        out.append(attr.reshape(len(xb), n_refs, *x.shape[1:]).mean(1).cpu())
    delta, span = torch.cat(deltas).mean().item(), torch.cat(spans).mean().item()
    if delta > delta_tol * max(span, 1e-8):
        warnings.warn(
            f"{method}: mean convergence delta {delta:.3g} is {delta / max(span, 1e-8):.0%} of "
            f"the mean |f(x) - f(reference)| {span:.3g}; the attributions do not add up to the "
            + (
                "output difference (use more --steps)"
                if method == "ig"
                else "output difference (the model has operations DeepLIFT has no rule for)"
            ),
            AttributionWarning,
            stacklevel=3,
        )
    return torch.cat(out).numpy()


def integrated_gradients(
    model: nn.Module,
    X,
    target: int | None = None,
    target_bins: tuple[int, int] | None = None,
    n_refs: int = 5,
    n_steps: int = 32,
    batch_size: int = 128,
    device: str | torch.device | None = None,
    seed: int = 0,
    delta_tol: float = 0.05,
) -> np.ndarray:
    """Integrated gradients against dinucleotide-shuffled references, centred, ``(N, 4, L)``."""
    return _reference_method(
        "ig", model, X, target, target_bins, n_refs, n_steps, batch_size, device, seed, delta_tol
    )


def deep_lift_shap(
    model: nn.Module,
    X,
    target: int | None = None,
    target_bins: tuple[int, int] | None = None,
    n_refs: int = 10,
    batch_size: int = 128,
    device: str | torch.device | None = None,
    seed: int = 0,
    delta_tol: float = 0.01,
) -> np.ndarray:
    """DeepLiftShap against dinucleotide-shuffled references, centred, ``(N, 4, L)``."""
    return _reference_method(
        "deepliftshap",
        model,
        X,
        target,
        target_bins,
        n_refs,
        0,
        batch_size,
        device,
        seed,
        delta_tol,
    )


def attribute(
    model: nn.Module,
    X,
    method: str = "ixg",
    target: int | None = None,
    target_bins: tuple[int, int] | None = None,
    batch_size: int = 128,
    device: str | torch.device | None = None,
    **kwargs,
) -> np.ndarray:
    """Dispatch to one method by name: ``ism`` or one of :data:`METHODS`. Returns ``(N, 4, L)``.

    For ``ism`` the substitution effects are centred per position like the gradients, so that
    they read as a hypothetical attribution map (all four bases, as ``saliency``)."""
    if method == "ism":
        from regzoo.interpret.ism import saturation_mutagenesis

        effects = saturation_mutagenesis(
            model, X, target, target_bins, batch_size=max(batch_size, 256), device=device, **kwargs
        )
        return effects - effects.mean(1, keepdims=True)
    functions = {
        "saliency": saliency,
        "ixg": input_x_gradient,
        "ig": integrated_gradients,
        "deepliftshap": deep_lift_shap,
    }
    if method not in functions:
        raise InputError(f"unknown method {method!r}; valid methods: ism, {', '.join(METHODS)}")
    return functions[method](
        model, X, target, target_bins, batch_size=batch_size, device=device, **kwargs
    )
