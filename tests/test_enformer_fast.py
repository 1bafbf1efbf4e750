"""Enformer's inference fast paths equal the layer-by-layer forward; bf16 autocast in predict."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import regzoo.models.enformer as enformer_module
from regzoo.errors import InputError
from regzoo.inference import predict
from regzoo.models import create
from regzoo.models.layers.profile import (
    AttentionPool1d,
    enformer_stage_inference,
    enformer_stage_supported,
    relative_shift,
)

SMALL = {
    "channels": 48,
    "channels_divisible_by": 8,
    "tower_blocks": 3,
    "transformer_layers": 1,
    "n_heads": 2,
    "key_size": 8,
    "n_rel_pos_features": 12,
    "n_tasks_mouse": 3,
}


def _small_enformer(seq_len: int = 1024) -> torch.nn.Module:
    torch.manual_seed(0)
    model = create("enformer", seq_len=seq_len, n_tasks=5, **SMALL).eval()
    with torch.no_grad():  # trained-looking BN statistics and non-zero output projections
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.normal_(0, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.3)
        for name, p in model.named_parameters():
            if "to_out" in name or "to_logits" in name:
                p.normal_(0, 0.2)
    return model


def _one_hot(n: int, length: int, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 4, (n, length), generator=g)
    return torch.nn.functional.one_hot(idx, 4).float().transpose(1, 2).contiguous()


@pytest.mark.parametrize("chunk_elements", [48 * 16, 48 * 40, 10**7])
def test_chunked_stages_equal_layer_by_layer(chunk_elements):
    model = _small_enformer()
    x = _one_hot(2, 1024)
    with torch.inference_mode():
        for stage in (model.stem, *model.conv_tower):
            assert enformer_stage_supported(stage)
            ref = stage(x)
            got = enformer_stage_inference(*stage, x, chunk_elements=chunk_elements)
            assert got.shape == ref.shape
            torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5 * ref.abs().max().item())
            x = ref


def test_fast_paths_equal_autograd_path_both_heads():
    model = _small_enformer()
    x = _one_hot(2, 1024)
    ref = {k: v.detach() for k, v in model.forward_heads(x).items()}  # autograd: no fast path
    model.chunked_inference = True
    with torch.inference_mode():
        fast = model.forward_heads(x)
    with torch.no_grad():
        model.chunked_inference = False
        slow = model.forward_heads(x)
    for head in ref:
        scale = ref[head].abs().max().item()
        torch.testing.assert_close(fast[head], ref[head], rtol=1e-5, atol=1e-5 * scale)
        torch.testing.assert_close(slow[head], ref[head], rtol=1e-5, atol=1e-5 * scale)
    # the positional features cached under inference_mode still serve autograd
    model.forward_heads(x)["human"].sum().backward()


def test_training_mode_keeps_batch_statistics():
    model = _small_enformer()
    model.train()
    before = model.stem[1].module[0].running_mean.clone()
    with torch.no_grad():
        model(_one_hot(2, 1024))
    assert not torch.equal(before, model.stem[1].module[0].running_mean)


def test_hooked_first_conv_sees_its_activations():
    model = _small_enformer()
    model.chunked_inference = True
    seen = []
    handle = model.stem[0].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    with torch.inference_mode():
        model(_one_hot(1, 1024))
    handle.remove()
    assert seen == [torch.Size([1, 24, 1024])]


def test_attention_pool_equals_softmax_over_windows():
    torch.manual_seed(0)
    pool = AttentionPool1d(6, 2)
    torch.nn.init.normal_(pool.to_logits.weight)
    x = torch.randn(3, 6, 10)
    logits = torch.einsum("oc,bcl->bol", pool.to_logits.weight[:, :, 0], x)
    w = logits.reshape(3, 6, 5, 2).softmax(-1)
    expected = (w * x.reshape(3, 6, 5, 2)).sum(-1)
    torch.testing.assert_close(pool(x), expected)


def test_relative_shift_view_equals_gather():
    logits = torch.randn(2, 3, 7, 13)
    with torch.enable_grad():
        gathered = relative_shift(logits)
    with torch.inference_mode():
        viewed = relative_shift(logits)
    assert torch.equal(gathered, viewed)
    assert viewed[0, 0, 2, 5].item() == logits[0, 0, 2, 5 - 2 + 6].item()


def test_predict_bf16_autocast_close_to_float32():
    model = _small_enformer()
    model.chunked_inference = True  # the chunked stages under autocast too
    model.regzoo_task = {"task_type": "regression"}
    x = _one_hot(3, 1024)
    fp32 = predict(model, x, device="cpu")
    bf16 = predict(model, x, device="cpu", autocast="bf16")
    assert bf16.dtype == fp32.dtype and bf16.shape == fp32.shape
    r = torch.corrcoef(
        torch.stack([torch.from_numpy(fp32).flatten(), torch.from_numpy(bf16).flatten()])
    )
    assert 0.99 < r[0, 1].item() < 1.0  # close, and really computed in bfloat16
    with pytest.raises(InputError, match="autocast"):
        predict(model, x, device="cpu", autocast="fp8")


# ---------------------------------------------------------------- fused channels-last inference


@pytest.mark.parametrize("m", [2, 3, 4])
def test_winograd_matrices_compute_the_correlation(m):
    at, g, bt = enformer_module.winograd_matrices(m, 5)
    assert at.shape == (m, m + 4) and g.shape == (m + 4, 5) and bt.shape == (m + 4, m + 4)
    assert torch.equal(bt, bt.round())  # integer input transform
    gen = torch.Generator().manual_seed(m)
    taps, data = (
        torch.randn(5, generator=gen, dtype=torch.float64),
        torch.randn(m + 4, generator=gen, dtype=torch.float64),
    )
    expected = torch.stack([(taps * data[j : j + 5]).sum() for j in range(m)])
    torch.testing.assert_close(at @ ((g @ taps) * (bt @ data)), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("m", [2, 4])
def test_winograd_conv_equals_conv1d(m, monkeypatch):
    monkeypatch.setattr(enformer_module, "WINOGRAD_CHUNK_TILES", 5)  # several chunks, a short one
    gen = torch.Generator().manual_seed(0)
    h = torch.randn(2, 48, 24, generator=gen)
    weight, bias = torch.randn(16, 24, 5, generator=gen), torch.randn(16, generator=gen)
    got = enformer_module._winograd_conv(F.pad(h, (0, 0, 2, 2)), weight, bias, m, 0.5)
    expected = F.conv1d(h.transpose(1, 2).double(), 0.5 * weight.double(), bias.double(), padding=2)
    scale = expected.abs().max().item()  # float32 rounding of sums of 120 terms
    torch.testing.assert_close(got.double(), expected.transpose(1, 2), rtol=0, atol=2e-6 * scale)


@pytest.mark.parametrize("output", ["profile", "scalar"])
def test_fused_inference_equals_autograd_path(output, monkeypatch):
    # small chunks: the residual/pool chunk and Winograd chunk boundaries are exercised
    monkeypatch.setattr(enformer_module, "FUSED_CHUNK_ELEMENTS", 48 * 40)
    monkeypatch.setattr(enformer_module, "WINOGRAD_CHUNK_TILES", 7)
    model = _small_enformer()
    if output == "scalar":
        torch.manual_seed(0)
        model = create("enformer", seq_len=1000, n_tasks=5, output="scalar", **SMALL).eval()
    x = _one_hot(2, model.seq_len)
    ref = {k: v.detach() for k, v in model.forward_heads(x).items()}
    with torch.inference_mode():
        assert model._fused_inference_ok(x)
        fused = model.forward_heads(x)
        single = model(x, head="mouse")
    for head in ref:
        scale = ref[head].abs().max().item()
        assert fused[head].shape == ref[head].shape and fused[head].is_contiguous()
        torch.testing.assert_close(fused[head], ref[head], rtol=1e-5, atol=1e-5 * scale)
    torch.testing.assert_close(single, fused["mouse"])
    # training still works (and gets gradients) after fused calls
    model.train()
    model(x).sum().backward()
    assert model.conv_tower[0][0][2].weight.grad.abs().sum() > 0


def test_fused_inference_is_off_when_it_would_change_something():
    model = _small_enformer()
    x = _one_hot(1, 1024)
    with torch.inference_mode():
        assert model._fused_inference_ok(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert not model._fused_inference_ok(x)
        seen = []
        handle = model.conv_tower[1][1].register_forward_hook(lambda m, i, o: seen.append(1))
        assert not model._fused_inference_ok(x)
        model(x)
        handle.remove()
        assert seen == [1]
    with torch.no_grad():
        model.train()
        assert not model._fused_inference_ok(x)
    model.eval()
    assert not model._fused_inference_ok(x)  # autograd on
