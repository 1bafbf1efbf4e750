"""The LightningModule: any regzoo model + a task type (its loss, metrics and optimiser)."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn
from torchmetrics import Metric

from regzoo.train.metrics import (
    activate,
    check_task_type,
    loss_fn,
    make_metrics,
    prepare_for_metrics,
    summarise,
)


class _MeanLoss(Metric):
    """Mean of the batch losses weighted by batch size, as Lightning averages a logged loss; a
    NaN loss stays NaN (torchmetrics' ``MeanMetric`` drops NaNs, or ignores weights when told
    not to). ``regzoo.train.fit`` carries its sums in mid-epoch checkpoints."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("total", torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0.0), dist_reduce_fx="sum")

    def update(self, loss: torch.Tensor, n: int) -> None:
        self.total += loss.detach().float() * n
        self.count += n

    def compute(self) -> torch.Tensor:
        return self.total / self.count


class SeqModule(L.LightningModule):
    """Wraps a model from :func:`regzoo.models.create` for a task.

    Args:
        model: takes ``(batch, 4, L)``, returns ``(batch, n_tasks)`` logits or, for profile models,
            ``(batch, n_tasks, n_bins)`` rates.
        task_type: ``binary`` | ``multilabel`` | ``multiclass`` | ``regression`` | ``profile``.
        profile_loss: ``poisson`` | ``multinomial`` | ``mse`` for profile tasks
            (:mod:`regzoo.train.profile`).
        n_tasks: number of outputs (classes for multiclass).
        lr, weight_decay: learning rate and weight decay of the optimiser (decoupled for
            ``adamw``, an L2 term added to the gradient for ``adam``, ``sgd`` and ``rmsprop``).
        optimizer: ``adamw`` (default), ``adam``, ``sgd`` or ``rmsprop``.
        momentum: for ``sgd`` the heavy-ball momentum (default 0.9); for ``rmsprop`` the decay of
            the running mean of squared gradients, ``torch.optim.RMSprop``'s ``alpha`` (default
            0.99) — what Torch7's ``optim.rmsprop`` calls ``alpha``, Basset's job files
            ``momentum`` and Keras ``rho``; neither of those RMSprops has heavy-ball momentum, so
            none is used. Not accepted for ``adam``/``adamw``.

    Logged per epoch: ``train/loss``, ``val/loss`` and ``val/<metric>`` for every metric of the
    task type (see :func:`regzoo.train.metrics.make_metrics`), synchronised across DDP ranks.
    """

    def __init__(
        self,
        model: nn.Module,
        task_type: str,
        n_tasks: int,
        lr: float = 1e-3,
        weight_decay: float = 1e-6,
        optimizer: str = "adamw",
        profile_loss: str = "poisson",
        label_names: list[str] | None = None,
        momentum: float | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.task_type = check_task_type(task_type)
        self.output_kind = getattr(model, "output_kind", "scalar")
        self.lr = lr
        self.weight_decay = weight_decay
        self.optimizer_name = optimizer
        self.momentum = momentum
        self.profile_loss = profile_loss
        if task_type == "profile" and self.output_kind != "profile":
            raise ValueError("profile targets need a profile model (basenji, enformer)")
        self.val_metrics = make_metrics(task_type, n_tasks, label_names).clone(prefix="val/")
        # the epoch's mean training loss; its running sums resume with a mid-epoch checkpoint
        self.train_loss = _MeanLoss()
        self.test_metrics = make_metrics(task_type, n_tasks, label_names).clone(prefix="test/")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def _step(self, batch):
        x, y = batch
        output = self.model(x)
        return output, y, loss_fn(self.task_type, output, y, self.output_kind, self.profile_loss)

    def training_step(self, batch, batch_idx):
        _, _, loss = self._step(batch)
        self.train_loss.update(loss, len(batch[1]))
        self.log("train/loss", self.train_loss, on_step=False, on_epoch=True, prog_bar=True)
        return loss

    def _eval_step(self, batch, metrics, stage: str):
        output, y, loss = self._step(batch)
        scores = activate(self.task_type, output, self.output_kind)
        metrics.update(*prepare_for_metrics(self.task_type, scores, y))
        self.log(f"{stage}/loss", loss, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True)

    def validation_step(self, batch, batch_idx):
        self._eval_step(batch, self.val_metrics, "val")

    def test_step(self, batch, batch_idx):
        self._eval_step(batch, self.test_metrics, "test")

    def _log_metrics(self, metrics) -> None:
        values = summarise(metrics.compute())
        self.log_dict(values, prog_bar=False, sync_dist=False)
        metrics.reset()

    def on_validation_epoch_end(self) -> None:
        self._log_metrics(self.val_metrics)

    def on_test_epoch_end(self) -> None:
        self._log_metrics(self.test_metrics)

    def configure_optimizers(self):
        params = self.model.parameters()
        name, momentum = self.optimizer_name, self.momentum
        if name == "sgd":
            return torch.optim.SGD(
                params,
                lr=self.lr,
                momentum=0.9 if momentum is None else momentum,
                weight_decay=self.weight_decay,
            )
        if name == "rmsprop":
            return torch.optim.RMSprop(
                params,
                lr=self.lr,
                alpha=0.99 if momentum is None else momentum,
                momentum=0.0,
                weight_decay=self.weight_decay,
            )
        if name not in ("adamw", "adam"):
            raise ValueError(f"optimizer must be 'adamw', 'adam', 'sgd' or 'rmsprop', not {name!r}")
        if momentum is not None:
            raise ValueError(f"momentum applies to 'sgd' and 'rmsprop', not {name!r}")
        optimizer_class = torch.optim.AdamW if name == "adamw" else torch.optim.Adam
        return optimizer_class(params, lr=self.lr, weight_decay=self.weight_decay)
