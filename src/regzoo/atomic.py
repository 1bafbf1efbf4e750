"""Atomic outputs: every file regzoo writes for the user appears whole or not at all.

A file is written under a temporary name in its own folder (``.<name>.<pid>.tmp``) and renamed
over the final name once complete (``os.replace``, atomic on POSIX file systems), so a run killed
half-way never leaves a truncated ``predictions.npz`` or ``report.html`` that looks finished; the
temporary file is removed if writing fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``.

    >>> with atomic_path("out.tsv") as tmp:  # doctest: +SKIP
    ...     frame.to_csv(tmp, sep="\\t")
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def save_npz(path: str | Path, compressed: bool = True, **arrays: np.ndarray) -> None:
    """``np.savez_compressed`` (or ``np.savez``) to exactly ``path``, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        (np.savez_compressed if compressed else np.savez)(fh, **arrays)


def to_csv(frame, path: str | Path, **kwargs) -> None:
    """``frame.to_csv(path, **kwargs)``, atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **kwargs)
