"""Prediction on any input: strings, codes, one-hot arrays or tensors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from regzoo.data.encode import codes_to_one_hot, encode, fit_length, reverse_complement
from regzoo.errors import InputError
from regzoo.train.metrics import activate


def as_tensor(inputs, seq_len: int | None = None) -> torch.Tensor:
    """Turn any sequence input into the model's tensor ``(N, 4, L)`` float32.

    Accepts a DNA string, a list of strings (unequal lengths are centred/cropped/N-padded to
    ``seq_len`` by :func:`regzoo.data.encode.fit_length`), a ``uint8`` codes array ``(N, L)``, or a
    one-hot array/tensor ``(N, 4, L)`` / ``(4, L)``.
    """
    if isinstance(inputs, str):
        inputs = [inputs]
    if isinstance(inputs, torch.Tensor):
        x = inputs.float()
    elif isinstance(inputs, np.ndarray) and inputs.dtype == np.uint8:
        codes = inputs if inputs.ndim == 2 else inputs[None]
        if seq_len is not None:
            codes = fit_length(codes, seq_len)
        x = torch.from_numpy(codes_to_one_hot(codes))
    elif isinstance(inputs, np.ndarray):
        x = torch.from_numpy(inputs.astype(np.float32, copy=False))
    elif isinstance(inputs, Sequence):
        codes = [encode(s, name=f"sequence {i + 1}") for i, s in enumerate(inputs)]
        target = seq_len or max(len(c) for c in codes)
        x = torch.from_numpy(codes_to_one_hot(np.stack([fit_length(c, target) for c in codes])))
    else:
        raise TypeError(f"cannot turn {type(inputs).__name__} into a one-hot batch")
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[1] != 4:
        raise ValueError(f"expected one-hot of shape (N, 4, L), got {tuple(x.shape)}")
    return x


#: ``predict(autocast=...)`` values.
AUTOCAST_DTYPES: dict[str | None, torch.dtype | None] = {None: None, "bf16": torch.bfloat16}


@torch.no_grad()
def predict(
    model: nn.Module,
    inputs,
    task_type: str | None = None,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    rc_average: bool = False,
    autocast: str | None = None,
) -> np.ndarray:
    """Predictions of ``model`` for ``inputs`` (anything :func:`as_tensor` accepts).

    Args:
        task_type: decides the output activation (sigmoid, softmax, identity); defaults to the
            saved model's task type, else ``binary``.
        rc_average: average the prediction of each sequence and its reverse complement (for
            strand-symmetric tasks; profile outputs are flipped back along the bins and
            strand-paired tracks, from the task summary's ``strand_pairs``, swapped).
        autocast: ``"bf16"`` runs the model under ``torch.autocast`` with bfloat16 (matrix
            products in bfloat16, outputs returned as float32); ``None`` (default) = float32.
            Faster only where the hardware has bfloat16 arithmetic (AVX512-BF16/AMX CPUs,
            GPUs); the full-size Enformer's cost is in ``benchmarks/README.md``.

    Returns:
        ``(N, n_tasks)`` (or ``(N, n_tasks, n_bins)``) numpy array.
    """
    if autocast not in AUTOCAST_DTYPES:
        raise InputError(
            f"autocast={autocast!r}: expected one of {', '.join(map(str, AUTOCAST_DTYPES))}"
        )
    task = getattr(model, "regzoo_task", {}) or {}
    task_type = task_type or task.get("task_type", "binary")
    seq_len = task.get("seq_len") or getattr(model, "regzoo_config", {}).get("seq_len")
    x = as_tensor(inputs, seq_len)
    device = (
        torch.device(device)
        if device
        else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    )
    model = model.to(device).eval()
    kind = getattr(model, "output_kind", "scalar")
    pairs = (task.get("summary") or {}).get("strand_pairs")
    dtype = AUTOCAST_DTYPES[autocast]
    with torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        return _predict_batches(model, x, batch_size, device, task_type, kind, rc_average, pairs)


def _predict_batches(model, x, batch_size, device, task_type, kind, rc_average, pairs):
    out = []
    for batch in torch.split(x, batch_size):
        batch = batch.to(device)
        pred = activate(task_type, model(batch).float(), kind)
        if rc_average:
            rc = activate(task_type, model(reverse_complement(batch)).float(), kind)
            if pred.ndim == 3:  # profiles: bins back in order, + and - strand tracks swapped
                rc = rc.flip(-1)
                if pairs is not None:
                    rc = rc[:, pairs]
            pred = (pred + rc) / 2
        out.append(pred.float().cpu())
    return torch.cat(out).numpy()
