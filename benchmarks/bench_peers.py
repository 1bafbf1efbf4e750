"""Side-by-side speed of regzoo and peer implementations, in one process, as ratios.

Each comparison runs both implementations on the same inputs in this process (warm-up, then the
median of ``--repeats`` timed calls with ``time.perf_counter``; torch threads fixed with
``torch.set_num_threads``) and reports ``ours / theirs`` (lower is better for regzoo):

- ``one-hot``: 10,000 random 1,000-bp DNA strings (mixed case, about 2% N) -> ``(N, 4, L)``
  float32 tensor. regzoo ``regzoo.data.encode.one_hot_batch`` vs tangermeme
  ``tangermeme.utils.one_hot_encode`` per sequence, stacked. tangermeme rejects lowercase (and any
  IUPAC code other than N), so its timed call includes ``str.upper()``; a second row times it on
  upper-cased input prepared beforehand. Both encode N as an all-zero column; the outputs are
  checked to be equal before timing.
- ``one-hot 1 x 10 Mbp``: one random 10-Mbp sequence (2% N), upper case and soft-masked (every
  other 1-kb block lower case), ``int8`` and ``float32``: regzoo ``regzoo.data.encode.one_hot(seq,
  dtype=...)`` vs ``tangermeme.utils.one_hot_encode(seq, dtype=...)`` (its timed call includes
  ``str.upper()`` on soft-masked input), timed in alternation, median of at least 7.
- ``reverse complement``: a ``(10,000, 4, 1,000)`` one-hot tensor. regzoo
  ``regzoo.data.encode.reverse_complement`` (whole batch) vs tangermeme
  ``tangermeme.utils.reverse_complement``, which takes one sequence at a time (its documented
  batch recipe: ``torch.stack([reverse_complement(x) for x in X])``). Outputs checked equal.
- ``Enformer``: a small configuration (C=192, 6 tower blocks -> 128-bp bins, 2 transformer
  layers, 8 heads, both heads, 4,096 bp, batch 2). regzoo ``models.create("enformer", ...)`` vs
  ``enformer_pytorch.Enformer.from_hparams(...)``; parameter counts must match exactly; forward
  (eval, no_grad) and forward + backward (train mode, sum of both heads' means). enformer-pytorch
  takes ``(batch, L, 4)`` and returns ``(batch, bins, tracks)``; regzoo takes ``(batch, 4, L)`` and
  returns ``(batch, tracks, bins)``: each gets its own layout, made beforehand.

Peers (benchmark only, not regzoo dependencies)::

    pip install --no-deps tangermeme==1.6.0 enformer-pytorch==0.8.12 numba llvmlite

enformer-pytorch imports ``transformers`` (heavy) only for its ``PretrainedConfig`` /
``PreTrainedModel`` base classes; when ``transformers`` is absent a minimal stand-in is put in
``sys.modules`` (said in the output); so are ``polars`` and ``pyfaidx``, imported by its genome
data sets only. A peer that cannot be imported is reported and its
comparison skipped.

Usage::

    python benchmarks/bench_peers.py [--threads 1] [--repeats 5] [--quick] [--out results.json]

``--quick``: 2,000 sequences and at most 3 repeats. On a shared CPU one torch thread (the
default) is more reliable than two.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import types
from collections.abc import Callable

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from regzoo.data.encode import one_hot, one_hot_batch, reverse_complement
from regzoo.models import create

console = Console(width=110)


def timeit(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in milliseconds after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def import_tangermeme():
    try:
        import tangermeme.utils as tu
    except Exception as exc:  # noqa: BLE001 - any import failure means: skip
        console.print(f"[yellow]SKIP tangermeme comparisons: cannot import tangermeme ({exc!r})")
        return None
    return tu


def _stub_transformers() -> None:
    """A minimal ``transformers`` with the two base classes enformer-pytorch subclasses."""
    mod = types.ModuleType("transformers")

    class PretrainedConfig:
        def __init__(self, **kwargs):
            for k, v in kwargs.items():
                setattr(self, k, v)

    class PreTrainedModel(torch.nn.Module):
        def __init__(self, config):
            super().__init__()
            self.config = config

        @property
        def device(self):
            return next(self.parameters()).device

    mod.PretrainedConfig = PretrainedConfig
    mod.PreTrainedModel = PreTrainedModel
    mod.__regzoo_stub__ = True
    sys.modules["transformers"] = mod


def import_enformer_pytorch(notes: list[str]):
    """enformer_pytorch.Enformer, with stand-ins for what its model code does not need.

    ``REGZOO_BENCH_STUB_TRANSFORMERS=1`` uses the ``transformers`` stand-in even where a (newer,
    incompatible) transformers is installed: enformer-pytorch 0.8.12 pins transformers 4.56.2."""
    try:
        if os.environ.get("REGZOO_BENCH_STUB_TRANSFORMERS") == "1":
            raise ImportError("stand-in asked for")
        import transformers  # noqa: F401
    except Exception:  # noqa: BLE001
        _stub_transformers()
        note = (
            "transformers not installed: stubbed in sys.modules (PretrainedConfig, "
            "PreTrainedModel as a plain nn.Module) to build enformer_pytorch.Enformer"
        )
        notes.append(note)
        console.print(f"[yellow]NOTE {note}")
    # polars and pyfaidx are imported by enformer_pytorch.data for its genome data sets only
    missing = []
    for name, attrs in (("polars", ()), ("pyfaidx", ("Fasta",))):
        try:
            __import__(name)
        except Exception:  # noqa: BLE001
            stub = types.ModuleType(name)
            for attr in attrs:
                setattr(stub, attr, None)
            sys.modules[name] = stub
            missing.append(name)
    if missing:
        note = (
            f"{', '.join(missing)} not installed: stubbed as empty module(s) (used only by "
            "enformer_pytorch.data's genome data sets, not by the model)"
        )
        notes.append(note)
        console.print(f"[yellow]NOTE {note}")
    try:
        from enformer_pytorch import Enformer
    except Exception as exc:  # noqa: BLE001
        console.print(f"[yellow]SKIP Enformer comparison: cannot import enformer_pytorch ({exc!r})")
        return None
    return Enformer


def random_seqs(n: int, length: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    alphabet = np.frombuffer(b"ACGTacgtN", dtype=np.uint8)
    p = np.array([0.1225] * 8 + [0.02])  # about half upper, half lower case; 2% N
    codes = rng.choice(alphabet, size=(n, length), p=p)
    return [row.tobytes().decode("ascii") for row in codes]


def bench_one_hot(tu, n: int, length: int, repeats: int, notes: list[str]) -> list[dict]:
    seqs = random_seqs(n, length)
    upper = [s.upper() for s in seqs]

    def ours():
        return torch.from_numpy(one_hot_batch(seqs))

    def theirs():
        return torch.stack([tu.one_hot_encode(s.upper(), dtype=torch.float32) for s in seqs])

    def theirs_upper():
        return torch.stack([tu.one_hot_encode(s, dtype=torch.float32) for s in upper])

    a, b = ours(), theirs()
    if a.shape != b.shape or a.dtype != b.dtype or not torch.equal(a, b):
        raise SystemExit(f"one-hot outputs differ: {a.shape} {a.dtype} vs {b.shape} {b.dtype}")
    notes.append(
        "one-hot: outputs equal elementwise (A,C,G,T rows; N = all-zero column in both); "
        "tangermeme rejects lowercase and IUPAC codes other than N, so its timed call includes "
        "str.upper()"
    )
    t_ours = timeit(ours, repeats)
    label = f"one-hot {n:,} x {length:,} bp"
    return [
        {
            "benchmark": label + " (theirs incl. .upper())",
            "ours_ms": t_ours,
            "theirs_ms": timeit(theirs, repeats),
        },
        {
            "benchmark": label + " (theirs on pre-uppercased)",
            "ours_ms": t_ours,
            "theirs_ms": timeit(theirs_upper, repeats),
        },
    ]


def timeit_pair(
    ours: Callable[[], object], theirs: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """Median wall times (ms) of two functions timed in alternation (ours, theirs, ours, ...)
    after one untimed call of each, so that both see the same machine load."""
    ours(), theirs()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, out in ((ours, times[0]), (theirs, times[1])):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times[0]), 1000 * statistics.median(times[1])


def long_sequence(length: int, seed: int = 3) -> tuple[str, str]:
    """One random ``length``-bp sequence (ACGT, 2% N) upper-cased, and the same soft-masked:
    every other 1,000-bp block lower-cased (half the bases, in runs as in a masked genome)."""
    rng = np.random.default_rng(seed)
    alphabet = np.frombuffer(b"ACGTN", dtype=np.uint8)
    raw = rng.choice(alphabet, size=length, p=[0.245] * 4 + [0.02])
    soft = raw.copy()
    blocks = soft[: length - length % 2000].reshape(-1, 2000)
    blocks[:, 1000:] |= 0x20  # ASCII lower case
    return raw.tobytes().decode("ascii"), soft.tobytes().decode("ascii")


def bench_one_hot_long(tu, length: int, repeats: int, notes: list[str]) -> list[dict]:
    """``one_hot`` of one long sequence per output dtype, upper-case and soft-masked input.

    regzoo ``one_hot(seq, dtype=...)`` (wrapped by ``torch.from_numpy``, as tangermeme returns a
    tensor) vs ``tangermeme.utils.one_hot_encode(seq, dtype=...)`` (one thread, its default
    ``n_jobs=1``; int8 is its native dtype, other dtypes are a cast of it). On soft-masked input
    tangermeme needs ``seq.upper()`` first, which its timed call includes. Outputs are checked
    equal; ours and theirs are timed in alternation (:func:`timeit_pair`)."""
    upper, soft = long_sequence(length)
    rows = []
    for name in ("int8", "float32"):
        tdtype = getattr(torch, name)
        cases = (
            ("upper-case input", upper, lambda s=upper, d=tdtype: tu.one_hot_encode(s, dtype=d)),
            (
                "soft-masked input, theirs incl. .upper()",
                soft,
                lambda s=soft, d=tdtype: tu.one_hot_encode(s.upper(), dtype=d),
            ),
        )
        for label, seq, theirs in cases:

            def ours(seq=seq, name=name):
                return torch.from_numpy(one_hot(seq, dtype=name))

            a, b = ours(), theirs()
            if a.shape != b.shape or a.dtype != b.dtype or not torch.equal(a, b):
                raise SystemExit(f"one-hot outputs differ ({name}, {label})")
            t_ours, t_theirs = timeit_pair(ours, theirs, repeats)
            rows.append(
                {
                    "benchmark": f"one-hot 1 x {length / 1e6:g} Mbp, {name}, {label}",
                    "ours_ms": t_ours,
                    "theirs_ms": t_theirs,
                }
            )
    notes.append(
        f"one-hot 1 x {length / 1e6:g} Mbp: outputs equal; timed in alternation, median of "
        f"{repeats}; soft-masked = every other 1-kb block lower case"
    )
    return rows


def bench_rc(tu, n: int, length: int, repeats: int, notes: list[str]) -> list[dict]:
    x = torch.from_numpy(one_hot_batch(random_seqs(n, length, seed=1)))

    def ours():
        return reverse_complement(x)

    def theirs():
        return torch.stack([tu.reverse_complement(s) for s in x])

    if not torch.equal(ours(), theirs()):
        raise SystemExit("reverse-complement outputs differ")
    notes.append(
        "reverse complement: outputs equal; tangermeme's tensor path takes one (4, L) sequence, "
        "so it is looped and stacked (its documented batch recipe)"
    )
    return [
        {
            "benchmark": f"reverse complement ({n:,}, 4, {length:,})",
            "ours_ms": timeit(ours, repeats),
            "theirs_ms": timeit(theirs, repeats),
        },
    ]


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def bench_enformer(EnformerPT, repeats: int, notes: list[str]) -> list[dict]:
    seq_len, channels, depth, heads, batch = 4096, 192, 2, 8, 2
    n_human, n_mouse, divisible = 128, 64, 32
    torch.manual_seed(0)
    ours = create(
        "enformer",
        seq_len=seq_len,
        n_tasks=n_human,
        n_tasks_mouse=n_mouse,
        channels=channels,
        tower_blocks=6,
        channels_divisible_by=divisible,
        transformer_layers=depth,
        n_heads=heads,
    )
    target = ours.n_bins
    theirs = EnformerPT.from_hparams(
        dim=channels,
        depth=depth,
        heads=heads,
        output_heads=dict(human=n_human, mouse=n_mouse),
        target_length=target,
        num_downsamples=7,
        dim_divisible_by=divisible,
    )
    p_ours, p_theirs = n_params(ours), n_params(theirs)
    console.print(f"Enformer parameters: regzoo {p_ours:,}  enformer-pytorch {p_theirs:,}")
    if p_ours != p_theirs:
        raise SystemExit(f"Enformer sizes differ: {p_ours:,} vs {p_theirs:,} parameters")

    x = torch.from_numpy(one_hot_batch(random_seqs(batch, seq_len, seed=2)))
    x_t = x.transpose(1, 2).contiguous()  # enformer-pytorch: (batch, L, 4)

    ours.eval()
    theirs.eval()
    with torch.no_grad():
        out_o, out_t = ours.forward_heads(x), theirs(x_t)
    for head in ("human", "mouse"):
        so, st = tuple(out_o[head].shape), tuple(out_t[head].transpose(1, 2).shape)
        if so != st:
            raise SystemExit(f"Enformer {head} output shapes differ: {so} vs {st} (transposed)")
    notes.append(
        f"Enformer: {p_ours:,} parameters in both; outputs human {tuple(out_o['human'].shape)}, "
        f"mouse {tuple(out_o['mouse'].shape)} (enformer-pytorch: same, bins and tracks swapped); "
        f"C={channels}, tower widths divisible by {divisible}, {depth} layers, {heads} heads, "
        f"{seq_len} bp, {target} bins, batch {batch}"
    )

    def fwd_ours():
        with torch.no_grad():
            return ours.forward_heads(x)

    def fwd_theirs():
        with torch.no_grad():
            return theirs(x_t)

    def step(model, inp, call):
        def run():
            model.zero_grad(set_to_none=True)
            out = call(inp)
            loss = sum(o.mean() for o in out.values())
            loss.backward()

        return run

    rows = [
        {
            "benchmark": f"Enformer forward (eval, batch {batch}, {seq_len} bp)",
            "ours_ms": timeit(fwd_ours, repeats),
            "theirs_ms": timeit(fwd_theirs, repeats),
        },
    ]
    ours.train()
    theirs.train()
    rows.append(
        {
            "benchmark": f"Enformer forward+backward (train, batch {batch})",
            "ours_ms": timeit(step(ours, x, ours.forward_heads), repeats),
            "theirs_ms": timeit(step(theirs, x_t, theirs), repeats),
        }
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats; median reported")
    ap.add_argument("--quick", action="store_true", help="2,000 sequences, at most 3 repeats")
    ap.add_argument("--out", help="write the results as JSON to this file")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    repeats = min(args.repeats, 3) if args.quick else args.repeats
    n_seqs, length = (2_000 if args.quick else 10_000), 1_000
    header = (
        f"torch {torch.__version__} | threads {torch.get_num_threads()} | "
        f"{platform.processor() or platform.machine()} | os.cpu_count {os.cpu_count()} | "
        f"python {platform.python_version()} | repeats {repeats} (median, 1 warm-up)"
    )
    console.print(header)

    notes: list[str] = []
    rows: list[dict] = []
    tu = import_tangermeme()
    if tu is not None:
        import tangermeme

        notes.append(f"tangermeme {tangermeme.__version__}")
        rows += bench_one_hot(tu, n_seqs, length, repeats, notes)
        long_bp = 2_000_000 if args.quick else 10_000_000
        rows += bench_one_hot_long(tu, long_bp, max(7, repeats), notes)
        rows += bench_rc(tu, n_seqs, length, repeats, notes)
    EnformerPT = import_enformer_pytorch(notes)
    if EnformerPT is not None:
        rows += bench_enformer(EnformerPT, repeats, notes)

    for r in rows:
        r["ratio"] = r["ours_ms"] / r["theirs_ms"]
    table = Table(title="regzoo vs peers (ratio = ours / theirs; < 1: regzoo faster)")
    table.add_column("benchmark")
    table.add_column("ours (ms)", justify="right")
    table.add_column("theirs (ms)", justify="right")
    table.add_column("ratio", justify="right")
    for r in rows:
        table.add_row(
            r["benchmark"], f"{r['ours_ms']:.1f}", f"{r['theirs_ms']:.1f}", f"{r['ratio']:.2f}"
        )
    console.print(table)
    for note in notes:
        console.print(f"- {note}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(
                {
                    "header": header,
                    "threads": args.threads,
                    "repeats": repeats,
                    "results": rows,
                    "notes": notes,
                },
                fh,
                indent=2,
            )
        console.print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
