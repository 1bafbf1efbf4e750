"""Training with Lightning: the task-aware LightningModule, fit, evaluate."""

from regzoo.train.fit import (
    Evaluation,
    FitResult,
    build_model,
    evaluate,
    evaluate_detailed,
    fit,
    predict_dataset,
    primary_metric,
    score,
    train_model,
)
from regzoo.train.module import SeqModule

__all__ = [
    "Evaluation",
    "FitResult",
    "SeqModule",
    "build_model",
    "evaluate",
    "evaluate_detailed",
    "fit",
    "predict_dataset",
    "primary_metric",
    "score",
    "train_model",
]
