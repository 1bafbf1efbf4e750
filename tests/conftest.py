"""Shared fixtures: a private cache for the whole session, small real files written into tmp_path,
and the tiny bundled promoter task (built once per session)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from regzoo.data.genome import CACHE_ENV

# Two records with known sequences; ``chrA`` wraps at 10 bases per line.
CHR_A = "ACGTACGTNNacgtGGCCTTAAGC"  # 24 bp, lower case and N inside
CHR_B = "TTTTGGGGCCCCAAAA"  # 16 bp


def fasta_text(records: dict[str, str], width: int = 10) -> str:
    lines = []
    for name, seq in records.items():
        lines.append(f">{name} test record")
        lines += [seq[i : i + width] for i in range(0, len(seq), width)] or [""]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session", autouse=True)
def regzoo_cache(tmp_path_factory) -> Path:
    """Point ``$REGZOO_CACHE`` at a session temporary directory, so tests never touch the user's
    cache, and restore it afterwards."""
    path = tmp_path_factory.mktemp("regzoo-cache")
    old = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(path)
    yield path
    if old is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = old


@pytest.fixture
def small_fasta(tmp_path) -> Path:
    """A plain two-record FASTA (``chrA`` 24 bp, ``chrB`` 16 bp)."""
    path = tmp_path / "small.fa"
    path.write_text(fasta_text({"chrA": CHR_A, "chrB": CHR_B}))
    return path


@pytest.fixture
def write(tmp_path):
    """``write(name, text)`` -> path of a new file in ``tmp_path``."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return _write


@pytest.fixture(scope="session")
def tiny_arrays(regzoo_cache) -> dict:
    """Arrays and summary of the ``promoters-tiny`` task (built once, in the session cache)."""
    from regzoo.data.bundled import load_arrays

    return load_arrays("promoters-tiny")


@pytest.fixture(scope="session")
def tiny_task(tiny_arrays):
    """``promoters-tiny`` as TaskData (from the session cache)."""
    from regzoo.data.bundled import load_task

    return load_task("promoters-tiny")
