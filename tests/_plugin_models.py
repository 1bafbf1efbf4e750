"""Architectures registered through REGZOO_PLUGINS, for the compare isolation tests."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

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


@register(ModelCard(name="barrier-test", **CARD))
class WaitsForAPeer(nn.Module):
    """Trains only when another run of it trains at the same time: its first training forward
    pass leaves a mark in $REGZOO_TEST_BARRIER and waits (up to a minute) for a second process's
    mark; alone, it fails. Proves that parallel compare jobs really run at once. The
    cost-estimate worker (REGZOO_COST_ESTIMATE set) passes straight through."""

    output_kind = "scalar"

    def __init__(self, seq_len: int, n_tasks: int) -> None:
        super().__init__()
        self.linear = nn.Linear(4, n_tasks)
        self.waited = False

    def forward(self, x):
        if self.training and not self.waited and not os.environ.get("REGZOO_COST_ESTIMATE"):
            folder = Path(os.environ["REGZOO_TEST_BARRIER"])
            (folder / str(os.getpid())).touch()
            deadline = time.monotonic() + 60
            while len(list(folder.iterdir())) < 2:
                if time.monotonic() > deadline:
                    raise RuntimeError("no other run trained at the same time")
                time.sleep(0.05)
            self.waited = True
        return self.linear(x.mean(-1))


@register(ModelCard(name="killonce-test", **CARD))
class KilledOnceMidTraining(nn.Module):
    """A small CNN whose process is killed (SIGKILL) at its KILL_AT-th training forward pass,
    once: the kill leaves the mark file $REGZOO_TEST_KILL_MARK, and with the mark present it
    trains normally. For the compare resume test."""

    output_kind = "scalar"
    KILL_AT = 15

    def __init__(self, seq_len: int, n_tasks: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 8, 9)
        self.linear = nn.Linear(8, n_tasks)
        self.calls = 0

    def forward(self, x):
        mark = os.environ.get("REGZOO_TEST_KILL_MARK")
        if self.training and mark and not os.environ.get("REGZOO_COST_ESTIMATE"):
            self.calls += 1
            if self.calls == self.KILL_AT and not Path(mark).exists():
                Path(mark).touch()
                os.kill(os.getpid(), signal.SIGKILL)
        return self.linear(self.conv(x).relu().amax(-1))
