"""Task types: their loss, their output activation and their metrics (torchmetrics).

One place decides, for each task type, how logits become probabilities, which loss trains it and
which metrics score it. The Lightning module and ``evaluate`` both use it, so training-time
validation and the final test report are computed the same way (and synchronised under DDP).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchmetrics import MeanSquaredError, MetricCollection, PearsonCorrCoef, SpearmanCorrCoef
from torchmetrics.classification import (
    BinaryAccuracy,
    BinaryAUROC,
    BinaryAveragePrecision,
    BinaryMatthewsCorrCoef,
    MulticlassAccuracy,
    MulticlassAUROC,
    MulticlassAveragePrecision,
    MulticlassMatthewsCorrCoef,
    MultilabelAccuracy,
    MultilabelAUROC,
    MultilabelAveragePrecision,
    MultilabelMatthewsCorrCoef,
)

from regzoo.data.task import TASK_TYPES
from regzoo.errors import unknown_name

# metric used to pick the best epoch and to rank models, and whether higher is better
PRIMARY_METRIC = {
    "binary": ("auroc", "max"),
    "multilabel": ("auroc", "max"),
    "multiclass": ("accuracy", "max"),
    "regression": ("pearson", "max"),
}


def check_task_type(task_type: str) -> str:
    if task_type not in TASK_TYPES:
        raise unknown_name("task type", task_type, TASK_TYPES)
    return task_type


def make_metrics(task_type: str, n_tasks: int) -> MetricCollection:
    """The metrics of a task type, macro-averaged over tasks where there are several.

    binary / multilabel: ``auroc``, ``auprc`` (average precision), ``accuracy`` (threshold 0.5),
    ``mcc``; multiclass: the same over ``n_tasks`` classes; regression: ``pearson``, ``spearman``
    (mean over tasks), ``mse``.
    """
    check_task_type(task_type)
    if task_type == "binary" and n_tasks == 1:
        metrics = {
            "auroc": BinaryAUROC(),
            "auprc": BinaryAveragePrecision(),
            "accuracy": BinaryAccuracy(),
            "mcc": BinaryMatthewsCorrCoef(),
        }
    elif task_type in ("binary", "multilabel"):
        kw = {"num_labels": n_tasks}
        metrics = {
            "auroc": MultilabelAUROC(average="macro", **kw),
            "auprc": MultilabelAveragePrecision(average="macro", **kw),
            "accuracy": MultilabelAccuracy(average="macro", **kw),
            "mcc": MultilabelMatthewsCorrCoef(**kw),
        }
    elif task_type == "multiclass":
        kw = {"num_classes": n_tasks}
        metrics = {
            "auroc": MulticlassAUROC(average="macro", **kw),
            "auprc": MulticlassAveragePrecision(average="macro", **kw),
            "accuracy": MulticlassAccuracy(average="micro", **kw),
            "mcc": MulticlassMatthewsCorrCoef(**kw),
        }
    else:
        metrics = {
            "pearson": PearsonCorrCoef(num_outputs=n_tasks),
            "spearman": SpearmanCorrCoef(num_outputs=n_tasks),
            "mse": MeanSquaredError(),
        }
    return MetricCollection(metrics)


def prepare_for_metrics(
    task_type: str, scores: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Shape predictions and targets as the metrics expect.

    ``scores`` are activated outputs (probabilities, or values for regression). Profile outputs
    ``(B, T, bins)`` are scored per bin: flattened to ``(B * bins, T)``.
    """
    if scores.ndim == 3:
        scores = scores.transpose(1, 2).reshape(-1, scores.shape[1])
        target = target.transpose(1, 2).reshape(-1, target.shape[1])
    if task_type == "multiclass":
        return scores, target.reshape(-1).long()
    if task_type in ("binary", "multilabel"):
        target = target.long()
        if scores.shape[1] == 1 and task_type == "binary":
            return scores[:, 0], target[:, 0]
        return scores, target
    if scores.shape[1] == 1:
        return scores[:, 0], target[:, 0]
    return scores, target


def activate(task_type: str, output: torch.Tensor, output_kind: str = "scalar") -> torch.Tensor:
    """Model output -> prediction: sigmoid (binary, multilabel), softmax over classes
    (multiclass), identity (regression; profile models already end in softplus)."""
    if task_type in ("binary", "multilabel"):
        return torch.sigmoid(output)
    if task_type == "multiclass":
        return torch.softmax(output, dim=1)
    return output


def loss_fn(
    task_type: str, output: torch.Tensor, target: torch.Tensor, output_kind: str = "scalar"
) -> torch.Tensor:
    """The training loss: BCE with logits (binary, multilabel), cross-entropy (multiclass), MSE
    (regression) or Poisson NLL for profile models, whose softplus output is a rate."""
    if task_type in ("binary", "multilabel"):
        return F.binary_cross_entropy_with_logits(output, target)
    if task_type == "multiclass":
        return F.cross_entropy(output, target.reshape(-1).long())
    if output_kind == "profile":
        return F.poisson_nll_loss(output, target, log_input=False)
    return F.mse_loss(output, target)


def summarise(values: dict[str, torch.Tensor]) -> dict[str, float]:
    """MetricCollection output -> plain floats (multi-output metrics averaged, NaN-safe)."""
    out = {}
    for name, value in values.items():
        value = torch.as_tensor(value, dtype=torch.float64)
        out[name] = float(torch.nanmean(value)) if value.numel() > 1 else float(value)
    return out
