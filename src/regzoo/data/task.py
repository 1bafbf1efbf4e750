"""The task contract shared by training, evaluation and comparison.

A :class:`TaskData` holds one supervised problem with its three fixed, disjoint splits. Every
builder (bundled tasks, tables, genome + intervals) returns one, so ``train`` and ``compare`` never
care where the data came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from torch.utils.data import Dataset

TaskType = Literal["binary", "multilabel", "multiclass", "regression"]
TASK_TYPES: tuple[str, ...] = ("binary", "multilabel", "multiclass", "regression")


@dataclass
class TaskData:
    """One supervised task with train / valid / test splits.

    Attributes:
        name: short name (``"promoters"``, a file name, ...).
        task_type: ``binary`` | ``multilabel`` | ``multiclass`` | ``regression``.
        label_names: one name per output (for ``multiclass``, one per class).
        seq_len: input length in bases.
        train, valid, test: datasets yielding ``(x (4, seq_len), y (n_labels,))``. For
            ``multiclass`` ``y`` holds one float class index.
        summary: plain-JSON description: source files, sizes, class balance, split rule.
        train_augmented: the training set with augmentations on (defaults to ``train``).
    """

    name: str
    task_type: str
    label_names: list[str]
    seq_len: int
    train: Dataset
    valid: Dataset
    test: Dataset
    summary: dict = field(default_factory=dict)
    train_augmented: Dataset | None = None

    @property
    def n_tasks(self) -> int:
        """Number of model outputs."""
        return len(self.label_names)

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)}
