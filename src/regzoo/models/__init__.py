"""The model zoo. ``create(name)``, ``list_models()``, ``card(name)``.

Importing this package imports every architecture file (in the order below, which is the order
of ``list_models()``); each registers itself. Your own architectures join the zoo the same way:
a module that calls ``@register(ModelCard(...))`` on its builder, named in the environment variable
``REGZOO_PLUGINS`` (comma-separated module names), is imported here too, so ``regzoo train`` and
``regzoo compare`` (including its per-run worker processes) know it.
"""

import os
from importlib import import_module

from regzoo.errors import RegzooError
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
for _plugin in filter(None, (m.strip() for m in os.environ.get("REGZOO_PLUGINS", "").split(","))):
    try:
        import_module(_plugin)
    except ImportError as _err:
        raise RegzooError(f"REGZOO_PLUGINS: cannot import {_plugin!r} ({_err})") from None

__all__ = ["ARCHITECTURES", "ModelCard", "card", "count_parameters", "create", "list_models"]
