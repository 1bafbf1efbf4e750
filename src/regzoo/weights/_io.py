"""Shared helpers of the importers: safe loading, key/shape checks with clear errors, writing.

Nothing here unpickles arbitrary objects: PyTorch files go through
``torch.load(..., weights_only=True)`` (tensors, plain containers and numbers only), safetensors
and HDF5 files hold arrays only, and parameter text files are parsed as text.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from regzoo.errors import InputError

__all__ = [
    "StateBuilder",
    "load_state_dict_file",
    "read_json",
    "read_labels",
    "take",
]


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a ``.safetensors`` file, or of a PyTorch ``.bin``/``.pt``/``.pth`` file loaded
    with ``weights_only=True`` (a file that needs arbitrary classes to unpickle is refused).

    A checkpoint that nests the weights (``{"state_dict": {...}}``, Selene/Lightning) is
    unwrapped, and a ``module.`` prefix (``nn.DataParallel``) is dropped.

    Raises:
        InputError: the file is missing, unreadable, refused, or holds no tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return dict(load_file(str(path)))
        except Exception as err:  # safetensors raises its own types
            raise InputError(f"{path}: cannot read safetensors ({err})") from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(
            f"{path}: refused: the file is not a plain tensor state dict and would need arbitrary "
            f"code to unpickle (loaded with weights_only=True; {first})"
        ) from None
    except Exception as err:  # not a torch file at all
        raise InputError(f"{path}: cannot read as a PyTorch state dict ({err})") from None
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not obj:
        raise InputError(
            f"{path}: expected a state dict (name -> tensor), got {type(obj).__name__}"
        )
    state = {}
    for key, value in obj.items():
        if isinstance(value, torch.Tensor):
            state[str(key).removeprefix("module.")] = value
    if not state:
        raise InputError(f"{path}: holds no tensors")
    return state


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: cannot read JSON ({err})") from None


def read_labels(path: str | Path | None) -> list[str] | None:
    """Label names from a text file, one a line (blank and ``#`` lines skipped); ``None`` in,
    ``None`` out."""
    if path is None:
        return None
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as err:
        raise InputError(f"{path}: cannot read label names ({err})") from None
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


class StateBuilder:
    """Fills a regzoo model's state dict from converted source tensors, checking each shape.

    ``set(key, value, source_key)`` copies ``value`` into the model's ``key`` after checking its
    shape, and remembers ``source_key`` for error messages; :meth:`load` refuses a model with
    parameters left unset.
    """

    def __init__(self, model: nn.Module, source: str | Path) -> None:
        self.model, self.source = model, str(source)
        self.state = {k: v.clone() for k, v in model.state_dict().items()}
        self.filled: set[str] = set()

    def set(self, key: str, value: np.ndarray | torch.Tensor, source_key: str) -> None:
        if key not in self.state:
            raise InputError(f"{self.source}: {source_key}: regzoo has no parameter {key!r}")
        tensor = torch.as_tensor(np.asarray(value) if not torch.is_tensor(value) else value)
        expected = tuple(self.state[key].shape)
        if tuple(tensor.shape) != expected:
            raise InputError(
                f"{self.source}: {source_key}: expected shape {expected} (for regzoo's {key}), "
                f"got {tuple(tensor.shape)}; is the architecture configured as the source "
                "(see the options of `regzoo import`)?"
            )
        self.state[key] = tensor.to(self.state[key].dtype).contiguous()
        self.filled.add(key)

    def load(self) -> nn.Module:
        unset = [
            k for k, v in self.model.named_parameters() if k not in self.filled and v.requires_grad
        ] + [
            k
            for k, _ in self.model.named_buffers()
            if k not in self.filled and not k.endswith("num_batches_tracked")
        ]
        if unset:
            raise InputError(
                f"{self.source}: no source tensor for regzoo's {', '.join(unset[:5])}"
                + (f" (+{len(unset) - 5} more)" if len(unset) > 5 else "")
            )
        self.model.load_state_dict(self.state, strict=True)
        return self.model.eval()


def take(
    state: Mapping[str, torch.Tensor],
    key: str,
    source: str | Path,
    shape: Sequence[int] | None = None,
) -> torch.Tensor:
    """``state[key]``, with an :class:`InputError` naming the file and key when it is missing or
    (if ``shape`` is given) of another shape."""
    if key not in state:
        near = [k for k in state if k.split(".")[-1] == key.split(".")[-1]][:4]
        hint = f"; keys ending alike: {', '.join(near)}" if near else ""
        raise InputError(f"{source}: state-dict key {key!r} is missing{hint}")
    value = state[key]
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise InputError(
            f"{source}: state-dict key {key!r}: expected shape {tuple(shape)}, got "
            f"{tuple(value.shape)}"
        )
    return value
