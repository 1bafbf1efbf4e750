"""DeepBind from the official parameter text files (``db/params/D#####.###.txt``).

Layout, as the official scorer parses it (``deepbind.cpp``, ``load_model``)::

    # deepbind 0.1
    reverse_complement = 1
    num_detectors = 16
    detector_len = 24
    has_avg_pooling = 1
    num_hidden = 32
    detectors = w,w,...      d*m*4 values, index  detector + d * (base + 4 * pos)
    thresholds = ...         d values, ADDED to the detector response (regzoo's conv bias)
    weights1 = ...           n1 * n2 values, index i * n2 + j (n1 = 2d with avg pooling, else d;
                             n2 = num_hidden or 1); pooled features interleaved max_k, mean_k
    biases1 = ...
    weights2 = ...           num_hidden values (empty line without a hidden layer)
    biases2 = ...

Bases A, C, G, T (``base2index``), as regzoo. The model is built with the official scoring
(``pad_value=0.25``; ``both_strands`` from ``reverse_complement``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from regzoo.errors import InputError
from regzoo.models import create
from regzoo.weights._io import StateBuilder

_INTS = ("reverse_complement", "num_detectors", "detector_len", "has_avg_pooling", "num_hidden")
_LISTS = ("detectors", "thresholds", "weights1", "biases1", "weights2", "biases2")


def read_params(path: str | Path) -> dict[str, Any]:
    """Parse a DeepBind parameter file into ints and float arrays (clear errors per line)."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err})") from None
    if not lines or not lines[0].startswith("# deepbind"):
        raise InputError(f"{path}: line 1: expected '# deepbind 0.1' (a DeepBind parameter file)")
    values: dict[str, Any] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or name not in _INTS + _LISTS:
            raise InputError(f"{path}: line {number}: expected 'name = value' with a known name")
        try:
            if name in _INTS:
                values[name] = int(value)
            else:
                text = value.strip()
                values[name] = np.array([float(v) for v in text.split(",")] if text else [])
        except ValueError:
            raise InputError(f"{path}: line {number}: {name}: not a number list") from None
    missing = [n for n in _INTS + _LISTS[:4] if n not in values]
    if missing:
        raise InputError(f"{path}: missing {', '.join(missing)}")
    return values


def import_deepbind(
    source: str | Path, seq_len: int = 101, **_: Any
) -> tuple[nn.Module, dict[str, Any]]:
    """Build regzoo's DeepBind from an official parameter file."""
    source = Path(source)
    p = read_params(source)
    d, m, hidden = p["num_detectors"], p["detector_len"], p["num_hidden"]
    n1, n2 = (2 * d if p["has_avg_pooling"] else d), (hidden or 1)
    sizes = {
        "detectors": d * m * 4,
        "thresholds": d,
        "weights1": n1 * n2,
        "biases1": n2,
        "weights2": hidden,
        "biases2": 1 if hidden else 0,
    }
    for name, size in sizes.items():
        got = len(p.get(name, ()))
        if got != size:
            raise InputError(f"{source}: {name}: expected {size} values, got {got}")
    model = create(
        "deepbind",
        seq_len=seq_len,
        n_tasks=1,
        n_detectors=d,
        detector_len=m,
        pooling="maxavg" if p["has_avg_pooling"] else "max",
        hidden=hidden,
        pad_value=0.25,
        both_strands=bool(p["reverse_complement"]),
    )
    b = StateBuilder(model, source)
    # detectors[k + d * (base + 4 * pos)] -> array (pos, base, k) -> Conv1d (k, base, pos)
    b.set("detectors.weight", p["detectors"].reshape(m, 4, d).transpose(2, 1, 0), "detectors")
    b.set("detectors.bias", p["thresholds"], "thresholds")
    weights1 = p["weights1"].reshape(n1, n2)
    if p["has_avg_pooling"]:  # official rows max_0, mean_0, max_1, ... -> maxima then means
        weights1 = np.concatenate([weights1[0::2], weights1[1::2]])
    linears = [f"head.{i}" for i, mod in enumerate(model.head) if isinstance(mod, nn.Linear)]
    b.set(f"{linears[0]}.weight", weights1.T, "weights1")
    b.set(f"{linears[0]}.bias", p["biases1"], "biases1")
    if hidden:
        b.set(f"{linears[1]}.weight", p["weights2"][None, :], "weights2")
        b.set(f"{linears[1]}.bias", p["biases2"], "biases2")
    task = {"task_type": "binary", "label_names": [source.stem], "seq_len": seq_len}
    return b.load(), task
