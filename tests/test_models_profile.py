"""The profile architectures (Basenji2, Enformer) and their shared blocks (layers/profile.py).

Published parameter counts and shapes on the meta device; known answers for the relative
positional encodings, relative shift, attention and pooling blocks; small real forward passes;
learning a planted motif at compact width; safetensors round trips; clear errors.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from _zoo_helpers import fit_planted
from regzoo.data.synthetic import planted_motif_task
from regzoo.errors import InputError, NameNotFoundError
from regzoo.models import card, count_parameters, create
from regzoo.models.layers.profile import (
    AttentionPool1d,
    RelativeMultiHeadAttention,
    ScalarHead,
    TargetLengthCrop,
    central_mask_basis,
    dilation_schedule,
    exponential_basis,
    exponential_linspace_channels,
    gamma_basis,
    geometric_channels,
    relative_positional_features,
    relative_shift,
)

ENFORMER_PUBLISHED = 251.2e6  # enformer-pytorch 0.8.12, both heads (ARCHITECTURES.md)

# Small but complete configurations (all blocks present, narrow widths, 128-bp bins).
SMALL = {
    "basenji": {
        "stem_channels": 8,
        "tower_channels_init": 8,
        "tower_channels_mult": 1.2,
        "dilated_channels": 8,
        "dilated_blocks": 3,
        "final_channels": 16,
    },
    "enformer": {
        "channels": 32,
        "channels_divisible_by": 4,
        "transformer_layers": 1,
        "n_heads": 2,
        "key_size": 8,
        "n_rel_pos_features": 12,
        "n_tasks_mouse": 5,
    },
}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Run this module on one intra-op thread (restored afterwards): on the 2-core test machine,
    shared with other processes, two spinning OpenMP threads trained ~20x slower than one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def one_hot(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 4, (batch, length), generator=g)
    return F.one_hot(codes, 4).permute(0, 2, 1).float()


# ---------------------------------------------------------------------------------------------
# Published configurations (meta device: no memory, no time)
# ---------------------------------------------------------------------------------------------


def basenji2_count_from_params_file() -> int:
    """Trainable parameters of calico/basenji manuscripts/cross2020/params_human.json, counted
    from its numbers (convs without bias, BN scale + offset, dense head with bias)."""
    widths = [288] + [int(round(339 * 1.1776**i)) for i in range(6)]
    n = 4 * 15 * 288 + 2 * 288  # conv_block(288, 15)
    n += sum(
        c_in * 5 * c_out + 2 * c_out for c_in, c_out in zip(widths[:-1], widths[1:], strict=True)
    )
    n += 11 * (768 * 3 * 384 + 2 * 384 + 384 * 768 + 2 * 768)  # dilated residual blocks
    n += 768 * 1536 + 2 * 1536  # conv_block(1536, 1)
    return n + 1536 * 5313 + 5313  # dense 5313


def test_published_schedules():
    assert geometric_channels(339, 1.1776, 6) == [339, 399, 470, 554, 652, 768]
    assert dilation_schedule(11, 1.5) == [1, 2, 3, 4, 6, 9, 14, 21, 32, 48, 72]
    assert exponential_linspace_channels(768, 1536, 6, 128) == [768, 896, 1024, 1152, 1280, 1536]


def test_basenji_published_parameter_count():
    with torch.device("meta"):
        model = create("basenji")
    n = count_parameters(model)
    assert n == card("basenji").published_params
    assert abs(n - basenji2_count_from_params_file()) <= 0.01 * n
    assert n == basenji2_count_from_params_file()  # exactly, in fact: 30,088,228


def test_enformer_published_parameter_count():
    with torch.device("meta"):
        model = create("enformer")
    n = count_parameters(model)
    assert abs(n - ENFORMER_PUBLISHED) <= 0.01 * ENFORMER_PUBLISHED, n
    assert n == card("enformer").published_params == 251_221_292  # enformer-pytorch 0.8.12
    with torch.device("meta"):
        human_only = create("enformer", n_tasks_mouse=None)
    assert n - count_parameters(human_only) == 2 * 1536 * 1643 + 1643


@pytest.mark.parametrize("name", ["basenji", "enformer"])
def test_published_output_shapes_on_meta(name):
    c = card(name)
    with torch.device("meta"):
        model = create(name)
        y = model(torch.zeros(2, 4, c.seq_len))
    assert y.shape == (2, c.n_tasks, 896)
    assert (model.n_bins, model.bin_size, model.output_kind) == (896, 128, "profile")
    assert c.n_bins == 896 and c.output == "profile"
    with torch.device("meta"):  # published widths on a 1000-bp sequence-level task
        scalar = create(name, seq_len=1000, n_tasks=2, output="scalar")
        assert scalar(torch.zeros(3, 4, 1000)).shape == (3, 2)
    assert scalar.n_bins == (8 if name == "basenji" else 6)  # 1024 / 128 bins, cropped


def test_enformer_two_heads_on_meta():
    with torch.device("meta"):
        model = create("enformer")
        x = torch.zeros(1, 4, 196_608)
        heads = model.forward_heads(x)
        mouse = model(x, head="mouse")
    assert heads["human"].shape == (1, 5313, 896)
    assert heads["mouse"].shape == mouse.shape == (1, 1643, 896)


# ---------------------------------------------------------------------------------------------
# Real forward passes at small width; bins derived from seq_len
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["basenji", "enformer"])
@pytest.mark.parametrize("seq_len", [2048, 4096])
def test_small_profile_and_scalar_forward(name, seq_len):
    bins = seq_len // 128
    crop = bins // 16 if name == "basenji" else bins * 320 // 1536
    profile = create(name, seq_len=seq_len, n_tasks=3, **SMALL[name]).eval()
    assert profile.n_bins == bins - 2 * crop
    with torch.no_grad():
        y = profile(one_hot(2, seq_len))
    assert y.shape == (2, 3, profile.n_bins)
    assert torch.isfinite(y).all() and (y >= 0).all()  # softplus

    scalar = create(name, seq_len=seq_len, n_tasks=3, output="scalar", **SMALL[name])
    assert scalar.output_kind == "scalar"
    logits = scalar(one_hot(2, seq_len))
    assert logits.shape == (2, 3)
    logits.sum().backward()
    unused = "heads.mouse"  # forward() runs the human head only
    grads = {n: p.grad for n, p in scalar.named_parameters() if not n.startswith(unused)}
    assert all(g is not None for g in grads.values())


def test_scalar_head_is_pooled_pre_activation():
    scalar = create("basenji", seq_len=2048, n_tasks=2, output="scalar", **SMALL["basenji"]).eval()
    x = one_hot(3, 2048)
    with torch.no_grad():
        z = scalar.head(scalar.trunk(x))
        assert torch.allclose(scalar(x), z.mean(dim=-1), atol=1e-6)  # default scalar_pool="mean"


def test_explicit_crop_and_target_bins():
    model = create("enformer", seq_len=4096, n_tasks=1, target_bins=7, **SMALL["enformer"])
    assert model.n_bins == 7
    assert model(one_hot(2, 4096)).shape == (2, 1, 7)
    model = create("basenji", seq_len=4096, n_tasks=1, crop=0, **SMALL["basenji"])
    assert model.n_bins == 32


@pytest.mark.parametrize("name", ["basenji", "enformer"])
def test_compact_scalar_on_1000bp(name):
    model = create(name, seq_len=1000, n_tasks=2, output="scalar", compact=True)
    assert model.bin_size == 16  # 1000 bp padded with N to 1008 -> 63 bins
    assert model(one_hot(4, 1000)).shape == (4, 2)
    assert count_parameters(model) < 100_000


def test_profile_mode_rejects_bad_lengths():
    with pytest.raises(InputError, match="multiple of the bin size 128"):
        create("enformer", seq_len=1000)
    with pytest.raises(InputError, match="multiple"):
        create("basenji", seq_len=1000, n_tasks=1, **SMALL["basenji"])
    with pytest.raises(InputError, match="too short"):
        create("basenji", seq_len=256, n_tasks=1, target_bins=4, **SMALL["basenji"])
    with pytest.raises(InputError, match="output"):
        create("basenji", seq_len=2048, output="bins", **SMALL["basenji"])
    model = create("enformer", seq_len=2048, n_tasks=1, **SMALL["enformer"])
    with pytest.raises(InputError, match="multiple"):
        model(one_hot(1, 2000))
    with pytest.raises(NameNotFoundError, match="unknown head 'rat'"):
        model(one_hot(1, 2048), head="rat")


# ---------------------------------------------------------------------------------------------
# Relative positional encodings, relative shift, attention
# ---------------------------------------------------------------------------------------------


def test_relative_positional_features_shape_and_sign_halves():
    t, n_features = 40, 24
    f = relative_positional_features(t, n_features)
    assert f.shape == (2 * t - 1, n_features) and f.dtype == torch.float32
    half = n_features // 2
    center = t - 1  # row of distance 0
    for d in (1, 5, 39):
        pos, neg = f[center + d], f[center - d]
        assert torch.equal(pos[:half], neg[:half])  # symmetric half: function of |d|
        assert torch.equal(pos[half:], -neg[half:])  # sign half: flips with the sign of d
        assert torch.equal(pos[half:], pos[:half])  # ... and is sign(d) * symmetric half
    assert torch.equal(f[center, half:], torch.zeros(half))  # sign(0) = 0
    symmetric = relative_positional_features(t, 12, symmetric=True)
    assert torch.equal(symmetric, f[:, :12])
    with pytest.raises(ValueError, match="divisible by 6"):
        relative_positional_features(t, 20)


def test_basis_functions_known_answers():
    d = torch.arange(-50, 51, dtype=torch.float64)
    mask = central_mask_basis(d, 4)
    for k in range(4):  # feature k is the step function |d| < 2^(k+1) - 1
        assert set(mask[:, k].tolist()) <= {0.0, 1.0}
        assert torch.equal(mask[:, k], (d.abs() < 2 ** (k + 1) - 1).double())
    exp = exponential_basis(d, 4, seq_len=1024)  # half-lives 2^3 ... 2^10
    assert torch.allclose(exp[50], torch.ones(4, dtype=torch.float64))
    assert math.isclose(exp[50 + 8, 0].item(), 0.5)  # first half-life: 8
    assert torch.all(exp[51:] < exp[50:-1])  # decays with |d|
    gamma = gamma_basis(torch.arange(0, 1024, dtype=torch.float64), 4, seq_len=1024)
    assert torch.allclose(gamma.amax(dim=0), torch.ones(4, dtype=torch.float64))
    mean, std = torch.linspace(256, 1024, 4, dtype=torch.float64), 1024 / 8
    mode = mean - std**2 / mean  # mode of a gamma with this mean and std
    assert (gamma.argmax(dim=0).double() - mode).abs().max() <= 1


def test_relative_shift_indexes_key_minus_query():
    t = 6
    distances = torch.arange(-t + 1, t, dtype=torch.float32)  # column m = distance m - (t-1)
    logits = distances.expand(2, 3, t, 2 * t - 1)
    shifted = relative_shift(logits)
    pos = torch.arange(t, dtype=torch.float32)
    assert torch.equal(shifted[1, 2], pos[None, :] - pos[:, None])


def test_relative_attention_matches_explicit_formula():
    torch.manual_seed(0)
    b, t, dim, h, k, v = 2, 7, 12, 2, 4, 6
    attn = RelativeMultiHeadAttention(dim, h, k, v, 12, attn_dropout=0.0, pos_dropout=0.0).eval()
    assert torch.count_nonzero(attn.to_out.weight) == 0  # zero-initialised output projection
    torch.nn.init.normal_(attn.to_out.weight)
    x = torch.randn(b, t, dim)

    def heads(y, size):
        return y.view(b, t, h, size).transpose(1, 2)

    q = heads(attn.to_q(x), k) * k**-0.5
    key, val = heads(attn.to_k(x), k), heads(attn.to_v(x), v)
    r = attn.to_rel_k(relative_positional_features(t, 12)).view(2 * t - 1, h, k)
    logits = torch.empty(b, h, t, t)
    for i in range(t):
        for j in range(t):
            content = ((q[:, :, i] + attn.r_w_bias[0, :, 0]) * key[:, :, j]).sum(-1)
            position = ((q[:, :, i] + attn.r_r_bias[0, :, 0]) * r[j - i + t - 1]).sum(-1)
            logits[:, :, i, j] = content + position
    expected = attn.to_out((logits.softmax(-1) @ val).transpose(1, 2).reshape(b, t, h * v))
    assert torch.allclose(attn(x), expected, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Pooling, crop, scalar head
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pool_size", [2, 4])
def test_attention_pool_zero_logits_is_average_pool(pool_size):
    pool = AttentionPool1d(6, pool_size, init_scale=0.0)
    x = torch.randn(3, 6, 16)
    assert torch.allclose(pool(x), F.avg_pool1d(x, pool_size), atol=1e-6)


def test_attention_pool_enformer_init():
    pool = AttentionPool1d(5, 2)  # Enformer: per-channel logits, 2 x identity, no bias
    assert pool.to_logits.bias is None
    assert torch.equal(pool.to_logits.weight[:, :, 0], 2 * torch.eye(5))
    x = torch.randn(2, 5, 8)
    pairs = x.view(2, 5, 4, 2)
    expected = (pairs * torch.softmax(2 * pairs, dim=-1)).sum(-1)  # each channel weights itself
    assert torch.allclose(pool(x), expected, atol=1e-6)
    with pytest.raises(ValueError, match="multiple"):
        pool(torch.randn(1, 5, 7))


def test_target_length_crop_keeps_center():
    x = torch.arange(10.0).view(1, 1, 10)
    assert TargetLengthCrop(4)(x).flatten().tolist() == [3.0, 4.0, 5.0, 6.0]
    with pytest.raises(ValueError):
        TargetLengthCrop(11)(x)


def test_scalar_head_modes():
    z = torch.tensor([[[0.0, 1.0, 5.0], [2.0, 2.0, 2.0]]])
    assert torch.allclose(ScalarHead(2, "mean")(z), torch.tensor([[2.0, 2.0]]))
    assert torch.equal(ScalarHead(2, "max")(z), torch.tensor([[5.0, 2.0]]))
    soft = ScalarHead(2, "attention")
    assert soft(z)[0, 0] > 2.0 and torch.isclose(soft(z)[0, 1], torch.tensor(2.0))
    with torch.no_grad():
        soft.sharpness.zero_()
    assert torch.allclose(soft(z), ScalarHead(2, "mean")(z))
    with pytest.raises(ValueError, match="scalar pool"):
        ScalarHead(1, "median")


# ---------------------------------------------------------------------------------------------
# Learning, saving
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def planted_200():
    # 200 bp is not a multiple of the compact bin size (16): exercises the N padding too
    return planted_motif_task(n_train=2000, n_valid=10, n_test=400, seq_len=200, seed=0)


@pytest.mark.parametrize(("name", "epochs", "lr"), [("basenji", 3, 3e-3), ("enformer", 5, 1e-2)])
def test_compact_learns_planted_motif(planted_200, name, epochs, lr):
    torch.manual_seed(0)
    model = create(name, seq_len=200, n_tasks=1, output="scalar", compact=True)
    assert fit_planted(model, planted_200, epochs=epochs, lr=lr) >= 0.9


@pytest.mark.parametrize("name", ["basenji", "enformer"])
@pytest.mark.parametrize("output", ["profile", "scalar"])
def test_safetensors_round_trip(tmp_path, name, output):
    torch.manual_seed(1)
    model = create(name, seq_len=2048, n_tasks=3, output=output, **SMALL[name])
    model.train()
    model(one_hot(4, 2048))  # move the batch-norm running statistics away from their init
    model.eval()
    path = tmp_path / "weights.safetensors"
    save_file(model.state_dict(), str(path))
    config = dict(model.regzoo_config)
    rebuilt = create(config.pop("name"), **config)
    rebuilt.load_state_dict(load_file(str(path)))
    rebuilt.eval()
    x = one_hot(2, 2048, seed=5)
    with torch.no_grad():
        assert torch.equal(model(x), rebuilt(x))


def test_gamma_norm_rules():
    """'feature': every feature peaks at 1 (released model); 'global': one maximum (GitHub TF
    code); 'distance': every distance's row peaks at 1 (enformer-pytorch without tf gammas)."""
    d = torch.arange(-255, 256, dtype=torch.float64)
    feature = gamma_basis(d, 4, seq_len=256)
    glob = gamma_basis(d, 4, seq_len=256, norm="global")
    dist = gamma_basis(d, 4, seq_len=256, norm="distance")
    torch.testing.assert_close(feature.amax(dim=0), torch.ones(4, dtype=torch.float64))
    assert glob.max() == 1 and (glob.amax(dim=0) < 0.99).any()
    torch.testing.assert_close(dist.amax(dim=1), torch.ones(len(d), dtype=torch.float64))
    assert not torch.allclose(feature, glob) and not torch.allclose(feature, dist)
    with pytest.raises(ValueError, match="gamma_norm"):
        gamma_basis(d, 4, seq_len=256, norm="max")
    a = create("enformer", compact=True, seq_len=1024, n_tasks=2).eval()
    b = create("enformer", compact=True, seq_len=1024, n_tasks=2, gamma_norm="global").eval()
    b.load_state_dict(a.state_dict())
    for block in (*a.transformer, *b.transformer):  # output projections start at zero
        if hasattr(block, "attention"):
            torch.nn.init.normal_(block.attention.module[1].to_out.weight)
    b.load_state_dict(a.state_dict())
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (1, 1024)), 4).float().transpose(1, 2)
    with torch.no_grad():
        assert not torch.allclose(a(x), b(x))
