"""In-silico saturation mutagenesis equals a brute-force loop; RC averaging and profile targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from regzoo.data.encode import reverse_complement
from regzoo.interpret.ism import naive_ism, saturation_mutagenesis
from regzoo.models import create


def _random_one_hot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 4, (n, length), generator=g)
    return nn.functional.one_hot(codes, 4).permute(0, 2, 1).float()


@pytest.fixture(scope="module")
def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return create("deepbind", seq_len=24, n_tasks=2, n_detectors=4, detector_len=5).eval()


def test_ism_equals_brute_force(tiny_model):
    x = _random_one_hot(3, 24)
    x[1, :, 7] = 0  # an N column gets four substitutions
    fast = saturation_mutagenesis(tiny_model, x, target=1, batch_size=10, device="cpu")
    slow = naive_ism(tiny_model, x, target=1, device="cpu")
    assert fast.shape == (3, 4, 24)
    np.testing.assert_allclose(fast, slow, atol=1e-5)
    assert np.abs(fast).max() > 1e-4  # not trivially zero
    assert np.all(fast[x.numpy() == 1] == 0)  # reference base is 0
    assert np.all(fast[1, :, 7] != 0)


def test_ism_window_and_rc_average(tiny_model):
    x = _random_one_hot(2, 24, seed=1)
    part = saturation_mutagenesis(tiny_model, x, target=0, start=5, end=9, device="cpu")
    full = saturation_mutagenesis(tiny_model, x, target=0, device="cpu")
    assert np.all(part[:, :, :5] == 0) and np.all(part[:, :, 9:] == 0)
    np.testing.assert_allclose(part[:, :, 5:9], full[:, :, 5:9], atol=1e-6)
    rc = saturation_mutagenesis(tiny_model, reverse_complement(x), target=0, device="cpu")
    both = saturation_mutagenesis(tiny_model, x, target=0, rc_average=True, device="cpu")
    np.testing.assert_allclose(both, (full + rc[:, ::-1, ::-1]) / 2, atol=1e-6)


class _Profile(nn.Module):
    """(B, 4, L) -> (B, 2, L): a conv profile; track 1 = 2 x track 0."""

    output_kind = "profile"

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 1, 3, padding=1)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        return torch.cat([y, 2 * y], 1)


def test_ism_profile_target_bins():
    torch.manual_seed(0)
    model = _Profile().eval()
    x = _random_one_hot(1, 12, seed=2)
    got = saturation_mutagenesis(model, x, target=1, target_bins=(4, 6), device="cpu")
    ref = model(x)[0, 1, 4:6].sum()
    for p in range(12):
        for b in range(4):
            mutant = x.clone()
            mutant[0, :, p] = 0
            mutant[0, b, p] = 1
            want = float((model(mutant)[0, 1, 4:6].sum() - ref).detach())
            assert got[0, b, p] == pytest.approx(want, abs=1e-5)
    assert np.all(got[0, :, :2] == 0) and np.all(got[0, :, 8:] == 0)  # outside the receptive field
