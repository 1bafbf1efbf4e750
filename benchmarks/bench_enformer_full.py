"""Enformer at the published size: regzoo vs enformer-pytorch holding the same weights.

Builds ``enformer_pytorch.Enformer`` at the published configuration (dim 1536, depth 11, 8 heads,
human 5313 + mouse 1643 tracks, target length 896) with random weights, saves its state dict,
imports it with ``regzoo.weights.enformer_pytorch.import_enformer`` (what ``regzoo import
enformer`` does) and checks both heads equal (max abs diff / max abs output <= 1e-4). Then times
one forward of batch 1 (fp32, ``torch.inference_mode``, ``--threads`` torch threads) ALTERNATING
regzoo, enformer-pytorch, regzoo, ... (``--repeats`` each, after one warm-up each) and reports
the medians and their ratio; then regzoo under ``torch.autocast("cpu", bfloat16)`` (speed, and
the Pearson correlation of bf16 vs fp32 outputs per head). Peak RSS: each model alone in a child
process (random weights, one forward), ``resource.getrusage(RUSAGE_SELF).ru_maxrss``.

enformer-pytorch (benchmark only): ``pip install --no-deps enformer-pytorch==0.8.12``; it is
imported as ``bench_peers.py`` does (stand-ins for ``transformers``, ``polars``, ``pyfaidx``).

Usage::

    python benchmarks/bench_enformer_full.py [--quick] [--threads 2] [--repeats 3] [--no-rss]
        [--device cpu|cuda] [--out results.json]

``--device cuda``: both models on the GPU, strict fp32 (TF32 off for matmuls and convolutions, so
that the equality check means what it says), each timed call between ``torch.cuda.synchronize``;
bf16 autocast timed for both models; peak GPU memory of one forward of each
(``torch.cuda.max_memory_allocated``, weights included) instead of RSS.

``--quick``: 49,152 bp (384 bins -> 224 after the crop), for a smoke run. At full size the two
models, one state dict and the activations take about 8 GB. On a shared CPU the absolute times
are not meaningful; the ratio from one alternating run is.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_peers import import_enformer_pytorch  # noqa: E402

from regzoo.models import create  # noqa: E402
from regzoo.weights.enformer_pytorch import import_enformer  # noqa: E402

FULL_LEN, QUICK_LEN = 196_608, 49_152
HEADS = {"human": 5313, "mouse": 1643}


def hparams(seq_len: int) -> dict:
    return {
        "dim": 1536,
        "depth": 11,
        "heads": 8,
        "output_heads": dict(HEADS),
        "target_length": seq_len // 128 * 896 // 1536,
    }


def one_hot(seq_len: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 4, (1, seq_len), generator=g)
    return torch.nn.functional.one_hot(idx, 4).float()  # (1, L, 4): enformer-pytorch's layout


def run_ours(model, x_ours):
    return model.forward_heads(x_ours)


def run_theirs(model, x_theirs):
    out = model(x_theirs)
    return {k: v.transpose(1, 2) for k, v in out.items()}


def _sync() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def timed(fn) -> tuple[float, object]:
    _sync()
    start = time.perf_counter()
    out = fn()
    _sync()
    return time.perf_counter() - start, out


def gpu_peaks(ours, theirs, x_ours, x_theirs, dtype) -> dict[str, float]:
    """Peak GPU memory (GB) of one forward of each model, weights included."""
    peaks = {}
    for name, fn in (("regzoo", lambda: run_ours(ours, x_ours)),
                     ("enformer-pytorch", lambda: run_theirs(theirs, x_theirs))):  # fmt: skip
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dtype == "bf16"):
            fn()
        peaks[name] = torch.cuda.max_memory_allocated() / 2**30
    return peaks


def pearson(a: torch.Tensor, b: torch.Tensor) -> float:
    ab = torch.stack([a.flatten().double(), b.flatten().double()])
    return float(torch.corrcoef(ab)[0, 1])


def rss_child(which: str, seq_len: int, threads: int) -> None:
    """Child process: build one model (random weights), one forward; print peak RSS (MB)."""
    torch.set_num_threads(threads)
    x = one_hot(seq_len)
    if which == "theirs":
        Enformer = import_enformer_pytorch([])
        model = Enformer.from_hparams(**hparams(seq_len)).eval()
        fn = lambda: model(x)  # noqa: E731
    else:
        model = create(
            "enformer",
            seq_len=seq_len,
            target_bins=hparams(seq_len)["target_length"],
            gamma_norm="distance",
        ).eval()
        x = x.transpose(1, 2).contiguous()
        fn = lambda: model.forward_heads(x)  # noqa: E731
    built = {"model_rss_mb": _rss_now_mb(), "build_peak_mb": _peak_mb()}
    if which == "ours_bf16":
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            fn()
    else:
        with torch.inference_mode():
            fn()
    print(json.dumps({"peak_rss_mb": _peak_mb(), **built}))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_now_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_rss(which: str, seq_len: int, threads: int) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--rss-child", which, "--seq-len", str(seq_len)]
    cmd += ["--threads", str(threads)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--quick", action="store_true", help=f"{QUICK_LEN:,} bp instead of {FULL_LEN:,}"
    )
    ap.add_argument("--seq-len", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-bf16", action="store_true")
    ap.add_argument("--no-rss", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--device", default="cpu", help="cpu or cuda (on cuda: strict fp32, TF32 off; GPU memory)"
    )
    ap.add_argument("--rss-child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    seq_len = args.seq_len or (QUICK_LEN if args.quick else FULL_LEN)
    if args.rss_child:
        rss_child(args.rss_child, seq_len, args.threads)
        return
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda":  # fp32 means fp32: the equality check needs it
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        args.no_rss = True  # GPU memory instead, below
    notes: list[str] = []
    Enformer = import_enformer_pytorch(notes)
    if Enformer is None:
        raise SystemExit("enformer-pytorch is not importable")
    torch.manual_seed(0)
    hp = hparams(seq_len)
    theirs = Enformer.from_hparams(**hp).eval()
    with torch.no_grad():  # random, non-trivial weights everywhere (zero-init layers included)
        for name, p in theirs.named_parameters():
            if "to_out" in name or "norm" in name or "bias" in name:
                p.add_(torch.randn_like(p) * 0.05)
        for name, buf in theirs.named_buffers():
            if name.endswith("running_mean"):
                buf.copy_(torch.randn_like(buf) * 0.1)
            elif name.endswith("running_var"):
                buf.copy_(torch.rand_like(buf) + 0.5)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "enformer_pytorch.pt"
        torch.save(theirs.state_dict(), path)
        ours, _ = import_enformer(path, seq_len=seq_len, **hp)
    ours.eval().to(device)
    theirs.to(device)
    x_theirs = one_hot(seq_len).to(device)
    x_ours = x_theirs.transpose(1, 2).contiguous()

    times: dict[str, list[float]] = {"regzoo": [], "enformer-pytorch": []}
    with torch.inference_mode():
        t_o, out_o = timed(lambda: run_ours(ours, x_ours))  # warm-up + equality
        t_t, out_t = timed(lambda: run_theirs(theirs, x_theirs))
        diffs = {}
        for head in HEADS:
            scale = out_t[head].abs().max().item()
            diffs[head] = (out_o[head] - out_t[head]).abs().max().item() / scale
        print(f"warm-up: regzoo {t_o:.2f} s, enformer-pytorch {t_t:.2f} s")
        print(
            "outputs: max abs diff / max abs output "
            + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items())
        )
        if max(diffs.values()) > 1e-4:
            raise SystemExit(f"outputs differ: {diffs}")
        for i in range(args.repeats):
            for name, fn in (
                ("regzoo", lambda: run_ours(ours, x_ours)),
                ("enformer-pytorch", lambda: run_theirs(theirs, x_theirs)),
            ):
                dt, _ = timed(fn)
                times[name].append(dt)
                print(f"  {name:17s} run {i + 1}: {dt:.3f} s", flush=True)
        gpu = {}
        if device.type == "cuda":
            gpu["peak_gb_fp32"] = gpu_peaks(ours, theirs, x_ours, x_theirs, "fp32")
            gpu["peak_gb_bf16"] = gpu_peaks(ours, theirs, x_ours, x_theirs, "bf16")
            theirs_bf16 = []
            with torch.autocast("cuda", dtype=torch.bfloat16):
                timed(lambda: run_theirs(theirs, x_theirs))
                for _ in range(args.repeats):
                    theirs_bf16.append(timed(lambda: run_theirs(theirs, x_theirs))[0])
            gpu["enformer-pytorch_bf16_median_s"] = statistics.median(theirs_bf16)
            print(f"gpu: {gpu}", flush=True)
        theirs = out_t = None  # free the peer before the bf16 runs
        bf16 = {}
        if not args.no_bf16:
            bf16_times = []
            for i in range(max(2, args.repeats - 1)):
                with torch.autocast(device.type, dtype=torch.bfloat16):
                    dt, out_b = timed(lambda: run_ours(ours, x_ours))
                bf16_times.append(dt)
                print(f"  regzoo bf16 run {i + 1}: {dt:.3f} s", flush=True)
            bf16 = {
                "median_s": statistics.median(bf16_times[1:]),
                "times_s": bf16_times,
                "pearson": {h: pearson(out_o[h], out_b[h].float()) for h in HEADS},
                "max_abs_diff_rel": {
                    h: (out_o[h] - out_b[h].float()).abs().max().item()
                    / out_o[h].abs().max().item()
                    for h in HEADS
                },
            }
    med = {k: statistics.median(v) for k, v in times.items()}
    ours = None
    rss = {}
    if not args.no_rss:
        for which in ("ours", "theirs") + (() if args.no_bf16 else ("ours_bf16",)):
            rss[which] = peak_rss(which, seq_len, args.threads)
            r = rss[which]
            print(
                f"peak RSS {which}: {r['peak_rss_mb']:.0f} MB (model built: {r['model_rss_mb']:.0f}"
                f" MB resident, {r['build_peak_mb']:.0f} MB peak while building)",
                flush=True,
            )
    result = {
        "seq_len": seq_len,
        "threads": args.threads,
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "gpu": gpu,
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
        "max_abs_diff_rel": diffs,
        "times_s": times,
        "median_s": med,
        "ratio_theirs_over_ours": med["enformer-pytorch"] / med["regzoo"],
        "bf16": bf16,
        "peak_rss_mb": rss,
        "notes": notes,
    }
    print(
        f"\n{seq_len:,} bp, batch 1, fp32, {result['device']}, {args.threads} threads: regzoo "
        f"{med['regzoo']:.3f} s, enformer-pytorch {med['enformer-pytorch']:.3f} s -> "
        f"{result['ratio_theirs_over_ours']:.2f}x"
    )
    if bf16:
        print(
            f"regzoo bf16 autocast: {bf16['median_s']:.2f} s "
            f"({med['regzoo'] / bf16['median_s']:.2f}x fp32); Pearson vs fp32 "
            + ", ".join(f"{h} {r:.6f}" for h, r in bf16["pearson"].items())
        )
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
