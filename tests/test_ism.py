"""In-silico saturation mutagenesis equals a brute-force loop; RC averaging and profile targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from regzoo.data.encode import reverse_complement
from regzoo.interpret.ism import naive_ism, saturation_mutagenesis
from regzoo.interpret.targets import Explained
from regzoo.models import create

# a local recompute that disagrees with the model falls back with a warning: here it must not
pytestmark = pytest.mark.filterwarnings("error:.*local recompute disagreed")


def _random_one_hot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 4, (n, length), generator=g)
    return nn.functional.one_hot(codes, 4).permute(0, 2, 1).float()


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Thousands of tiny forward passes: one thread is faster than two on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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


# --------------------------------------------------------------------------- local recompute


def _uses_local(model: nn.Module, length: int) -> bool:
    from regzoo.interpret.ism import _LocalISM

    return _LocalISM.build(Explained(model.eval()), length, torch.device("cpu")) is not None


def test_deepsea_local_recompute_equals_brute_force():
    torch.manual_seed(0)
    model = create("deepsea", compact=True, seq_len=240, n_tasks=3).eval()
    assert _uses_local(model, 240)  # conv/pool/ReLU/dropout prefix up to the flatten
    x = _random_one_hot(1, 240, seed=3)
    x[0, :, [0, 120, 239]] = 0  # N columns at both ends and inside: four substitutions each
    fast = saturation_mutagenesis(model, x, target=2, batch_size=200, device="cpu")
    full = saturation_mutagenesis(model, x, target=2, batch_size=200, device="cpu", fast=False)
    np.testing.assert_allclose(fast, full, atol=1e-6)  # batched full passes
    # one forward pass per substitution at both ends and in the middle
    f = Explained(model, 2)
    with torch.no_grad():
        ref = float(f(x))
        for p in [*range(0, 10), *range(115, 125), *range(230, 240)]:
            for b in range(4):
                mutant = x.clone()
                mutant[0, :, p] = 0
                mutant[0, b, p] = 1
                want = 0.0 if x[0, b, p] == 1 else float(f(mutant)) - ref
                assert fast[0, b, p] == pytest.approx(want, abs=1e-5)
    assert np.abs(fast).max() > 1e-4
    assert np.all(fast[0, :, 0] != 0) and np.all(fast[0, :, 120] != 0)
    assert np.abs(fast[0, :, 239]).max() < 1e-7  # cut off by floor pooling
    both = saturation_mutagenesis(model, x, target=2, rc_average=True, start=10, end=30)
    ref = saturation_mutagenesis(model, x, target=2, rc_average=True, start=10, end=30, fast=False)
    np.testing.assert_allclose(both, ref, atol=1e-6)


class _LocalStack(nn.Module):
    """Padding, batch norm (eval), dilation, strides, max pooling with padding, average pooling,
    then a dense layer over the flattened positions."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(4, 6, 5, padding=2),
            nn.BatchNorm1d(6),
            nn.ELU(),
            nn.MaxPool1d(3, stride=2, padding=1),
            nn.Conv1d(6, 5, 3, dilation=2, padding=1),
            nn.ReLU(),
            nn.AvgPool1d(2),
            nn.Conv1d(5, 4, 3, stride=2),
        )
        self.head = nn.Linear(4 * 6, 2)
        with torch.no_grad():
            self.body[1].running_mean.uniform_(-1, 1)
            self.body[1].running_var.uniform_(0.5, 2)

    def forward(self, x):
        return self.head(torch.tanh(self.body(x)).flatten(1))


class _InputSkip(_LocalStack):
    """The same stack, but the input is read again after it: no local prefix may be split off."""

    def forward(self, x):
        return self.head(torch.tanh(self.body(x)).flatten(1)) + x.sum((1, 2))[:, None]


@pytest.mark.parametrize("cls, local", [(_LocalStack, True), (_InputSkip, False)])
def test_local_recompute_layers_and_fallback(cls, local):
    torch.manual_seed(1)
    model = cls().eval()
    assert _uses_local(model, 60) is local
    x = _random_one_hot(2, 60, seed=4)
    x[1, :, 0] = 0
    got = saturation_mutagenesis(model, x, target=0, batch_size=37, device="cpu")
    want = naive_ism(model, x, target=0, device="cpu")
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.abs(got).max() > 1e-3


def test_tiny_deepbind_falls_back(tiny_model):
    assert not _uses_local(tiny_model, 24)  # its padding module is not a known local layer


ZOO_LENGTHS = {"deepbind": 64, "deepsea": 300, "basset": 300, "danq": 64, "expresnet": 64,
               "basenji": 64, "deepsite": 64, "deep6mapred": 64, "enformer": 64}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ZOO_LENGTHS))
def test_every_architecture_through_ism(name):
    torch.manual_seed(0)
    length = ZOO_LENGTHS[name]
    model = create(name, compact=True, seq_len=length, n_tasks=2).eval()
    local = _uses_local(model, length)
    assert local is (name in ("deepsea", "basset"))  # the others take the generic path
    x = _random_one_hot(1, length, seed=5)
    window = {"start": length // 2, "end": length // 2 + 1}
    got = saturation_mutagenesis(model, x, target=1, device="cpu", **window)
    assert got.shape == (1, 4, length) and np.abs(got).max() > 0
    assert np.count_nonzero(got) == 3
    if local:
        full = saturation_mutagenesis(model, x, target=1, device="cpu", fast=False, **window)
        np.testing.assert_allclose(got, full, atol=1e-6)


def test_disagreeing_local_recompute_falls_back(monkeypatch):
    from regzoo.interpret import ism

    torch.manual_seed(1)
    model = _LocalStack().eval()
    x = _random_one_hot(1, 60, seed=6)
    want = saturation_mutagenesis(model, x, target=1, device="cpu", fast=False)
    good = ism._LocalISM.edits
    monkeypatch.setattr(ism._LocalISM, "edits", lambda *a: good(*a) + 1e-3)
    with pytest.warns(UserWarning, match="local recompute disagreed"):
        got = saturation_mutagenesis(model, x, target=1, device="cpu")
    np.testing.assert_allclose(got, want, atol=1e-6)
