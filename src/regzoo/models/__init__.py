"""The model zoo. ``create(name)``, ``list_models()``, ``card(name)``.

Importing this package imports every architecture file; each registers itself.
"""

from regzoo.models import (  # noqa: F401  (imported for registration)
    basenji,
    basset,
    danq,
    deep6mapred,
    deepbind,
    deepsea,
    deepsite,
    enformer,
    expresnet,
)
from regzoo.models.registry import ModelCard, card, count_parameters, create, list_models

__all__ = ["ModelCard", "card", "count_parameters", "create", "list_models"]
