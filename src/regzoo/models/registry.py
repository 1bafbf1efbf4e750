"""The model registry: ``create``, ``list_models``, ``card``.

Each architecture file registers a builder with :func:`register`, next to its :class:`ModelCard`
(the published configuration as data, timm-style). ``create(name)`` with no other argument builds
the published configuration; ``create(name, seq_len=L, n_tasks=T, **overrides)`` adapts it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from torch import nn

from regzoo.errors import RegzooError, unknown_name


@dataclass(frozen=True)
class ModelCard:
    """What the paper says about an architecture, and how regzoo builds it.

    Attributes:
        name: registry name (``"deepsea"``).
        family: one phrase (``"3-layer CNN, multi-task"``).
        paper: citation, ``"Zhou & Troyanskaya, Nat Methods 2015"``.
        year: publication year.
        seq_len: published input length (bp).
        n_tasks: published number of outputs.
        output: ``"scalar"`` -> ``(batch, n_tasks)``; ``"profile"`` -> ``(batch, n_tasks, n_bins)``.
        published_params: parameter count of the published configuration.
        n_bins: output bins of a profile model at the published length (None for scalar models).
        compact: overrides giving a small configuration that trains on a 2-core CPU in minutes.
        published_results: the paper's headline numbers, as text.
        notes: what was checked against the paper / official code, and every deviation with its
            reason.
    """

    name: str
    family: str
    paper: str
    year: int
    seq_len: int
    n_tasks: int
    output: str
    published_params: int
    n_bins: int | None = None
    compact: dict[str, Any] = field(default_factory=dict)
    published_results: str = ""
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Builder = Callable[..., nn.Module]
_REGISTRY: dict[str, tuple[Builder, ModelCard]] = {}


def register(card: ModelCard) -> Callable[[Builder], Builder]:
    """Class/function decorator: ``@register(CARD)`` on ``Builder(seq_len, n_tasks, **kw)``."""

    def wrap(builder: Builder) -> Builder:
        if card.name in _REGISTRY:
            raise RuntimeError(f"model {card.name!r} registered twice")
        _REGISTRY[card.name] = (builder, card)
        return builder

    return wrap


def _ensure_loaded() -> None:
    # importing the package imports every architecture file, which registers it
    import regzoo.models  # noqa: F401


def list_models() -> list[str]:
    """Names of all registered architectures, in registration order."""
    _ensure_loaded()
    return list(_REGISTRY)


def card(name: str) -> ModelCard:
    """The :class:`ModelCard` of an architecture."""
    _ensure_loaded()
    if name not in _REGISTRY:
        raise unknown_name("model", name, list(_REGISTRY))
    return _REGISTRY[name][1]


def create(
    name: str, seq_len: int | None = None, n_tasks: int | None = None, **overrides: Any
) -> nn.Module:
    """Build an architecture.

    Args:
        name: a name from :func:`list_models`.
        seq_len: input length; default the published one.
        n_tasks: number of outputs; default the published one.
        **overrides: architecture arguments (widths, depths, ``output="scalar"`` for profile
            models, ...). ``compact=True`` applies the card's compact CPU configuration first.

    Returns:
        an ``nn.Module`` taking ``(batch, 4, seq_len)`` one-hot input. It carries
        ``model.regzoo_config`` (``name``, ``seq_len``, ``n_tasks`` and the overrides): everything
        :func:`create` needs to rebuild it, so saved weights never need pickling.
    """
    _ensure_loaded()
    if name not in _REGISTRY:
        raise unknown_name("model", name, list(_REGISTRY))
    builder, model_card = _REGISTRY[name]
    kwargs: dict[str, Any] = {}
    if overrides.pop("compact", False):
        kwargs.update(model_card.compact)
    kwargs.update(overrides)
    seq_len = int(seq_len if seq_len is not None else model_card.seq_len)
    n_tasks = int(n_tasks if n_tasks is not None else model_card.n_tasks)
    try:
        model = builder(seq_len=seq_len, n_tasks=n_tasks, **kwargs)
    except TypeError as err:  # unknown override
        raise RegzooError(f"model {name!r}: {err}") from None
    model.regzoo_config = {"name": name, "seq_len": seq_len, "n_tasks": n_tasks, **kwargs}
    return model


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters (weights, biases, batch-norm affine; not running statistics)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
