"""Small, generic helpers for the model-zoo tests (plain torch; no Lightning).

``fit_planted(model, task, epochs, lr)`` trains any scalar-output model on a binary
:class:`~regzoo.data.task.TaskData` (e.g. ``planted_motif_task``) with Adam and
BCE-with-logits, and returns the test-set AUROC. ``run_cli(capsys, monkeypatch, *args)`` runs the
``regzoo`` entry point in this process and returns ``(exit code, stdout, stderr)``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import Dataset
from torchmetrics.functional.classification import binary_auroc

from regzoo.data.task import TaskData


def run_cli(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    """``regzoo ARGS`` through :func:`regzoo.cli.main` -> ``(exit code, stdout, stderr)``."""
    import sys

    from regzoo.cli import main

    monkeypatch.setattr(sys, "argv", ["regzoo", *args])
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def dataset_tensors(dataset: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack a dataset of ``(x (4, L), y (n_tasks,))`` items into ``(N, 4, L)``, ``(N, n_tasks)``."""
    xs, ys = zip(*(dataset[i] for i in range(len(dataset))), strict=True)
    return torch.stack(xs), torch.stack(ys)


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Eval-mode logits ``(N, n_tasks)`` for ``x`` ``(N, 4, L)``, in batches."""
    model.eval()
    return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def fit_planted(
    model: nn.Module,
    task: TaskData,
    epochs: int = 5,
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
    rc_augment: bool = True,
) -> float:
    """Train ``model`` on ``task.train`` (Adam, BCE-with-logits) and return the test AUROC.

    Args:
        model: maps ``(batch, 4, L)`` to ``(batch, n_tasks)`` logits.
        task: a binary task (labels 0/1), e.g. ``regzoo.data.synthetic.planted_motif_task()``.
        epochs: passes over the training set (shuffled each epoch).
        lr: Adam learning rate.
        batch_size: training batch size.
        seed: seed of the shuffling (and of anything random in the model's training mode).
        rc_augment: reverse-complement a random half of each training batch (for strand-
            symmetric tasks such as the planted motif, which is planted on either strand).

    Returns:
        AUROC of the first output on ``task.test``, in eval mode.
    """
    torch.manual_seed(seed)
    x_train, y_train = dataset_tensors(task.train)
    x_test, y_test = dataset_tensors(task.test)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x_train))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            if len(idx) < 2:  # batch norm needs 2+ samples
                continue
            x = x_train[idx]
            if rc_augment:
                flip = torch.rand(len(idx)) < 0.5
                x = torch.where(flip[:, None, None], x.flip(1, 2), x)
            optimizer.zero_grad()
            loss = loss_fn(model(x), y_train[idx])
            loss.backward()
            optimizer.step()
    scores = predict(model, x_test)[:, 0]
    return float(binary_auroc(scores, y_test[:, 0].long()))
