"""CLI command importing published weights (regzoo import)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from regzoo.cli import app, console, err_console
from regzoo.errors import RegzooError


def _parse_args(items: list[str] | None) -> dict:
    args = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise RegzooError(f"--arg {item!r}: expected KEY=VALUE (VALUE as JSON, e.g. depth=2)")
        try:
            args[key.strip().replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            args[key.strip().replace("-", "_")] = value
    return args


@app.command("import")
def import_cmd(
    arch: Annotated[
        str, typer.Argument(help="enformer | basenji | deepsea | basset | danq | deepbind")
    ],
    source: Annotated[Path, typer.Argument(help="The published weights (file or folder).")],
    out: Annotated[Path, typer.Option("-o", "--out", help="regzoo model folder to write.")],
    seq_len: Annotated[
        int | None, typer.Option("--seq-len", help="Input length (default: the published one).")
    ] = None,
    labels: Annotated[
        Path | None, typer.Option("--labels", help="Text file of label names, one a line.")
    ] = None,
    channels: Annotated[
        str | None,
        typer.Option("--channels", help="Input channel order of the source: AGCT or ACGT."),
    ] = None,
    arg: Annotated[
        list[str] | None,
        typer.Option(
            "--arg",
            help="Source hyper-parameter or regzoo architecture argument KEY=VALUE (repeat), "
            "e.g. --arg depth=2 for a bare enformer-pytorch state dict.",
        ),
    ] = None,
) -> None:
    """Convert published weights into a regzoo model folder (safetensors + config.json)."""
    from regzoo.weights import import_weights, read_labels

    try:
        options = _parse_args(arg)
        if channels is not None:
            options["channels"] = channels
        written = import_weights(
            arch, source, out, label_names=read_labels(labels), seq_len=seq_len, **options
        )
    except RegzooError as err:
        err_console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    console.print(f"imported {arch} weights from {source} -> {written}")
