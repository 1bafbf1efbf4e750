"""Architectures head-to-head: same data, splits, seeds and budget; leaderboard and report."""

from regzoo.compare.report import leaderboard, print_leaderboard, write_outputs
from regzoo.compare.run import CompareSettings, RunResult, compare

__all__ = [
    "CompareSettings",
    "RunResult",
    "compare",
    "leaderboard",
    "print_leaderboard",
    "write_outputs",
]
