"""Enformer from an enformer-pytorch (lucidrains) checkpoint.

Source layout (``enformer_pytorch.Enformer``, 0.8.x; ``save_pretrained`` writes it): a folder with
``config.json`` (``EnformerConfig`` fields ``dim``, ``depth``, ``heads``, ``output_heads``,
``target_length``, ``attn_dim_key``, ``num_downsamples``, ``dim_divisible_by``, ``use_tf_gamma``,
dropouts) and ``model.safetensors`` or ``pytorch_model.bin``; or a bare state-dict file with the
same hyper-parameters given as options. Key mapping (its name -> regzoo's)::

    stem.0 / stem.1.fn.* / stem.2.to_attn_logits (C,C,1,1)  -> stem.0 / stem.1.module.* /
                                                               stem.2.to_logits (C,C,1)
    conv_tower.i.{0,1.fn,2}                                  -> conv_tower.i.{0,1.module,2}
    transformer.i.0.fn.{0,1}  (rel_content_bias, rel_pos_bias) -> transformer.{i+1}.attention.
                                                               module.{0,1} (r_w_bias, r_r_bias)
    transformer.i.1.fn.j                                     -> transformer.{i+1}.mlp.module.j
    final_pointwise.1.*                                      -> final_pointwise.0.*
    _heads.NAME.0.weight (n, 2C)                             -> heads.NAME.weight (n, 2C, 1)

The same modules also appear under ``_trunk.{1,2,4,6}`` (shared); either spelling is read.
Gamma positional features: ``use_tf_gamma=True`` (the released TF gammas, per-feature peak 1)
-> ``gamma_norm="feature"``; otherwise enformer-pytorch's torch rule -> ``gamma_norm="distance"``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from regzoo.errors import InputError
from regzoo.models import create
from regzoo.weights._io import StateBuilder, load_state_dict_file, read_json

#: EnformerConfig defaults (enformer-pytorch 0.8.12), used for fields a config leaves out.
DEFAULTS: dict[str, Any] = {
    "dim": 1536,
    "depth": 11,
    "heads": 8,
    "output_heads": {"human": 5313, "mouse": 1643},
    "target_length": 896,
    "attn_dim_key": 64,
    "dropout_rate": 0.4,
    "attn_dropout": 0.05,
    "pos_dropout": 0.01,
    "num_downsamples": 7,
    "dim_divisible_by": 128,
    "use_tf_gamma": False,
    "use_convnext": False,
}
_TRUNK = {"1": "stem", "2": "conv_tower", "4": "transformer", "6": "final_pointwise"}
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def _read_source(source: Path, hparams: dict[str, Any]) -> tuple[dict, dict, Path]:
    if source.is_dir():
        config_path = source / "config.json"
        if not config_path.is_file():
            raise InputError(f"{source}: no config.json (an enformer-pytorch checkpoint folder)")
        weights = next((source / n for n in WEIGHT_FILES if (source / n).is_file()), None)
        if weights is None:
            raise InputError(f"{source}: neither {' nor '.join(WEIGHT_FILES)} found")
        config = {**DEFAULTS, **read_json(config_path), **hparams}
    else:
        weights, config = source, {**DEFAULTS, **hparams}
    return load_state_dict_file(weights), config, weights


def _normalise(state: dict[str, torch.Tensor]) -> dict[str, tuple[str, torch.Tensor]]:
    """``{regzoo key: (source key, tensor)}``, every key spelt as regzoo does (see above)."""
    out: dict[str, tuple[str, torch.Tensor]] = {}
    for source_key, value in state.items():
        key = source_key
        if m := re.match(r"_trunk\.(\d+)\.(.*)", key):
            if m.group(1) not in _TRUNK:
                continue
            key = f"{_TRUNK[m.group(1)]}.{m.group(2)}"
        if m := re.match(r"_heads\.(\w+)\.0\.(weight|bias)$", key):
            name, kind = m.groups()
            out[f"heads.{name}.{kind}"] = (
                source_key,
                value[..., None] if kind == "weight" else value,
            )
            continue
        if m := re.match(r"transformer\.(\d+)\.([01])\.fn\.(.*)", key):
            layer, part, rest = m.groups()
            rest = rest.replace("rel_content_bias", "r_w_bias").replace("rel_pos_bias", "r_r_bias")
            sub = "attention" if part == "0" else "mlp"
            key = f"transformer.{int(layer) + 1}.{sub}.module.{rest}"
        key = key.replace(".fn.", ".module.")
        if key.startswith("final_pointwise.1."):
            key = "final_pointwise.0." + key.removeprefix("final_pointwise.1.")
        if key.endswith("to_attn_logits.weight"):
            key, value = key.replace("to_attn_logits", "to_logits"), value[..., 0]
        out[key] = (source_key, value)
    return out


def import_enformer(
    source: str | Path,
    seq_len: int | None = None,
    **hparams: Any,
) -> tuple[nn.Module, dict[str, Any]]:
    """Build regzoo's Enformer holding an enformer-pytorch checkpoint's weights.

    Args:
        source: checkpoint folder (``config.json`` + weights) or a bare state-dict file.
        seq_len: input length; default ``128 * 1536 = 196,608`` for the published
            ``target_length=896, num_downsamples=7``, else required.
        **hparams: EnformerConfig fields overriding / replacing ``config.json``.

    Returns:
        the model (eval mode) and task metadata (label names ``human:0`` ...).
    """
    source = Path(source)
    state, config, weights_path = _read_source(source, hparams)
    if config.get("use_convnext"):
        raise InputError(
            f"{source}: use_convnext=True checkpoints are not the Enformer of the paper"
        )
    heads = dict(config["output_heads"])
    names = list(heads)
    if names[:1] != ["human"] or set(names) - {"human", "mouse"}:
        raise InputError(
            f"{source}: output_heads {names}: regzoo's Enformer has a 'human' head and an optional "
            "'mouse' head"
        )
    bin_size = 2 ** int(config["num_downsamples"])
    if seq_len is None:
        if int(config["target_length"]) != 896 or bin_size != 128:
            raise InputError(
                f"{source}: give --seq-len (the input length) for target_length="
                f"{config['target_length']}, num_downsamples={config['num_downsamples']}"
            )
        seq_len = 196_608
    model_args = {
        "channels": int(config["dim"]),
        "tower_blocks": int(config["num_downsamples"]) - 1,
        "channels_divisible_by": int(config["dim_divisible_by"]),
        "transformer_layers": int(config["depth"]),
        "n_heads": int(config["heads"]),
        "key_size": int(config["attn_dim_key"]),
        "dropout": float(config["dropout_rate"]),
        "attn_dropout": float(config["attn_dropout"]),
        "pos_dropout": float(config["pos_dropout"]),
        "target_bins": int(config["target_length"]),
        "n_tasks_mouse": int(heads["mouse"]) if "mouse" in heads else None,
        "gamma_norm": "feature" if config.get("use_tf_gamma") else "distance",
    }
    model = create("enformer", seq_len=int(seq_len), n_tasks=int(heads["human"]), **model_args)
    builder = StateBuilder(model, weights_path)
    for key, (source_key, value) in _normalise(state).items():
        if key in builder.state:
            builder.set(key, value, f"state-dict key {source_key!r}")
    model = builder.load()
    labels = [f"{head}:{i}" for head in names[:1] for i in range(int(heads[head]))]
    task = {"task_type": "regression", "label_names": labels, "seq_len": int(seq_len)}
    return model, task
