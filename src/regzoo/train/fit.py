"""Training, evaluation and prediction.

``train_model`` is the one call most users need: seed, build the architecture for the task, fit it
with Lightning (early stopping, best-checkpoint restore, CSV metrics, progress bar, CPU/GPU/DDP
chosen by Lightning), and return the best model with its history.
"""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch import nn
from torch.utils.data import DataLoader, Dataset

from regzoo.data.task import TaskData
from regzoo.train.metrics import PRIMARY_METRIC, activate, score_by_label
from regzoo.train.module import SeqModule


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        model: the model with the best validation weights restored, in eval mode.
        history: one dict per epoch: ``epoch``, ``train/loss``, ``val/loss``, ``val/<metric>``.
        epochs: epochs run; best_epoch: the epoch whose weights were kept (0-based).
        wall_time_s: training wall time; stopped_by: ``early_stopping``, ``max_epochs`` or
            ``budget``.
        metrics_csv: Lightning's CSV log, when ``out_dir`` was given.
        global_rank, world_size: under DDP every process returns its own result (identical
            weights); write files from ``global_rank == 0`` only.
    """

    model: nn.Module
    history: list[dict[str, float]] = field(default_factory=list)
    epochs: int = 0
    best_epoch: int = 0
    wall_time_s: float = 0.0
    stopped_by: str = "max_epochs"
    metrics_csv: Path | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    global_rank: int = 0
    world_size: int = 1


class _History(Callback):
    """Keeps the logged metrics of every epoch (rank 0).

    Read at the end of the training epoch: validation has run by then and the module's
    epoch-end metrics are logged (callbacks' validation hooks run before the module's)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []
        self.start = time.perf_counter()

    def on_train_start(self, trainer, pl_module) -> None:
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        row: dict[str, float] = {
            "epoch": trainer.current_epoch,
            "time_s": round(time.perf_counter() - self.start, 3),  # training time so far
        }
        row.update(
            {
                k: float(v)
                for k, v in trainer.callback_metrics.items()
                if k.startswith(("val/", "train/"))
            }
        )
        self.rows.append(row)


def _quiet_lightning() -> None:
    """Keep Lightning's start-up chatter (GPU available..., tips) out of the user's terminal."""
    import logging
    import warnings

    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
    # epoch metrics come from torchmetrics, whose compute() already syncs across DDP ranks
    warnings.filterwarnings(
        "ignore", message=".*when logging on epoch level in distributed setting.*"
    )


def build_model(name: str, task: TaskData, **overrides: Any) -> nn.Module:
    """``models.create`` for a task: its ``seq_len`` and ``n_tasks``; a profile architecture
    gets its scalar head (``output="scalar"``) unless the task's targets are profiles."""
    from regzoo.models import card, create

    is_profile = card(name).output == "profile"
    if task.task_type == "profile":
        if not is_profile:
            from regzoo.errors import RegzooError

            raise RegzooError(
                f"{name} predicts one value per sequence; profile (coverage) targets need a "
                "profile model: basenji or enformer"
            )
        from regzoo.train.profile import profile_model_overrides

        bins = profile_model_overrides(task.summary["bin_size"], task.summary["n_bins"])
        overrides = {**bins, **overrides}
    elif is_profile and "output" not in overrides:
        target_shape = tuple(task.train[0][1].shape)
        if len(target_shape) == 1:
            overrides["output"] = "scalar"
    return create(name, seq_len=task.seq_len, n_tasks=task.n_tasks, **overrides)


def fit(
    model: nn.Module,
    task: TaskData,
    *,
    max_epochs: int = 20,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 1e-6,
    optimizer: str = "adamw",
    profile_loss: str = "poisson",
    patience: int = 3,
    budget_minutes: float | None = None,
    out_dir: str | Path | None = None,
    augment: bool = True,
    accelerator: str = "auto",
    devices: int | str = "auto",
    strategy: str = "auto",
    num_workers: int = 0,
    progress: bool = True,
    seed: int = 0,
    momentum: float | None = None,
    gradient_clip: float | None = None,
) -> FitResult:
    """Fit ``model`` on ``task.train``, early-stopping on ``val/loss``; restore the best epoch.

    Multi-GPU / multi-node: pass ``devices``/``strategy`` (e.g. ``strategy="ddp"``) — Lightning
    launches the processes; metrics are synchronised across ranks.

    ``momentum``: SGD momentum, or RMSprop's squared-gradient decay (see
    :class:`~regzoo.train.module.SeqModule`); ``gradient_clip``: maximum global L2 norm of the
    gradients (Lightning's ``gradient_clip_val``), ``None`` for no clipping.
    """
    start = time.perf_counter()
    module = SeqModule(
        model,
        task.task_type,
        task.n_tasks,
        lr,
        weight_decay,
        optimizer,
        profile_loss=profile_loss,
        label_names=list(task.label_names),
        momentum=momentum,
    )
    train_set = (
        task.train_augmented if (augment and task.train_augmented is not None) else task.train
    )
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(
        train_set,
        batch_size=batch_size,
        shuffle=True,
        num_workers=num_workers,
        generator=generator,
        drop_last=len(train_set) > batch_size,
    )
    valid_loader = DataLoader(task.valid, batch_size=batch_size * 2, num_workers=num_workers)
    history = _History()
    _quiet_lightning()
    with tempfile.TemporaryDirectory(prefix="regzoo-ckpt-") as ckpt_dir:
        checkpoint = ModelCheckpoint(
            dirpath=ckpt_dir, monitor="val/loss", mode="min", save_top_k=1, save_weights_only=True
        )
        early = EarlyStopping(monitor="val/loss", mode="min", patience=patience)
        logger = CSVLogger(str(out_dir), name="logs", version="") if out_dir else False
        trainer = L.Trainer(
            max_epochs=max_epochs,
            max_time=timedelta(minutes=budget_minutes) if budget_minutes else None,
            accelerator=accelerator,
            devices=devices,
            strategy=strategy,
            callbacks=[checkpoint, early, history],
            logger=logger,
            enable_progress_bar=progress,
            enable_model_summary=False,
            enable_checkpointing=True,
            num_sanity_val_steps=0,
            deterministic="warn",
            log_every_n_steps=max(1, min(50, len(train_loader))),
            gradient_clip_val=gradient_clip,
        )
        trainer.fit(module, train_loader, valid_loader)
        best_epoch = (
            int(np.argmin([r.get("val/loss", math.inf) for r in history.rows]))
            if history.rows
            else 0
        )
        if checkpoint.best_model_path:
            state = torch.load(checkpoint.best_model_path, map_location="cpu", weights_only=True)
            module.load_state_dict(state["state_dict"])
        trainer.strategy.barrier()  # under DDP, rank 0 owns the checkpoint folder: all read first
    wall = time.perf_counter() - start
    epochs = trainer.current_epoch
    if early.stopped_epoch > 0:
        stopped_by = "early_stopping"
    elif epochs < max_epochs:
        stopped_by = "budget"
    else:
        stopped_by = "max_epochs"
    model = module.model.cpu().eval()
    metrics_csv = Path(out_dir) / "logs" / "metrics.csv" if out_dir else None
    return FitResult(
        model=model,
        history=history.rows,
        epochs=epochs,
        best_epoch=best_epoch,
        wall_time_s=wall,
        stopped_by=stopped_by,
        metrics_csv=metrics_csv if metrics_csv and metrics_csv.exists() else None,
        global_rank=trainer.global_rank,
        world_size=trainer.world_size,
        settings={
            "max_epochs": max_epochs,
            "batch_size": batch_size,
            "lr": lr,
            "weight_decay": weight_decay,
            "optimizer": optimizer,
            "momentum": momentum,
            "gradient_clip": gradient_clip,
            "profile_loss": profile_loss if task.task_type == "profile" else None,
            "patience": patience,
            "budget_minutes": budget_minutes,
            "augment": augment,
            "augmentation": dict(task.augmentation)
            if augment
            else {"rc": False, "max_shift": 0, "reason": "switched off (augment=False)"},
            "seed": seed,
            "monitor": "val/loss",
            "accelerator": type(trainer.accelerator).__name__.replace("Accelerator", "").lower(),
            "devices": trainer.num_devices,
            "num_nodes": trainer.num_nodes,
            "strategy": type(trainer.strategy).__name__,
            "world_size": trainer.world_size,
        },
    )


def train_model(
    name: str, task: TaskData, *, seed: int = 0, model_args: dict | None = None, **fit_args: Any
) -> FitResult:
    """Seed everything, build architecture ``name`` for ``task`` and :func:`fit` it.

    ``model_args`` go to :func:`regzoo.models.create` (e.g. ``{"compact": True}``);
    ``fit_args`` to :func:`fit`. Same seed, same data, same device -> same numbers.
    """
    L.seed_everything(seed, workers=True, verbose=False)
    model = build_model(name, task, **(model_args or {}))
    return fit(model, task, seed=seed, **fit_args)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@torch.no_grad()
def predict_dataset(
    model: nn.Module,
    dataset: Dataset,
    task_type: str,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``model`` over a labelled dataset -> ``(predictions, targets)`` as numpy arrays.

    Predictions are activated (probabilities for classification)."""
    device = torch.device(device) if device else default_device()
    model = model.to(device).eval()
    output_kind = getattr(model, "output_kind", "scalar")
    preds, targets = [], []
    for x, y in DataLoader(dataset, batch_size=batch_size):
        out = model(x.to(device))
        preds.append(activate(task_type, out, output_kind).float().cpu())
        targets.append(y)
    return torch.cat(preds).numpy(), torch.cat(targets).numpy()


def score(
    task_type: str, preds: np.ndarray, targets: np.ndarray, label_names: list[str] | None = None
) -> dict[str, float]:
    """The task type's metrics of predictions against targets, macro-averaged over labels.

    Undefined metrics (AUROC of a split with one class, Pearson of a constant) are NaN, never 0;
    see :func:`regzoo.train.metrics.score_by_label`."""
    return score_by_label(task_type, torch.as_tensor(preds), torch.as_tensor(targets), label_names)[
        0
    ]


@dataclass
class Evaluation:
    """Metrics of a model on one split: macro-averaged, per label, and which are undefined."""

    metrics: dict[str, float]
    per_label: dict[str, dict[str, float]]
    undefined: dict[str, str]
    n: int
    preds: np.ndarray | None = field(default=None, repr=False)  # activated, in dataset order
    targets: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "metrics": self.metrics,
            "per_label": self.per_label,
            "undefined": self.undefined,
        }


def evaluate_detailed(
    model: nn.Module,
    dataset: Dataset,
    task_type: str,
    label_names: list[str] | None = None,
    batch_size: int = 256,
    device: str | None = None,
) -> Evaluation:
    """:func:`evaluate` with per-label metrics and the reasons for undefined ones."""
    preds, targets = predict_dataset(model, dataset, task_type, batch_size, device)
    macro, per_label, undefined = score_by_label(
        task_type, torch.as_tensor(preds), torch.as_tensor(targets), label_names
    )
    return Evaluation(macro, per_label, undefined, len(dataset), preds, targets)


def evaluate(
    model: nn.Module,
    dataset: Dataset,
    task_type: str,
    batch_size: int = 256,
    device: str | None = None,
) -> dict[str, float]:
    """Metrics of ``model`` on a labelled dataset (e.g. ``task.test``), macro-averaged; undefined
    ones are NaN."""
    preds, targets = predict_dataset(model, dataset, task_type, batch_size, device)
    return score(task_type, preds, targets)


def primary_metric(task_type: str) -> str:
    return PRIMARY_METRIC[task_type][0]
