"""Crash-safe training: a real ``regzoo train`` process killed with SIGKILL mid-epoch and run
again with ``--resume`` ends exactly as an uninterrupted run with the same seed; resuming from
each kind of checkpoint (mid-epoch, epoch end, before validation, after training ended) gives
the same weights. (The uninterrupted and the resumed runs go through ``regzoo.cli.main`` in this
process; only the killed one needs its own.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import Callback
from safetensors.numpy import load_file

from _zoo_helpers import run_cli
from regzoo.cli import DEFAULT_CHECKPOINT_EVERY
from regzoo.train import train_model
from regzoo.train.fit import DEFAULT_CHECKPOINT_EVERY as FIT_DEFAULT
from regzoo.train.fit import checkpoint_info

TINY = "promoters-tiny"
# 218 training windows, batch 16, drop_last: 13 optimizer steps per epoch
STEPS_PER_EPOCH = 13
TRAIN = [
    "train",
    "--model",
    "deepbind",
    "--task",
    TINY,
    "--max-epochs",
    "2",
    "--batch-size",
    "16",
    "--checkpoint-every",
    "2",
    "--seed",
    "3",
]


run = run_cli  # regzoo ARGS in this process -> (code, stdout, stderr)


def regzoo(*args: str, **kwargs) -> subprocess.Popen:
    """A real ``regzoo`` process (the environment carries the session's $REGZOO_CACHE)."""
    return subprocess.Popen(
        [sys.executable, "-c", "from regzoo.cli import main; main()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def kill_mid_epoch(out, timeout: float = 60.0) -> dict:
    """Start the training, SIGKILL it as soon as a checkpoint early in its second epoch (at
    least 6 steps before the epoch end) is on disk; return that checkpoint's epoch/step."""
    proc = regzoo(*TRAIN, "--out", str(out))
    last = out / "checkpoints" / "last.ckpt"
    try:
        deadline, seen = time.monotonic() + timeout, None
        while time.monotonic() < deadline and proc.poll() is None:
            stamp = last.stat().st_mtime_ns if last.is_file() else None
            if stamp is not None and stamp != seen:
                seen = stamp
                info = checkpoint_info(last)  # renamed into place: never a partial file
                if info["epoch"] >= 1 and 0 < info["global_step"] % STEPS_PER_EPOCH <= 7:
                    os.kill(proc.pid, signal.SIGKILL)
                    break
            time.sleep(0.02)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()[-2000:]
    return checkpoint_info(last)


def test_sigkill_mid_epoch_then_resume_equals_uninterrupted(capsys, monkeypatch, tmp_path):
    assert DEFAULT_CHECKPOINT_EVERY == FIT_DEFAULT
    whole, broken = tmp_path / "whole", tmp_path / "broken"

    code, _, err = run(capsys, monkeypatch, *TRAIN, "--out", str(whole))
    assert code == 0, err
    assert "checkpoints:" in err and "every 2 optimizer steps" in err
    assert not (whole / "checkpoints").exists()  # removed once the model was saved

    killed_at = kill_mid_epoch(broken)
    assert killed_at["global_step"] % STEPS_PER_EPOCH != 0  # mid-epoch, not an epoch end
    assert not (broken / "config.json").exists() and not (broken / "model.safetensors").exists()
    # last.ckpt is whole (kill_mid_epoch read it back); the kill may land in the middle of the
    # next checkpoint's write, whose temporary file then remains beside it until the resumed
    # run removes the folder (asserted below) -- never under the name last.ckpt
    assert all(p.name.startswith(".") for p in (broken / "checkpoints").glob("*.tmp"))

    # another folder's options are refused before anything is trained
    code, _, err = run(
        capsys, monkeypatch, *TRAIN, "--out", str(broken), "--resume", "--lr", "0.01"
    )
    assert code == 2 and "lr: 0.001 -> 0.01" in err and "Traceback" not in err
    code, _, err = run(capsys, monkeypatch, *TRAIN, "--out", str(broken))
    assert code == 2 and "--resume continues it" in err

    code, _, err = run(capsys, monkeypatch, *TRAIN, "--out", str(broken), "--resume")
    assert code == 0, err
    step = killed_at["global_step"]
    assert f"resuming from epoch {killed_at['epoch'] + 1}, optimizer step {step}" in err
    assert not (broken / "checkpoints").exists()

    a = json.loads((whole / "metrics.json").read_text())
    b = json.loads((broken / "metrics.json").read_text())
    metric_diff = max(
        abs(a[split][name] - b[split][name]) for split in ("valid", "test") for name in a[split]
    )
    wa, wb = (
        load_file(str(whole / "model.safetensors")),
        load_file(str(broken / "model.safetensors")),
    )
    assert wa.keys() == wb.keys()
    weight_diff = max(float(np.max(np.abs(wa[k] - wb[k]))) for k in wa)
    with capsys.disabled():  # the measured equality, for the record (pytest -s)
        print(
            f"killed at epoch {killed_at['epoch']} step {step}: max |metric diff| {metric_diff}, "
            f"max |weight diff| {weight_diff}"
        )
    assert metric_diff <= 1e-6 and weight_diff <= 1e-6

    ca = json.loads((whole / "config.json").read_text())["training"]
    cb = json.loads((broken / "config.json").read_text())["training"]
    for key in ("epochs", "best_epoch", "stopped_by"):
        assert ca[key] == cb[key]
    strip = [{k: v for k, v in row.items() if k != "time_s"} for row in ca["history"]]
    assert strip == [{k: v for k, v in row.items() if k != "time_s"} for row in cb["history"]]
    assert cb["resumed_from"] == {"epoch": killed_at["epoch"], "global_step": step}
    # Lightning's CSV log holds the same rows (the killed process's were kept up to the checkpoint)
    rows_a = (whole / "logs" / "metrics.csv").read_text().splitlines()
    rows_b = (broken / "logs" / "metrics.csv").read_text().splitlines()
    assert len(rows_a) == len(rows_b) and rows_a[0] == rows_b[0]

    # a finished run: --resume says so and changes nothing
    code, out, _ = run(capsys, monkeypatch, *TRAIN, "--out", str(broken), "--resume")
    assert code == 0 and "finished already" in out


def test_ctrl_c_points_to_resume(capsys, monkeypatch, tmp_path):
    """SIGINT (Ctrl-C) mid-training: the process says which checkpoint --resume continues from,
    and --resume then finishes the run."""
    out = tmp_path / "run"
    # a shell starts background jobs with SIGINT ignored, and Python then installs no
    # KeyboardInterrupt handler: give the child the default disposition, as a terminal would
    proc = regzoo(
        *TRAIN,
        "--out",
        str(out),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    last = out / "checkpoints" / "last.ckpt"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None and not last.is_file():
            time.sleep(0.02)
        assert last.is_file(), proc.stderr.read()[-2000:] if proc.poll() is not None else ""
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    info = checkpoint_info(last)
    hint = (
        f"the last checkpoint is {last} (epoch {info['epoch'] + 1}, optimizer step "
        f"{info['global_step']}); run the same command with --resume"
    )
    assert hint in " ".join(err.split()), err[-2000:]
    code, _, err = run(capsys, monkeypatch, *TRAIN, "--out", str(out), "--resume")
    assert code == 0 and "resuming from epoch" in err, err


def test_resume_needs_a_checkpoint(capsys, monkeypatch, tmp_path):
    code, _, err = run(capsys, monkeypatch, *TRAIN, "--out", str(tmp_path / "none"), "--resume")
    assert code == 2 and "last.ckpt not found: nothing to resume" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(
        capsys, monkeypatch, *TRAIN, "--out", str(tmp_path / "x"), "--resume", "--overwrite"
    )
    assert code == 2 and "pass one of them" in err


class Crash(Exception):
    pass


class CrashAt(Callback):
    """Raise (as a kill would stop the process) after optimizer step ``step`` or as validation
    starts at that step."""

    def __init__(self, step: int, where: str = "batch") -> None:
        self.step, self.where = step, where

    def on_train_batch_end(self, trainer, *args) -> None:
        if self.where == "batch" and trainer.global_step == self.step:
            raise Crash

    def on_validation_start(self, trainer, *args) -> None:
        if self.where == "validation" and trainer.global_step == self.step:
            raise Crash


# batch 32: 6 steps per epoch; checkpoints every 2 steps (not on an epoch's last batch) and at
# each epoch end
FIT = dict(
    model_args={"compact": True},
    max_epochs=3,
    batch_size=32,
    checkpoint_every=2,
    patience=1,
    seed=5,
    progress=False,
)


def same_run(a, b) -> None:
    for name, value in a.model.state_dict().items():
        assert torch.equal(value, b.model.state_dict()[name]), name
    assert (a.epochs, a.best_epoch, a.stopped_by) == (b.epochs, b.best_epoch, b.stopped_by)
    drop = [{k: v for k, v in r.items() if k != "time_s"} for r in a.history]
    assert drop == [{k: v for k, v in r.items() if k != "time_s"} for r in b.history]


def test_resume_from_each_kind_of_checkpoint(tiny_task, tmp_path):
    """Mid-epoch; at an epoch end; on the last batch before validation (no step checkpoint
    there: the one before is used); after training stopped but before the model was saved."""
    ckpt = tmp_path / "whole"
    whole = train_model("deepbind", tiny_task, checkpoint_dir=ckpt, **FIT)
    assert whole.epochs >= 2  # the cases below resume into epoch 1
    for crash, where, expected in [
        (3, "batch", (0, 2)),
        (7, "batch", (0, 6)),
        (12, "validation", (1, 10)),
    ]:
        broken = tmp_path / f"crash{crash}"
        with pytest.raises(Crash):
            train_model(
                "deepbind",
                tiny_task,
                checkpoint_dir=broken,
                callbacks=[CrashAt(crash, where)],
                **FIT,
            )
        info = checkpoint_info(broken / "last.ckpt")
        assert (info["epoch"], info["global_step"]) == expected
        same_run(
            whole, train_model("deepbind", tiny_task, checkpoint_dir=broken, resume=True, **FIT)
        )
    # killed after training ended, before the model was saved: nothing more is trained
    assert checkpoint_info(ckpt / "last.ckpt")["global_step"] == whole.epochs * 6
    same_run(whole, train_model("deepbind", tiny_task, checkpoint_dir=ckpt, resume=True, **FIT))
    # regzoo reads its checkpoints without unpickling code
    assert "state_dict" in torch.load(ckpt / "last.ckpt", weights_only=True)
