"""Peak memory of training compact DeepSEA on the bundled ``elements`` task, and whether the genome
code cache is memory-mapped (shared) or copied into each DataLoader worker.

Three child processes, one after the other, each watched from here (``/proc`` polled every 0.2 s
for the child and all its descendants: ``VmRSS``, ``RssAnon`` = private heap, ``RssFile`` =
file-backed pages such as a memory map; and whether ``codes.u8``, the cache file, is mapped):

1. ``regzoo train --model deepsea --task elements --max-epochs 1 --budget-minutes B`` (the CLI;
   it stops at the budget, then scores the test split);
2. and 3. :func:`regzoo.train.fit.fit` of the same model and task through the Python API with
   ``num_workers=0`` and ``num_workers=2`` (the CLI has no workers option), same budget.

The peak RSS of each child is also taken from ``os.wait4`` (``ru_maxrss``, the kernel's own
figure). With workers, a worker's RSS that is mostly ``RssFile`` (and a small ``RssAnon``) with the
cache file in its maps means the genome is shared through the page cache, not copied.

Usage (about 3 x (B + 1) minutes)::

    python benchmarks/rss_elements.py [--budget-minutes 1.5] [--out runs/rss_elements]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

FIELDS = ("VmRSS", "RssAnon", "RssFile", "RssShmem")

API = """
import sys
from regzoo.data.elements import load_elements_task
from regzoo.models import create
from regzoo.train.fit import fit
task = load_elements_task("elements")
model = create("deepsea", seq_len=task.seq_len, n_tasks=task.n_tasks, compact=True)
fit(model, task, max_epochs=1, budget_minutes=float(sys.argv[1]), num_workers=int(sys.argv[2]),
    progress=False, seed=0)
"""


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def _status(pid: int) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in FIELDS:
                out[key] = int(value.split()[0])  # kB
    except OSError:
        pass
    return out


def _cache_mapping(pid: int) -> dict[str, int] | None:
    """Rss and Anonymous (kB) of the ``codes.u8`` mapping in ``/proc/PID/smaps``; None if unmapped.
    A file mapping with Anonymous 0 is shared through the page cache (no private copy)."""
    try:
        text = Path(f"/proc/{pid}/smaps").read_text()
    except OSError:
        return None
    found, inside = None, False
    for line in text.splitlines():
        head = line.split()[0] if line else ""
        if "-" in head and ":" not in head:  # a mapping's header line
            inside = line.endswith("codes.u8")
            if inside and found is None:
                found = {"Rss": 0, "Anonymous": 0}
        elif inside and head in ("Rss:", "Anonymous:"):
            found[head[:-1]] += int(line.split()[1])
    return found


def watched(cmd: list[str], log: Path) -> dict:
    """Run ``cmd``; peak /proc figures per process of its tree, wall time, wait4 peak RSS."""
    peaks: dict[int, dict] = {}
    with open(log, "w") as fh:
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                stack, seen = [proc.pid], []
                while stack:
                    p = stack.pop()
                    seen.append(p)
                    stack += _children(p)
                for p in seen:
                    st = _status(p)
                    if not st:
                        continue
                    rec = peaks.setdefault(p, {"role": "main" if p == proc.pid else "child"})
                    for k, v in st.items():
                        rec[k] = max(rec.get(k, 0), v)
                    cache = _cache_mapping(p)
                    if cache:
                        rec["maps_cache"] = True
                        rec["cache_rss"] = max(rec.get("cache_rss", 0), cache["Rss"])
                        rec["cache_anon"] = max(rec.get("cache_anon", 0), cache["Anonymous"])
                time.sleep(0.2)

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        thread.join()
        wall = time.perf_counter() - began
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {code}); see {log}")
    return {
        "command": " ".join(cmd),
        "wall_s": wall,
        "wait4_maxrss_mb": usage.ru_maxrss / 1024,
        "processes": [{"pid": p, **{k: v for k, v in r.items()}} for p, r in peaks.items()],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget-minutes", type=float, default=1.5)
    parser.add_argument("--out", type=Path, default=Path("runs/rss_elements"))
    parser.add_argument("--runs", default="0,1,2", help="which of the three runs (0-based)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    b = str(args.budget_minutes)
    runs = {
        "CLI train (num_workers 0)": [
            sys.executable, "-m", "regzoo.cli", "train", "--model", "deepsea",
            "--task", "elements", "--max-epochs", "1", "--budget-minutes", b,
            "--out", str(args.out / "cli"), "--overwrite",
        ],
        "fit, num_workers=0": [sys.executable, "-c", API, b, "0"],
        "fit, num_workers=2": [sys.executable, "-c", API, b, "2"],
    }  # fmt: skip
    results = {}
    chosen = {int(i) for i in args.runs.split(",")}
    for i, (name, cmd) in enumerate(runs.items()):
        if i not in chosen:
            continue
        print(f"$ {' '.join(cmd[:3])} ...", file=sys.stderr)
        results[name] = watched(cmd, args.out / f"run{i}.log")
    (args.out / "results.json").write_text(json.dumps(results, indent=1))

    print(
        "| run | wall time | peak RSS (wait4) | process | peak VmRSS | peak RssAnon | "
        "peak RssFile | codes.u8 mapped: Rss / Anonymous |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---|")
    for name, r in results.items():
        # the main process and its DataLoader workers (helper processes with no RSS are skipped)
        procs = [p for p in r["processes"] if p.get("VmRSS", 0) > 50_000 or p["role"] == "main"]
        for j, p in enumerate(procs):
            head = (
                f"| {name} | {r['wall_s']:.0f} s | {r['wait4_maxrss_mb']:.0f} MB"
                if j == 0
                else "| | |"
            )
            print(
                f"{head} | {p['role']} | {p.get('VmRSS', 0) / 1024:.0f} MB | "
                f"{p.get('RssAnon', 0) / 1024:.0f} MB | {p.get('RssFile', 0) / 1024:.0f} MB | "
                + (
                    f"{p['cache_rss'] / 1024:.1f} MB / {p['cache_anon'] / 1024:.1f} MB |"
                    if p.get("maps_cache")
                    else "not mapped |"
                )
            )
    print(f"\nresults: {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
