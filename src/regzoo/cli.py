"""The ``regzoo`` command line: models, tasks, train, evaluate, predict, compare."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from regzoo import atomic
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
console = Console() if sys.stdout.isatty() else Console(width=230)
err_console = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=230)

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
    int | None,
    typer.Option(
        "--seq-len",
        help="Input length in bp. Default: the bundled task's; a table's most frequent length; "
        "for --intervals the intervals' common width, else 1,000 (said at start); 1,000 for "
        "--peaks; 16,384 for --tracks.",
        show_default=False,
    ),
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
RcAugmentOpt = Annotated[
    bool | None,
    typer.Option(
        "--rc-augment/--no-rc-augment",
        help="Train on random reverse complements (strand-symmetric tasks only). Default: off "
        "for --table / --intervals (strand semantics unknown); the bundled task's own choice.",
        show_default=False,
    ),
]
MaxShiftOpt = Annotated[
    int | None,
    typer.Option(
        "--max-shift",
        help="Train on windows shifted by up to N bp. Default: 0 for --table / --intervals; "
        "the bundled task's own choice (promoters: 3).",
        show_default=False,
    ),
]
SplitColOpt = Annotated[
    str | None,
    typer.Option(
        "--split-col", help="Column of --table giving each row's split: train, valid or test."
    ),
]
ValidTableOpt = Annotated[
    Path | None,
    typer.Option("--valid-table", help="Separate validation table (same columns as --table)."),
]
TestTableOpt = Annotated[
    Path | None,
    typer.Option("--test-table", help="Separate test table (same columns as --table)."),
]
MissingLabelsOpt = Annotated[
    str,
    typer.Option(
        "--missing-labels",
        help="Missing label values (NA or empty): error | mask (skipped in loss and metrics) | drop (rows).",
    ),
]
MaxNFracOpt = Annotated[
    float | None,
    typer.Option(
        "--max-n-frac",
        help="Drop sequences with a larger fraction of N (counted). Default: keep, warn above 0.5.",
        show_default=False,
    ),
]
UnknownChromsOpt = Annotated[
    str,
    typer.Option(
        "--unknown-chroms",
        help="Intervals on chromosomes the genome lacks: error | drop (counted).",
    ),
]
PeaksOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--peaks",
        help="BED / narrowPeak files with --genome: multi-label windows, one label per file "
        "(or per name in --peak-name-col).",
    ),
]
PeakNameColOpt = Annotated[
    int | None,
    typer.Option(
        "--peak-name-col", help="1-based column of --peaks naming each peak's label (e.g. 4)."
    ),
]
LabelCenterOpt = Annotated[
    int, typer.Option("--label-center", help="Central bp of a window that a peak must overlap.")
]
MinOverlapOpt = Annotated[
    float,
    typer.Option(
        "--min-overlap", help="Overlap needed, as a fraction of the shorter of peak and centre."
    ),
]
NegPerPosOpt = Annotated[
    str,
    typer.Option(
        "--negatives-per-positive",
        help="When tiling for --peaks: unlabelled windows kept per labelled one, or 'all'.",
    ),
]
TracksOpt = Annotated[
    list[Path] | None,
    typer.Option("--tracks", help="bigWig coverage tracks with --genome: profile targets."),
]
TracksTableOpt = Annotated[
    Path | None,
    typer.Option(
        "--tracks-table",
        help="TSV of tracks: columns file, name, optional summary, transform, clip, strand_pair.",
    ),
]
BinSizeOpt = Annotated[int, typer.Option("--bin-size", help="bp per target bin (--tracks).")]
RegionsOpt = Annotated[
    Path | None,
    typer.Option(
        "--regions", help="BED of regions to centre windows on (--peaks / --tracks); default: tile."
    ),
]
StrideOpt = Annotated[
    int | None,
    typer.Option("--stride", help="Tiling step in bp (--peaks / --tracks).", show_default=False),
]
ExcludeOpt = Annotated[
    Path | None,
    typer.Option("--exclude", help="Blacklist BED: windows overlapping it are dropped."),
]
TfrecordsOpt = Annotated[
    Path | None,
    typer.Option(
        "--basenji-tfrecords",
        help="A Basenji TFRecord folder (sequence + target features; no TensorFlow needed): a "
        "profile task, split by train-/valid-/test- file names.",
    ),
]
ProfileLossOpt = Annotated[
    str,
    typer.Option(
        "--profile-loss",
        help="Loss of profile (coverage) tasks: poisson | multinomial (Enformer/Borzoi: shape + "
        "total) | mse.",
    ),
]
MONITORS = ("auto", "val/loss", "val/pearson")  # regzoo.train.fit's (it loads Lightning)
MonitorOpt = Annotated[
    str,
    typer.Option(
        "--monitor",
        help="What early stopping and the best epoch follow: auto (val/pearson, maximised, for "
        "profile (coverage) tasks, as Basenji's trainer does; val/loss otherwise) | val/loss | "
        "val/pearson (profile and regression tasks).",
    ),
]
RecipeOpt = Annotated[
    str,
    typer.Option(
        "--recipe",
        help="shared: the same optimiser settings for every architecture; published: each "
        "architecture's published training recipe where one is known (basset, danq, basenji, "
        "enformer), the shared settings otherwise.",
    ),
]
DEFAULT_CHECKPOINT_EVERY = 500  # regzoo.train.fit's (not imported here: it loads Lightning)
OverwriteOpt = Annotated[
    bool, typer.Option("--overwrite", help="Replace an existing output folder.")
]

DATA_KEYS = (
    "task",
    "table",
    "seq_col",
    "label_cols",
    "genome",
    "intervals",
    "valid_chroms",
    "test_chroms",
    "seq_len",
    "task_type",
    "seed",
    "rc_augment",
    "max_shift",
    "split_col",
    "valid_table",
    "test_table",
    "n_folds",
    "fold",
    "missing_labels",
    "max_n_frac",
    "unknown_chroms",
    "peaks",
    "peak_name_col",
    "label_center",
    "min_overlap",
    "negatives_per_positive",
    "tracks",
    "tracks_table",
    "bin_size",
    "regions",
    "stride",
    "exclude",
    "basenji_tfrecords",
)
GENOME_DEFAULTS = {
    "label_center": 200,
    "min_overlap": 0.5,
    "negatives_per_positive": "1",
    "bin_size": 128,
}


def data_spec(**options) -> dict:
    """The data options of a command as plain JSON (absolute paths, lists split at commas): saved
    with a model, so that ``evaluate`` can rebuild exactly the same data and splits."""
    spec = {}
    for key in DATA_KEYS:
        value = options.get(key)
        if isinstance(value, Path):
            value = str(value.resolve()) if value.exists() else str(value)
        elif isinstance(value, list):
            value = [
                str(Path(v).resolve()) if isinstance(v, Path) else v
                for v in _split_commas([str(v) for v in value])
            ]
        spec[key] = value if value is not None else GENOME_DEFAULTS.get(key)
    spec["seq_col"] = spec["seq_col"] or "sequence"
    spec["seed"] = spec["seed"] or 0
    spec["missing_labels"] = spec["missing_labels"] or "error"
    spec["unknown_chroms"] = spec["unknown_chroms"] or "error"
    return spec


def load_data(spec: dict | None = None, **options):
    """Resolve the data options shared by train / evaluate / compare into a TaskData.

    Takes a :func:`data_spec` dict or the options as keywords. List options accept repeats and
    commas alike (``--label-cols a,b`` = ``--label-cols a --label-cols b``)."""
    from regzoo.data import bundled, sources

    spec = data_spec(**(spec or {}), **options)
    chosen = [f"--{key}" for key in ("task", "table", "intervals") if spec[key]]
    if len(chosen) > 1:
        raise RegzooError(f"give one data source, not {' and '.join(chosen)}")
    table_only = [
        f"--{key.replace('_', '-')}"
        for key in ("split_col", "valid_table", "test_table", "n_folds")
        if spec[key]
    ]
    if table_only and not spec["table"]:
        raise RegzooError(f"{', '.join(table_only)} go with --table")
    aug = {"rc_augment": spec["rc_augment"], "max_shift": spec["max_shift"]}
    if spec["basenji_tfrecords"]:
        from regzoo.data.tfrecord import from_basenji_tfrecords

        if spec["rc_augment"] or spec["max_shift"]:
            raise RegzooError("--basenji-tfrecords: augmentation is not supported for TFRecords")
        return from_basenji_tfrecords(spec["basenji_tfrecords"], seed=spec["seed"])
    if spec["peaks"] or spec["tracks"] or spec["tracks_table"]:
        return _genome_scale_data(spec)
    if spec["intervals"] is not None or spec["genome"] is not None:
        if spec["intervals"] is None or spec["genome"] is None:
            raise RegzooError("--genome and --intervals go together")
        return sources.from_intervals(
            spec["genome"],
            spec["intervals"],
            label_cols=spec["label_cols"],
            seq_len=spec["seq_len"],
            valid_chroms=spec["valid_chroms"],
            test_chroms=spec["test_chroms"],
            task_type=spec["task_type"],
            seed=spec["seed"],
            unknown_chroms=spec["unknown_chroms"],
            **aug,
        )
    if spec["table"] is not None:
        return sources.from_table(
            spec["table"],
            seq_col=spec["seq_col"],
            label_cols=spec["label_cols"],
            seq_len=spec["seq_len"],
            task_type=spec["task_type"],
            seed=spec["seed"],
            split_col=spec["split_col"],
            valid_table=spec["valid_table"],
            test_table=spec["test_table"],
            n_folds=spec["n_folds"],
            fold=spec["fold"] or 0,
            missing_labels=spec["missing_labels"],
            max_n_frac=spec["max_n_frac"],
            **aug,
        )
    return bundled.load_task(
        spec["task"] or "promoters", seq_len=spec["seq_len"], seed=spec["seed"], **aug
    )


def _genome_scale_data(spec: dict):
    """--genome with --peaks (multi-label windows) or --tracks / --tracks-table (profiles)."""
    if not spec["genome"]:
        raise RegzooError("--peaks / --tracks need --genome")
    if spec["intervals"]:
        raise RegzooError("give --intervals (labelled BED) or --peaks / --tracks, not both")
    if not (spec["valid_chroms"] and spec["test_chroms"]):
        raise RegzooError(
            "--peaks / --tracks need --valid-chroms and --test-chroms (held-out chromosomes, "
            "or blocks such as II:0-200000 with --tracks)"
        )
    common = {
        "regions": spec["regions"],
        "stride": spec["stride"],
        "valid_chroms": spec["valid_chroms"],
        "test_chroms": spec["test_chroms"],
        "exclude": spec["exclude"],
        "seed": spec["seed"],
        "rc_augment": bool(spec["rc_augment"]),
        "max_shift": int(spec["max_shift"] or 0),
    }
    if spec["max_n_frac"] is not None:
        common["max_n_frac"] = spec["max_n_frac"]
    if spec["peaks"]:
        if spec["tracks"] or spec["tracks_table"]:
            raise RegzooError("give --peaks or --tracks, not both")
        from regzoo.data.peaks import from_peaks

        ratio = str(spec["negatives_per_positive"])
        try:
            negatives = None if ratio == "all" else float(ratio)
        except ValueError:
            raise RegzooError(
                f"--negatives-per-positive {ratio!r}; expected a number or 'all'"
            ) from None
        task = from_peaks(
            spec["genome"],
            spec["peaks"],
            seq_len=spec["seq_len"] or 1000,
            label_center=spec["label_center"],
            min_overlap=spec["min_overlap"],
            peak_name_col=spec["peak_name_col"],
            negatives_per_positive=negatives,
            unknown_chroms=spec["unknown_chroms"],
            **common,
        )
    else:
        from regzoo.data.track_tasks import from_tracks
        from regzoo.data.tracks import read_tracks_table

        if spec["tracks"] and spec["tracks_table"]:
            raise RegzooError("give --tracks or --tracks-table, not both")
        tracks = read_tracks_table(spec["tracks_table"]) if spec["tracks_table"] else spec["tracks"]
        extra = {"seq_len": spec["seq_len"]} if spec["seq_len"] else {}
        task = from_tracks(spec["genome"], tracks, bin_size=spec["bin_size"], **extra, **common)
    from regzoo.data.task import resolve_augmentation

    task.augmentation = resolve_augmentation(
        spec["rc_augment"],
        spec["max_shift"],
        False,
        0,
        "off by default for user files: their strand and position semantics are unknown",
    )
    return task


def describe_data(data) -> list[str]:
    """What a user must see before training: sizes, task type and why, length rule, splits,
    augmentation (each a default that changes what is measured)."""
    from regzoo.data.task import describe_augmentation

    summary = data.summary
    reason = summary.get("task_type_reason")
    lines = [
        f"[bold]{data.name}[/]: {data.sizes()}",
        f"task type: {data.task_type}"
        + (f" ({'inferred: ' if reason != 'given' else ''}{reason})" if reason else "")
        + f"; labels: {', '.join(data.label_names[:8])}{' ...' if data.n_tasks > 8 else ''}",
        f"input length: {summary.get('seq_len_rule') or f'{data.seq_len} bp'}",
    ]
    if summary.get("split_rule"):
        lines.append(f"splits: {summary['split_rule']}")
    lines.append(describe_augmentation(data.augmentation))
    missing = summary.get("missing_labels") or {}
    if missing.get("missing_values"):
        lines.append(
            f"missing labels: {missing['missing_values']} value(s), rule {missing['rule']}"
            + (f", {missing['rows_dropped']} row(s) dropped" if missing.get("rows_dropped") else "")
        )
    n_content = summary.get("n_content") or {}
    if n_content.get("mostly_n") and n_content.get("max_n_frac") is None:
        lines.append(
            f"[yellow]warning:[/] {n_content['mostly_n']} sequence(s) are more than 50% N "
            f"({n_content['all_n']} entirely N); drop them with --max-n-frac 0.5"
        )
    if n_content.get("dropped"):
        lines.append(
            f"dropped {n_content['dropped']} sequence(s) with more than {n_content['max_n_frac']} N"
        )
    return lines


def task_metadata(data, seed: int, spec: dict | None = None) -> dict:
    """What a saved model keeps of its data: enough to rebuild the same data and splits."""
    from regzoo.provenance import data_files

    return {
        "name": data.name,
        "task_type": data.task_type,
        "label_names": list(data.label_names),
        "seq_len": data.seq_len,
        "sizes": data.sizes(),
        "seed": seed,
        "augmentation": data.augmentation,
        "split": data.summary.get("split"),
        "data_spec": spec,
        "data_files": data_files(spec or {}),
        "summary": data.summary,
    }


def global_rank() -> int:
    """This process's rank as Lightning's DDP launcher and cluster schedulers set it (0 alone)."""
    for var in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return 0


def check_out_dir(out: Path, overwrite: bool) -> None:
    """Refuse to write a model over an existing one unless ``--overwrite``."""
    if out.exists() and not out.is_dir():
        raise RegzooError(f"--out {out}: a file is in the way; expected a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            interrupted = (out / "checkpoints" / "last.ckpt").is_file()
            raise RegzooError(
                f"--out {out}: the folder exists and is not empty; pass --overwrite to replace "
                "it, or choose another folder"
                + ("; it holds an interrupted run: --resume continues it" if interrupted else "")
            )
        import shutil

        shutil.rmtree(out)


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
        table.add_row(name, bundled.describe_task(name))
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
    rc_augment: RcAugmentOpt = None,
    max_shift: MaxShiftOpt = None,
    split_col: SplitColOpt = None,
    valid_table: ValidTableOpt = None,
    test_table: TestTableOpt = None,
    folds: Annotated[
        int | None,
        typer.Option(
            "--folds",
            help="k-fold cross-validation of --table: one model per fold in OUT/fold<k>, "
            "out-of-fold predictions for every row, metrics as mean ± sd.",
            show_default=False,
        ),
    ] = None,
    missing_labels: MissingLabelsOpt = "error",
    max_n_frac: MaxNFracOpt = None,
    unknown_chroms: UnknownChromsOpt = "error",
    peaks: PeaksOpt = None,
    peak_name_col: PeakNameColOpt = None,
    label_center: LabelCenterOpt = 200,
    min_overlap: MinOverlapOpt = 0.5,
    negatives_per_positive: NegPerPosOpt = "1",
    tracks: TracksOpt = None,
    tracks_table: TracksTableOpt = None,
    bin_size: BinSizeOpt = 128,
    regions: RegionsOpt = None,
    stride: StrideOpt = None,
    exclude: ExcludeOpt = None,
    basenji_tfrecords: TfrecordsOpt = None,
    profile_loss: ProfileLossOpt = "poisson",
    recipe: RecipeOpt = "shared",
    max_epochs: Annotated[
        int, typer.Option(help="Maximum epochs (early stopping may end sooner).")
    ] = 20,
    batch_size: Annotated[int, typer.Option(help="Batch size.")] = 64,
    lr: Annotated[float, typer.Option(help="Learning rate (AdamW).")] = 1e-3,
    patience: Annotated[
        int,
        typer.Option(
            help="Early-stopping patience in epochs (on the --monitor metric: validation "
            "Pearson for coverage tracks, validation loss otherwise)."
        ),
    ] = 3,
    monitor: MonitorOpt = "auto",
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
    overwrite: OverwriteOpt = False,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue a run that was killed, from OUT/checkpoints/last.ckpt, with the same "
            "options; it ends as the uninterrupted run would have.",
        ),
    ] = False,
    checkpoint_every: Annotated[
        int,
        typer.Option(
            "--checkpoint-every",
            help="Write OUT/checkpoints/last.ckpt every N optimizer steps (0: epoch ends only); "
            "always at each epoch end. Removed once the model is saved.",
        ),
    ] = DEFAULT_CHECKPOINT_EVERY,
    seed: SeedOpt = 0,
) -> None:
    """Train an architecture on a task and save it (safetensors + JSON) with its metrics.

    Under DDP (--devices N --strategy ddp) every rank trains; only global rank 0 prints and
    writes."""
    from regzoo.models import card

    card(model)  # unknown name -> clear error before any data work
    rank0 = global_rank() == 0
    if resume and overwrite:
        raise RegzooError("--resume continues a run and --overwrite replaces it: pass one of them")
    if checkpoint_every < 0:
        raise RegzooError(f"--checkpoint-every {checkpoint_every}; expected 0 or more steps")
    _check_monitor(monitor)
    if rank0 and resume:
        if _finished(out, folds):
            done = (
                "cv_metrics.json"
                if folds
                else f"its saved model; `regzoo evaluate {out}` scores it"
            )
            console.print(
                f"{out}: this run finished already ({done}); nothing to resume. "
                "--overwrite trains it again.",
                highlight=False,
            )
            return
        _check_resumable(out, folds)
    elif rank0:
        check_out_dir(out, overwrite)
    spec = data_spec(**{k: v for k, v in locals().items() if k in DATA_KEYS})
    fit_args = {
        "max_epochs": max_epochs,
        "batch_size": batch_size,
        "lr": lr,
        "patience": patience,
        "budget_minutes": budget_minutes,
        "accelerator": accelerator,
        "devices": _devices(devices),
        "strategy": strategy,
        "profile_loss": profile_loss,
        "checkpoint_every": checkpoint_every,
        "monitor": monitor,
    }
    if recipe not in ("shared", "published"):
        raise RegzooError(f"--recipe {recipe!r}; expected shared or published")
    if recipe == "published":
        from regzoo.train.recipes import fit_args_for

        fit_args, line = fit_args_for(model, fit_args)
        if rank0:
            err_console.print(line, highlight=False)
    model_args = {} if published else {"compact": True}
    if folds:
        if not table:
            raise RegzooError("--folds goes with --table (cross-validation of a sequence table)")
        _train_folds(model, out, spec, folds, model_args, fit_args, seed, rank0, resume)
        return
    _train_one(model, out, spec, model_args, fit_args, seed, rank0, resume=resume)


CHECKPOINTS, RUN_OPTIONS = "checkpoints", "run.json"


def _check_monitor(monitor: str) -> None:
    if monitor not in MONITORS:
        raise RegzooError(f"--monitor {monitor!r}; expected one of {', '.join(MONITORS)}")


def training_defaults(model: str, data, fit_args: dict) -> list[str]:
    """The training defaults that change what is measured, for the start of a run: what early
    stopping and the best epoch follow, and (profile tasks) the output-bias start. Refuses a
    --monitor the task does not log."""
    return _defaults_lines(data.task_type, fit_args.get("monitor", "auto"), fit_args["patience"])


def _defaults_lines(task_type: str, monitor: str, patience: int) -> list[str]:
    """The lines of :func:`training_defaults`, shared by ``train`` and ``compare``."""
    from regzoo.train.fit import describe_monitor

    lines = [describe_monitor(monitor, task_type, patience)]
    if task_type == "profile":
        lines.append("output bias initialised to each track's mean training coverage (softplus^-1)")
    return lines


def _finished(out: Path, folds: int | None) -> bool:
    """A run whose outputs are all written (the config goes last; cv_metrics.json for folds)."""
    return (out / ("cv_metrics.json" if folds else "config.json")).is_file()


def _check_resumable(out: Path, folds: int | None) -> None:
    from regzoo.train.fit import LAST, last_checkpoint

    dirs = [out / f"fold{k}" for k in range(folds)] if folds else [out]
    if not any(last_checkpoint(d / CHECKPOINTS) or (d / "config.json").is_file() for d in dirs):
        raise RegzooError(
            f"--resume: {out / CHECKPOINTS / LAST} not found: nothing to resume (the run never "
            "reached its first checkpoint, or this is another folder); start it without --resume"
        )


def _run_options(model, spec, model_args, fit_args, seed) -> dict:
    """What a resumed run must share with the interrupted one (checkpoint spacing aside)."""
    options = {
        "model": model,
        "model_args": model_args,
        "fit_args": {k: v for k, v in fit_args.items() if k != "checkpoint_every"},
        "seed": seed,
        "data": spec,
    }
    return json.loads(json.dumps(options, default=str))


def _check_same_options(path: Path, options: dict) -> None:
    """Refuse to resume with options other than those the run was started with."""
    try:
        before = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        raise RegzooError(
            f"--resume: {path} is missing or unreadable; cannot check that the "
            "options are those of the interrupted run"
        ) from None
    changed = []
    for group in sorted(set(before) | set(options)):
        old, new = before.get(group), options.get(group)
        if isinstance(old, dict) and isinstance(new, dict):
            changed += [
                f"{k}: {old.get(k)!r} -> {new.get(k)!r}"
                for k in sorted(set(old) | set(new))
                if old.get(k) != new.get(k)
            ]
        elif old != new:
            changed.append(f"{group}: {old!r} -> {new!r}")
    if changed:
        raise RegzooError(
            f"--resume: the run in {path.parent.parent} was started with other options ("
            + "; ".join(changed)
            + "); resume it with the same options, or start again with --overwrite"
        )


def _interrupt_hint(ckpt_dir: Path):
    """A Lightning callback that, on Ctrl-C, says where the run can be resumed from (Lightning
    itself only reports the interrupt and exits with status 1)."""
    from lightning.pytorch.callbacks import Callback

    from regzoo.train.fit import checkpoint_info

    class InterruptHint(Callback):
        def on_exception(self, trainer, pl_module, exception) -> None:
            if not isinstance(exception, KeyboardInterrupt):
                return
            last = ckpt_dir / "last.ckpt"
            if last.is_file():
                info = checkpoint_info(last)
                err_console.print(
                    f"interrupted: the last checkpoint is {last} (epoch {info['epoch'] + 1}, "
                    f"optimizer step {info['global_step']}); run the same command with --resume "
                    "to continue from it",
                    highlight=False,
                )
            else:
                err_console.print(
                    "interrupted before the first checkpoint: nothing to resume; run the same "
                    "command with --overwrite to start again",
                    highlight=False,
                )

    return InterruptHint()


def _train_one(
    model, out, spec, model_args, fit_args, seed, rank0, data=None, quiet=False, resume=False
):
    """Train one model on one data specification; rank 0 saves it. Returns (data, result,
    valid Evaluation, test Evaluation). Checkpoints go to OUT/checkpoints (with the run's
    options in run.json) and are removed once the model is saved; ``resume`` continues from
    them."""
    from regzoo.data.task import for_output
    from regzoo.models import card, count_parameters
    from regzoo.provenance import run_record
    from regzoo.saved import _write_atomic, save_model
    from regzoo.train import evaluate_detailed, train_model
    from regzoo.train.fit import checkpoint_info, remove_checkpoints

    ckpt_dir = out / CHECKPOINTS
    options = _run_options(model, spec, model_args, fit_args, seed)
    if resume:
        _check_same_options(ckpt_dir / RUN_OPTIONS, options)
    data = data or load_data(spec)  # bad input is refused before anything is written
    served = for_output(data, card(model).output)
    if served is not data and rank0:
        err_console.print(
            f"{model} predicts one value per sequence: trained on log1p window totals per "
            "track (regression); basenji and enformer predict the binned profiles"
        )
    data = served
    defaults = training_defaults(model, data, fit_args)  # a --monitor the task lacks: refused
    if rank0 and not resume:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(ckpt_dir / RUN_OPTIONS, json.dumps(options, indent=2) + "\n")
    if rank0 and not quiet:
        err_console.print(
            f"[bold]{model}[/] on " + "\n  ".join(describe_data(data) + defaults),
            highlight=False,
        )
    if rank0:
        every = fit_args.get("checkpoint_every", DEFAULT_CHECKPOINT_EVERY)
        err_console.print(
            f"  checkpoints: {ckpt_dir}/last.ckpt "
            + (f"every {every} optimizer steps and " if every else "")
            + "at each epoch end (--checkpoint-every); after a kill, run the same command "
            "with --resume",
            highlight=False,
        )
        if resume:
            info = checkpoint_info(ckpt_dir / "last.ckpt")
            err_console.print(
                f"  resuming from epoch {info['epoch'] + 1}, optimizer step {info['global_step']}",
                highlight=False,
            )
    result = train_model(
        model,
        data,
        seed=seed,
        model_args=model_args,
        out_dir=out,
        progress=rank0,
        checkpoint_dir=ckpt_dir,
        resume=resume,
        callbacks=[_interrupt_hint(ckpt_dir)] if rank0 else None,
        **fit_args,
    )
    valid = evaluate_detailed(result.model, data.valid, data.task_type, data.label_names)
    test = evaluate_detailed(result.model, data.test, data.task_type, data.label_names)
    if result.global_rank != 0:
        return data, result, valid, test
    training = {
        **result.settings,
        "epochs": result.epochs,
        "best_epoch": result.best_epoch,
        "wall_time_s": round(result.wall_time_s, 2),
        "stopped_by": result.stopped_by,
        "parameters": count_parameters(result.model),
        "history": result.history,
        "run": run_record(),
    }
    save_model(
        out,
        result.model,
        task_metadata(data, seed, spec),
        training,
        {
            "valid": valid.metrics,
            "test": test.metrics,
            "valid_per_label": valid.per_label,
            "test_per_label": test.per_label,
            "undefined": {"valid": valid.undefined, "test": test.undefined},
        },
    )
    remove_checkpoints(ckpt_dir)  # the saved model is complete: nothing left to resume
    if not quiet:
        _print_evaluation(f"{model} test metrics (n={test.n:,})", test, data.task_type, "test")
        console.print(
            f"saved to {out}  ({training['parameters']:,} parameters, {result.epochs} epochs, "
            f"best epoch {result.best_epoch + 1}, {result.wall_time_s:.1f} s, "
            f"{result.world_size} process(es))"
        )
    return data, result, valid, test


def _train_folds(model, out, spec, n_folds, model_args, fit_args, seed, rank0, resume=False):
    """k-fold cross-validation: one model per fold, out-of-fold predictions for every row.
    With ``resume``, finished folds are scored from their saved models and an interrupted one
    continues from its checkpoint."""
    import pandas as pd

    from regzoo.train.fit import last_checkpoint

    rows, per_fold = [], []
    for fold in range(n_folds):
        fold_spec = {**spec, "n_folds": n_folds, "fold": fold}
        data = load_data(fold_spec)
        if rank0:
            lines = describe_data(data)
            if fold == 0:
                lines += training_defaults(model, data, fit_args)
                err_console.print(f"[bold]{model}[/] on " + "\n  ".join(lines), highlight=False)
            err_console.print(f"fold {fold + 1}/{n_folds}: {data.sizes()}")
        fold_dir = out / f"fold{fold}"
        if resume and (fold_dir / "config.json").is_file():
            result, test = _saved_fold(fold_dir, data)
        else:
            _, result, _, test = _train_one(
                model,
                fold_dir,
                fold_spec,
                model_args,
                fit_args,
                seed,
                rank0,
                data,
                True,
                resume=resume and last_checkpoint(fold_dir / CHECKPOINTS) is not None,
            )
        if result.global_rank != 0:
            continue
        preds, targets = test.preds, test.targets  # predicted once, when it was scored
        test_rows = data.summary["split"]["test_rows"]
        target_names = ["class"] if data.task_type == "multiclass" else data.label_names
        for k, row in enumerate(test_rows):
            record = {"row": row, "fold": fold}
            record.update(
                {f"pred_{n}": float(v) for n, v in zip(data.label_names, preds[k], strict=True)}
            )
            record.update(
                {f"label_{n}": float(v) for n, v in zip(target_names, targets[k], strict=True)}
            )
            rows.append(record)
        per_fold.append({"fold": fold, "n_test": test.n, **test.metrics})
    if not rank0:
        return
    folds_frame = pd.DataFrame(per_fold)
    metric_cols = [c for c in folds_frame.columns if c not in ("fold", "n_test")]
    summary = {
        m: {"mean": float(folds_frame[m].mean()), "sd": float(folds_frame[m].std(ddof=1))}
        for m in metric_cols
    }
    oof = pd.DataFrame(rows).sort_values("row")
    out.mkdir(parents=True, exist_ok=True)
    atomic.to_csv(oof, out / "oof_predictions.tsv", sep="\t", index=False, float_format="%.6g")
    atomic.to_csv(folds_frame, out / "folds.tsv", sep="\t", index=False, float_format="%.6g")
    atomic.write_text(
        out / "cv_metrics.json",
        json.dumps(
            _json_nan({"n_folds": n_folds, "per_fold": per_fold, "summary": summary}), indent=2
        )
        + "\n",
    )
    table = Table(title=f"{model}: {n_folds}-fold cross-validation (test folds, mean ± sd)")
    for m in metric_cols:
        table.add_column(m, justify="right")
    table.add_row(*(f"{_fmt(summary[m]['mean'])} ± {_fmt(summary[m]['sd'])}" for m in metric_cols))
    console.print(table)
    console.print(
        f"{n_folds} models in {out}/fold<k>; out-of-fold predictions for all {len(oof):,} rows: "
        f"{out / 'oof_predictions.tsv'}"
    )


def _saved_fold(fold_dir: Path, data):
    """A finished fold of a resumed cross-validation: its saved model, scored on its test rows."""
    from types import SimpleNamespace

    from regzoo.saved import load
    from regzoo.train import evaluate_detailed

    fitted = load(fold_dir)
    test = evaluate_detailed(fitted, data.test, data.task_type, data.label_names)
    return SimpleNamespace(global_rank=global_rank()), test


def _json_nan(value):
    """NaN -> None (JSON null) throughout a nested structure."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _json_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_nan(v) for v in value]
    return value


SPLIT_CHOICES = ("test", "valid", "train", "all")


@app.command("evaluate")
def evaluate_cmd(
    model_dir: Annotated[Path, typer.Argument(help="A directory written by `regzoo train`.")],
    task: TaskOpt = None,
    table: TableOpt = None,
    seq_col: Annotated[
        str | None, typer.Option("--seq-col", help="Sequence column of --table.")
    ] = None,
    label_cols: LabelColsOpt = None,
    genome: GenomeOpt = None,
    intervals: IntervalsOpt = None,
    valid_chroms: ValidChromsOpt = None,
    test_chroms: TestChromsOpt = None,
    task_type: TaskTypeOpt = None,
    split_col: SplitColOpt = None,
    missing_labels: Annotated[
        str | None,
        typer.Option("--missing-labels", help="error | mask | drop (default: as in training)."),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="Which rows to score: test | valid | train | all. Default: the test split as "
            "stored with the model for its own data; all rows of any other file.",
            show_default=False,
        ),
    ] = None,
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
    """Metrics of a saved model. Without data options: the test split of the data it was trained
    on, split exactly as in training (chromosomes, seed, fractions, split column)."""
    from torch.utils.data import ConcatDataset

    from regzoo.provenance import changed_files
    from regzoo.saved import load
    from regzoo.train import evaluate_detailed

    if split is not None and split not in SPLIT_CHOICES:
        raise RegzooError(f"--split {split!r}; expected one of {', '.join(SPLIT_CHOICES)}")
    model = load(model_dir)
    trained_on = model.regzoo_task
    stored = dict(trained_on.get("data_spec") or {"task": trained_on.get("name")})
    stored_split = trained_on.get("split") or {}
    given = {
        "task": task,
        "table": table,
        "genome": genome,
        "intervals": intervals,
    }
    source_given = any(v is not None for v in given.values())
    same_source = not source_given or all(
        (str(Path(v).resolve()) if isinstance(v, Path) else v) == stored.get(k)
        for k, v in given.items()
        if v is not None
    )
    if same_source:
        spec = dict(stored)
        if stored_split.get("valid_chroms") and not stored.get("valid_chroms"):
            spec["valid_chroms"] = stored_split["valid_chroms"]
            spec["test_chroms"] = stored_split["test_chroms"]
        sources = ("table", "intervals", "peaks", "tracks", "tracks_table", "basenji_tfrecords")
        if spec.get("task") is None and not any(spec.get(k) for k in sources):
            raise RegzooError(
                f"{model_dir}: trained on {trained_on.get('name')!r}, whose files were not "
                "recorded; give --table or --genome/--intervals"
            )
        where = "the data it was trained on, split as in training"
        split = split or "test"
    else:
        spec = data_spec(**given)
        where = "data the model was not trained on"
        split = split or "all"
    overrides = {
        "seq_col": seq_col,
        "label_cols": label_cols,
        "valid_chroms": valid_chroms,
        "test_chroms": test_chroms,
        "task_type": task_type,
        "split_col": split_col,
        "missing_labels": missing_labels,
        "seed": seed,
    }
    spec.update({k: v for k, v in overrides.items() if v is not None})
    spec["seq_len"] = trained_on.get("seq_len")
    spec["task_type"] = spec.get("task_type") or trained_on.get("task_type")
    if same_source:
        spec.setdefault("seed", trained_on.get("seed", 0))
    changed = changed_files(trained_on.get("data_files") or [], spec)
    if changed:
        err_console.print(
            f"[yellow]warning:[/] {', '.join(changed)} changed since the model was trained "
            "(checksum differs); the splits may not be the training ones"
        )
    data = load_data(spec)
    from regzoo.data.task import for_output

    data = for_output(data, getattr(model, "output_kind", "scalar"))
    if data.n_tasks != len(trained_on.get("label_names", [])):
        raise InputError(
            f"{model_dir}: model has {len(trained_on['label_names'])} outputs but the data have {data.n_tasks} label columns"
        )
    parts = {"train": data.train, "valid": data.valid, "test": data.test}
    dataset = ConcatDataset(list(parts.values())) if split == "all" else parts[split]
    rule = data.summary.get("split_rule", "")
    err_console.print(
        f"scoring the {split} split ({len(dataset):,} rows) of {data.name}: {where}"
        + (f" ({rule})" if rule and split != "all" else ""),
        highlight=False,
    )
    result = evaluate_detailed(model, dataset, data.task_type, data.label_names)
    _print_evaluation(
        f"{split} metrics ({data.name}, n={result.n:,})", result, data.task_type, split
    )
    payload = _json_nan({"task": data.name, "split": split, **result.to_dict()})
    print(json.dumps(payload))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(json_out, json.dumps(payload, indent=2) + "\n")


@app.command("predict")
def predict_cmd(
    model_dir: Annotated[Path, typer.Argument(help="A directory written by `regzoo train`.")],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="TSV to write: one row per sequence, one column per task (with --genome: a folder).",
        ),
    ],
    fasta: Annotated[
        Path | None, typer.Option("--fasta", help="FASTA of sequences to score.")
    ] = None,
    table: Annotated[
        Path | None, typer.Option("--table", help="CSV/TSV with a sequence column.")
    ] = None,
    seq_col: SeqColOpt = "sequence",
    genome: Annotated[
        Path | None,
        typer.Option(
            "--genome",
            help="Predict genome-wide (with --tile or --regions): a profile model writes one "
            "bigWig per track into the folder -o; a sequence-level model writes "
            "predictions.tsv (chrom, start, end, one column per label) there.",
        ),
    ] = None,
    tile: Annotated[
        str | None,
        typer.Option("--tile", help="Chromosomes to tile (comma-separated), with --genome."),
    ] = None,
    regions: Annotated[
        Path | None, typer.Option("--regions", help="BED of regions to predict, with --genome.")
    ] = None,
    stride: Annotated[
        int | None,
        typer.Option(
            "--stride",
            help="Tiling step (bp); default: the predicted span of a window, so predictions abut.",
            show_default=False,
        ),
    ] = None,
    bedgraph: Annotated[
        bool,
        typer.Option("--bedgraph", help="Sequence-level models: also one bedGraph per label."),
    ] = False,
    rc_average: Annotated[
        bool,
        typer.Option("--rc-average", help="Average each sequence with its reverse complement."),
    ] = False,
    batch_size: Annotated[int, typer.Option(help="Batch size.")] = 256,
) -> None:
    """Score sequences with a saved model (sequences of another length are centred and cropped or
    N-padded), or predict genome-wide into bigWig / TSV with --genome."""
    if genome is not None:
        if (tile is None) == (regions is None):
            raise RegzooError("--genome needs exactly one of --tile CHROMS or --regions BED")
        if fasta is not None or table is not None:
            raise RegzooError("give --genome (genome-wide) or --fasta / --table, not both")
        from regzoo.genome_predict import predict_genome_cli

        predict_genome_cli(
            model_dir,
            genome,
            regions,
            tile,
            stride,
            output,
            min(batch_size, 64),
            rc_average,
            bedgraph,
        )
        return
    import logging

    import pandas as pd

    from regzoo.data import tables
    from regzoo.inference import predict
    from regzoo.saved import load

    if (fasta is None) == (table is None):
        raise RegzooError("give exactly one of --fasta or --table")
    if output.exists() and output.is_dir():
        raise RegzooError(
            f"--output {output}: is a folder; expected a file name such as {output / 'predictions.tsv'}"
        )
    model = load(model_dir)
    source = fasta if fasta is not None else table
    names, seqs = tables.read_sequences(source, seq_col)
    tables_log = logging.getLogger("regzoo.data.tables")
    level = tables_log.level
    tables_log.setLevel(logging.ERROR)  # the fitting message is printed once, below
    try:
        codes, report = tables.fit_sequences(
            seqs, model.regzoo_task.get("seq_len"), source=str(source)
        )
    finally:
        tables_log.setLevel(level)
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
    output.parent.mkdir(parents=True, exist_ok=True)
    atomic.to_csv(frame, output, sep="\t", index=False, float_format="%.6g")
    err_console.print(f"wrote {len(frame)} predictions to {output}")


QUICK = {"budget_minutes": 0.25, "max_epochs": 2}
DEFAULT_MAX_EPOCHS = 30
DEFAULT_PATIENCE = 3


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
    rc_augment: RcAugmentOpt = None,
    max_shift: MaxShiftOpt = None,
    split_col: SplitColOpt = None,
    valid_table: ValidTableOpt = None,
    test_table: TestTableOpt = None,
    missing_labels: MissingLabelsOpt = "error",
    max_n_frac: MaxNFracOpt = None,
    unknown_chroms: UnknownChromsOpt = "error",
    peaks: PeaksOpt = None,
    peak_name_col: PeakNameColOpt = None,
    label_center: LabelCenterOpt = 200,
    min_overlap: MinOverlapOpt = 0.5,
    negatives_per_positive: NegPerPosOpt = "1",
    tracks: TracksOpt = None,
    tracks_table: TracksTableOpt = None,
    bin_size: BinSizeOpt = 128,
    regions: RegionsOpt = None,
    stride: StrideOpt = None,
    exclude: ExcludeOpt = None,
    basenji_tfrecords: TfrecordsOpt = None,
    profile_loss: ProfileLossOpt = "poisson",
    recipe: RecipeOpt = "shared",
    folds: Annotated[
        int | None,
        typer.Option(
            "--folds",
            help="k-fold cross-validation of --table: every architecture on every fold "
            "(OUT/fold<k>), leaderboard as mean ± sd over folds.",
            show_default=False,
        ),
    ] = None,
    seeds: Annotated[
        int,
        typer.Option(
            "--seeds", help="Seeds per architecture (0..N-1); the leaderboard shows mean ± sd."
        ),
    ] = 1,
    max_epochs: Annotated[
        int, typer.Option(help="Maximum epochs per run (early stopping usually ends sooner).")
    ] = DEFAULT_MAX_EPOCHS,
    budget_minutes: Annotated[
        float | None,
        typer.Option(
            help="Optional wall-clock training budget per run, minutes. Default: none — every "
            "run trains until the --monitor metric stops improving (--patience) or --max-epochs.",
            show_default=False,
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Batch size (same for every architecture).")] = 64,
    lr: Annotated[
        float, typer.Option(help="Learning rate (AdamW, same for every architecture).")
    ] = 1e-3,
    patience: Annotated[
        int,
        typer.Option(
            help="Early-stopping patience (epochs, on the --monitor metric: validation Pearson "
            "for coverage tracks, validation loss otherwise)."
        ),
    ] = DEFAULT_PATIENCE,
    monitor: MonitorOpt = "auto",
    quick: Annotated[
        bool,
        typer.Option(
            "--quick",
            help="A smoke run of a few minutes: 2 epochs, 15 s budget per architecture (not converged).",
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
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            help="Runs trained at once, each in its own worker process. On a CPU the cores are "
            "split between them (2 jobs x 1 thread finish sooner than 1 x 2 for these small "
            "models); on several GPUs each job gets one. Longest runs start first.",
        ),
    ] = 1,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output directory (default: compare-<task>).")
    ] = None,
    suite: Annotated[
        str | None,
        typer.Option(
            "--suite",
            help="Run a suite of tasks instead of one: 'principles' (planted JASPAR motifs in "
            "Arabidopsis background probing presence, grammar, strand/position and long-range "
            "order; with --quick the CPU sizes). Writes a matrix, a receptive-field plot and a "
            "report.",
            show_default=False,
        ),
    ] = None,
    tune_lr: Annotated[
        bool,
        typer.Option(
            "--tune-lr",
            help="Each architecture picks its learning rate from --lr-grid on the validation "
            "split (same grid for all); test metrics are those of the chosen rate.",
        ),
    ] = False,
    lr_grid: Annotated[
        str, typer.Option("--lr-grid", help="Comma-separated learning rates for --tune-lr.")
    ] = "3e-4,1e-3,3e-3",
    n_boot: Annotated[
        int,
        typer.Option(
            "--n-boot",
            help="Bootstrap resamples of the test set for the 95% confidence intervals and the "
            "paired tests against the best model.",
        ),
    ] = 1000,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="Opt-in: add linear reference rows, kmer (log1p 5-mer counts; both strands "
            "merged only if the task augments with reverse complement), onehot (the flattened "
            "one-hot sequence, positional) or kmer,onehot: L2-regularised logistic / softmax / "
            "ridge regression, L2 chosen on validation, scored on the same test items with the "
            "same CIs and tests. Default: none. Not for coverage-track (profile) tasks yet.",
            show_default=False,
        ),
    ] = None,
    seed: SeedOpt = 0,
) -> None:
    """Train architectures head-to-head on the same data, splits, seeds and budget; write a
    leaderboard (terminal, CSV, JSON) and an HTML report. Interrupt it and run the same command
    again: finished runs are kept."""
    import time

    from regzoo.compare import CompareSettings
    from regzoo.compare.baselines import parse_baselines
    from regzoo.models import list_models

    start = time.perf_counter()
    baselines = parse_baselines(baseline)
    names = [m.strip() for m in models.split(",") if m.strip()] if models else list_models()
    if seeds < 1:
        raise RegzooError("--seeds must be at least 1")
    _check_monitor(monitor)
    spec = data_spec(**{k: v for k, v in locals().items() if k in DATA_KEYS})
    settings = CompareSettings(
        max_epochs=max_epochs,
        batch_size=batch_size,
        lr=lr,
        patience=patience,
        budget_minutes=budget_minutes or None,
        published=published,
        seeds=tuple(range(seeds)),
        isolate=isolate,
        lr_grid=_lr_grid(lr_grid) if tune_lr else None,
        profile_loss=profile_loss,
        recipe=recipe,
        jobs=jobs,
        monitor=monitor,
        baselines=baselines,
    )
    if jobs < 1:
        raise RegzooError(f"--jobs {jobs}: expected 1 or more")
    if recipe not in ("shared", "published"):
        raise RegzooError(f"--recipe {recipe!r}; expected shared or published")
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
    watched = {
        "auto": "the validation metric (Pearson for coverage tracks, else the loss)",
        "val/loss": "validation loss",
        "val/pearson": "validation Pearson",
    }[monitor]
    budget = (
        f"until {watched} stops improving for {settings.patience} epochs, at most "
        f"{settings.max_epochs} epochs"
        + (f", {settings.budget_minutes} min wall clock" if settings.budget_minutes else "")
        + (
            f"; learning rate tuned per architecture on validation from {list(settings.lr_grid)}"
            if settings.lr_grid
            else f"; learning rate {settings.lr} for all"
            if recipe == "shared"
            else ""
        )
    )
    if recipe == "published":
        budget += "; training recipes:\n    " + "\n    ".join(
            settings.fit_args_for(n)[1] for n in names
        )
    budget += "; " + _jobs_line(jobs)
    if suite and baselines:
        raise RegzooError("--baseline is not supported with --suite yet; run it per task")
    if suite:
        _compare_suite(suite, names if models else None, out, quick, seeds, isolate, resume, jobs)
        return
    if folds:
        if not table:
            raise RegzooError("--folds goes with --table (cross-validation of a sequence table)")
        _compare_folds(names, spec, folds, settings, budget, out, resume, start, n_boot)
        return
    data = load_data(spec)
    if data.task_type == "profile":
        from regzoo.compare.baselines import check_task
        from regzoo.models import card

        check_task(data.task_type, baselines)  # refused before any run trains
        scalar = [n for n in names if card(n).output != "profile"]
        if models and scalar:  # refused before any run trains, not one failed run each
            raise RegzooError(
                f"--models {','.join(scalar)}: one value per sequence, while this task's targets "
                "are binned coverage profiles; compare the profile models (basenji, enformer) "
                "here, or train a sequence-level model on the window totals with `regzoo train`"
            )
        names = [n for n in names if card(n).output == "profile"]
        if not models:
            err_console.print(
                f"profile (coverage) targets: comparing the profile models {', '.join(names)}"
            )
    out = out or Path(f"compare-{data.name}")
    err_console.print(
        f"comparing {len(names)} architectures ({'published' if published else 'compact'} "
        f"configurations, {seeds} seed(s)) on " + "\n  ".join(describe_data(data)),
        highlight=False,
    )
    err_console.print(f"budget per run: {budget} -> {out}", highlight=False)
    err_console.print("  " + _compare_monitor_line(data, settings), highlight=False)
    _print_baselines(data, baselines)
    _compare_and_report(data, names, out, settings, resume, start, n_boot=n_boot)


def _print_baselines(data, baselines) -> None:
    """The start-up lines saying which linear baselines are added and how (``--baseline``)."""
    if baselines:
        from regzoo.compare.baselines import describe_lines

        for line in describe_lines(data, tuple(baselines)):
            err_console.print(line, highlight=False)


def _compare_monitor_line(data, settings) -> str:
    """What every run's early stopping and best epoch follow (refusing a --monitor the task does
    not log), and on profile data the output-bias start of the profile models."""
    return "; ".join(_defaults_lines(data.task_type, settings.monitor, settings.patience))


def _jobs_line(jobs: int) -> str:
    """How runs share the machine, for the start-up lines (it changes the measured times)."""
    if jobs == 1:
        return "one run at a time"
    import torch

    from regzoo.compare.run import threads_per_job

    share = (
        "one GPU each"
        if torch.cuda.device_count() > 1
        else "sharing the GPU"
        if torch.cuda.is_available()
        else f"{threads_per_job(jobs)} CPU thread(s) each"
    )
    return f"{jobs} runs at once, {share} (times are comparable within this comparison)"


def _compare_suite(suite, names, out, quick, seeds, isolate, resume, jobs=1) -> None:
    """``--suite``: every architecture on every task of a suite, with the suite's own budget."""
    from regzoo.compare.suite import run_suite, suite_settings
    from regzoo.data.suite import SUITES

    if suite not in SUITES:
        from regzoo.errors import unknown_name

        raise unknown_name("suite", suite, list(SUITES))
    settings = suite_settings(quick, seeds=tuple(range(seeds)))
    settings.jobs = jobs
    if not quick:
        settings.isolate = isolate
    out = out or Path(f"suite-{suite}{'-quick' if quick else ''}")
    err_console.print(
        f"suite {suite!r} ({'quick, CPU sizes' if quick else 'full sizes (for a GPU)'}): "
        f"augmentation off (strand- and position-specific tasks); budget per run: at most "
        f"{settings.max_epochs} epochs, patience {settings.patience}"
        + (f", {settings.budget_minutes} min" if settings.budget_minutes else "")
        + f", lr {settings.lr}; {_jobs_line(jobs)} -> {out}",
        highlight=False,
    )
    result = run_suite(
        suite,
        models=names,
        out=out,
        settings=settings,
        quick=quick,
        log=lambda msg: err_console.print(msg, highlight=False),
        resume=resume,
    )
    from regzoo.compare.suite import matrix_markdown

    console.print(matrix_markdown(result.matrix), highlight=False)
    console.print(result.summary, highlight=False)
    console.print(
        f"wall time {result.wall_time_s:.0f} s; report: {out / 'suite_report.html'}",
        highlight=False,
    )


def _compare_and_report(
    data, names, out, settings, resume, start, title_extra="", n_boot: int = 1000
):
    import time

    from regzoo.compare import compare, print_leaderboard, write_outputs

    results = compare(
        data,
        names,
        out,
        settings,
        resume=resume,
        log=lambda msg: err_console.print(msg, highlight=False),
    )
    wall = time.perf_counter() - start
    frame = write_outputs(results, data, settings, out, wall_time_s=wall, n_boot=n_boot)
    print_leaderboard(
        frame,
        data.task_type,
        f"regzoo compare: {data.name}{title_extra} (test split, {len(data.test):,} sequences)",
        console,
    )
    total = (frame.attrs.get("wall_time") or {}).get("total_s", wall)
    resumed = f" (this invocation {wall:.0f} s)" if abs(total - wall) > 1 else ""
    console.print(
        f"wall time {total:.0f} s{resumed}; leaderboard: {out / 'leaderboard.csv'}, "
        f"report: {out / 'report.html'}"
    )
    return results


def _compare_folds(names, spec, n_folds, settings, budget, out, resume, start, n_boot) -> None:
    """Every architecture on every fold; leaderboard of mean ± sd over folds."""
    import pandas as pd

    from regzoo.compare.report import model_label
    from regzoo.train.metrics import PRIMARY_METRIC

    rows = []
    for fold in range(n_folds):
        data = load_data({**spec, "n_folds": n_folds, "fold": fold})
        out = out or Path(f"compare-{data.name}")
        if fold == 0:
            err_console.print(
                f"comparing {len(names)} architectures, {n_folds}-fold cross-validation, on "
                + "\n  ".join(describe_data(data)),
                highlight=False,
            )
            err_console.print(f"budget per run: {budget} -> {out}", highlight=False)
            err_console.print("  " + _compare_monitor_line(data, settings), highlight=False)
            _print_baselines(data, settings.baselines)  # (tables: never profile targets)
        err_console.print(f"[bold]fold {fold + 1}/{n_folds}[/]: {data.sizes()}")
        results = _compare_and_report(
            data, names, out / f"fold{fold}", settings, resume, start, f", fold {fold}", n_boot
        )
        for r in results:
            if r.status == "ok":
                rows.append(
                    {
                        "model": r.model,
                        "baseline": bool(r.baseline),
                        "fold": fold,
                        "seed": r.seed,
                        **r.metrics,
                    }
                )
    if not rows:
        raise RegzooError("every run failed; see the fold folders for the errors")
    frame = pd.DataFrame(rows)
    primary = PRIMARY_METRIC[data.task_type][0]
    metrics = [c for c in frame.columns if c not in ("model", "baseline", "fold", "seed")]
    agg = frame.groupby("model")[metrics].agg(["mean", "std"])
    agg.columns = [f"{m}_{stat}" for m, stat in agg.columns]
    agg["folds"] = frame.groupby("model")["fold"].nunique()
    agg["baseline"] = frame.groupby("model")["baseline"].first()  # a linear reference row
    agg = agg.sort_values(f"{primary}_mean", ascending=False).reset_index()
    agg.insert(0, "rank", range(1, len(agg) + 1))
    atomic.to_csv(agg, out / "cv_leaderboard.csv", index=False, float_format="%.6g")
    atomic.to_csv(frame, out / "cv_runs.csv", index=False, float_format="%.6g")
    table = Table(
        title=f"regzoo compare: {data.name}, {n_folds}-fold cross-validation (mean ± sd over folds)"
    )
    table.add_column("rank", justify="right")
    table.add_column("model")
    for m in metrics:
        table.add_column(m, justify="right")
    table.add_column("folds", justify="right")
    for _, row in agg.iterrows():
        table.add_row(
            str(row["rank"]),
            model_label(row),
            *(f"{_fmt(row[f'{m}_mean'], 3)} ± {_fmt(row[f'{m}_std'], 3)}" for m in metrics),
            str(row["folds"]),
        )
    console.print(table)
    console.print(f"cross-validation leaderboard: {out / 'cv_leaderboard.csv'}")


def _lr_grid(text: str) -> tuple[float, ...]:
    try:
        grid = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise RegzooError(f"--lr-grid {text!r}; expected comma-separated numbers") from None
    if not grid or any(v <= 0 for v in grid):
        raise RegzooError(f"--lr-grid {text!r}; expected positive learning rates")
    return grid


def _split_commas(values: list[str] | None) -> list[str] | None:
    if not values:
        return values
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _devices(value: str):
    return int(value) if value.isdigit() else value


def _fmt(value: float | None, digits: int = 4) -> str:
    """A metric for the terminal: 'n/a' when undefined (NaN / None)."""
    if value is None or value != value:
        return "n/a"
    return f"{value:.{digits}f}"


def _print_metrics(title: str, metrics: dict[str, float]) -> None:
    table = Table(title=title)
    for name in metrics:
        table.add_column(name, justify="right")
    table.add_row(*(_fmt(v) for v in metrics.values()))
    console.print(table)


def _print_evaluation(title: str, result, task_type: str, split: str) -> None:
    """Macro metrics, per-label metrics when there are several labels, and one warning per label
    whose metrics are undefined on this split."""
    _print_metrics(title, result.metrics)
    if len(result.per_label) > 1:
        metrics = list(next(iter(result.per_label.values())))
        table = Table(title=f"per label ({split})")
        table.add_column("label")
        for m in metrics:
            table.add_column(m, justify="right")
        for label, values in result.per_label.items():
            mark = " *" if label in result.undefined else ""
            table.add_row(label + mark, *(_fmt(values[m]) for m in metrics))
        console.print(table)
    for label, why in result.undefined.items():
        err_console.print(
            f"[yellow]warning:[/] {split} split, label {label!r}: {why}; its undefined metrics "
            "are n/a (null in metrics.json)",
            highlight=False,
        )


# commands kept in their own modules register themselves on `app` when imported
import regzoo.cli_explain  # noqa: E402,F401  (explain, motifs, score-variants)
import regzoo.cli_weights  # noqa: E402,F401  (import of published weights)


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit status 2; Ctrl-C
    ends with one line and status 130."""
    from regzoo.errors import use_cli_names

    use_cli_names(True)
    interrupted = (
        "\n[yellow]interrupted[/] — run the same command again to resume (finished runs are kept)"
    )
    try:
        app()
    except KeyboardInterrupt:
        err_console.print(interrupted)
        sys.exit(130)
    except SystemExit as exit_:
        if exit_.code == 130:  # click turns Ctrl-C into exit status 130 itself
            err_console.print(interrupted)
        raise
    except RegzooError as err:
        err_console.print(f"[red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except FileNotFoundError as err:
        err_console.print(
            f"[red]error:[/] {err.filename or err}: file not found", highlight=False, soft_wrap=True
        )
        sys.exit(2)
    finally:
        use_cli_names(False)


if __name__ == "__main__":
    main()
