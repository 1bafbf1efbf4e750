"""Import published weights into regzoo models: ``import_weights(arch, source, out_dir)``.

One small module per source format; each returns the regzoo model holding the converted
weights and the task metadata, and :func:`import_weights` saves them as a regzoo model folder
(safetensors + config.json) that ``regzoo.saved.load``, ``regzoo predict`` and ``regzoo compare``
use like any trained model. Loading never unpickles arbitrary objects.

========== =============================================== =====================================
arch       source                                          module
========== =============================================== =====================================
enformer   enformer-pytorch folder (config.json + weights) :mod:`regzoo.weights.enformer_pytorch`
           or a bare state dict + hyper-parameters
basenji    Basenji2 Keras HDF5 (h5py, no TensorFlow)       :mod:`regzoo.weights.basenji_keras`
deepsea    Kipoi ``deepsea_cpu.pth`` / Selene state dict   :mod:`regzoo.weights.kipoi_torch`
basset     Kipoi ``pretrained_model_reloaded_th.pth``      :mod:`regzoo.weights.kipoi_torch`
danq       ``DanQ_bestmodel.hdf5`` (Keras 0.2.0)           :mod:`regzoo.weights.danq_keras`
deepbind   official ``D#####.###.txt`` parameter files     :mod:`regzoo.weights.deepbind_params`
========== =============================================== =====================================
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn

from regzoo.errors import InputError, unknown_name
from regzoo.weights._io import load_state_dict_file, read_labels
from regzoo.weights.basenji_keras import import_basenji
from regzoo.weights.danq_keras import import_danq
from regzoo.weights.deepbind_params import import_deepbind
from regzoo.weights.enformer_pytorch import import_enformer
from regzoo.weights.kipoi_torch import import_basset, import_deepsea

Importer = Callable[..., tuple[nn.Module, dict[str, Any]]]
IMPORTERS: dict[str, Importer] = {
    "enformer": import_enformer,
    "basenji": import_basenji,
    "deepsea": import_deepsea,
    "basset": import_basset,
    "danq": import_danq,
    "deepbind": import_deepbind,
}

__all__ = ["IMPORTERS", "import_weights", "load_state_dict_file", "read_labels"]


def import_weights(
    arch: str,
    source: str | Path,
    out_dir: str | Path,
    label_names: list[str] | None = None,
    **options: Any,
) -> Path:
    """Convert published weights of ``arch`` and save them as a regzoo model folder.

    Args:
        arch: one of :data:`IMPORTERS`.
        source: the published file or folder.
        out_dir: the regzoo model folder to write.
        label_names: one name per output track (default: from the source, else
            ``task0`` ...).
        **options: importer options (``seq_len``, ``channels``, hyper-parameters; see each
            importer).

    Returns:
        ``out_dir``.
    """
    from regzoo.saved import save_model

    if arch not in IMPORTERS:
        raise unknown_name("importable architecture", arch, list(IMPORTERS))
    options = {k: v for k, v in options.items() if v is not None}
    model, task = IMPORTERS[arch](source, **options)
    n_tasks = int(model.regzoo_config["n_tasks"])
    labels = label_names or task.get("label_names") or [f"task{i}" for i in range(n_tasks)]
    if len(labels) != n_tasks:
        raise InputError(f"{len(labels)} label names for {n_tasks} outputs of the {arch} weights")
    task = {
        **task,
        "name": f"imported:{arch}",
        "label_names": list(labels),
        "n_tasks": n_tasks,
        "source": {"arch": arch, "path": str(Path(source).resolve())},
    }
    return save_model(out_dir, model, task, training={"imported_from": str(source)})
