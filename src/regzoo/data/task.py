"""The task contract shared by training, evaluation and comparison.

A :class:`TaskData` holds one supervised problem with its three fixed, disjoint splits. Every
builder (bundled tasks, tables, genome + intervals) returns one, so ``train`` and ``compare`` never
care where the data came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from torch.utils.data import Dataset

TaskType = Literal["binary", "multilabel", "multiclass", "regression", "profile"]
TASK_TYPES: tuple[str, ...] = ("binary", "multilabel", "multiclass", "regression", "profile")
NO_AUGMENTATION = {"rc": False, "max_shift": 0, "reason": "none"}


def resolve_augmentation(
    rc_augment: bool | None, max_shift: int | None, default_rc: bool, default_shift: int, why: str
) -> dict:
    """The augmentation a task trains with: the user's choice where given, else the data's default.

    Returns ``{"rc": bool, "max_shift": int, "reason": str}``; ``reason`` says which values were
    the user's and why the defaults are what they are (it is printed at start and saved)."""
    if max_shift is not None and max_shift < 0:
        from regzoo.errors import InputError

        raise InputError(f"max_shift must be >= 0, got {max_shift}")
    chosen = []
    if rc_augment is None:
        rc_augment = default_rc
    else:
        chosen.append("reverse complement")
    if max_shift is None:
        max_shift = default_shift
    else:
        chosen.append("shift")
    reason = why if not chosen else f"{' and '.join(chosen)} set by the user; otherwise {why}"
    return {"rc": bool(rc_augment), "max_shift": int(max_shift), "reason": reason}


def describe_augmentation(aug: dict) -> str:
    """One line for the terminal: ``augmentation: reverse complement + shifts up to 3 bp (...)``."""
    parts = []
    if aug.get("rc"):
        parts.append("reverse complement")
    if aug.get("max_shift"):
        parts.append(f"shifts up to {aug['max_shift']} bp")
    what = " + ".join(parts) if parts else "none"
    return f"augmentation: {what} ({aug.get('reason', '')})"


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
        augmentation: what ``train_augmented`` does and why: ``{"rc": bool, "max_shift": int,
            "reason": str}``. Builders choose it (off for user files, whose strand semantics
            are unknown; per task for bundled ones) unless the user passes ``rc_augment`` /
            ``max_shift``; training records it with the model.
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
    augmentation: dict = field(default_factory=lambda: dict(NO_AUGMENTATION))

    @property
    def n_tasks(self) -> int:
        """Number of model outputs."""
        return len(self.label_names)

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)}


def window_totals(task: TaskData) -> TaskData:
    """A profile task as a regression task for sequence-level models: per track, ``log1p`` of the
    coverage summed over the window's target bins."""
    from dataclasses import replace

    from regzoo.data.datasets import WindowTotals

    if task.task_type != "profile":
        raise ValueError(f"window_totals needs a profile task, not {task.task_type}")
    summary = {
        **task.summary,
        "task_type": "regression",
        "targets": "log1p of each track's coverage summed over the window's target bins",
    }
    return replace(
        task,
        name=f"{task.name} (window totals)",
        task_type="regression",
        train=WindowTotals(task.train),
        valid=WindowTotals(task.valid),
        test=WindowTotals(task.test),
        train_augmented=WindowTotals(task.train_augmented or task.train),
        summary=summary,
    )


def for_output(task: TaskData, output_kind: str) -> TaskData:
    """The task as a model with ``output_kind`` (``scalar`` or ``profile``) sees it: a profile
    task served to a sequence-level model becomes :func:`window_totals`; anything else is
    returned as is."""
    if task.task_type == "profile" and output_kind != "profile":
        return window_totals(task)
    return task
