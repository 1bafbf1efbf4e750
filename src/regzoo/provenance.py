"""Provenance of a run: the command line, the data files it read (absolute paths, sizes,
checksums) and the machine it ran on, saved next to its outputs."""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from pathlib import Path
from typing import Any

FULL_HASH_LIMIT = 1 << 30  # files up to 1 GiB are hashed whole; larger ones by head and tail
PART = 64 << 20


def file_record(path: str | os.PathLike) -> dict[str, Any]:
    """``{"path", "bytes", "sha256", "hashed"}`` of a file: ``hashed`` is ``"whole"``, or
    ``"first and last 64 MiB"`` for files over 1 GiB (a genome-scale bigWig)."""
    path = Path(path).resolve()
    size = path.stat().st_size
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        if size <= FULL_HASH_LIMIT:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
            hashed = "whole"
        else:
            digest.update(fh.read(PART))
            fh.seek(size - PART)
            digest.update(fh.read(PART))
            digest.update(str(size).encode())
            hashed = "first and last 64 MiB"
    return {"path": str(path), "bytes": size, "sha256": digest.hexdigest(), "hashed": hashed}


def data_files(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Records of every file named in a data specification (the CLI's data options)."""
    out = []
    for key in ("table", "valid_table", "test_table", "genome", "intervals"):
        value = spec.get(key)
        if value and Path(value).is_file():
            out.append({"option": key, **file_record(value)})
    return out


def run_record(argv: list[str] | None = None) -> dict[str, Any]:
    """The command line, working directory, host and interpreter of this process."""
    import torch

    return {
        "command": " ".join(argv if argv is not None else sys.argv),
        "cwd": os.getcwd(),
        "host": platform.node(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda_devices": torch.cuda.device_count() if torch.cuda.is_available() else 0,
    }


def changed_files(saved: list[dict[str, Any]], spec: dict[str, Any]) -> list[str]:
    """Which of the data files in ``spec`` differ from the checksums saved with a model."""
    by_option = {rec["option"]: rec for rec in saved}
    changed = []
    for rec in data_files(spec):
        old = by_option.get(rec["option"])
        if old and old["path"] == rec["path"] and old["sha256"] != rec["sha256"]:
            changed.append(rec["path"])
    return changed
