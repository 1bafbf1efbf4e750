"""Published training recipes: each architecture trained as its authors trained it.

``--recipe published`` replaces the shared optimiser settings (AdamW, one learning rate and batch
size for every architecture) with the optimiser, learning rate, momentum, weight decay, batch size
and gradient clipping that the paper or the official code used, where one of them gives a recipe.
Architectures without a published recipe keep the shared settings, and the description returned by
:func:`fit_args_for` says so.

Every number below was read from the source cited in :attr:`Recipe.source` (official repository
files at the commit given, or the code the authors ran). What the source did that regzoo's
training loop cannot reproduce (max-norm weight constraints, L1 penalties, learning-rate warm-up,
per-tensor gradient clipping, optimiser epsilon placement) is listed in :attr:`Recipe.notes`;
those parts of the recipe are not applied.

No recipe (shared settings apply):

- **deepbind**: hyper-parameters (learning rate, momentum, dropout, ...) were calibrated by random
  search separately for every experiment; there is no single recipe to follow.
- **deepsea**: the paper and the official Torch7 training code (deepsea.princeton.edu tarball) could
  not be read with the tools available; the L2/L1/max-norm/momentum values quoted elsewhere are
  second-hand and are not used.
- **expresnet**, **deepsite**, **deep6mapred**: no official code or methods text with training
  settings was found (see ``ARCHITECTURES.md``, "Audit against the official code").

Optimiser semantics (:class:`regzoo.train.module.SeqModule`): ``sgd`` is ``torch.optim.SGD`` with
heavy-ball ``momentum`` (equivalent to Keras' SGD update at a constant learning rate); ``rmsprop``
is ``torch.optim.RMSprop`` whose ``alpha`` (the decay of the running mean of squared gradients)
is the recipe's ``momentum`` — Torch7 ``optim.rmsprop`` calls it ``alpha``, Basset's job files call
it ``momentum``, Keras calls it ``rho`` — with no heavy-ball momentum, as in both Torch7 and Keras.
``gradient_clip`` is Lightning's ``gradient_clip_val``: the *global* L2 norm over all parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OPTIMIZERS = ("adamw", "adam", "sgd", "rmsprop")

# The fit arguments a recipe may set, in the order descriptions list them.
_FIELDS = ("optimizer", "lr", "momentum", "weight_decay", "batch_size", "gradient_clip")


@dataclass(frozen=True)
class Recipe:
    """One architecture's published training recipe.

    Attributes:
        optimizer: ``adamw`` | ``adam`` | ``sgd`` | ``rmsprop``.
        lr: learning rate (the constant rate, or the target rate after a warm-up; see ``notes``).
        momentum: SGD momentum, or RMSprop's squared-gradient decay (``alpha``/``rho``);
            ``None`` leaves the optimiser's default.
        weight_decay: L2 coefficient (coupled L2 for ``adam``/``sgd``/``rmsprop``, decoupled for
            ``adamw``); ``0.0`` where the source used none. ``None`` keeps the shared value.
        batch_size: sequences per update; ``None`` keeps the shared value.
        gradient_clip: maximum global gradient L2 norm; ``None`` for no clipping.
        source: where every number comes from (repository, file, commit or paper section).
        notes: what the source did that is not reproduced here.
    """

    optimizer: str
    lr: float
    source: str
    momentum: float | None = None
    weight_decay: float | None = None
    batch_size: int | None = None
    gradient_clip: float | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, not {self.optimizer!r}")
        if not self.source.strip():
            raise ValueError("a recipe needs a source")

    def fit_args(self) -> dict[str, Any]:
        """The :func:`regzoo.train.fit` arguments this recipe sets (unset fields left out)."""
        values = {name: getattr(self, name) for name in _FIELDS}
        return {name: value for name, value in values.items() if value is not None}

    def describe(self) -> str:
        """Short text of the settings, e.g. ``sgd lr 0.15, momentum 0.99, batch 4, clip 2``."""
        args = self.fit_args()
        parts = [f"{args['optimizer']} lr {args['lr']:g}"]
        labels = {
            "momentum": "rmsprop alpha" if self.optimizer == "rmsprop" else "momentum",
            "weight_decay": "weight decay",
            "batch_size": "batch",
            "gradient_clip": "clip",
        }
        parts += [f"{label} {args[key]:g}" for key, label in labels.items() if key in args]
        return ", ".join(parts)


RECIPES: dict[str, Recipe] = {
    "basset": Recipe(
        optimizer="rmsprop",
        lr=0.002,
        momentum=0.98,
        weight_decay=0.0,
        batch_size=128,
        source=(
            "davek44/Basset data/models/pretrained_params.txt (learning_rate 0.002, momentum "
            "0.98, weight_norm 7: the parameters of the published model) and src/convnet.lua "
            "(commit 71cd801): optimization defaults to 'rmsprop' with optim_state.alpha = "
            "momentum, batch_size defaults to 128, coef_l2 and coef_l1 default to 0; Torch7 "
            "optim.rmsprop (torch/optim rmsprop.lua) has epsilon 1e-8, as torch.optim.RMSprop"
        ),
        notes=(
            "Not applied: the max-norm constraint (model:maxParamNorm(7) after every update); "
            "basset_train.lua's optional -drop_rate learning-rate decay (off by default). "
            "Dropout 0.3 of the two hidden layers is part of the architecture."
        ),
    ),
    "danq": Recipe(
        optimizer="rmsprop",
        lr=0.001,
        momentum=0.9,
        weight_decay=0.0,
        batch_size=100,
        source=(
            "uci-cbcl/DanQ DanQ_train.py (commit 105c0f4): model.compile(optimizer='rmsprop'), "
            "model.fit(batch_size=100), no weight regularizer or clipping; Keras 0.2.0 "
            "keras/optimizers.py (keras-team/keras tag 0.2.0): RMSprop(lr=0.001, rho=0.9, "
            "epsilon=1e-6)"
        ),
        notes=(
            "Keras adds epsilon 1e-6 inside the square root (g / sqrt(a + 1e-6)); "
            "torch.optim.RMSprop adds eps 1e-8 outside it, so steps on parameters with tiny "
            "gradients are larger here. Dropout 0.2/0.5 is part of the architecture."
        ),
    ),
    "basenji": Recipe(
        optimizer="sgd",
        lr=0.15,
        momentum=0.99,
        weight_decay=0.0,
        batch_size=4,
        gradient_clip=2.0,
        source=(
            "calico/basenji manuscripts/cross2020/params_human.json (train: batch_size 4, "
            "optimizer sgd, learning_rate 0.15, momentum 0.99, clipnorm 2; commit 24403ec); "
            "basenji/trainer.py (commit 74b8671) make_optimizer: "
            "tf.keras.optimizers.SGD(momentum, clipnorm), no weight decay on SGD, no warm-up "
            "unless warmup_steps is set"
        ),
        notes=(
            "Keras clipnorm clips each weight's gradient by its own norm (keras "
            "base_optimizer docs: 'the gradient of each weight is individually clipped'); "
            "Lightning clips the global norm of all gradients to 2, which clips harder. "
            "Early-stopping patience 16 in the params file is not applied (the shared patience "
            "stays)."
        ),
    ),
    "enformer": Recipe(
        optimizer="adam",
        lr=0.0005,
        weight_decay=0.0,
        gradient_clip=0.2,
        source=(
            "google-deepmind/deepmind-research enformer/enformer-training.ipynb (commit 11c2ab5): "
            "snt.optimizers.Adam, target_learning_rate = 0.0005 reached by a linear warm-up over "
            "num_warmup_steps = 5000; train_step(..., optimizer_clip_norm_global=0.2)"
        ),
        notes=(
            "Not applied: the 5,000-step linear learning-rate warm-up (the rate is constant "
            "0.0005 from the first step). The notebook declares optimizer_clip_norm_global=0.2 "
            "in train_step but its demo step does not apply it; 0.2 is used here as the global "
            "norm. The notebook's batch of 1 is a Colab demo, and the paper's batch size was not "
            "read from a source, so the shared batch size stays. Adam betas/eps are torch's "
            "defaults."
        ),
    ),
}


_SHARED_LABELS = (("lr", "lr"), ("weight_decay", "weight decay"), ("batch_size", "batch"))


def recipe_for(name: str) -> Recipe | None:
    """The published recipe of architecture ``name``, or ``None`` where none was found."""
    return RECIPES.get(name.lower())


def fit_args_for(name: str, base: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Fit arguments for architecture ``name``: ``base`` (the shared settings) with the
    published recipe's values on top, and a one-line description of what was used.

    Only the fields the recipe sets are replaced; ``base`` itself is not modified. Without a
    recipe ``base`` comes back unchanged (as a copy) and the description says the shared settings
    apply.
    """
    args = dict(base)
    recipe = recipe_for(name)
    if recipe is None:
        shared = [f"{args.get('optimizer', 'adamw')}"]
        shared += [f"{label} {args[key]:g}" for key, label in _SHARED_LABELS if key in args]
        return args, (
            f"{name}: no published training recipe found; shared settings ({', '.join(shared)})"
        )
    args.update(recipe.fit_args())
    return args, f"{name}: published recipe ({recipe.describe()})"
