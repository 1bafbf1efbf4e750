"""Training, evaluation and prediction.

``train_model`` is the one call most users need: seed, build the architecture for the task, fit it
with Lightning (early stopping, best-checkpoint restore, CSV metrics, progress bar, CPU/GPU/DDP
chosen by Lightning), and return the best model with its history.

Crash-safe training: with a ``checkpoint_dir`` (the CLI uses ``OUT/checkpoints``), :func:`fit`
writes ``last.ckpt`` every ``checkpoint_every`` optimizer steps and at the end of every epoch, and
``best.ckpt`` (weights) whenever the monitored validation metric improves (``monitor``: the
loss, or for coverage tracks the Pearson correlation, see :func:`resolve_monitor`), each to a
temporary name in that folder and renamed. ``fit(..., resume=True)`` continues from ``last.ckpt`` through Lightning's
``ckpt_path``. The checkpoint also carries what Lightning does not restore by itself, so that a
run killed mid-epoch ends exactly as an uninterrupted one with the same seed (single process,
``num_workers=0``): the position in the epoch's shuffled order (the shuffling generator's state
at the epoch start and the batches served), the global random streams that augmentation and
dropout draw from, the epoch's running training loss, the learning curve and training time
(``_History``), and whether training had already stopped. Lightning restores the weights,
optimizer, epoch and step, early stopping and the time budget. With DataLoader workers the
order resumes but the workers' augmentation streams start afresh; under DDP (Lightning's
DistributedSampler) a resumed epoch starts its batches over: close, not identical. Every
checkpoint regzoo writes loads with ``torch.load(weights_only=True)``, Lightning's resume too.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import shutil
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
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.strategies import SingleDeviceStrategy
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler

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
    epoch-end metrics are logged (callbacks' validation hooks run before the module's).
    Its rows and the training time so far travel in checkpoints: ``time_s`` of a resumed run
    counts the training time up to the checkpoint plus the time since the resumption (not the
    work lost between the checkpoint and the kill)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []
        self.start = time.perf_counter()
        self.before_s = 0.0  # training time of earlier processes (a resumed run)

    def elapsed(self) -> float:
        return self.before_s + time.perf_counter() - self.start

    def on_train_start(self, trainer, pl_module) -> None:
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        row: dict[str, float] = {
            "epoch": trainer.current_epoch,
            "time_s": round(self.elapsed(), 3),  # training time so far
        }
        row.update(
            {
                k: float(v)
                for k, v in trainer.callback_metrics.items()
                if k.startswith(("val/", "train/"))
            }
        )
        self.rows.append(row)

    def state_dict(self) -> dict[str, Any]:
        return {"rows": [dict(r) for r in self.rows], "elapsed_s": self.elapsed()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rows = [dict(r) for r in state_dict["rows"]]
        self.before_s = float(state_dict["elapsed_s"])


def _rng_state() -> dict[str, Any]:
    """The global random streams (torch, CUDA, numpy, python) as plain types and tensors, so a
    checkpoint holding them loads with ``torch.load(weights_only=True)``."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class _SkippingBatches(BatchSampler):
    """``BatchSampler`` that can start its next pass ``skip`` batches in (indices only: the
    skipped examples are never read)."""

    skip = 0

    def __iter__(self):
        skip, self.skip = self.skip, 0
        batches = super().__iter__()
        for _ in range(skip):
            next(batches, None)
        yield from batches


class _ResumableLoader(DataLoader):
    """The shuffled training loader, able to continue an epoch part-way through.

    The same batches as ``DataLoader(shuffle=True, generator=generator)``, in the same order
    (the same draws from ``generator``). Its state: the generator's state at the start of the
    current pass and the batches served in it; at the end of a pass, the generator's state for
    the next one. Loading a state makes the next pass replay the interrupted one from the
    first batch not yet served, with the global random streams as they were at the checkpoint
    (with ``num_workers=0`` the augmentations draw from them in this process). Lightning sees
    ``state_dict``/``load_state_dict`` and treats the loader as resumable."""

    def __init__(self, dataset, *, batch_size, drop_last, generator, num_workers=0):
        batches = _SkippingBatches(
            RandomSampler(dataset, generator=generator), batch_size, drop_last
        )
        super().__init__(
            dataset, batch_sampler=batches, num_workers=num_workers, generator=generator
        )
        self._pass_start = generator.get_state()
        self._served = 0
        self._pending: dict[str, Any] | None = None

    def __iter__(self):
        return self._pass()

    def _pass(self):
        pending, self._pending = self._pending, None
        if pending is not None:
            self.generator.set_state(pending["generator"])
            self.batch_sampler.skip = int(pending["served"])
        self._pass_start = self.generator.get_state()
        self._served = int(pending["served"]) if pending is not None else 0
        batches = super().__iter__()
        if pending is not None:
            _set_rng_state(pending["rng"])
        for batch in batches:
            self._served += 1
            yield batch

    def state_dict(self) -> dict[str, Any]:
        finished = self._served >= len(self)
        return {
            "generator": self.generator.get_state() if finished else self._pass_start,
            "served": 0 if finished else self._served,
            "rng": _rng_state(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending = state_dict


class _ResumeState(Callback):
    """Writes into every checkpoint, and restores from it, what a resumption needs beyond
    Lightning's own state: the training loader's position and the random streams (also when
    the checkpoint closes an epoch, where Lightning would not load the loader's state), the
    epoch's running training loss, and whether training had stopped (early stopping or the
    budget: a run killed after its last checkpoint and before it was saved ends at once)."""

    def __init__(self, loader: _ResumableLoader | None) -> None:
        self.loader = loader
        self.stopped = False

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        state: dict[str, Any] = {"stopped": bool(trainer.should_stop)}
        logger = trainer.logger
        if isinstance(logger, CSVLogger) and trainer.is_global_zero:
            logger.save()  # the CSV now holds every row logged before this checkpoint
            path = Path(logger.experiment.metrics_file_path)
            state["csv_rows"] = _count_csv_rows(path)
            epoch = trainer.fit_loop.epoch_progress.current
            if epoch.processed > epoch.completed and "train/loss" in trainer.callback_metrics:
                # at an epoch end: Lightning logs the epoch's training row after this hook
                state["epoch_row"] = {
                    "epoch": trainer.current_epoch,
                    "step": trainer.global_step - 1,
                    "train/loss": float(trainer.callback_metrics["train/loss"]),
                }
        if self.loader is not None:
            state["loader"] = self.loader.state_dict()
            mid_epoch = state["loader"]["served"] > 0
            loss = getattr(pl_module, "train_loss", None)
            if loss is not None and mid_epoch:
                state["train_loss"] = {"total": loss.total.cpu(), "count": loss.count.cpu()}
        checkpoint["regzoo_resume"] = state

    def on_load_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        state = checkpoint.get("regzoo_resume", {})
        self.stopped = bool(state.get("stopped", False))
        if self.loader is not None and "loader" in state:
            self.loader.load_state_dict(state["loader"])
        loss = getattr(pl_module, "train_loss", None)
        if loss is not None and "train_loss" in state:
            loss.total = state["train_loss"]["total"].to(loss.total.device)
            loss.count = state["train_loss"]["count"].to(loss.count.device)

    def on_train_start(self, trainer, pl_module) -> None:
        if self.stopped:
            trainer.should_stop = True


class _StepCheckpoint(ModelCheckpoint):
    """``last.ckpt`` every N optimizer steps, except on an epoch's last batch: the epoch-end
    checkpoint follows its validation, and Lightning resumes a checkpoint taken on the last
    batch, before validation, without validating that epoch."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
            return
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)


def _count_csv_rows(path: Path) -> int:
    if not path.is_file():
        return 0
    with open(path, newline="") as handle:
        return max(0, sum(1 for _ in handle) - 1)


class _AtomicCheckpointIO(TorchCheckpointIO):
    """Writes each checkpoint to a temporary file in its own folder, flushes it to disk and
    renames it: a kill never leaves a partial ``last.ckpt``. (Lightning's own writer goes
    through a temporary file in the system temp folder, which is a copy, not a rename, when
    that folder is on another file system.) Reads with ``weights_only=True``."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as handle:
                torch.save(checkpoint, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def load_checkpoint(self, path, map_location=None, weights_only=None):
        return torch.load(path, map_location=map_location or "cpu", weights_only=True)


MONITORS = ("auto", "val/loss", "val/pearson")
# task types whose validation metrics include ``pearson`` (logged as ``val/pearson``)
_PEARSON_TASKS = ("profile", "regression")


def resolve_monitor(monitor: str, task_type: str) -> tuple[str, str]:
    """The validation metric that early stopping and the best epoch follow, and its mode.

    ``auto``: ``val/pearson`` (max) for profile (coverage-track) tasks, ``val/loss`` (min)
    otherwise. Basenji's trainer (calico/basenji ``trainer.py``) stops early and keeps the best
    model on validation Pearson for every loss but binary cross-entropy: on heavy-tailed coverage
    the Poisson loss stops improving within an epoch or two while Pearson still rises.
    ``val/pearson`` is accepted for the task types that log it (profile, regression)."""
    from regzoo.errors import RegzooError

    if monitor not in MONITORS:
        raise RegzooError(f"monitor {monitor!r}; expected one of {', '.join(MONITORS)}")
    if monitor == "auto":
        monitor = "val/pearson" if task_type == "profile" else "val/loss"
    if monitor == "val/pearson" and task_type not in _PEARSON_TASKS:
        raise RegzooError(
            f"monitor 'val/pearson': {task_type} tasks log no validation Pearson "
            f"(only {' and '.join(_PEARSON_TASKS)} tasks do); expected auto or val/loss"
        )
    return monitor, "max" if monitor == "val/pearson" else "min"


def describe_monitor(monitor: str, task_type: str, patience: int) -> str:
    """One line for the start of a run: what early stopping and the best epoch follow."""
    name, mode = resolve_monitor(monitor, task_type)
    line = f"early stopping and best epoch: {name} ({mode}), patience {patience}"
    if monitor == "auto" and name == "val/pearson":
        line += " — Basenji's rule for coverage tracks; --monitor val/loss for the loss"
    return line


def _best_epoch(rows: list[dict[str, float]], name: str, mode: str) -> int:
    """The epoch (0-based) with the best ``name``, the one Lightning's ModelCheckpoint keeps: the
    first of ties; a NaN (a constant prediction's Pearson, a diverged loss) never wins; 0 if
    every epoch is NaN."""
    values = np.array([r.get(name, math.nan) for r in rows], dtype=float)
    if not len(values) or np.isnan(values).all():
        return 0
    return int(np.nanargmax(values) if mode == "max" else np.nanargmin(values))


LAST, BEST = "last.ckpt", "best.ckpt"
DEFAULT_CHECKPOINT_EVERY = 500  # optimizer steps; epoch ends always


def _launch_rank() -> int:
    """This process's global rank as launchers set it before Lightning starts (0 alone)."""
    for var in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return 0


def _logged_rows(out_dir: Path, resume_state: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of ``out_dir/logs/metrics.csv`` logged up to a checkpoint (the resumed run logs
    the rest again), plus the epoch's training row when the checkpoint closed an epoch (logged
    after it)."""
    import csv

    path = out_dir / "logs" / "metrics.csv"
    n_rows = int(resume_state.get("csv_rows", 0))
    rows: list[dict[str, Any]] = []
    if path.is_file() and n_rows:
        with open(path, newline="") as handle:
            for k, row in enumerate(csv.DictReader(handle)):
                if k >= n_rows:
                    break
                rows.append({k: float(v) for k, v in row.items() if v not in ("", None)})
    if resume_state.get("epoch_row"):
        rows.append({k: float(v) for k, v in resume_state["epoch_row"].items()})
    for row in rows:
        for key in ("epoch", "step"):
            if key in row:
                row[key] = int(row[key])
    return rows


def _budget_spent(trainer: L.Trainer) -> bool:
    """Whether Lightning's wall-clock timer (``max_time``, from ``budget_minutes``) ran out."""
    from lightning.pytorch.callbacks import Timer

    for callback in trainer.callbacks:
        if isinstance(callback, Timer):
            remaining = callback.time_remaining()
            return remaining is not None and remaining <= 0
    return False


def last_checkpoint(checkpoint_dir: str | Path) -> Path | None:
    """``checkpoint_dir/last.ckpt`` if an interrupted run left one there, else None."""
    path = Path(checkpoint_dir) / LAST
    return path if path.is_file() else None


def checkpoint_info(path: str | Path) -> dict[str, Any]:
    """Epoch and optimizer step of a checkpoint, and whether training had stopped (read with
    ``weights_only=True``)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    extra = state.get("regzoo_resume", {})
    return {
        "epoch": int(state.get("epoch", 0)),
        "global_step": int(state.get("global_step", 0)),
        "stopped": bool(extra.get("stopped", False)),
        "resume_state": {k: v for k, v in extra.items() if k in ("csv_rows", "epoch_row")},
    }


def remove_checkpoints(checkpoint_dir: str | Path) -> None:
    """Delete a finished run's checkpoint folder (call it once the model is saved)."""
    shutil.rmtree(checkpoint_dir, ignore_errors=True)


def _quiet_lightning() -> None:
    """Keep Lightning's start-up chatter (GPU available..., tips) out of the user's terminal."""
    import logging
    import warnings

    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
    # a resumed run writes into its own checkpoint and log folders
    warnings.filterwarnings("ignore", message=".*Checkpoint directory .* exists and is not empty.*")
    warnings.filterwarnings(
        "ignore", message=".*Experiment logs directory .* exists and is not empty.*"
    )
    # epoch metrics come from torchmetrics, whose compute() already syncs across DDP ranks
    warnings.filterwarnings(
        "ignore", message=".*when logging on epoch level in distributed setting.*"
    )


def build_model(name: str, task: TaskData, **overrides: Any) -> nn.Module:
    """``models.create`` for a task: its ``seq_len`` and ``n_tasks``; a profile architecture
    gets its scalar head (``output="scalar"``) unless the task's targets are profiles, and then
    starts predicting each track's mean training coverage
    (:func:`regzoo.train.profile.init_output_bias`; :func:`fit` records it in its settings as
    ``init_output_bias``)."""
    from regzoo.models import card, create

    is_profile = card(name).output == "profile"
    if task.task_type == "profile":
        if not is_profile:
            from regzoo.errors import RegzooError

            raise RegzooError(
                f"{name} predicts one value per sequence; profile (coverage) targets need a "
                "profile model: basenji or enformer"
            )
        from regzoo.train.profile import (
            init_output_bias,
            profile_model_overrides,
            train_track_means,
        )

        bins = profile_model_overrides(task.summary["bin_size"], task.summary["n_bins"])
        model = create(name, seq_len=task.seq_len, n_tasks=task.n_tasks, **{**bins, **overrides})
        # fit() saves this in its settings; the CLI prints it at the start of a run
        model.regzoo_init_output_bias = init_output_bias(model, train_track_means(task))
        return model
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
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    resume: bool = False,
    callbacks: list[Callback] | None = None,
    monitor: str = "auto",
) -> FitResult:
    """Fit ``model`` on ``task.train`` with early stopping; restore the best epoch.

    ``monitor``: the validation metric early stopping (``patience`` epochs) and the best epoch
    follow: ``auto`` (``val/pearson``, maximised, for profile tasks, as Basenji's trainer does;
    ``val/loss``, minimised, otherwise), ``val/loss`` or ``val/pearson`` (profile and regression
    tasks); see :func:`resolve_monitor`. A NaN Pearson epoch (constant predictions) counts as no
    improvement and does not stop training.

    Multi-GPU / multi-node: pass ``devices``/``strategy`` (e.g. ``strategy="ddp"``) — Lightning
    launches the processes; metrics are synchronised across ranks.

    ``momentum``: SGD momentum, or RMSprop's squared-gradient decay (see
    :class:`~regzoo.train.module.SeqModule`); ``gradient_clip``: maximum global L2 norm of the
    gradients (Lightning's ``gradient_clip_val``), ``None`` for no clipping.

    ``checkpoint_dir``: where to keep ``last.ckpt`` (every ``checkpoint_every`` optimizer steps,
    0 for epoch ends only, and at the end of every epoch) and ``best.ckpt``; ``None`` keeps only
    the best weights, in a temporary folder. ``resume=True`` continues the run whose
    ``last.ckpt`` is in ``checkpoint_dir`` (same model, task and arguments; see the module
    docstring for what is restored); a fresh start removes that folder's old checkpoints. The
    checkpoints stay after training: :func:`remove_checkpoints` once the model is saved.
    ``callbacks``: more Lightning callbacks.
    """
    from regzoo.errors import RegzooError

    start = time.perf_counter()
    if checkpoint_every < 0:
        raise RegzooError(f"checkpoint_every={checkpoint_every}; expected 0 (epoch ends) or more")
    if resume and checkpoint_dir is None:
        raise RegzooError("resume=True needs the checkpoint_dir of the interrupted run")
    monitor_name, monitor_mode = resolve_monitor(monitor, task.task_type)
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
    drop_last = len(train_set) > batch_size
    n_batches = (
        len(train_set) // batch_size if drop_last else math.ceil(len(train_set) / batch_size)
    )
    valid_loader = DataLoader(task.valid, batch_size=batch_size * 2, num_workers=num_workers)
    history = _History()
    resume_state = _ResumeState(None)
    _quiet_lightning()
    folder = (
        tempfile.TemporaryDirectory(prefix="regzoo-ckpt-")
        if checkpoint_dir is None
        else contextlib.nullcontext(str(checkpoint_dir))
    )
    with folder as ckpt_dir:
        resume_from = last_checkpoint(ckpt_dir) if resume else None
        if resume and resume_from is None:
            raise RegzooError(f"{ckpt_dir}: no checkpoint to resume from ({LAST} is missing)")
        if checkpoint_dir is not None and not resume and _launch_rank() == 0:
            for name in (LAST, BEST):  # an earlier run's checkpoints must not mix in
                (Path(ckpt_dir) / name).unlink(missing_ok=True)
        best = ModelCheckpoint(
            dirpath=ckpt_dir,
            filename="best",
            monitor=monitor_name,
            mode=monitor_mode,  # a NaN value counts as the worst (Lightning's ModelCheckpoint)
            save_top_k=1,
            save_weights_only=True,
            enable_version_counter=False,
        )
        checkpoints = [best]
        if checkpoint_dir is not None:
            # last.ckpt: full state (optimizer, loops, callbacks) at each epoch end ...
            checkpoints.append(
                ModelCheckpoint(
                    dirpath=ckpt_dir,
                    filename="last",
                    every_n_epochs=1,
                    enable_version_counter=False,
                )
            )
            if checkpoint_every:  # ... and every N optimizer steps
                checkpoints.append(
                    _StepCheckpoint(
                        dirpath=ckpt_dir,
                        filename="last",
                        every_n_train_steps=checkpoint_every,
                        enable_version_counter=False,
                    )
                )
        early = EarlyStopping(
            monitor=monitor_name,
            mode=monitor_mode,
            patience=patience,
            # a NaN loss stops training; a NaN Pearson (constant predictions, as early in
            # training) is no improvement
            check_finite=monitor_name == "val/loss",
        )
        logger = False
        resumed = checkpoint_info(resume_from) if resume_from else None
        if out_dir:
            kept_rows = _logged_rows(Path(out_dir), resumed["resume_state"]) if resumed else []
            logger = CSVLogger(str(out_dir), name="logs", version="")
            for row in kept_rows:  # CSVLogger deletes an existing metrics.csv
                step = int(row.pop("step"))
                logger.log_metrics(row, step=step)
        trainer = L.Trainer(
            max_epochs=max_epochs,
            max_time=timedelta(minutes=budget_minutes) if budget_minutes else None,
            accelerator=accelerator,
            devices=devices,
            strategy=strategy,
            callbacks=[*checkpoints, early, history, resume_state, *(callbacks or [])],
            logger=logger,
            plugins=[_AtomicCheckpointIO()],
            enable_progress_bar=progress,
            enable_model_summary=False,
            enable_checkpointing=True,
            num_sanity_val_steps=0,
            deterministic="warn",
            log_every_n_steps=max(1, min(50, n_batches)),
            gradient_clip_val=gradient_clip,
        )
        generator = torch.Generator().manual_seed(seed)
        if not isinstance(trainer.strategy, SingleDeviceStrategy):
            # DDP & co.: Lightning replaces the sampler with a DistributedSampler
            train_loader = DataLoader(
                train_set,
                batch_size=batch_size,
                shuffle=True,
                num_workers=num_workers,
                generator=generator,
                drop_last=drop_last,
            )
        else:
            train_loader = _ResumableLoader(
                train_set,
                batch_size=batch_size,
                drop_last=drop_last,
                generator=generator,
                num_workers=num_workers,
            )
            resume_state.loader = train_loader
        trainer.fit(module, train_loader, valid_loader, ckpt_path=resume_from, weights_only=True)
        best_epoch = _best_epoch(history.rows, monitor_name, monitor_mode)
        if best.best_model_path:
            state = torch.load(best.best_model_path, map_location="cpu", weights_only=True)
            module.load_state_dict(state["state_dict"])
        trainer.strategy.barrier()  # under DDP, rank 0 owns the checkpoint folder: all read first
    wall = history.before_s + time.perf_counter() - start  # a resumed run counts both
    epochs = trainer.current_epoch
    if early.stopped_epoch > 0:
        stopped_by = "early_stopping"
    elif epochs < max_epochs or _budget_spent(trainer):
        stopped_by = "budget"  # also when the budget cut the last allowed epoch short
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
            "monitor": monitor_name,
            "monitor_mode": monitor_mode,
            # whether build_model started the output at each track's mean training coverage
            "init_output_bias": bool(getattr(model, "regzoo_init_output_bias", False)),
            "checkpoint_every": checkpoint_every if checkpoint_dir is not None else None,
            "resumed_from": (
                {k: resumed[k] for k in ("epoch", "global_step")} if resumed else None
            ),
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
