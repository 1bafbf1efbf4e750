"""Architectures registered through REGZOO_PLUGINS, for the compare isolation tests."""

from __future__ import annotations

import os
import signal

from torch import nn

from regzoo.models.registry import ModelCard, register

CARD = dict(
    family="test", paper="-", year=2026, seq_len=100, n_tasks=1, output="scalar", published_params=0
)


@register(ModelCard(name="sigkill-test", **CARD))
class KilledByTheKernel(nn.Module):
    """Dies the way a process killed by the out-of-memory killer dies: SIGKILL, no exception."""

    output_kind = "scalar"

    def __init__(self, seq_len: int, n_tasks: int) -> None:
        super().__init__()
        self.linear = nn.Linear(4, n_tasks)

    def forward(self, x):
        os.kill(os.getpid(), signal.SIGKILL)
