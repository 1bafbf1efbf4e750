"""The ``regzoo`` command line: models, tasks, train, evaluate, predict, compare."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from regzoo.errors import InputError, RegzooError

app = typer.Typer(
    name="regzoo",
    help="The classic deep-learning architectures of regulatory genomics: train, evaluate, "
    "predict and compare them head-to-head on real genomic data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# wide tables stay readable when the output goes to a file or a CI log (rich assumes 80 columns)
console = Console() if sys.stdout.isatty() else Console(width=180)
err_console = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=180)

# ---- shared data options -------------------------------------------------------------------
TaskOpt = Annotated[
    str | None, typer.Option("--task", help="A bundled task (see `regzoo tasks`), e.g. promoters.")
]
TableOpt = Annotated[
    Path | None,
    typer.Option(
        "--table",
        help="CSV/TSV with a sequence column and label columns, or FASTA with labels in the headers.",
    ),
]
SeqColOpt = Annotated[str, typer.Option("--seq-col", help="Sequence column of --table.")]
LabelColsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--label-cols",
        help="Label column(s) of --table or BED extra columns (repeat the option; default: all other columns).",
    ),
]
GenomeOpt = Annotated[
    Path | None, typer.Option("--genome", help="Genome FASTA (plain or bgzip) for --intervals.")
]
IntervalsOpt = Annotated[
    Path | None,
    typer.Option("--intervals", help="BED file of labelled intervals (labels in extra columns)."),
]
ValidChromsOpt = Annotated[
    list[str] | None,
    typer.Option("--valid-chroms", help="Chromosome(s) held out for validation (--intervals)."),
]
TestChromsOpt = Annotated[
    list[str] | None,
    typer.Option("--test-chroms", help="Chromosome(s) held out for testing (--intervals)."),
]
SeqLenOpt = Annotated[
    int | None, typer.Option("--seq-len", help="Input length in bp (default: the task's).")
]
TaskTypeOpt = Annotated[
    str | None,
    typer.Option(
        "--task-type",
        help="binary | multilabel | multiclass | regression (default: inferred from the labels).",
    ),
]
SeedOpt = Annotated[
    int, typer.Option("--seed", help="Seed for splits, initialisation and augmentation.")
]


def load_data(
    task: str | None = None,
    table: Path | None = None,
    seq_col: str = "sequence",
    label_cols: list[str] | None = None,
    genome: Path | None = None,
    intervals: Path | None = None,
    valid_chroms: list[str] | None = None,
    test_chroms: list[str] | None = None,
    seq_len: int | None = None,
    task_type: str | None = None,
    seed: int = 0,
):
    """Resolve the data options shared by train / evaluate / compare into a TaskData.

    List options accept repeats and commas alike (``--label-cols a,b`` = ``--label-cols a
    --label-cols b``)."""
    from regzoo.data import bundled, sources

    label_cols, valid_chroms, test_chroms = (
        _split_commas(v) for v in (label_cols, valid_chroms, test_chroms)
    )

    chosen = [
        opt
        for opt, value in (("--task", task), ("--table", table), ("--intervals", intervals))
        if value
    ]
    if len(chosen) > 1:
        raise RegzooError(f"give one data source, not {' and '.join(chosen)}")
    if intervals is not None or genome is not None:
        if intervals is None or genome is None:
            raise RegzooError("--genome and --intervals go together")
        return sources.from_intervals(
            genome,
            intervals,
            label_cols=label_cols,
            seq_len=seq_len or 1000,
            valid_chroms=valid_chroms,
            test_chroms=test_chroms,
            task_type=task_type,
            seed=seed,
        )
    if table is not None:
        return sources.from_table(
            table,
            seq_col=seq_col,
            label_cols=label_cols,
            seq_len=seq_len,
            task_type=task_type,
            seed=seed,
        )
    return bundled.load_task(task or "promoters", seq_len=seq_len, seed=seed)


def task_metadata(data, seed: int) -> dict:
    """What a saved model keeps of its data: enough to rebuild the same splits."""
    return {
        "name": data.name,
        "task_type": data.task_type,
        "label_names": list(data.label_names),
        "seq_len": data.seq_len,
        "sizes": data.sizes(),
        "seed": seed,
        "summary": data.summary,
    }


# ---- commands --------------------------------------------------------------------------------
@app.command("models")
def models_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print the cards as JSON.")] = False,
) -> None:
    """List the architectures: family, paper, published input length, outputs and parameters."""
    from regzoo.models import card, list_models

    cards = [card(name) for name in list_models()]
    if as_json:
        print(json.dumps([c.to_dict() for c in cards], indent=2))
        return
    table = Table(title="regzoo architectures (published configurations)")
    for col in ("name", "family", "paper", "input (bp)", "outputs", "parameters"):
        table.add_column(col, justify="right" if col in ("input (bp)", "parameters") else "left")
    for c in cards:
        outputs = f"{c.n_tasks}" + (
            f" x {c.n_bins} bins" if c.output == "profile" and c.n_bins else ""
        )
        table.add_row(
            c.name, c.family, c.paper, f"{c.seq_len:,}", outputs, f"{c.published_params:,}"
        )
    console.print(table)


@app.command("tasks")
def tasks_cmd() -> None:
    """List the bundled tasks (built from pip-installed genomes; no download)."""
    from regzoo.data import bundled

    table = Table(title="bundled tasks")
    table.add_column("name")
    table.add_column("description")
    for name in bundled.list_tasks():
        spec = bundled.TASKS[name]
        table.add_row(
            name,
            f"{spec.description}; {spec.species}; {spec.seq_len} bp; from pip package {spec.package}",
        )
    console.print(table)


@app.command("train")
def train_cmd(
    model: Annotated[
        str, typer.Option("--model", "-m", help="Architecture (see `regzoo models`).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the saved model.")],
    task: TaskOpt = None,
    table: TableOpt = None,
    seq_col: SeqColOpt = "sequence",
    label_cols: LabelColsOpt = None,
    genome: GenomeOpt = None,
    intervals: IntervalsOpt = None,
    valid_chroms: ValidChromsOpt = None,
    test_chroms: TestChromsOpt = None,
    seq_len: SeqLenOpt = None,
    task_type: TaskTypeOpt = None,
    max_epochs: Annotated[
        int, typer.Option(help="Maximum epochs (early stopping may end sooner).")
    ] = 20,
    batch_size: Annotated[int, typer.Option(help="Batch size.")] = 64,
    lr: Annotated[float, typer.Option(help="Learning rate (AdamW).")] = 1e-3,
    patience: Annotated[
        int, typer.Option(help="Early-stopping patience in epochs (on val loss).")
    ] = 3,
    budget_minutes: Annotated[
        float | None, typer.Option(help="Stop training after this many minutes.")
    ] = None,
    published: Annotated[
        bool,
        typer.Option(
            "--published/--compact", help="Published widths (GPU) or the compact CPU configuration."
        ),
    ] = False,
    accelerator: Annotated[str, typer.Option(help="auto | cpu | gpu (Lightning).")] = "auto",
    devices: Annotated[
        str, typer.Option(help="Devices per node: auto, N, or a list (Lightning).")
    ] = "auto",
    strategy: Annotated[
        str, typer.Option(help="auto | ddp | ... (Lightning; ddp for multi-GPU).")
    ] = "auto",
    seed: SeedOpt = 0,
) -> None:
    """Train an architecture on a task and save it (safetensors + JSON) with its test metrics."""
    from regzoo.models import card, count_parameters
    from regzoo.saved import save_model
    from regzoo.train import evaluate, train_model

    card(model)  # unknown name -> clear error before any data work
    data = load_data(
        task,
        table,
        seq_col,
        label_cols,
        genome,
        intervals,
        valid_chroms,
        test_chroms,
        seq_len,
        task_type,
        seed,
    )
    err_console.print(
        f"[bold]{model}[/] on [bold]{data.name}[/]: {data.sizes()} ({data.task_type}, {data.seq_len} bp)"
    )
    result = train_model(
        model,
        data,
        seed=seed,
        model_args={} if published else {"compact": True},
        max_epochs=max_epochs,
        batch_size=batch_size,
        lr=lr,
        patience=patience,
        budget_minutes=budget_minutes,
        out_dir=out,
        accelerator=accelerator,
        devices=_devices(devices),
        strategy=strategy,
    )
    valid = evaluate(result.model, data.valid, data.task_type)
    test = evaluate(result.model, data.test, data.task_type)
    training = {
        **result.settings,
        "epochs": result.epochs,
        "best_epoch": result.best_epoch,
        "wall_time_s": round(result.wall_time_s, 2),
        "stopped_by": result.stopped_by,
        "parameters": count_parameters(result.model),
        "history": result.history,
    }
    save_model(
        out, result.model, task_metadata(data, seed), training, {"valid": valid, "test": test}
    )
    _print_metrics(f"{model} test metrics", test)
    console.print(
        f"saved to {out}  ({training['parameters']:,} parameters, {result.epochs} epochs, {result.wall_time_s:.1f} s)"
    )


@app.command("evaluate")
def evaluate_cmd(
    model_dir: Annotated[Path, typer.Argument(help="A directory written by `regzoo train`.")],
    task: TaskOpt = None,
    table: TableOpt = None,
    seq_col: SeqColOpt = "sequence",
    label_cols: LabelColsOpt = None,
    genome: GenomeOpt = None,
    intervals: IntervalsOpt = None,
    valid_chroms: ValidChromsOpt = None,
    test_chroms: TestChromsOpt = None,
    task_type: TaskTypeOpt = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", help="Seed of the data splits (default: the one the model was trained with)."
        ),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json-out", help="Also write the metrics here.")
    ] = None,
) -> None:
    """Metrics of a saved model on the test split of a task (default: the bundled task it was trained on)."""
    from regzoo.saved import load
    from regzoo.train import evaluate

    model = load(model_dir)
    trained_on = model.regzoo_task
    if task is None and table is None and intervals is None:
        task = trained_on.get("name")
        from regzoo.data import bundled

        if task not in bundled.list_tasks():
            raise RegzooError(
                f"{model_dir}: trained on {task!r}, not a bundled task; give --table or --genome/--intervals"
            )
    if seed is None:
        seed = int(trained_on.get("seed", 0))
    data = load_data(
        task,
        table,
        seq_col,
        label_cols,
        genome,
        intervals,
        valid_chroms,
        test_chroms,
        trained_on.get("seq_len"),
        task_type or trained_on.get("task_type"),
        seed,
    )
    if data.n_tasks != len(trained_on.get("label_names", [])):
        raise InputError(
            f"{model_dir}: model has {len(trained_on['label_names'])} outputs but the data have {data.n_tasks} label columns"
        )
    metrics = evaluate(model, data.test, data.task_type)
    _print_metrics(f"test metrics ({data.name}, n={len(data.test)})", metrics)
    payload = {"task": data.name, "split": "test", "n": len(data.test), "metrics": metrics}
    print(json.dumps(payload))
    if json_out:
        json_out.write_text(json.dumps(payload, indent=2) + "\n")


@app.command("predict")
def predict_cmd(
    model_dir: Annotated[Path, typer.Argument(help="A directory written by `regzoo train`.")],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="TSV to write: one row per sequence, one column per task."
        ),
    ],
    fasta: Annotated[
        Path | None, typer.Option("--fasta", help="FASTA of sequences to score.")
    ] = None,
    table: Annotated[
        Path | None, typer.Option("--table", help="CSV/TSV with a sequence column.")
    ] = None,
    seq_col: SeqColOpt = "sequence",
    rc_average: Annotated[
        bool,
        typer.Option("--rc-average", help="Average each sequence with its reverse complement."),
    ] = False,
    batch_size: Annotated[int, typer.Option(help="Batch size.")] = 256,
) -> None:
    """Score sequences with a saved model. Sequences of another length are centred and cropped or N-padded."""
    import pandas as pd

    from regzoo.data import tables
    from regzoo.inference import predict
    from regzoo.saved import load

    if (fasta is None) == (table is None):
        raise RegzooError("give exactly one of --fasta or --table")
    model = load(model_dir)
    source = fasta if fasta is not None else table
    names, seqs = tables.read_sequences(source, seq_col)
    codes, report = tables.fit_sequences(seqs, model.regzoo_task.get("seq_len"), source=str(source))
    if report["n_cropped"] or report["n_padded"]:
        err_console.print(
            f"{source}: {report['n_cropped']} sequence(s) centre-cropped and {report['n_padded']} "
            f"N-padded to the model's {report['seq_len']} bp"
        )
    preds = predict(model, codes, batch_size=batch_size, rc_average=rc_average)
    if preds.ndim == 3:  # profile model: one column per task and bin
        preds = preds.reshape(len(preds), -1)
        columns = [
            f"{t}_bin{b}"
            for t in model.regzoo_task["label_names"]
            for b in range(preds.shape[1] // len(model.regzoo_task["label_names"]))
        ]
    else:
        columns = list(
            model.regzoo_task.get("label_names") or [f"task{i}" for i in range(preds.shape[1])]
        )
    frame = pd.DataFrame(preds, columns=columns)
    frame.insert(0, "name", names)
    frame.to_csv(output, sep="\t", index=False, float_format="%.6g")
    err_console.print(f"wrote {len(frame)} predictions to {output}")


QUICK = {"budget_minutes": 0.25, "max_epochs": 2}
DEFAULT_BUDGET_MINUTES = 1.0


@app.command("compare")
def compare_cmd(
    models: Annotated[
        str | None,
        typer.Option("--models", help="Comma-separated architectures (default: all nine)."),
    ] = None,
    task: TaskOpt = None,
    table: TableOpt = None,
    seq_col: SeqColOpt = "sequence",
    label_cols: LabelColsOpt = None,
    genome: GenomeOpt = None,
    intervals: IntervalsOpt = None,
    valid_chroms: ValidChromsOpt = None,
    test_chroms: TestChromsOpt = None,
    seq_len: SeqLenOpt = None,
    task_type: TaskTypeOpt = None,
    seeds: Annotated[
        int,
        typer.Option(
            "--seeds", help="Seeds per architecture (0..N-1); the leaderboard shows mean ± sd."
        ),
    ] = 1,
    max_epochs: Annotated[int, typer.Option(help="Maximum epochs per run.")] = 10,
    budget_minutes: Annotated[
        float | None,
        typer.Option(
            help=f"Wall-clock training budget per run, minutes (default {DEFAULT_BUDGET_MINUTES} on CPU, none with --published). 0 = no budget (exactly reproducible)."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Batch size (same for every architecture).")] = 64,
    lr: Annotated[
        float, typer.Option(help="Learning rate (AdamW, same for every architecture).")
    ] = 1e-3,
    patience: Annotated[
        int, typer.Option(help="Early-stopping patience (epochs, on validation loss).")
    ] = 2,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick", help="A run of a few minutes: 2 epochs, 15 s budget per architecture."
        ),
    ] = False,
    published: Annotated[
        bool,
        typer.Option(
            "--published",
            help="Published configurations (for a GPU) instead of the compact CPU ones.",
        ),
    ] = False,
    isolate: Annotated[
        bool,
        typer.Option(
            "--isolate/--in-process",
            help="Run each architecture in its own worker process: a crash or an out-of-memory kill is reported and the others go on; peak memory is measured per run.",
        ),
    ] = True,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume/--no-resume", help="Skip runs already finished with the same configuration."
        ),
    ] = True,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output directory (default: compare-<task>).")
    ] = None,
    seed: SeedOpt = 0,
) -> None:
    """Train architectures head-to-head on the same data, splits, seeds and budget; write a leaderboard (terminal, CSV, JSON) and an HTML report."""
    import time

    from regzoo.compare import CompareSettings, compare, print_leaderboard, write_outputs
    from regzoo.models import list_models

    start = time.perf_counter()
    names = [m.strip() for m in models.split(",") if m.strip()] if models else list_models()
    if seeds < 1:
        raise RegzooError("--seeds must be at least 1")
    data = load_data(
        task,
        table,
        seq_col,
        label_cols,
        genome,
        intervals,
        valid_chroms,
        test_chroms,
        seq_len,
        task_type,
        seed,
    )
    if budget_minutes is None:
        budget_minutes = None if published else DEFAULT_BUDGET_MINUTES
    settings = CompareSettings(
        max_epochs=max_epochs,
        batch_size=batch_size,
        lr=lr,
        patience=patience,
        budget_minutes=budget_minutes or None,
        published=published,
        seeds=tuple(range(seeds)),
        isolate=isolate,
    )
    if quick:
        settings.max_epochs = QUICK["max_epochs"]
        settings.budget_minutes = QUICK["budget_minutes"]
    if published:
        import torch

        if not torch.cuda.is_available():
            err_console.print(
                "[yellow]warning:[/] --published builds the papers' full widths (DeepSEA 52.8M, "
                "Enformer 251M parameters); without a GPU this is very slow"
            )
    out = out or Path(f"compare-{data.name}")
    err_console.print(
        f"comparing {len(names)} architectures on [bold]{data.name}[/] {data.sizes()} "
        f"({'published' if published else 'compact'} configurations, {seeds} seed(s), "
        f"max {settings.max_epochs} epochs, budget {settings.budget_minutes or 'none'} min per run) -> {out}"
    )
    results = compare(
        data,
        names,
        out,
        settings,
        resume=resume,
        log=lambda msg: err_console.print(msg, highlight=False),
    )
    wall = time.perf_counter() - start
    frame = write_outputs(results, data, settings, out, wall_time_s=wall)
    print_leaderboard(
        frame,
        data.task_type,
        f"regzoo compare: {data.name} (test split, {len(data.test):,} sequences)",
        console,
    )
    console.print(
        f"wall time {wall:.0f} s; leaderboard: {out / 'leaderboard.csv'}, report: {out / 'report.html'}"
    )


def _split_commas(values: list[str] | None) -> list[str] | None:
    if not values:
        return values
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _devices(value: str):
    return int(value) if value.isdigit() else value


def _print_metrics(title: str, metrics: dict[str, float]) -> None:
    table = Table(title=title)
    for name in metrics:
        table.add_column(name, justify="right")
    table.add_row(*(f"{v:.4f}" for v in metrics.values()))
    console.print(table)


# commands kept in their own modules register themselves on `app` when imported
import regzoo.cli_explain  # noqa: E402,F401  (explain, motifs, score-variants)
import regzoo.cli_weights  # noqa: E402,F401  (import of published weights)


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit status 2."""
    try:
        app()
    except RegzooError as err:
        err_console.print(f"[red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except FileNotFoundError as err:
        err_console.print(
            f"[red]error:[/] {err.filename or err}: file not found", highlight=False, soft_wrap=True
        )
        sys.exit(2)


if __name__ == "__main__":
    main()
