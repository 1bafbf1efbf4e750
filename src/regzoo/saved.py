"""Saved models: a directory with ``model.safetensors``, ``config.json`` and ``metrics.json``.

``config.json`` names the architecture and its arguments (enough for ``models.create`` to rebuild
it), the task it was trained on (type, label names, input length, data summary and splits) and the
training settings. Loading never unpickles anything: weights come from safetensors, the rest is
JSON.
"""

from __future__ import annotations

import json
import math
import os
import platform
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

import regzoo
from regzoo.errors import InputError, RegzooError

FORMAT = "regzoo-model/1"
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".bin")
WEIGHTS, CONFIG, METRICS = "model.safetensors", "config.json", "metrics.json"


def _jsonable(value: Any) -> Any:
    """Plain JSON: numpy/torch scalars as numbers, NaN and infinities as null (an undefined
    metric is not a number; strict JSON readers reject NaN)."""
    plain = json.loads(
        json.dumps(value, default=lambda o: o.item() if hasattr(o, "item") else str(o))
    )
    return _null_nan(plain)


def _write_atomic(path: Path, text: str) -> None:
    from regzoo.atomic import write_text

    write_text(path, text)


def _null_nan(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _null_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_null_nan(v) for v in value]
    return value


def save_model(
    out_dir: str | Path,
    model: nn.Module,
    task: dict[str, Any],
    training: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (built by ``models.create``) and its metadata into ``out_dir``.

    Args:
        task: at least ``task_type``, ``label_names``, ``seq_len``; anything else JSON-able (data
            summary, splits) is kept.
    """
    if not hasattr(model, "regzoo_config"):
        raise RegzooError(
            "only models built by regzoo.models.create can be saved (no regzoo_config)"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    # each file is written under a temporary name and renamed: a killed run never leaves a
    # file that looks complete; the config goes last, so a folder with a config is whole
    tmp = out / f".{WEIGHTS}.tmp"
    save_file(state, str(tmp), metadata={"format": FORMAT})
    os.replace(tmp, out / WEIGHTS)
    config = {
        "format": FORMAT,
        "model": model.regzoo_config,
        "task": task,
        "training": training or {},
        "versions": {
            "regzoo": regzoo.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }
    _write_atomic(out / METRICS, json.dumps(_jsonable(metrics or {}), indent=2) + "\n")
    _write_atomic(out / CONFIG, json.dumps(_jsonable(config), indent=2) + "\n")
    return out


def read_config(model_dir: str | Path) -> dict[str, Any]:
    """The parsed ``config.json`` of a saved model, with a clear error if it is missing or broken."""
    path = Path(model_dir)
    if not path.is_dir():
        raise InputError(
            f"{path}: not a directory; expected a saved model directory with {WEIGHTS} and {CONFIG}"
        )
    missing = [name for name in (WEIGHTS, CONFIG) if not (path / name).is_file()]
    if missing:
        pickles = sorted(p.name for p in path.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
        hint = (
            f"; {pickles[0]} is a pickle checkpoint, which regzoo never loads (unpickling runs "
            "code): save the model with regzoo (safetensors + JSON)"
            if pickles
            else ""
        )
        raise InputError(f"{path}: not a saved regzoo model: missing {', '.join(missing)}{hint}")
    try:
        config = json.loads((path / CONFIG).read_text())
    except json.JSONDecodeError as err:
        raise InputError(f"{path / CONFIG}: line {err.lineno}: invalid JSON ({err.msg})") from None
    except UnicodeDecodeError:
        raise InputError(
            f"{path / CONFIG}: not text; expected a JSON regzoo model config"
        ) from None
    if not isinstance(config, dict):
        config = {}
    model = config.get("model")
    if config.get("format") != FORMAT or not (
        isinstance(model, dict) and isinstance(model.get("name"), str)
    ):
        raise InputError(
            f"{path / CONFIG}: not a regzoo model config (expected format {FORMAT!r} and a "
            "'model' object with the architecture's 'name')"
        )
    return config


def load(model_dir: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a saved model: architecture from ``config.json``, weights from safetensors.

    Returns the model in eval mode with ``model.regzoo_task`` (task type, label names, seq_len,
    data summary) and ``model.regzoo_training`` attached.
    """
    from regzoo.models import create

    path = Path(model_dir)
    config = read_config(path)
    model_args = dict(config["model"])
    name = model_args.pop("name")
    try:
        model = create(name, **model_args)
    except RegzooError as err:  # unknown architecture or arguments it does not take
        raise InputError(f"{path / CONFIG}: field 'model': {err}") from None
    try:
        state = load_file(str(path / WEIGHTS), device=str(device))
    except Exception as err:  # safetensors raises its own error types
        with open(path / WEIGHTS, "rb") as fh:
            head = fh.read(2)
        kind = (
            "; it is a pickle / torch.save file, which regzoo never unpickles (that can run code)"
            if head[:1] == b"\x80" or head == b"PK"
            else ""
        )
        raise InputError(
            f"{path / WEIGHTS}: cannot read weights ({err}); expected safetensors{kind}"
        ) from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:  # missing / unexpected keys or shape mismatch
        detail = " ".join(str(err).split("\n")[1:2]).strip()
        raise InputError(
            f"{path / WEIGHTS}: weights do not match architecture {name!r} as configured in "
            f"{CONFIG} ({detail})"
        ) from None
    model.regzoo_task = config.get("task", {})
    model.regzoo_training = config.get("training", {})
    return model.to(device).eval()


def read_metrics(model_dir: str | Path) -> dict[str, Any]:
    path = Path(model_dir) / METRICS
    return json.loads(path.read_text()) if path.is_file() else {}
