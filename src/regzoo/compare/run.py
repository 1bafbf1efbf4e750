"""Run several architectures on one task with identical splits, seeds and budget.

Every (model, seed) run trains through :func:`regzoo.train.train_model` on the same
:class:`~regzoo.data.task.TaskData`, with the same optimiser settings and budget, then is scored on the
same test split. Each run writes ``runs/<model>-seed<k>/`` (the saved model, ``result.json``,
``predictions.npz``); a re-run with the same configuration skips runs already finished, and a
run that was interrupted half-way (Ctrl-C, a killed process) continues from its last checkpoint
(``runs/<model>-seed<k>/checkpoints``, see :func:`regzoo.train.fit.fit`), so an interrupted
comparison resumes where it stopped. A run that fails (out of memory, a bad
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

from regzoo import atomic
from regzoo.data.task import TaskData
from regzoo.train.metrics import PRIMARY_METRIC

RESULT = "result.json"


@dataclass
class CompareSettings:
    """The budget every architecture gets (identical for all of them).

    Attributes:
        max_epochs, batch_size, lr, patience: training settings (AdamW, early stopping).
        monitor: what early stopping and the best epoch follow (:func:`regzoo.train.fit.fit`):
            ``auto`` (validation Pearson for profile tasks, as Basenji's trainer does; validation
            loss otherwise), ``val/loss`` or ``val/pearson``. Each run's saved training settings
            and ``result.json`` record the resolved metric.
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
        jobs: runs trained at once, each in its own worker process (implies ``isolate``). On a
            CPU the cores are split between them (:func:`threads_per_job`), on several GPUs each
            job gets one. Small models use two CPU cores poorly, so two jobs of one thread finish
            a comparison sooner than one job of two; times are then measured under the same
            sharing for every architecture.
        baselines: linear reference models added as rows (``kmer``, ``onehot``; see
            :mod:`regzoo.compare.baselines`), fitted in this process on the same splits and
            scored on the same test items; empty (the default) adds none.
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
    jobs: int = 1
    monitor: str = "auto"
    baselines: tuple[str, ...] = ()  # linear reference rows: "kmer", "onehot" (--baseline)

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
            "monitor": self.monitor,
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
    started: float = 0.0  # Unix time the run began and ended (parallel runs overlap)
    ended: float = 0.0
    threads: int = 0  # CPU threads the run had
    monitor: str = ""  # the validation metric early stopping and the best epoch followed
    baseline: dict[str, Any] = field(default_factory=dict)  # a linear reference: what and how


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
    return digest(payload)


def digest(payload: dict) -> str:
    """The 16-hex-digit fingerprint of a run's configuration (runs and linear baselines)."""
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


def _resumable(checkpoints: Path, fingerprint: str, lr: float) -> bool:
    """Whether ``checkpoints`` holds an interrupted run of this very configuration (same run
    fingerprint and learning rate) to continue; if not, it is marked for a fresh one (whose
    first checkpoint replaces whatever an earlier configuration left there)."""
    from regzoo.train.fit import last_checkpoint

    mark = checkpoints / "run.txt"
    key = f"{fingerprint} lr={lr!r}"
    if last_checkpoint(checkpoints) is not None and mark.is_file() and mark.read_text() == key:
        return True
    checkpoints.mkdir(parents=True, exist_ok=True)
    mark.write_text(key)
    return False


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
    from regzoo.train.fit import remove_checkpoints
    from regzoo.train.metrics import score_by_label

    model_args = settings.model_args()
    fingerprint = run_fingerprint(task_fp, name, model_args, seed, settings)
    result = RunResult(
        model=name,
        seed=seed,
        status="failed",
        fingerprint=fingerprint,
        model_args=model_args,
        started=time.time(),
        threads=torch.get_num_threads(),
    )
    try:
        primary, mode = PRIMARY_METRIC[task.task_type]
        fit_args, result.recipe = settings.fit_args_for(name)
        lrs = settings.lr_grid or (fit_args["lr"],)
        lr_dirs = [run_dir] if len(lrs) == 1 else [run_dir / f"lr{lr:g}" for lr in lrs]
        fitted, best_value = None, None
        with PeakMemory() as memory:
            for lr, lr_dir in zip(lrs, lr_dirs, strict=True):
                checkpoints = lr_dir / "checkpoints"
                candidate = train_model(
                    name,
                    task,
                    seed=seed,
                    model_args=model_args,
                    progress=progress,
                    out_dir=lr_dir,
                    checkpoint_dir=checkpoints,
                    resume=_resumable(checkpoints, fingerprint, lr),
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
        result.monitor = str(fitted.settings["monitor"])
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
        atomic.save_npz(run_dir / "predictions.npz", preds=preds, targets=targets)
        for lr_dir in lr_dirs:
            remove_checkpoints(lr_dir / "checkpoints")
        result.status = "ok"
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as err:  # noqa: BLE001 - one model's failure must not stop the others
        result.error = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:300]
        (run_dir / "error.txt").write_text(traceback.format_exc())
    finally:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    result.ended = time.time()
    atomic.write_text(run_dir / RESULT, json.dumps(asdict(result), indent=2, default=float) + "\n")
    return result


def _worker(args_file: str) -> None:
    """Entry point of a worker process: one run, result written to ``result.json``.

    The worker ignores Ctrl-C (inherited from the parent, see :func:`start_worker`); its
    arguments (the task, possibly large) come through a file the parent wrote, so that starting
    the worker is quick."""
    import pickle

    with open(args_file, "rb") as fh:
        args, threads = pickle.load(fh)  # written by this process's parent a moment ago
    if threads:
        torch.set_num_threads(threads)
    run_one(*args)


def signal_name(code: int) -> str:
    import signal

    try:
        return signal.Signals(code).name
    except ValueError:
        return f"signal {code}"


def threads_per_job(jobs: int) -> int:
    """CPU threads each of ``jobs`` simultaneous runs gets: the usable cores split evenly."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores // max(jobs, 1))


@dataclass
class Worker:
    """A run in progress in its own process."""

    process: Any
    args_file: Path
    name: str
    seed: int
    run_dir: Path
    slot: int = 0


def _spawn(target, args_file: Path, args: Any):
    """Start ``target(str(args_file))`` in a fresh process ("spawn"), its arguments pickled to
    ``args_file`` (the task may be large; a file makes the start quick).

    The child must never see Ctrl-C (a KeyboardInterrupt half-way through its start-up prints a
    traceback): SIGINT is ignored while it is spawned, and an ignored signal stays ignored in
    the new interpreter. The parent alone handles Ctrl-C and stops the child; it ignores Ctrl-C
    only for the moments the start takes."""
    import multiprocessing as mp
    import pickle

    with open(args_file, "wb") as fh:
        pickle.dump(args, fh)
    process = mp.get_context("spawn").Process(target=target, args=(str(args_file),))
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main_thread else None
    try:
        process.start()
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)
    return process


def start_worker(
    name: str,
    task: TaskData,
    seed: int,
    settings: CompareSettings,
    run_dir: Path,
    task_fp: dict,
    progress: bool = True,
    threads: int = 0,
    gpu: int | None = None,
    slot: int = 0,
) -> Worker:
    """Start :func:`run_one` in a fresh process ("spawn": nothing is shared with this one),
    with ``threads`` CPU threads (0: torch's default) and only GPU ``gpu`` visible (None: all)."""
    (run_dir / RESULT).unlink(missing_ok=True)
    args_file = run_dir / ".worker-args.pkl"
    # The environment is inherited at start, which is how the worker sees only its GPU.
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    try:
        if gpu is not None:
            os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
        process = _spawn(
            _worker, args_file, ((name, task, seed, settings, run_dir, task_fp, progress), threads)
        )
    finally:
        if gpu is not None:
            if visible is None:
                os.environ.pop("CUDA_VISIBLE_DEVICES", None)
            else:
                os.environ["CUDA_VISIBLE_DEVICES"] = visible
    return Worker(process, args_file, name, seed, run_dir, slot)


def stop_workers(workers: list[Worker]) -> None:
    """Terminate workers (on Ctrl-C) and remove their argument files."""
    for w in workers:
        if w.process.pid is not None and w.process.is_alive():
            w.process.terminate()
    for w in workers:
        w.process.join(timeout=30)
        w.args_file.unlink(missing_ok=True)


def finish_worker(w: Worker, settings: CompareSettings, task_fp: dict) -> RunResult:
    """The result of a worker that has ended. One that died without writing its result (killed
    by the out-of-memory killer, a crash in native code) comes back as ``status="failed"``."""
    w.process.join()
    w.args_file.unlink(missing_ok=True)
    path = w.run_dir / RESULT
    code = w.process.exitcode
    if code == 0 and path.is_file():
        return RunResult(**json.loads(path.read_text()))
    model_args = settings.model_args()
    if code is not None and code < 0:
        why = f"worker process killed by {signal_name(-code)}"
        if -code == 9:
            why += " (likely out of memory)"
    else:
        why = f"worker process exited with status {code}"
    result = RunResult(
        model=w.name,
        seed=w.seed,
        status="failed",
        fingerprint=run_fingerprint(task_fp, w.name, model_args, w.seed, settings),
        error=why,
        model_args=model_args,
    )
    atomic.write_text(path, json.dumps(asdict(result), indent=2, default=float) + "\n")
    return result


def run_isolated(
    name: str,
    task: TaskData,
    seed: int,
    settings: CompareSettings,
    run_dir: Path,
    task_fp: dict,
    progress: bool = True,
) -> RunResult:
    """:func:`run_one` in a fresh worker process; waits for it."""
    worker = start_worker(name, task, seed, settings, run_dir, task_fp, progress)
    try:
        worker.process.join()
    except KeyboardInterrupt:
        stop_workers([worker])
        raise
    return finish_worker(worker, settings, task_fp)


def step_seconds(name: str, task: TaskData, settings: CompareSettings) -> float:
    """Seconds of one training step (forward and backward of a batch) of ``name`` on this
    machine: the cost estimate that orders parallel runs longest first. ``inf`` if the model
    cannot be built (it then starts first and fails fast)."""
    from regzoo.train.fit import build_model

    try:
        model = build_model(name, task, **settings.model_args())
        x = torch.zeros(settings.batch_size, 4, task.seq_len)
        x[:, 0] = 1
        model.train()
        times = []
        for _ in range(3):
            begin = time.perf_counter()
            out = model(x)
            out = out if isinstance(out, torch.Tensor) else next(iter(out.values()))
            out.float().mean().backward()
            times.append(time.perf_counter() - begin)
        return min(times[1:])
    except Exception:  # noqa: BLE001 - only an ordering hint
        return float("inf")


def _cost_worker(args_file: str) -> None:
    import pickle

    with open(args_file, "rb") as fh:
        names, task, settings, threads, out_file = pickle.load(fh)
    os.environ["REGZOO_COST_ESTIMATE"] = "1"  # for models that behave differently in training
    if threads:
        torch.set_num_threads(threads)
    costs = {}
    for name in names:
        costs[name] = step_seconds(name, task, settings)
        Path(out_file).write_text(json.dumps(costs))  # what is known so far, if it dies


def estimate_costs(
    names: list[str], task: TaskData, settings: CompareSettings, threads: int, folder: Path
) -> dict[str, float]:
    """:func:`step_seconds` of each architecture, measured in a worker process (a model that
    crashes or exhausts memory must not take this process with it). Unmeasured: ``inf``."""
    args_file, out_file = folder / ".cost-args.pkl", folder / ".costs.json"
    out_file.unlink(missing_ok=True)
    process = _spawn(_cost_worker, args_file, (names, task, settings, threads, str(out_file)))
    try:
        process.join(timeout=300)
    finally:
        if process.is_alive():
            process.terminate()
            process.join(timeout=30)
        args_file.unlink(missing_ok=True)
    try:
        known = json.loads(out_file.read_text())
    except (OSError, json.JSONDecodeError):
        known = {}
    out_file.unlink(missing_ok=True)
    return {name: float(known.get(name, float("inf"))) for name in names}


def run_parallel(
    todo: list[tuple[str, int, Path]],
    task: TaskData,
    settings: CompareSettings,
    task_fp: dict,
    on_result,
) -> None:
    """Run ``todo`` (model, seed, run folder) ``settings.jobs`` at a time, each in its own
    worker; the costliest (by :func:`step_seconds`) start first, so that no long run starts
    last. ``on_result(result)`` is called as each run ends."""
    from multiprocessing.connection import wait

    jobs = max(1, settings.jobs)
    threads = threads_per_job(jobs) if not torch.cuda.is_available() else 0
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    cost = estimate_costs(sorted({n for n, _, _ in todo}), task, settings, threads, todo[0][2])
    queue = sorted(todo, key=lambda job: -cost[job[0]])
    running: list[Worker] = []
    try:
        while queue or running:
            while queue and len(running) < jobs:
                name, seed, run_dir = queue.pop(0)
                slot = min(set(range(jobs)) - {w.slot for w in running})
                running.append(
                    start_worker(
                        name,
                        task,
                        seed,
                        settings,
                        run_dir,
                        task_fp,
                        progress=False,
                        threads=threads,
                        gpu=slot % gpus if gpus > 1 else None,
                        slot=slot,
                    )
                )
            ready = set(wait([w.process.sentinel for w in running]))
            for w in [w for w in running if w.process.sentinel in ready]:
                running.remove(w)
                on_result(finish_worker(w, settings, task_fp))
    except KeyboardInterrupt:
        stop_workers(running)
        raise


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


def _l2_grid() -> tuple[float, ...]:
    from regzoo.compare.baselines import L2_GRID

    return L2_GRID


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

    Returns one :class:`RunResult` per (model, seed), in order, then one per linear baseline of
    ``settings.baselines`` (fitted first, in this process). See :mod:`regzoo.compare.report`
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
    if settings.baselines:
        from regzoo.compare.baselines import check_size, check_task

        check_task(task.task_type, tuple(settings.baselines))
        check_size(task, tuple(settings.baselines))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    task_fp = task_fingerprint(task)
    primary = PRIMARY_METRIC[task.task_type][0]
    results: dict[tuple[str, int], RunResult] = {}
    order = [(name, seed) for name in models for seed in settings.seeds]
    bar = tqdm(total=len(order), desc="compare", unit="run", disable=not progress, leave=True)

    def record(result: RunResult) -> None:
        if result.status == "ok":
            log(
                f"{result.model} seed {result.seed}: {primary} "
                f"{result.metrics.get(primary, float('nan')):.4f}, {result.parameters:,} "
                f"parameters, {result.train_time_s:.0f} s, {result.epochs} epochs"
                + (f", lr {result.lr:g} chosen on validation" if result.lr_search else "")
            )
        else:
            log(f"{result.model} seed {result.seed}: FAILED ({result.error})")
        results[(result.model, result.seed)] = result
        bar.update(1)

    todo = []
    for name, seed in order:
        run_dir = out / "runs" / f"{name}-seed{seed}"
        run_dir.mkdir(parents=True, exist_ok=True)
        fingerprint = run_fingerprint(task_fp, name, settings.model_args(), seed, settings)
        done = load_finished(run_dir, fingerprint) if resume else None
        if not resume:  # a fresh start: no checkpoint of an interrupted run is continued
            from regzoo.train.fit import remove_checkpoints

            for folder in [run_dir, *run_dir.glob("lr*")]:
                remove_checkpoints(folder / "checkpoints")
        if done is not None:
            log(f"{name} seed {seed}: already finished with this configuration, skipped")
            results[(name, seed)] = done
            bar.update(1)
        else:
            todo.append((name, seed, run_dir))
    baselines = tuple(settings.baselines or ())
    if baselines:
        from regzoo.compare.baselines import baseline_fingerprint, run_baseline, run_name

        seed = settings.seeds[0] if settings.seeds else 0  # deterministic: one run is enough
        for kind in baselines:
            name = run_name(kind)
            order.append((name, seed))
            run_dir = out / "runs" / f"{name}-seed{seed}"
            fingerprint = baseline_fingerprint(task_fp, kind, seed, _l2_grid())
            done = load_finished(run_dir, fingerprint) if resume else None
            if done is not None:
                log(f"{name}: already finished with this configuration, skipped")
                results[(name, seed)] = done
                bar.total += 1
                bar.update(1)
                continue
            bar.total += 1
            bar.set_postfix_str(name)
            result = run_baseline(kind, task, seed, run_dir, task_fp, _l2_grid())
            if result.status == "ok":
                info = result.baseline
                log(
                    f"{name} (linear reference): {primary} "
                    f"{result.metrics.get(primary, float('nan')):.4f}, {result.parameters:,} "
                    f"weights, L2 {info['l2_chosen']:g} chosen on validation"
                    + (
                        " (an end of the grid)"
                        if info["l2_chosen"] in (min(info["l2_grid"]), max(info["l2_grid"]))
                        else ""
                    )
                    + ", fit "
                    f"{info['fit_time_s']:.1f} s ({result.tuning_time_s:.1f} s for the grid)"
                )
                results[(name, seed)] = result
                bar.update(1)
            else:
                record(result)
    try:
        if settings.jobs > 1 and todo:  # (nothing left to train: no workers to start)
            run_parallel(todo, task, settings, task_fp, record)
        else:
            runner = run_isolated if settings.isolate else run_one
            for name, seed, run_dir in todo:
                bar.set_postfix_str(f"{name} seed {seed}")
                record(runner(name, task, seed, settings, run_dir, task_fp, progress=progress))
    finally:
        bar.close()
    return [results[key] for key in order]
