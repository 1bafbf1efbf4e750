"""All nine architectures at their published size on one GPU: inference and training-step speed, memory.

For each architecture, ``regzoo.models.create(name)`` with no other argument (the published
configuration: input length, number of outputs, layer sizes; the parameter count is checked against
the card), on random one-hot input of the published length:

- inference: ``model(x)`` under ``torch.inference_mode``, fp32 and under ``torch.autocast(cuda,
  bfloat16)``; sequences/s from the median of ``--repeats`` timed calls after warm-up
  (``torch.cuda.synchronize`` around each);
- training step: forward, a loss of the model's kind (binary cross-entropy for the scalar models,
  Poisson for the profile models), backward and an AdamW step, fp32 and bf16 autocast; median ms
  and sequences/s;
- peak GPU memory (``torch.cuda.max_memory_allocated``) of the timed calls (weights and optimizer
  state included; reset after the warm-up, whose cuDNN autotuning tries large workspaces).

Batch sizes (``--batch`` overrides the first): 256 for the short-window CNNs (DeepBind, Deep6mAPred,
DeepSite, DeepSEA, Basset, DanQ, ExpResNet), 8 for Basenji (131,072 bp) and 1 for Enformer
(196,608 bp), as their papers trained (Enformer: batch 1 per TPU core, 64 cores).

fp32 runs keep PyTorch's defaults (TF32 off for matmuls, on for cuDNN convolutions); both are
printed. Usage (GPU only; the CPU has ``bench_enformer_full.py`` for the one that matters there)::

    python benchmarks/bench_gpu_zoo.py [--models deepsea,enformer] [--repeats 10] [--out zoo.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from regzoo.models import ARCHITECTURES, card, count_parameters, create

BATCH = {"basenji": 8, "enformer": 1}
DEFAULT_BATCH = 256


def one_hot(batch: int, seq_len: int, device) -> torch.Tensor:
    idx = torch.randint(0, 4, (batch, seq_len), device=device)
    return F.one_hot(idx, 4).float().transpose(1, 2).contiguous()


def loss_of(out, profile: bool) -> torch.Tensor:
    outs = out.values() if isinstance(out, dict) else [out]
    total = 0.0
    for y in outs:
        y = y.float()
        if profile:  # Poisson on softplus rates against random counts
            total = total + F.poisson_nll_loss(
                F.softplus(y), torch.rand_like(y) * 4, log_input=False
            )
        else:
            total = total + F.binary_cross_entropy_with_logits(
                y, (torch.rand_like(y) < 0.1).float()
            )
    return total


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def peak_gb() -> float:
    return torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else float("nan")


def reset_peak() -> None:
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def timed(fn, repeats: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    sync()
    # cuDNN's autotuner (cudnn.benchmark) tries algorithms with large workspaces during the
    # warm-up; the peak counts from here, what the timed calls hold (weights, optimizer state too)
    reset_peak()
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return times


def measure(model, x, precision: str, profile: bool, repeats: int) -> dict:
    """Inference and training-step timings and peak memory at one precision."""
    batch, row = x.shape[0], {}
    auto = torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
    model.eval()
    with torch.inference_mode(), auto:
        med = statistics.median(timed(lambda: model(x), repeats))
    row[f"infer_{precision}_ms"] = 1000 * med
    row[f"infer_{precision}_seqs_per_s"] = batch / med
    row[f"infer_{precision}_peak_gb"] = peak_gb()

    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        with auto:
            loss = loss_of(model(x), profile)
        loss.backward()
        opt.step()

    med = statistics.median(timed(step, repeats))
    row[f"train_{precision}_ms"] = 1000 * med
    row[f"train_{precision}_seqs_per_s"] = batch / med
    row[f"train_{precision}_peak_gb"] = peak_gb()
    return row


def bench(name: str, batch: int, repeats: int, device) -> dict:
    model_card = card(name)
    model = create(name).to(device)
    x = one_hot(batch, model_card.seq_len, device)
    profile = model_card.n_bins is not None
    row = {"model": name, "seq_len": model_card.seq_len, "batch": batch,
           "params": count_parameters(model), "published_params": model_card.published_params}  # fmt: skip
    for precision in ("fp32", "bf16"):
        row.update(measure(model, x, precision, profile, repeats))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(ARCHITECTURES))
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--batch", type=int, default=None, help="batch size for every model")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--cpu-smoke", action="store_true", help="run on the CPU (a smoke test only)")
    args = ap.parse_args()
    if not torch.cuda.is_available() and not args.cpu_smoke:
        raise SystemExit("bench_gpu_zoo.py needs a CUDA GPU (--cpu-smoke to try it on the CPU)")
    device = torch.device("cpu" if args.cpu_smoke else "cuda")
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    header = {
        "gpu": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "tf32_cudnn": torch.backends.cudnn.allow_tf32,
    }
    print(json.dumps(header), flush=True)
    rows = []
    for name in args.models.split(","):
        batch = args.batch or BATCH.get(name, DEFAULT_BATCH)
        try:
            rows.append(bench(name, batch, args.repeats, device))
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception as err:  # noqa: BLE001 - one model's failure is a row, not the end
            rows.append(
                {"model": name, "batch": batch, "error": f"{type(err).__name__}: {err}"[:300]}
            )
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        print(json.dumps(rows[-1]), flush=True)
    print(f"\n{header['gpu']}, torch {header['torch']}, median of {args.repeats}\n")
    print("| model | bp | batch | params | infer fp32 seq/s | infer bf16 seq/s | train fp32 seq/s "
          "| train bf16 seq/s | train fp32 peak GB | train bf16 peak GB |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            print(f"| {r['model']} | | {r['batch']} | {r['error'][:60]} |")
            continue
        print(
            f"| {r['model']} | {r['seq_len']:,} | {r['batch']} | {r['params']:,} "
            f"| {r['infer_fp32_seqs_per_s']:,.1f} | {r['infer_bf16_seqs_per_s']:,.1f} "
            f"| {r['train_fp32_seqs_per_s']:,.1f} | {r['train_bf16_seqs_per_s']:,.1f} "
            f"| {r['train_fp32_peak_gb']:.2f} | {r['train_bf16_peak_gb']:.2f} |"
        )
    if args.out:
        args.out.write_text(json.dumps({"header": header, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
