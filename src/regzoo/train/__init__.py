"""Training with Lightning: the task-aware LightningModule, fit, evaluate."""

from regzoo.train.fit import (
    FitResult,
    build_model,
    evaluate,
    fit,
    predict_dataset,
    primary_metric,
    score,
    train_model,
)
from regzoo.train.module import SeqModule

__all__ = [
    "FitResult",
    "SeqModule",
    "build_model",
    "evaluate",
    "fit",
    "predict_dataset",
    "primary_metric",
    "score",
    "train_model",
]
