"""The model zoo. ``create(name)``, ``list_models()``, ``card(name)``.

Importing this package imports every architecture file (in the order below, which is the order
of ``list_models()``); each registers itself.
"""

from importlib import import_module

from regzoo.models.registry import ModelCard, card, count_parameters, create, list_models

ARCHITECTURES = (
    "deepbind",
    "deepsea",
    "basset",
    "danq",
    "expresnet",
    "basenji",
    "deepsite",
    "deep6mapred",
    "enformer",
)
for _name in ARCHITECTURES:
    import_module(f"regzoo.models.{_name}")

__all__ = ["ARCHITECTURES", "ModelCard", "card", "count_parameters", "create", "list_models"]
