"""Run several architectures on one task with identical splits, seeds and budget.

Every (model, seed) run trains through :func:`regzoo.train.train_model` on the same
:class:`~regzoo.data.task.TaskData`, with the same optimiser settings and budget, then is scored on the
same test split. Each run writes ``runs/<model>-seed<k>/`` (the saved model, ``result.json``,
``predictions.npz``); a re-run with the same configuration skips runs already finished, so an
interrupted comparison resumes where it stopped. A run that fails (out of memory, a bad
configuration) is recorded with its reason and the others go on.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from regzoo.data.task import TaskData
from regzoo.train.metrics import PRIMARY_METRIC

RESULT = "result.json"


@dataclass
class CompareSettings:
    """The budget every architecture gets (identical for all of them).

    Attributes:
        max_epochs, batch_size, lr, patience: training settings (AdamW, early stopping on val loss).
        budget_minutes: wall-clock limit per run (training only). A wall-clock budget makes results
            depend on the machine; leave it ``None`` for results that reproduce exactly.
        published: build published configurations instead of the compact CPU ones.
        seeds: seeds per architecture (initialisation, batch order, augmentation).
        recipe: ``shared`` (the settings above for every architecture) or ``published`` (each
            architecture's published optimiser, lr, momentum, batch size and clipping where
            :mod:`regzoo.train.recipes` has one; the shared settings otherwise).
        lr_grid: learning rates tried per architecture (same grid for all); the one with the
            best validation primary metric is kept and its test metrics reported (``--tune-lr``).
        isolate: run each (architecture, seed) in its own worker process. A run that crashes the
            process (the kernel's out-of-memory killer, a segfault) is then reported like any other
            failure, and its peak memory is measured on a fresh allocator. Costs a few seconds
            per run (the worker imports torch).
    """

    max_epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    patience: int = 2
    budget_minutes: float | None = None
    published: bool = False
    seeds: tuple[int, ...] = (0,)
    augment: bool = True
    isolate: bool = False
    lr_grid: tuple[float, ...] | None = None
    profile_loss: str = "poisson"
    recipe: str = "shared"

    def model_args(self) -> dict[str, Any]:
        """What ``models.create`` gets besides the task's length and outputs."""
        return {} if self.published else {"compact": True}

    def fit_args_for(self, name: str) -> tuple[dict[str, Any], str]:
        """The fit arguments architecture ``name`` trains with, and a line saying which."""
        if self.recipe == "published":
            from regzoo.train.recipes import fit_args_for

            return fit_args_for(name, self.fit_args())
        return self.fit_args(), f"{name}: shared settings"

    def fit_args(self) -> dict[str, Any]:
        return {
            "max_epochs": self.max_epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "patience": self.patience,
            "budget_minutes": self.budget_minutes,
            "augment": self.augment,
            "profile_loss": self.profile_loss,
        }


@dataclass
class RunResult:
    """One architecture trained with one seed."""

    model: str
    seed: int
    status: str  # "ok" | "failed"
    fingerprint: str
    parameters: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    train_time_s: float = 0.0
    epochs: int = 0
    best_epoch: int = 0
    stopped_by: str = ""
    throughput_seq_s: float = 0.0
    peak_memory_mb: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)
    error: str = ""
    model_args: dict[str, Any] = field(default_factory=dict)
    metrics_per_label: dict[str, dict[str, float]] = field(default_factory=dict)
    undefined: dict[str, str] = field(default_factory=dict)
    lr: float = 0.0
    recipe: str = ""
    lr_search: list[dict[str, float]] = field(default_factory=list)
    tuning_time_s: float = 0.0


def task_fingerprint(task: TaskData) -> dict[str, Any]:
    """What identifies the data: name, type, labels, length, split sizes and a hash of the splits."""
    digest = hashlib.sha256()
    for split in (task.train, task.valid, task.test):
        codes = getattr(split, "codes", None)
        labels = getattr(split, "labels", None)
        if codes is not None:
            digest.update(np.ascontiguousarray(codes).tobytes())
        if labels is not None:
            digest.update(np.ascontiguousarray(labels).tobytes())
        digest.update(str(len(split)).encode())
    return {
        "name": task.name,
        "task_type": task.task_type,
        "labels": list(task.label_names),
        "seq_len": task.seq_len,
        "sizes": task.sizes(),
        "data_sha256": digest.hexdigest()[:16],
        "augmentation": {k: task.augmentation.get(k) for k in ("rc", "max_shift")},
    }


def run_fingerprint(
    task_fp: dict, model: str, model_args: dict, seed: int, settings: CompareSettings
) -> str:
    payload = {
        "task": task_fp,
        "model": model,
        "model_args": model_args,
        "seed": seed,
        "fit": settings.fit_args_for(model)[0],
        **({"lr_grid": list(settings.lr_grid)} if settings.lr_grid else {}),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[
        :16
    ]


class PeakMemory:
    """Peak memory while a block runs: CUDA max allocated on GPU, else peak process RSS above the
    starting RSS, sampled every 20 ms from /proc (Linux)."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()

    @staticmethod
    def _rss_mb() -> float:
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except OSError:  # not Linux
            return 0.0

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._rss_mb() - self._base)
            time.sleep(0.02)

    def __enter__(self) -> PeakMemory:
        self.cuda = torch.cuda.is_available()
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()
        self._base = self._rss_mb()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        if self.cuda:
            self.peak_mb = torch.cuda.max_memory_allocated() / 2**20


def measure_throughput(
    model: torch.nn.Module, task: TaskData, batch_size: int = 256, max_seqs: int = 2048
) -> float:
    """Inference sequences per second on the test inputs (after one warm-up batch)."""
    from regzoo.inference import predict

    n = min(len(task.test), max_seqs)
    x = torch.stack([task.test[i][0] for i in range(n)])
    predict(model, x[:batch_size], task.task_type, batch_size=batch_size)  # warm-up
    start = time.perf_counter()
    predict(model, x, task.task_type, batch_size=batch_size)
    return n / max(time.perf_counter() - start, 1e-9)


def run_one(
    name: str,
    task: TaskData,
    seed: int,
    settings: CompareSettings,
    run_dir: Path,
    task_fp: dict,
    progress: bool = True,
) -> RunResult:
    """Train, score and save one (architecture, seed). Failures come back as ``status="failed"``."""
    from regzoo.models import count_parameters
    from regzoo.saved import save_model
    from regzoo.train import evaluate, predict_dataset, train_model
    from regzoo.train.metrics import score_by_label

    model_args = settings.model_args()
    fingerprint = run_fingerprint(task_fp, name, model_args, seed, settings)
    result = RunResult(
        model=name, seed=seed, status="failed", fingerprint=fingerprint, model_args=model_args
    )
    try:
        primary, mode = PRIMARY_METRIC[task.task_type]
        fit_args, result.recipe = settings.fit_args_for(name)
        lrs = settings.lr_grid or (fit_args["lr"],)
        fitted, best_value = None, None
        with PeakMemory() as memory:
            for lr in lrs:
                candidate = train_model(
                    name,
                    task,
                    seed=seed,
                    model_args=model_args,
                    progress=progress,
                    out_dir=run_dir if len(lrs) == 1 else run_dir / f"lr{lr:g}",
                    **{**fit_args, "lr": lr},
                )
                if len(lrs) == 1:
                    fitted = candidate
                    break
                value = evaluate(candidate.model, task.valid, task.task_type)[primary]
                result.lr_search.append(
                    {
                        "lr": lr,
                        f"valid_{primary}": value,
                        "epochs": candidate.epochs,
                        "train_time_s": candidate.wall_time_s,
                    }
                )
                better = best_value is None or (
                    value > best_value if mode == "max" else value < best_value
                )
                if better and value == value:  # NaN never wins
                    fitted, best_value = candidate, value
            fitted = fitted or candidate
        result.lr = float(fitted.settings["lr"])
        result.tuning_time_s = sum(r["train_time_s"] for r in result.lr_search)
        preds, targets = predict_dataset(fitted.model, task.test, task.task_type)
        result.metrics, result.metrics_per_label, result.undefined = score_by_label(
            task.task_type, torch.as_tensor(preds), torch.as_tensor(targets), task.label_names
        )
        result.parameters = count_parameters(fitted.model)
        result.train_time_s = fitted.wall_time_s
        result.epochs, result.best_epoch = fitted.epochs, fitted.best_epoch
        result.stopped_by, result.history = fitted.stopped_by, fitted.history
        result.peak_memory_mb = memory.peak_mb
        result.throughput_seq_s = measure_throughput(fitted.model, task)
        valid = evaluate(fitted.model, task.valid, task.task_type)
        save_model(
            run_dir,
            fitted.model,
            {**task_fp, "summary": task.summary},
            {**fitted.settings, "epochs": fitted.epochs, "wall_time_s": fitted.wall_time_s},
            {"valid": valid, "test": result.metrics},
        )
        np.savez_compressed(run_dir / "predictions.npz", preds=preds, targets=targets)
        result.status = "ok"
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as err:  # noqa: BLE001 - one model's failure must not stop the others
        result.error = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:300]
        (run_dir / "error.txt").write_text(traceback.format_exc())
    finally:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    (run_dir / RESULT).write_text(json.dumps(asdict(result), indent=2, default=float) + "\n")
    return result


def _worker(args_file: str) -> None:
    """Entry point of a worker process: one run, result written to ``result.json``.

    The worker ignores Ctrl-C (inherited from the parent, see :func:`run_isolated`); its
    arguments (the task, possibly large) come through a file the parent wrote, so that starting
    the worker is quick."""
    import pickle

    with open(args_file, "rb") as fh:
        args = pickle.load(fh)  # written by this process's parent a moment ago
    run_one(*args)


def signal_name(code: int) -> str:
    import signal

    try:
        return signal.Signals(code).name
    except ValueError:
        return f"signal {code}"


def run_isolated(
    name: str,
    task: TaskData,
    seed: int,
    settings: CompareSettings,
    run_dir: Path,
    task_fp: dict,
    progress: bool = True,
) -> RunResult:
    """:func:`run_one` in a fresh worker process ("spawn": nothing is shared with this one).

    A worker that dies without writing its result (killed by the out-of-memory killer, a crash in
    native code) comes back as ``status="failed"`` with the reason."""
    import multiprocessing as mp

    (run_dir / RESULT).unlink(missing_ok=True)
    import pickle

    args_file = run_dir / ".worker-args.pkl"
    with open(args_file, "wb") as fh:
        pickle.dump((name, task, seed, settings, run_dir, task_fp, progress), fh)
    worker = mp.get_context("spawn").Process(target=_worker, args=(str(args_file),))
    # The worker must never see Ctrl-C (a KeyboardInterrupt half-way through its start-up prints
    # a traceback): SIGINT is ignored while it is spawned, and an ignored signal stays ignored
    # in the new interpreter. The parent alone handles Ctrl-C and stops the worker. Starting is
    # quick (the arguments go through the file), so the parent ignores Ctrl-C only for moments.
    main_thread = threading.current_thread() is threading.main_thread()
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main_thread else None
        try:
            worker.start()
        finally:
            if main_thread:
                signal.signal(signal.SIGINT, previous)
        worker.join()
    except KeyboardInterrupt:
        if worker.pid is not None:
            worker.terminate()
            worker.join(timeout=30)
        raise
    finally:
        args_file.unlink(missing_ok=True)
    path = run_dir / RESULT
    if worker.exitcode == 0 and path.is_file():
        return RunResult(**json.loads(path.read_text()))
    model_args = settings.model_args()
    if worker.exitcode is not None and worker.exitcode < 0:
        why = f"worker process killed by {signal_name(-worker.exitcode)}"
        if -worker.exitcode == 9:
            why += " (likely out of memory)"
    else:
        why = f"worker process exited with status {worker.exitcode}"
    result = RunResult(
        model=name,
        seed=seed,
        status="failed",
        fingerprint=run_fingerprint(task_fp, name, model_args, seed, settings),
        error=why,
        model_args=model_args,
    )
    path.write_text(json.dumps(asdict(result), indent=2, default=float) + "\n")
    return result


def load_finished(run_dir: Path, fingerprint: str) -> RunResult | None:
    """A finished run with the same configuration, or None."""
    path = run_dir / RESULT
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    if data.get("fingerprint") != fingerprint or data.get("status") != "ok":
        return None
    return RunResult(**data)


def compare(
    task: TaskData,
    models: list[str],
    out_dir: str | Path,
    settings: CompareSettings | None = None,
    resume: bool = True,
    progress: bool = True,
    log=print,
) -> list[RunResult]:
    """Train every architecture in ``models`` on ``task`` with the same ``settings``.

    Returns one :class:`RunResult` per (model, seed), in order. See :mod:`regzoo.compare.report`
    for the leaderboard and the report.
    """
    from tqdm.auto import tqdm

    from regzoo.models import list_models

    settings = settings or CompareSettings()
    valid_names = list_models()
    for name in models:
        if name not in valid_names:
            from regzoo.errors import unknown_name

            raise unknown_name("model", name, valid_names)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    task_fp = task_fingerprint(task)
    results: list[RunResult] = []
    jobs = [(name, seed) for name in models for seed in settings.seeds]
    bar = tqdm(jobs, desc="compare", unit="run", disable=not progress, position=0, leave=True)
    for name, seed in bar:
        bar.set_postfix_str(f"{name} seed {seed}")
        run_dir = out / "runs" / f"{name}-seed{seed}"
        run_dir.mkdir(parents=True, exist_ok=True)
        model_args = settings.model_args()
        done = (
            load_finished(run_dir, run_fingerprint(task_fp, name, model_args, seed, settings))
            if resume
            else None
        )
        if done is not None:
            log(f"{name} seed {seed}: already finished with this configuration, skipped")
            results.append(done)
            continue
        runner = run_isolated if settings.isolate else run_one
        result = runner(name, task, seed, settings, run_dir, task_fp, progress=progress)
        primary = PRIMARY_METRIC[task.task_type][0]
        if result.status == "ok":
            log(
                f"{name} seed {seed}: {primary} {result.metrics.get(primary, float('nan')):.4f}, "
                f"{result.parameters:,} parameters, {result.train_time_s:.0f} s, {result.epochs} epochs"
                + (f", lr {result.lr:g} chosen on validation" if result.lr_search else "")
            )
        else:
            log(f"{name} seed {seed}: FAILED ({result.error})")
        results.append(result)
    return results
