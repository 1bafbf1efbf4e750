"""Task types: their loss, their output activation and their metrics (torchmetrics).

One place decides, for each task type, how logits become probabilities, which loss trains it and
which metrics score it. The Lightning module and ``evaluate`` both use it, so training-time
validation and the final test report are computed the same way (and synchronised under DDP).
"""

from __future__ import annotations

import math

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

MISSING = -1  # missing binary / multilabel targets (NaN in the data) become this; metrics skip it

# metric used to pick the best epoch and to rank models, and whether higher is better
PRIMARY_METRIC = {
    "binary": ("auroc", "max"),
    "multilabel": ("auroc", "max"),
    "multiclass": ("accuracy", "max"),
    "regression": ("pearson", "max"),
    "profile": ("pearson", "max"),  # per-track Pearson over bins (log1p), mean over tracks
}


def check_task_type(task_type: str) -> str:
    if task_type not in TASK_TYPES:
        raise unknown_name("task type", task_type, TASK_TYPES)
    return task_type


def make_metrics(task_type: str, n_tasks: int, names: list[str] | None = None) -> MetricCollection:
    """The metrics of a task type, macro-averaged over tasks where there are several.

    binary / multilabel: ``auroc``, ``auprc`` (average precision), ``accuracy`` (threshold 0.5),
    ``mcc``; multiclass: the same over ``n_tasks`` classes; regression: ``pearson``, ``spearman``
    (mean over tasks), ``mse``.
    """
    check_task_type(task_type)
    if task_type == "profile":
        from regzoo.train.profile import ProfileMetrics

        return MetricCollection({"profile": ProfileMetrics(n_tasks, names)})
    if task_type == "binary" and n_tasks == 1:
        metrics = {
            "auroc": BinaryAUROC(ignore_index=MISSING),
            "auprc": BinaryAveragePrecision(ignore_index=MISSING),
            "accuracy": BinaryAccuracy(ignore_index=MISSING),
            "mcc": BinaryMatthewsCorrCoef(ignore_index=MISSING),
        }
    elif task_type in ("binary", "multilabel"):
        kw = {"num_labels": n_tasks, "ignore_index": MISSING}
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
    if task_type == "profile":
        return scores, target  # ProfileMetrics takes (B, tracks, bins)
    if scores.ndim == 3:
        scores = scores.transpose(1, 2).reshape(-1, scores.shape[1])
        target = target.transpose(1, 2).reshape(-1, target.shape[1])
    if task_type == "multiclass":
        return scores, target.reshape(-1).long()
    if task_type in ("binary", "multilabel"):
        target = torch.nan_to_num(target, nan=MISSING).long()
        if scores.shape[1] == 1 and task_type == "binary":
            return scores[:, 0], target[:, 0]
        return scores, target
    known = ~torch.isnan(target).any(1)  # regression: rows with a missing value are skipped
    if not known.all():
        scores, target = scores[known], target[known]
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
    task_type: str,
    output: torch.Tensor,
    target: torch.Tensor,
    output_kind: str = "scalar",
    profile_loss: str = "poisson",
) -> torch.Tensor:
    """The training loss: BCE with logits (binary, multilabel), cross-entropy (multiclass), MSE
    (regression) or Poisson NLL for profile models, whose softplus output is a rate.

    Missing targets (NaN; ``missing_labels="mask"``) are left out: the loss is the mean over the
    known entries."""
    if task_type == "multiclass":
        return F.cross_entropy(output, target.reshape(-1).long())
    if task_type == "profile":
        from regzoo.train.profile import profile_loss as profile_loss_fn

        return profile_loss_fn(profile_loss, output, target)
    known = ~torch.isnan(target)
    if not known.all():
        output, target = output[known], target[known]
    if task_type in ("binary", "multilabel"):
        return F.binary_cross_entropy_with_logits(output, target)
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


def _one_label(task_type: str, p: torch.Tensor, t: torch.Tensor) -> tuple[dict, str | None]:
    """Metrics of one label ``(N,)`` on its known rows; undefined ones are NaN, with the reason."""
    from torchmetrics.functional import pearson_corrcoef, spearman_corrcoef
    from torchmetrics.functional.classification import (
        binary_accuracy,
        binary_auroc,
        binary_average_precision,
        binary_matthews_corrcoef,
    )

    known = ~torch.isnan(t)
    p, t = p[known], t[known]
    nan = float("nan")
    if task_type in ("binary", "multilabel"):
        n_pos = int(t.sum())
        out = {"auroc": nan, "auprc": nan, "accuracy": nan, "mcc": nan}
        if len(t) == 0:
            return out, "no known labels"
        out["accuracy"] = float(binary_accuracy(p, t.long()))
        if n_pos in (0, len(t)):
            return out, f"only {'negatives' if n_pos == 0 else 'positives'} ({len(t)} items)"
        t = t.long()
        out["auroc"] = float(binary_auroc(p, t))
        out["auprc"] = float(binary_average_precision(p, t))
        hard = (p >= 0.5).long()
        # predictions all of one class: MCC 0 by convention (as scikit-learn), not undefined
        out["mcc"] = float(binary_matthews_corrcoef(p, t)) if 0 < int(hard.sum()) < len(t) else 0.0
        return out, None
    out = {"pearson": nan, "spearman": nan, "mse": nan}
    if len(t) == 0:
        return out, "no known values"
    out["mse"] = float(torch.mean((p - t) ** 2))
    if len(t) < 2 or float(t.std()) == 0:
        return out, f"constant target ({len(t)} items)"
    if float(p.std()) == 0:
        return out, "constant prediction"
    out["pearson"] = float(pearson_corrcoef(p.double(), t.double()))
    out["spearman"] = float(spearman_corrcoef(p.double(), t.double()))
    return out, None


def score_by_label(
    task_type: str,
    preds: torch.Tensor,
    targets: torch.Tensor,
    label_names: list[str] | None = None,
) -> tuple[dict[str, float], dict[str, dict[str, float]], dict[str, str]]:
    """Test metrics, macro-averaged and per label, with undefined metrics as NaN (never 0).

    Args:
        preds: activated predictions ``(N, n_tasks)`` (profiles ``(N, T, bins)`` are flattened
            per bin); targets: same shape, NaN where a label is missing.
        label_names: one per output (classes for multiclass).

    Returns:
        ``(macro, per_label, undefined)``: ``macro`` maps metric -> mean over the labels where it
        is defined (NaN if none); ``per_label`` maps label -> metric -> value; ``undefined`` maps
        each label with an undefined metric to the reason (e.g. "only negatives (120 items)").
        Multiclass: macro AUROC/AUPRC one-vs-rest per class; accuracy and MCC over all items.
    """
    p, t = torch.as_tensor(preds).double(), torch.as_tensor(targets).double()
    if task_type == "profile":
        return _score_profile(p, t, label_names)
    if p.ndim == 3:
        p = p.transpose(1, 2).reshape(-1, p.shape[1])
        t = t.transpose(1, 2).reshape(-1, t.shape[1])
    names = list(label_names) if label_names else [f"task{i}" for i in range(p.shape[1])]
    per_label, undefined = {}, {}
    if task_type == "multiclass":
        classes = t.reshape(-1).long()
        for k, name in enumerate(names):
            one, why = _one_label("binary", p[:, k], (classes == k).double())
            per_label[name] = {"auroc": one["auroc"], "auprc": one["auprc"]}
            if why:
                undefined[name] = why
        macro = {m: _nanmean([v[m] for v in per_label.values()]) for m in ("auroc", "auprc")}
        hard = p.argmax(1)
        macro["accuracy"] = float((hard == classes).double().mean()) if len(classes) else math.nan
        present = int(classes.unique().numel())
        macro["mcc"] = (
            float(MulticlassMatthewsCorrCoef(num_classes=len(names))(hard, classes))
            if present > 1 and int(hard.unique().numel()) > 1
            else math.nan
        )
        return macro, per_label, undefined
    for k, name in enumerate(names):
        per_label[name], why = _one_label(task_type, p[:, k], t[:, k])
        if why:
            undefined[name] = why
    metrics = next(iter(per_label.values())).keys()
    macro = {m: _nanmean([v[m] for v in per_label.values()]) for m in metrics}
    return macro, per_label, undefined


def _nanmean(values: list[float]) -> float:
    known = [v for v in values if not math.isnan(v)]
    return float(sum(known) / len(known)) if known else math.nan


def _score_profile(p: torch.Tensor, t: torch.Tensor, names: list[str] | None):
    """Profile metrics (:class:`regzoo.train.profile.ProfileMetrics`) in score_by_label's form."""
    from regzoo.train.profile import profile_metrics

    names = list(names) if names else [f"track{i}" for i in range(p.shape[1])]
    values = profile_metrics(p.float(), t.float(), names)
    macro = {k: v for k, v in values.items() if "/" not in k}
    per_label, undefined = {}, {}
    for name in names:
        per_label[name] = {
            m: values[f"{m}/{name}"] for m in ("pearson", "pearson_total", "spearman")
        }
        if math.isnan(per_label[name]["pearson"]):
            undefined[name] = "constant coverage or prediction"
    return macro, per_label, undefined
