"""User-facing errors.

Anything a user can cause with a bad file, option or name raises :class:`RegzooError` (or a
subclass) with a one-line message that names the file, line or field and what was expected.
The CLI prints that line and exits with status 2; it never shows a traceback for these.
"""

from __future__ import annotations


class RegzooError(Exception):
    """An error caused by the user's input, with a message fit to show as-is."""


class InputError(RegzooError, ValueError):
    """A file, table, interval or sequence that does not hold what was expected."""


class NameNotFoundError(RegzooError, KeyError):
    """An unknown model, task or column name. The message lists the valid ones."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


def unknown_name(kind: str, name: str, valid: list[str] | tuple[str, ...]) -> NameNotFoundError:
    """Build the standard 'unknown X' error, listing the valid choices."""
    return NameNotFoundError(f"unknown {kind} {name!r}; valid {kind}s: {', '.join(sorted(valid))}")


# Hints in error messages name the command-line flag when the CLI is running, the keyword
# argument otherwise (`regzoo.cli.main` switches this on).
_CLI_NAMES = False


def use_cli_names(on: bool = True) -> None:
    """Make :func:`option` render hints as command-line flags (called by the CLI)."""
    global _CLI_NAMES
    _CLI_NAMES = on


def option(name: str, value: object) -> str:
    """How to set option ``name`` to ``value``: ``--label-cols score`` on the command line,
    ``label_cols='score'`` in Python."""
    if _CLI_NAMES:
        return f"--{name.replace('_', '-')} {value}"
    return f"{name}={value!r}"


def cli_names() -> bool:
    """True while the CLI runs (it reports counts itself instead of Python warnings)."""
    return _CLI_NAMES
