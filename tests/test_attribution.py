"""Attributions of a model with one known filter point at that filter's match."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from regzoo.interpret.attribution import METHODS, AttributionWarning, attribute

MOTIF = "GATTACA"
START = 20


class _OneFilter(nn.Module):
    """Fires only on an exact ``MOTIF`` match: relu(conv - (k - 0.5)), summed over positions."""

    output_kind = "scalar"

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 1, len(MOTIF))
        with torch.no_grad():
            self.conv.weight.zero_()
            for j, base in enumerate(MOTIF):
                self.conv.weight[0, "ACGT".index(base), j] = 1.0
            self.conv.bias.fill_(-(len(MOTIF) - 0.5))
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv(x)).sum(-1)


def _sequences(n=4, length=60):
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, (n, length))
    codes[:, START : START + len(MOTIF)] = ["ACGT".index(b) for b in MOTIF]
    return np.eye(4, dtype=np.float32)[codes].transpose(0, 2, 1)


@pytest.mark.parametrize("method", ["ism", *METHODS])
def test_attribution_points_at_filter(method):
    x = _sequences()
    attr = attribute(_OneFilter(), x, method, device="cpu", batch_size=64)
    assert attr.shape == x.shape
    contrib = np.abs((x * attr).sum(1))  # (N, L)
    inside = contrib[:, START : START + len(MOTIF)].sum(1)
    assert np.all(inside > 0.99 * contrib.sum(1))  # all of it at the planted filter match
    if method in ("saliency", "ism"):  # centred per position, all four bases
        np.testing.assert_allclose(attr.sum(1), 0, atol=1e-5)


def test_large_convergence_delta_warns():
    class Squared(nn.Module):  # x -> (sum of G)^2: IG with 2 steps cannot integrate it exactly
        def forward(self, x):
            return (x[:, 2].sum(-1, keepdim=True) / 10) ** 2

    with pytest.warns(AttributionWarning, match="convergence delta"):
        attribute(Squared(), _sequences(), "ig", device="cpu", n_steps=2, n_refs=2)
