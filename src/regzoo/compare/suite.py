"""A suite of comparisons: every architecture on every task of a suite, one matrix, one summary.

``run_suite("principles", ...)`` builds each task of :data:`regzoo.data.suite.SUITES` and calls
:func:`regzoo.compare.run.compare` into ``out/<task>/`` (its own runs, leaderboard and report;
finished runs are skipped on a re-run, so an interrupted suite resumes). Then, from the saved test
predictions (``out/<task>/runs/<model>-seed<k>/predictions.npz``), it writes:

- ``matrix.csv`` (one row per task x architecture: test AUROC, its 95% percentile-bootstrap CI,
  whether it is statistically tied with the task's best, status) and ``matrix.md`` (architecture x
  task);
- ``heatmap.png`` (architecture x task) and ``receptive_field.png`` (AUROC vs motif distance ``d``
  of the long-range tasks, one line per architecture, log x axis);
- ``summary.md`` and ``suite_report.html``: a summary paragraph generated from the numbers (which
  family wins where, which are tied, where recurrent / dilated / attention models beat local CNNs
  on long-range order) and a section per task. Nothing in the summary is written in advance.

Statistics come from :mod:`regzoo.compare.stats`: :func:`~regzoo.compare.stats.bootstrap_ci`
(percentile bootstrap, stratified by class) and :func:`~regzoo.compare.stats.tied_with_best`
(DeLong test against the best, Holm-corrected).
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from regzoo import atomic
from regzoo.compare.run import RESULT, CompareSettings, compare
from regzoo.compare.stats import bootstrap_ci, tied_with_best

METRIC = "auroc"  # the primary metric of the suite's (binary) tasks
N_BOOT = 1000
SOLVED = 0.8  # AUROC from which a task counts as learned in the generated summary
# Below this AUROC a signal is too weak to rank designs on, even when its CI clears 0.5: with
# dozens of runs per suite a few CIs clear 0.5 by chance, and an undertrained model scores there.
WEAK = 0.6

# the design principle of each architecture and the group the summary compares
FAMILIES: dict[str, tuple[str, str]] = {
    "deepbind": ("one conv layer + global pooling", "local CNN"),
    "deepsea": ("deep CNN", "local CNN"),
    "basset": ("deep CNN with batch norm", "local CNN"),
    "expresnet": ("residual CNN", "local CNN"),
    "basenji": ("dilated residual CNN", "dilated CNN"),
    "danq": ("CNN then BiLSTM", "recurrent"),
    "deepsite": ("BiLSTM then CNN", "recurrent"),
    "deep6mapred": ("CNN and LSTM in parallel", "recurrent"),
    "enformer": ("conv tower + transformer", "attention"),
}
LONG_RANGE_GROUPS = ("recurrent", "dilated CNN", "attention")


def family(model: str) -> tuple[str, str]:
    """``(principle, group)`` of an architecture; a plugin gets its card's family, group other."""
    if model in FAMILIES:
        return FAMILIES[model]
    try:
        from regzoo.models import card

        return card(model).family, "other"
    except Exception:  # noqa: BLE001 - an unknown name still gets a row
        return "unknown", "other"


@dataclass
class SuiteResult:
    """What :func:`run_suite` returns.

    Attributes:
        out: the output folder.
        matrix: one row per (task, model), see :func:`build_matrix`.
        summary: the generated summary paragraph (markdown).
        tasks: task names in order; wall_time_s: total wall time; files: name -> path written.
    """

    out: Path
    matrix: pd.DataFrame
    summary: str
    tasks: list[str]
    wall_time_s: float
    files: dict[str, Path] = field(default_factory=dict)


# the quick budget: small data learns in a few epochs with a larger step; a wall-clock cap per run
# keeps the whole quick suite near 15 minutes on a shared 2-core CPU
QUICK_SETTINGS = {
    "max_epochs": 6,
    "patience": 2,
    "lr": 3e-3,
    "batch_size": 32,
    "budget_minutes": 0.3,
    "isolate": False,
}


def suite_settings(quick: bool = False, **overrides) -> CompareSettings:
    """:class:`CompareSettings` for the suite: augmentation off (the tasks are strand- and
    position-specific), whatever fields the current ``CompareSettings`` uses for it; with
    ``quick``, :data:`QUICK_SETTINGS`; then ``overrides``."""
    names = {f.name for f in dataclasses.fields(CompareSettings)}
    off = {"augment": False, "rc_augment": False, "max_shift": 0}
    values = {k: v for k, v in off.items() if k in names}
    if quick:
        values.update(QUICK_SETTINGS)
    values.update(overrides)
    return CompareSettings(**values)


def run_suite(
    suite: str = "principles",
    models: list[str] | None = None,
    out: str | Path = "regzoo-suite",
    settings: CompareSettings | None = None,
    quick: bool = True,
    log: Callable[[str], None] = print,
    seed: int = 0,
    progress: bool = False,
    resume: bool = True,
) -> SuiteResult:
    """Run ``models`` (default: every registered architecture) on every task of ``suite``.

    Args:
        suite: a name of :data:`regzoo.data.suite.SUITES`.
        models: architectures; on a quick run a task may restrict them (its ``quick_models``).
        out: output folder; each task goes to ``out/<task>/``.
        settings: the budget (default :func:`suite_settings` of ``quick``: augmentation off;
            quick: :data:`QUICK_SETTINGS`).
        quick: the CPU-sized tasks (:data:`regzoo.data.suite.SIZES` ``"quick"``) and the quick
            subset of tasks; else the full (GPU) sizes and every task.
        log: where progress lines go; seed: the data seed (training seeds are ``settings.seeds``).
        progress: progress bars; resume: skip runs already finished with the same configuration.

    Returns:
        :class:`SuiteResult`; files in ``out`` (module docstring).
    """
    from regzoo.compare.report import write_outputs
    from regzoo.data.suite import build_suite_task, list_suite_tasks
    from regzoo.models import list_models

    began = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = settings or suite_settings(quick)
    models = list(models or list_models())
    size = "quick" if quick else "full"
    specs = list_suite_tasks(suite, quick)
    task_models: dict[str, list[str]] = {}
    infos: dict[str, dict] = {}
    for spec in specs:
        names = [m for m in models if not quick or not spec.quick_models or m in spec.quick_models]
        task_models[spec.name] = names
        task = build_suite_task(spec.name, size, seed)
        log(f"== {spec.name} ({task.seq_len} bp, {task.sizes()}): {', '.join(names)}")
        t0 = time.perf_counter()
        results = compare(
            task, names, out / spec.name, settings, resume=resume, progress=progress, log=log
        )
        write_outputs(
            results, task, settings, out / spec.name, wall_time_s=time.perf_counter() - t0
        )
        infos[spec.name] = {
            "principle": spec.principle,
            "distance": spec.distance,
            "seq_len": task.seq_len,
            "summary": task.summary,
            "wall_time_s": round(time.perf_counter() - t0, 1),
        }
    matrix = build_matrix(out, task_models, list(settings.seeds), infos)
    summary = summarise_matrix(matrix)
    wall = time.perf_counter() - began
    files = write_suite_outputs(out, matrix, summary, infos, settings, wall, suite, size)
    log(f"suite {suite} ({size}): {len(specs)} tasks in {wall:.0f} s; report {files['report']}")
    return SuiteResult(out, matrix, summary, [s.name for s in specs], wall, files)


# ---- the matrix ---------------------------------------------------------------------------------
def _load_predictions(run_dir: Path) -> tuple[np.ndarray, np.ndarray] | None:
    result, preds = run_dir / RESULT, run_dir / "predictions.npz"
    if not (result.is_file() and preds.is_file()):
        return None
    if json.loads(result.read_text()).get("status") != "ok":
        return None
    with np.load(preds) as data:
        return data["preds"], data["targets"]


def task_rows(
    task_dir: Path, models: list[str], seeds: list[int], n_boot: int = N_BOOT
) -> list[dict]:
    """Rows of one task: AUROC, 95% CI and tie with the best for each model (seeds averaged)."""
    preds: dict[str, list[np.ndarray]] = {}
    targets = None
    for model in models:
        loaded = [_load_predictions(task_dir / "runs" / f"{model}-seed{s}") for s in seeds]
        loaded = [x for x in loaded if x is not None]
        if loaded:
            preds[model] = [p for p, _ in loaded]
            targets = loaded[0][1]
    ties = tied_with_best(preds, targets, METRIC, task_type="binary") if len(preds) > 1 else {}
    rows = []
    for model in models:
        principle, group = family(model)
        row = {"model": model, "family": principle, "group": group, "status": "failed"}
        row.update({METRIC: math.nan, "low": math.nan, "high": math.nan})
        row.update({"best": False, "tied": False, "p_holm": math.nan, "n_test": 0})
        row.update({"epochs": 0, "stopped_by": ""})
        result = task_dir / "runs" / f"{model}-seed{seeds[0]}" / RESULT
        if result.is_file():
            data = json.loads(result.read_text())
            row.update({"epochs": data.get("epochs", 0), "stopped_by": data.get("stopped_by", "")})
        if model in preds:
            point, low, high = bootstrap_ci(
                METRIC, preds[model], targets, n_boot=n_boot, task_type="binary"
            )
            tie = ties.get(model, {"best": True, "tied": True, "p_holm": 1.0})
            row.update({"status": "ok", METRIC: point, "low": low, "high": high})
            row.update({"best": tie["best"], "tied": tie["tied"], "p_holm": tie["p_holm"]})
            row["n_test"] = len(targets)
        elif not (task_dir / "runs" / f"{model}-seed{seeds[0]}").exists():
            row["status"] = "not run"
        rows.append(row)
    return rows


def build_matrix(
    out: Path, task_models: dict[str, list[str]], seeds: list[int], infos: dict[str, dict]
) -> pd.DataFrame:
    """One row per (task, model): ``task``, ``principle``, ``distance`` (long-range ``d`` or NaN),
    ``model``, ``family``, ``group``, ``status`` (ok / failed / not run), ``auroc``, ``low``,
    ``high`` (95% CI), ``best``, ``tied`` (with the task's best, Holm-corrected DeLong),
    ``p_holm``, ``n_test``."""
    rows = []
    for task, models in task_models.items():
        info = infos.get(task, {})
        for row in task_rows(out / task, models, seeds):
            rows.append(
                {
                    "task": task,
                    "principle": info.get("principle", ""),
                    "distance": info.get("distance") or math.nan,
                    **row,
                }
            )
    return pd.DataFrame(rows)


def _fmt(v: float) -> str:
    return "-" if not np.isfinite(v) else f"{v:.3f}"


def _cell(row: pd.Series) -> str:
    if row["status"] != "ok":
        return row["status"]
    text = f"{row[METRIC]:.3f} [{row['low']:.3f}, {row['high']:.3f}]"
    return f"**{text}**" if row["tied"] or row["best"] else text


def matrix_markdown(matrix: pd.DataFrame) -> str:
    """Architecture x task table: AUROC [95% CI]; bold: best or statistically tied with it."""
    tasks = list(dict.fromkeys(matrix["task"]))
    models = list(dict.fromkeys(matrix["model"]))
    lines = [
        "| architecture | family | " + " | ".join(tasks) + " |",
        "|---|---|" + "---|" * len(tasks),
    ]
    for model in models:
        cells = []
        for task in tasks:
            hit = matrix[(matrix["task"] == task) & (matrix["model"] == model)]
            cells.append(_cell(hit.iloc[0]) if len(hit) else "not run")
        lines.append(f"| {model} | {family(model)[0]} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"Test {METRIC.upper()} [95% percentile-bootstrap CI, {N_BOOT} resamples stratified by "
        "class]; **bold**: the task's best or statistically tied with it (DeLong, Holm-corrected, "
        "alpha 0.05)."
    )
    return "\n".join(lines) + "\n"


# ---- the generated summary ----------------------------------------------------------------------
def _names(rows: pd.DataFrame) -> str:
    items = [f"{r.model} ({r.group})" for r in rows.itertuples()]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _ci(row) -> str:
    return f"{getattr(row, METRIC):.3f} [{row.low:.3f}, {row.high:.3f}]"


def _learns(row) -> bool:
    """Above chance (CI above 0.5) and not a weak signal (AUROC >= :data:`WEAK`)."""
    return bool(row["low"] > 0.5 and row[METRIC] >= WEAK)


def _constant(rows: pd.DataFrame) -> pd.Series:
    """Runs whose CI has zero width at 0.5: one output for every test sequence."""
    return (rows["low"] == 0.5) & (rows["high"] == 0.5)


def _ranked(rows: pd.DataFrame) -> pd.DataFrame:
    """Best first, constant-output runs last: an untrained run is never a group's 'best'."""
    order = np.lexsort((-rows[METRIC].to_numpy(), _constant(rows).to_numpy()))
    return rows.iloc[order]


def summarise_matrix(matrix: pd.DataFrame) -> str:
    """A summary paragraph generated from the matrix (nothing written in advance).

    Says, per task, which architecture is best and which are statistically tied with it (or that
    none learns it: CI above 0.5 and AUROC >= :data:`WEAK`), which are at chance and which gave a
    constant output; for the long-range tasks, at each distance how the best recurrent /
    dilated / attention model compares with the best local CNN (CIs apart or overlapping), and
    up to which distance each architecture learns the order (AUROC >= 0.8); and how often each
    family is best or tied with the best."""
    ok = matrix[matrix["status"] == "ok"].copy()
    if ok.empty:
        return "No run finished: nothing to summarise."
    sentences = []
    tasks = list(dict.fromkeys(ok["task"]))
    short = [t for t in tasks if not np.isfinite(ok.loc[ok["task"] == t, "distance"].iloc[0])]
    for task in short:
        rows = ok[ok["task"] == task].sort_values(METRIC, ascending=False)
        best = rows.iloc[0]
        if not _learns(best):
            sentences.append(
                f"On {task}, no architecture learns the task (best {best['model']}, AUROC "
                f"{_ci(best)}; weak signals below {WEAK} are not ranked)."
            )
            continue
        tied = rows[rows["tied"] & ~rows["best"]]
        text = (
            f"On {task} ({best['principle']}), {best['model']} ({best['group']}) is best with "
            f"AUROC {_ci(best)}"
        )
        if len(tied) == len(rows) - 1 and len(rows) > 2:
            text += f"; all {len(rows)} architectures are statistically tied"
        elif len(tied):
            text += f"; statistically tied with it: {_names(tied)}"
        else:
            text += "; every other architecture is significantly below it"
        below = rows[(rows["high"] < 0.5 + 0.05) & ~_constant(rows)]
        if len(below):
            text += f"; at chance: {_names(below)}"
        constant = rows[_constant(rows)]
        if len(constant):
            text += (
                f"; {_names(constant)} gave the same output for every test sequence (did not "
                "train within the budget)"
            )
        sentences.append(text + ".")

    long_range = ok[np.isfinite(ok["distance"])]
    if not long_range.empty:
        for d in sorted(long_range["distance"].unique()):
            rows = long_range[long_range["distance"] == d]
            local = _ranked(rows[rows["group"] == "local CNN"])
            wide = _ranked(rows[rows["group"].isin(LONG_RANGE_GROUPS)])
            if local.empty or wide.empty:
                best = rows.sort_values(METRIC, ascending=False).iloc[0]
                sentences.append(
                    f"At d = {int(d):,} bp the best is {best['model']} ({best['group']}), "
                    f"AUROC {_ci(best)}."
                )
                continue
            w, c = wide.iloc[0], local.iloc[0]
            if not (_learns(w) or _learns(c)):
                sentences.append(
                    f"At d = {int(d):,} bp no architecture learns the order (best long-range "
                    f"design {w['model']}, AUROC {_ci(w)}; best local CNN {c['model']}, AUROC "
                    f"{_ci(c)}; weak signals below {WEAK} are not ranked)."
                )
                continue
            if w["low"] > c["high"]:
                verdict = "beats"
            elif c["low"] > w["high"]:
                verdict = "is beaten by"
            else:
                verdict = "overlaps (95% CIs) with"
            sentences.append(
                f"At d = {int(d):,} bp the best long-range design, {w['model']} ({w['group']}, "
                f"AUROC {_ci(w)}), {verdict} the best local CNN, {c['model']} (AUROC {_ci(c)})."
            )
        reach = []
        distances = sorted(long_range["distance"].unique())
        for model in dict.fromkeys(long_range["model"]):
            rows = long_range[long_range["model"] == model]
            solved = rows.loc[rows[METRIC] >= SOLVED, "distance"]
            reach.append((model, int(solved.max()) if len(solved) else 0))
        groups: dict[int, list[str]] = {}
        for model, d in reach:
            groups.setdefault(d, []).append(model)
        parts = []
        for d in sorted(groups, reverse=True):
            who = ", ".join(groups[d])
            if d == 0:
                parts.append(f"at no tested distance by {who}")
            elif d == max(distances):
                parts.append(f"up to the longest tested distance ({d:,} bp) by {who}")
            else:
                parts.append(f"up to {d:,} bp by {who}")
        sentences.append(f"Order is learned (AUROC >= {SOLVED}) " + "; ".join(parts) + ".")

    capped = ok[ok["stopped_by"] == "budget"] if "stopped_by" in ok else ok.iloc[:0]
    if len(capped):
        sentences.append(
            f"{len(capped)} of {len(ok)} runs stopped at the wall-clock budget rather than by early "
            "stopping, so their scores may understate the architecture."
        )
    wins: dict[str, int] = {}
    learned = [t for t in tasks if any(_learns(r) for _, r in ok[ok["task"] == t].iterrows())]
    for task in learned:
        rows = ok[(ok["task"] == task) & (ok["best"] | ok["tied"])]
        for group in set(rows["group"]):
            wins[group] = wins.get(group, 0) + 1
    ranked = sorted(wins.items(), key=lambda kv: (-kv[1], kv[0]))
    if ranked:
        sentences.append(
            f"Over the {len(learned)} of {len(tasks)} tasks some architecture learned (CI above "
            f"0.5, AUROC >= {WEAK}), a family has an architecture best or tied with the best on: "
            + ", ".join(f"{g} {n}" for g, n in ranked)
            + "."
        )
    return " ".join(sentences)


# ---- plots --------------------------------------------------------------------------------------
def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def heatmap_png(matrix: pd.DataFrame) -> bytes:
    """Architecture x task heatmap of AUROC (0.5 to 1), values written in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(matrix["task"]))
    models = list(dict.fromkeys(matrix["model"]))
    grid = np.full((len(models), len(tasks)), np.nan)
    for r in matrix.itertuples():
        grid[models.index(r.model), tasks.index(r.task)] = getattr(r, METRIC)
    fig, ax = plt.subplots(figsize=(1.1 * len(tasks) + 2.5, 0.45 * len(models) + 1.6))
    cmap = plt.get_cmap("viridis").with_extremes(bad="#dddddd")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0.5, vmax=1.0, aspect="auto")
    for i in range(len(models)):
        for j in range(len(tasks)):
            v = grid[i, j]
            ax.text(
                j,
                i,
                "-" if np.isnan(v) else f"{v:.2f}",
                ha="center",
                va="center",
                fontsize=8,
                color="black" if np.isnan(v) or v > 0.8 else "white",
            )
    ax.set_xticks(range(len(tasks)), tasks, rotation=35, ha="right")
    ax.set_yticks(range(len(models)), models)
    ax.set_title(f"Test {METRIC.upper()} (grey: not run or failed)")
    fig.colorbar(image, ax=ax, label=METRIC.upper(), fraction=0.04)
    return _png(fig)


def receptive_field_png(matrix: pd.DataFrame) -> bytes | None:
    """AUROC (95% CI bars) vs motif distance, one line per architecture, log x; None if no
    long-range task ran."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = matrix[np.isfinite(matrix["distance"]) & (matrix["status"] == "ok")]
    if rows.empty:
        return None
    styles = {"local CNN": "-", "dilated CNN": "--", "recurrent": "-.", "attention": ":"}
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, model in enumerate(dict.fromkeys(rows["model"])):
        r = rows[rows["model"] == model].sort_values("distance")
        group = family(model)[1]
        ax.errorbar(
            r["distance"],
            r[METRIC],
            yerr=[r[METRIC] - r["low"], r["high"] - r[METRIC]],
            marker="o",
            capsize=3,
            linestyle=styles.get(group, "-"),
            color=plt.cm.tab10(i % 10),
            label=f"{model} ({group})",
        )
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set_xscale("log")
    distances = sorted(rows["distance"].unique())
    ax.set_xticks(distances, [f"{int(d):,}" for d in distances])
    ax.minorticks_off()
    ax.set_ylim(0.4, 1.02)
    ax.set(
        xlabel="distance between motif A and motif B, bp (log scale)",
        ylabel=f"test {METRIC.upper()} (95% CI)",
        title="Long-range order: score vs motif distance",
    )
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="architecture")
    return _png(fig)


# ---- files --------------------------------------------------------------------------------------
def write_suite_outputs(
    out: Path,
    matrix: pd.DataFrame,
    summary: str,
    infos: dict[str, dict],
    settings: CompareSettings,
    wall_time_s: float,
    suite: str = "principles",
    size: str = "quick",
) -> dict[str, Path]:
    """Write ``matrix.csv``, ``matrix.md``, ``summary.md``, ``heatmap.png``,
    ``receptive_field.png`` and ``suite_report.html``; return their paths."""
    files = {"matrix_csv": out / "matrix.csv", "matrix_md": out / "matrix.md"}
    atomic.to_csv(matrix, files["matrix_csv"], index=False)
    table = matrix_markdown(matrix)
    atomic.write_text(files["matrix_md"], f"# regzoo suite {suite} ({size})\n\n{table}")
    files["summary"] = out / "summary.md"
    atomic.write_text(files["summary"], summary + "\n")
    plots = {"heatmap": heatmap_png(matrix), "receptive_field": receptive_field_png(matrix)}
    for key, png in plots.items():
        if png is not None:
            files[key] = out / f"{key}.png"
            atomic.write_bytes(files[key], png)
    files["report"] = out / "suite_report.html"
    atomic.write_text(
        files["report"],
        render_suite_html(matrix, summary, plots, infos, settings, wall_time_s, suite, size),
    )
    return files


def render_suite_html(
    matrix: pd.DataFrame,
    summary: str,
    plots: dict[str, bytes | None],
    infos: dict[str, dict],
    settings: CompareSettings,
    wall_time_s: float,
    suite: str,
    size: str,
) -> str:
    """One self-contained HTML page: summary, matrix, plots, a section per task."""
    esc = html.escape

    def img(key: str) -> str:
        png = plots.get(key)
        if png is None:
            return ""
        data = base64.b64encode(png).decode()
        return f"<figure><img alt='{key}' src='data:image/png;base64,{data}'></figure>"

    tasks = list(dict.fromkeys(matrix["task"]))
    models = list(dict.fromkeys(matrix["model"]))
    head = "".join(f"<th>{esc(t)}</th>" for t in tasks)
    body = ""
    for model in models:
        cells = ""
        for task in tasks:
            hit = matrix[(matrix["task"] == task) & (matrix["model"] == model)]
            if not len(hit) or hit.iloc[0]["status"] != "ok":
                cells += (
                    f"<td class='na'>{esc(hit.iloc[0]['status'] if len(hit) else 'not run')}</td>"
                )
                continue
            r = hit.iloc[0]
            cls = " class='tied'" if r["tied"] or r["best"] else ""
            cells += (
                f"<td{cls}>{r[METRIC]:.3f}<br><small>[{r['low']:.3f}, {r['high']:.3f}]</small></td>"
            )
        body += f"<tr><th>{esc(model)}<br><small>{esc(family(model)[0])}</small></th>{cells}</tr>"
    sections = ""
    for task in tasks:
        info = infos.get(task, {})
        s = info.get("summary", {})
        rows = matrix[matrix["task"] == task].sort_values(METRIC, ascending=False)
        lines = "".join(
            f"<tr><td>{esc(r.model)}</td><td>{esc(r.group)}</td><td>{_fmt(getattr(r, METRIC))}</td>"
            f"<td>[{_fmt(r.low)}, {_fmt(r.high)}]</td><td>{'yes' if r.best else ('tied' if r.tied else '')}</td>"
            f"<td>{esc(r.status)}</td></tr>"
            for r in rows.itertuples()
        )
        motifs = ", ".join(
            f"{m['name']} ({m['id']}, {m['length']} bp)" for m in s.get("motifs", [])
        )
        sections += f"""<h3>{esc(task)}</h3>
<p><b>Principle:</b> {esc(str(info.get("principle", "")))}. <b>Rule:</b> {esc(str(s.get("rule", "")))}.
<b>Motifs:</b> {esc(motifs)}. <b>Window:</b> {info.get("seq_len", "")} bp; <b>sizes:</b>
{esc(json.dumps(s.get("sizes", {})))}; wall time {info.get("wall_time_s", "")} s.
<a href="{esc(task)}/report.html">Full report</a> (leaderboard, curves, costs).</p>
<table><thead><tr><th>model</th><th>group</th><th>{METRIC.upper()}</th><th>95% CI</th><th>best</th>
<th>status</th></tr></thead><tbody>{lines}</tbody></table>"""
    settings_text = esc(", ".join(f"{k}={v}" for k, v in vars(settings).items()))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>regzoo suite {esc(suite)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; font-size: 0.85rem; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
th {{ background: #f0f0f0; text-align: left; }} td.tied {{ font-weight: 700; background: #eef6ee; }}
td.na {{ color: #999; }} figure {{ display: inline-block; margin: 0.5rem; vertical-align: top; }}
figure img {{ max-width: 640px; }} .summary {{ max-width: 900px; line-height: 1.5; }}
</style></head><body>
<h1>regzoo suite: {esc(suite)} ({esc(size)})</h1>
<p>Each task plants real JASPAR motifs into real Arabidopsis chromosome 1 windows by a known rule;
every architecture is trained on the same splits with the same budget. Total wall time
{wall_time_s:.0f} s.</p>
<h2>Summary (generated from the numbers below)</h2>
<p class="summary">{esc(summary)}</p>
<h2>Matrix: test {METRIC.upper()} [95% CI]</h2>
<table><thead><tr><th>architecture</th>{head}</tr></thead><tbody>{body}</tbody></table>
<p>Bold: the task's best or statistically tied with it (DeLong test against the best, Holm-corrected,
alpha 0.05). CIs: percentile bootstrap over test sequences, {N_BOOT} resamples stratified by class.</p>
{img("heatmap")}{img("receptive_field")}
<h2>Tasks</h2>
{sections}
<h2>Settings (identical for every architecture)</h2><p>{settings_text}</p>
</body></html>
"""
