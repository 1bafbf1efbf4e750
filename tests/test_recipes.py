"""Published training recipes: optimiser numbers, gradient clipping, fit-argument overrides."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch import nn

from regzoo.data.synthetic import planted_motif_task
from regzoo.models import list_models
from regzoo.train.fit import fit
from regzoo.train.module import SeqModule
from regzoo.train.recipes import RECIPES, Recipe, fit_args_for, recipe_for

BASE = {
    "max_epochs": 10,
    "batch_size": 64,
    "lr": 1e-3,
    "patience": 2,
    "budget_minutes": None,
    "augment": True,
    "profile_loss": "poisson",
}


def _module(**kwargs) -> SeqModule:
    model = nn.Sequential(nn.Flatten(), nn.Linear(4 * 8, 1))
    return SeqModule(model, "binary", 1, **kwargs)


def _recipe_module(recipe: Recipe) -> SeqModule:
    """A module built the way :func:`fit` builds it from a recipe's fit arguments."""
    args = recipe.fit_args()
    return _module(
        lr=args["lr"],
        weight_decay=args.get("weight_decay", 1e-6),
        optimizer=args["optimizer"],
        momentum=args.get("momentum"),
    )


EXPECTED_CLASS = {
    "adamw": torch.optim.AdamW,
    "adam": torch.optim.Adam,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_builds_its_optimiser_with_exactly_its_numbers(name):
    recipe = RECIPES[name]
    optimizer = _recipe_module(recipe).configure_optimizers()
    assert type(optimizer) is EXPECTED_CLASS[recipe.optimizer]
    (group,) = optimizer.param_groups
    assert group["lr"] == recipe.lr
    if recipe.weight_decay is not None:
        assert group["weight_decay"] == recipe.weight_decay
    if recipe.optimizer == "sgd":
        assert group["momentum"] == recipe.momentum
    if recipe.optimizer == "rmsprop":
        # Torch7/Keras RMSprop: the recipe's "momentum" is the squared-gradient decay
        assert group["alpha"] == recipe.momentum
        assert group["momentum"] == 0.0
        assert group["centered"] is False


def test_published_numbers():
    """The table in the report; a change here must come with a new source."""
    table = {name: recipe.fit_args() for name, recipe in RECIPES.items()}
    assert table == {
        "basset": {
            "optimizer": "rmsprop",
            "lr": 0.002,
            "momentum": 0.98,
            "weight_decay": 0.0,
            "batch_size": 128,
        },
        "danq": {
            "optimizer": "rmsprop",
            "lr": 0.001,
            "momentum": 0.9,
            "weight_decay": 0.0,
            "batch_size": 100,
        },
        "basenji": {
            "optimizer": "sgd",
            "lr": 0.15,
            "momentum": 0.99,
            "weight_decay": 0.0,
            "batch_size": 4,
            "gradient_clip": 2.0,
        },
        "enformer": {"optimizer": "adam", "lr": 0.0005, "weight_decay": 0.0, "gradient_clip": 0.2},
    }


def test_every_recipe_names_a_source_and_a_zoo_architecture():
    for name, recipe in RECIPES.items():
        assert name in list_models()
        assert len(recipe.source.strip()) > 20, name
        assert "[unverified]" not in recipe.source, name


def test_recipe_requires_a_source_and_a_known_optimiser():
    with pytest.raises(ValueError, match="source"):
        Recipe(optimizer="sgd", lr=0.1, source=" ")
    with pytest.raises(ValueError, match="optimizer"):
        Recipe(optimizer="lbfgs", lr=0.1, source="somewhere")


def test_optimiser_defaults_and_existing_signature():
    # the positional signature callers already use keeps working
    model = nn.Sequential(nn.Flatten(), nn.Linear(32, 1))
    legacy = SeqModule(model, "binary", 1, 3e-3, 1e-5, "sgd").configure_optimizers()
    assert legacy.param_groups[0]["momentum"] == 0.9  # unchanged default
    assert legacy.param_groups[0]["lr"] == 3e-3
    assert type(_module().configure_optimizers()) is torch.optim.AdamW
    rms = _module(optimizer="rmsprop").configure_optimizers().param_groups[0]
    assert rms["alpha"] == 0.99 and rms["momentum"] == 0.0
    sgd = _module(optimizer="sgd", momentum=0.5).configure_optimizers().param_groups[0]
    assert sgd["momentum"] == 0.5


def test_optimiser_rejects_unknown_name_and_momentum_for_adam():
    with pytest.raises(ValueError, match="rmsprop"):
        _module(optimizer="lbfgs").configure_optimizers()
    with pytest.raises(ValueError, match="momentum"):
        _module(optimizer="adam", momentum=0.9).configure_optimizers()


def test_fit_args_for_overrides_only_what_the_recipe_sets():
    base = dict(BASE)
    args, description = fit_args_for("enformer", base)
    assert base == BASE  # not modified
    recipe = RECIPES["enformer"]
    for key, value in BASE.items():
        if key not in recipe.fit_args():
            assert args[key] == value, key
    assert args["batch_size"] == 64  # enformer's recipe leaves the batch size alone
    assert args["optimizer"] == "adam" and args["lr"] == 0.0005
    assert args["gradient_clip"] == 0.2
    assert set(args) == set(BASE) | set(recipe.fit_args())
    assert "published" in description and "adam" in description

    args, description = fit_args_for("Basenji", base)
    assert args["batch_size"] == 4 and args["momentum"] == 0.99 and args["max_epochs"] == 10
    assert "clip 2" in description


def test_architecture_without_recipe_keeps_the_shared_settings():
    for name in ("deepbind", "deepsea", "expresnet", "deepsite", "deep6mapred"):
        assert recipe_for(name) is None
        args, description = fit_args_for(name, BASE)
        assert args == BASE and args is not BASE
        assert "no published" in description and "shared" in description


class _StepSize(L.Callback):
    """Records the trainer's clip setting and the size of every parameter update.

    With plain SGD (no momentum, no weight decay) an update is ``lr`` times the gradient as
    clipped, so its norm shows the clipping Lightning applied."""

    def __init__(self) -> None:
        self.clip_vals: list[float | None] = []
        self.steps: list[float] = []
        self._before: torch.Tensor | None = None

    @staticmethod
    def _flat(pl_module) -> torch.Tensor:
        return torch.cat([p.detach().flatten().clone() for p in pl_module.parameters()])

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.clip_vals.append(trainer.gradient_clip_val)
        self._before = self._flat(pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.steps.append(float((self._flat(pl_module) - self._before).norm()))


@pytest.fixture(scope="module")
def tiny_task():
    return planted_motif_task(n_train=96, n_valid=32, n_test=32, seq_len=30, seed=0)


LR = 0.5


def _fit_tiny(task, gradient_clip, monkeypatch):
    """Fit a linear model for two epochs; capture the clipping as Lightning applied it."""
    recorder = _StepSize()
    original = L.Trainer.__init__

    def with_recorder(self, *args, **kwargs):
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), recorder]
        original(self, *args, **kwargs)

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4 * task.seq_len, 1))
    with monkeypatch.context() as patch:
        patch.setattr(L.Trainer, "__init__", with_recorder)
        result = fit(
            model,
            task,
            max_epochs=2,
            batch_size=32,
            lr=LR,
            weight_decay=0.0,
            optimizer="sgd",
            momentum=0.0,
            augment=False,
            progress=False,
            gradient_clip=gradient_clip,
        )
    return result, recorder


def test_gradient_clip_reaches_the_trainer(tiny_task, monkeypatch):
    clipped, clipped_rec = _fit_tiny(tiny_task, 1e-4, monkeypatch)
    free, free_rec = _fit_tiny(tiny_task, None, monkeypatch)
    assert clipped_rec.clip_vals and set(clipped_rec.clip_vals) == {1e-4}
    assert set(free_rec.clip_vals) == {None}
    # every clipped update is lr x a gradient of global norm <= the clip; unclipped ones are
    # far larger
    assert max(clipped_rec.steps) <= LR * 1e-4 * 1.001
    assert min(free_rec.steps) > 100 * LR * 1e-4
    assert clipped.settings["gradient_clip"] == 1e-4 and free.settings["gradient_clip"] is None
    assert clipped.settings["momentum"] == 0.0
    # and the weights moved differently
    w_clipped = clipped.model[1].weight.detach()
    w_free = free.model[1].weight.detach()
    assert not torch.allclose(w_clipped, w_free)
