"""Leaderboard (CSV, JSON, terminal table) and the self-contained HTML report of a comparison.

Statistics (see :mod:`regzoo.compare.stats`): every test metric gets a 95% percentile bootstrap
interval over test items; each model is tested against the best on the same items (DeLong for
binary AUROC, else a paired bootstrap), Holm-corrected; ``tied_with_best`` marks the models whose
corrected p-value is at least 0.05. With several seeds the interval is that of the seed-averaged
metric (each resample scores every seed's predictions and averages them) and the sd columns give
the spread over seeds; with one seed the sd columns are blank.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from regzoo import atomic
from regzoo.compare import stats
from regzoo.compare.run import CompareSettings, RunResult
from regzoo.train.metrics import PRIMARY_METRIC

METRICS = {
    "binary": ["auroc", "auprc", "accuracy", "mcc"],
    "multilabel": ["auroc", "auprc", "accuracy", "mcc"],
    "multiclass": ["accuracy", "auroc", "auprc", "mcc"],
    "regression": ["pearson", "spearman", "mse"],
    "profile": ["pearson", "pearson_total", "spearman", "mse"],
}
COLUMNS = [
    "parameters",
    "train_time_s",
    "epochs",
    "best_epoch",
    "time_to_best_s",
    "converged",
    "throughput_seq_s",
    "peak_memory_mb",
]
NUMERIC_COLUMNS = [c for c in COLUMNS if c != "converged"]
STOPPED = {
    "early_stopping": "yes",
    "max_epochs": "no: max epochs",
    "budget": "no: time budget",
    "lbfgs": "yes: L-BFGS converged",  # a linear baseline (regzoo.compare.baselines)
    "lbfgs_max_iter": "no: L-BFGS iteration cap",
}
BASELINE_NOTE = "linear reference"


def _is_baseline(row: pd.Series | dict) -> bool:
    """Whether a leaderboard row is a linear baseline (``--baseline``), not an architecture."""
    return _is_true(row.get("baseline", False))


def model_label(row: pd.Series | dict) -> str:
    """The model's name, with "(linear reference)" on a baseline row."""
    return f"{row['model']} ({BASELINE_NOTE})" if _is_baseline(row) else str(row["model"])


def leaderboard(results: list[RunResult], task_type: str) -> pd.DataFrame:
    """One row per architecture: mean and sd over seeds of every metric and cost, ranked by the
    task's primary metric (failed architectures last, with their reason). The sd is NaN (blank in
    the CSV) with one seed. :func:`add_statistics` adds confidence intervals and ties."""
    metric_names = METRICS[task_type]
    rows = []
    for name in dict.fromkeys(r.model for r in results):
        runs = [r for r in results if r.model == name]
        ok = [r for r in runs if r.status == "ok"]
        row: dict[str, Any] = {"model": name, "status": "ok" if ok else "failed", "seeds": len(ok)}
        row["baseline"] = any(getattr(r, "baseline", None) for r in runs)
        for m in metric_names:
            values = [r.metrics.get(m, np.nan) for r in ok]
            row[m] = float(np.mean(values)) if values else np.nan
            # one seed has no spread: NaN (a blank cell), never 0.0
            row[f"{m}_sd"] = float(np.std(values, ddof=1)) if len(values) > 1 else np.nan
        for c in ("parameters", "train_time_s", "epochs", "throughput_seq_s", "peak_memory_mb"):
            values = [getattr(r, c) for r in ok]
            row[c] = float(np.mean(values)) if values else np.nan
        # convergence: the kept (best) epoch, 1-based, the training time to reach it, and
        # whether early stopping ended the run (else the epoch cap or the time budget did)
        # a linear baseline has no epochs: no best epoch (blank), its fit time as time to best
        row["best_epoch"] = (
            float(np.mean([r.best_epoch + 1 for r in ok])) if ok and not row["baseline"] else np.nan
        )
        row["time_to_best_s"] = float(np.mean([_history_times(r)[0] for r in ok])) if ok else np.nan
        stops = sorted({STOPPED.get(r.stopped_by, r.stopped_by or "?") for r in ok})
        row["converged"] = " / ".join(stops) if stops else ""
        row["error"] = "; ".join(sorted({r.error for r in runs if r.status != "ok"}))
        rows.append(row)
    frame = pd.DataFrame(rows)
    primary, mode = PRIMARY_METRIC[task_type]
    frame = frame.sort_values(
        by=["status", primary], ascending=[False, mode == "min"], na_position="last", kind="stable"
    ).reset_index(drop=True)
    frame.insert(0, "rank", np.where(frame["status"] == "ok", np.arange(1, len(frame) + 1), 0))
    frame["parameters"] = frame["parameters"].round().astype("Int64")
    frame["epochs"] = frame["epochs"].round(1)
    frame["best_epoch"] = frame["best_epoch"].round(1)
    return frame


def convergence_sentence(frame: pd.DataFrame) -> str:
    """Which runs did not converge (stopped by the epoch cap or the time budget while their
    validation loss could still improve), from the leaderboard."""
    ok = frame[frame["status"] == "ok"]
    if "converged" not in ok or ok.empty:
        return ""
    not_done = ok[~ok["converged"].astype(str).str.startswith("yes")]
    if not_done.empty:
        if "baseline" in ok and ok["baseline"].astype(bool).all():
            return "Every linear baseline's L-BFGS fit converged."
        return "Every run converged: early stopping on the validation metric ended it" + (
            " (and the linear baselines' L-BFGS fits converged)."
            if "baseline" in ok and ok["baseline"].astype(bool).any()
            else "."
        )
    names = ", ".join(f"{model_label(r)} ({r['converged']})" for _, r in not_done.iterrows())
    return (
        f"Not converged (the validation metric may still improve; compare with care): {names}. "
        "Raise --max-epochs or the time budget."
    )


# ---- statistics ---------------------------------------------------------------------------------
def load_predictions(
    results: list[RunResult], out_dir: Path
) -> tuple[dict[str, list[np.ndarray]], np.ndarray | None]:
    """Test predictions of every finished run, per model (one array per seed), and the shared
    targets. Runs whose ``predictions.npz`` is missing, or whose targets differ from the first
    run's (not the same test items), are left out."""
    preds: dict[str, list[np.ndarray]] = {}
    targets = None
    for r in results:
        path = out_dir / "runs" / f"{r.model}-seed{r.seed}" / "predictions.npz"
        if r.status != "ok" or not path.is_file():
            continue
        with np.load(path) as data:
            p, t = data["preds"], data["targets"]
        if targets is None:
            targets = t
        elif t.shape != targets.shape or not np.array_equal(t, targets, equal_nan=True):
            continue
        preds.setdefault(r.model, []).append(p)
    return preds, targets


def add_statistics(
    frame: pd.DataFrame,
    results: list[RunResult],
    task_type: str,
    out_dir: str | Path,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """Confidence intervals and ties with the best, from the saved test predictions.

    Adds to ``frame``: ``<primary>_ci_low``/``_ci_high`` (the ``1 - alpha`` bootstrap interval of
    the primary metric), ``p_vs_best`` (paired test against the best, raw), ``p_vs_best_holm``
    (Holm-corrected over the models), ``tied_with_best`` (corrected p >= ``alpha``; the best is
    tied with itself; NA without predictions) and ``test_vs_best`` (DeLong / paired bootstrap).
    The best is the top-ranked model.

    Returns:
        ``(frame, details)``: ``details[model]`` holds ``ci`` (metric -> [low, high] for every
        test metric), ``n_test`` and the comparison with the best.
    """
    primary = PRIMARY_METRIC[task_type][0]
    frame = frame.copy()
    for column in (f"{primary}_ci_low", f"{primary}_ci_high", "p_vs_best", "p_vs_best_holm"):
        frame[column] = np.nan
    frame["tied_with_best"] = pd.array([pd.NA] * len(frame), dtype="boolean")
    frame["test_vs_best"] = ""
    preds, targets = load_predictions(results, Path(out_dir))
    ranked = [m for m in frame.loc[frame["status"] == "ok", "model"] if m in preds]
    details: dict[str, dict[str, Any]] = {m: {"ci": {}} for m in ranked}
    if not ranked or targets is None:
        return frame, details
    models = [preds[m] for m in ranked]
    values = {}
    for metric in (m for m in METRICS[task_type] if m in stats.METRICS[task_type]):
        values[metric] = stats.bootstrap_values(
            metric, models, targets, n_boot, seed, task_type=task_type
        )
        for j, name in enumerate(ranked):
            boot = values[metric][1]
            low, high = stats.percentile_interval(boot[:, j], alpha)
            details[name]["ci"][metric] = [low, high]
    ties = stats.tied_with_best(
        {m: preds[m] for m in ranked},
        targets,
        primary,
        task_type=task_type,
        higher_is_better=PRIMARY_METRIC[task_type][1] == "max",
        best=ranked[0],
        alpha=alpha,
        n_boot=n_boot,
        seed=seed,
        values=values[primary],
    )
    for name in ranked:
        i = frame.index[frame["model"] == name][0]
        low, high = details[name]["ci"][primary]
        tie = ties[name]
        frame.loc[i, [f"{primary}_ci_low", f"{primary}_ci_high"]] = [low, high]
        frame.loc[i, ["p_vs_best", "p_vs_best_holm"]] = [tie["p_value"], tie["p_holm"]]
        frame.loc[i, "tied_with_best"] = tie["tied"]
        frame.loc[i, "test_vs_best"] = tie["method"]
        details[name].update(
            n_test=int(len(targets)),
            vs_best={k: tie[k] for k in ("diff", "p_value", "p_holm", "tied", "method")},
        )
    return frame, details


def tie_sentence(frame: pd.DataFrame, task_type: str, alpha: float = 0.05) -> str:
    """One or two sentences, from the numbers, naming the best model and those tied with it."""
    primary = PRIMARY_METRIC[task_type][0]
    ok = frame[frame["status"] == "ok"]
    if ok.empty:
        return "No architecture finished."
    best = ok.iloc[0]
    ci = ""
    if pd.notna(best.get(f"{primary}_ci_low", np.nan)):
        ci = f", 95% CI {best[f'{primary}_ci_low']:.3f}–{best[f'{primary}_ci_high']:.3f}"
    text = f"{model_label(best)} has the best test {primary} ({best[primary]:.3f}{ci})."
    others = ok.iloc[1:]
    tested = others[others["tied_with_best"].notna()] if "tied_with_best" in others else others[:0]
    if others.empty:
        return text + " It is the only architecture that finished."
    if tested.empty:
        return text + " No test predictions were found, so ties could not be tested."
    method = " or ".join(sorted(set(tested["test_vs_best"])))
    rule = f"{method} against the best, Holm-corrected p ≥ {alpha:g}"
    tied = tested[tested["tied_with_best"].astype(bool)]
    apart = tested[~tested["tied_with_best"].astype(bool)]

    def names(rows: pd.DataFrame) -> str:
        return ", ".join(
            f"{model_label(r)} (p = {r['p_vs_best_holm']:.2g})" for _, r in rows.iterrows()
        )

    reference = baseline_sentence(frame, task_type)
    reference = f" {reference}" if reference else ""
    if tied.empty:
        return (
            text
            + f" Every other architecture scores lower beyond chance ({rule} for none)."
            + reference
        )
    text += f" Statistically tied with it ({rule}): {names(tied)}"
    if apart.empty:
        return (
            text
            + "; no architecture is distinguishable from the best on this test split."
            + reference
        )
    lower = ", ".join(model_label(r) for _, r in apart.iterrows())
    return text + f". Lower beyond chance: {lower}." + reference


def baseline_sentence(frame: pd.DataFrame, task_type: str) -> str:
    """Where the architectures stand against the best linear baseline (point estimates of the
    test primary metric; the paired test is the one against the best, above). Empty without a
    baseline row."""
    primary, mode = PRIMARY_METRIC[task_type]
    ok = frame[frame["status"] == "ok"]
    if "baseline" not in ok or not ok["baseline"].astype(bool).any():
        return ""
    is_base = ok["baseline"].astype(bool)
    bases, deep = ok[is_base], ok[~is_base]
    ref = bases.iloc[0]  # the leaderboard is ranked: the first baseline row is the best one
    head = f"Best linear reference: {ref['model']} ({primary} {ref[primary]:.3f})"
    if deep.empty:
        return head + "; no architecture finished."
    above = (
        deep[deep[primary] > ref[primary]] if mode == "max" else deep[deep[primary] < ref[primary]]
    )
    word = "higher" if mode == "max" else "lower (better)"
    if above.empty:
        return head + f"; no architecture scores {word} (point estimates)."
    return (
        head
        + f"; {len(above)} of {len(deep)} architecture(s) score {word} (point estimates): "
        + ", ".join(above["model"])
        + "."
    )


# ---- formatting ---------------------------------------------------------------------------------
def _is_true(value: Any) -> bool:
    """True for a True cell of a nullable boolean column (False for False and NA)."""
    return bool(pd.notna(value) and value)


METRIC_NAMES = (
    "auroc",
    "auprc",
    "accuracy",
    "mcc",
    "pearson",
    "pearson_total",
    "spearman",
    "mse",
)


def format_cell(row: pd.Series, column: str) -> str:
    if column == "model":
        return model_label(row)
    value = row.get(column, np.nan)
    if column in METRIC_NAMES:
        if pd.isna(value):
            return "n/a"
        sd = row.get(f"{column}_sd", np.nan)
        return f"{value:.3f}" + (f" ± {sd:.3f}" if pd.notna(sd) else "")
    if column == "ci":
        low = next((row[c] for c in row.index if c.endswith("_ci_low")), np.nan)
        high = next((row[c] for c in row.index if c.endswith("_ci_high")), np.nan)
        return "-" if pd.isna(low) else f"{low:.3f}–{high:.3f}"
    if column == "p_vs_best_holm":
        if pd.isna(value) or row.get("rank") == 1:
            return "-"
        return "<0.001" if value < 0.001 else f"{value:.3f}"
    if column == "tied_with_best":
        if pd.isna(value):
            return "-"
        return "best" if row.get("rank") == 1 else ("≈ tied" if value else "lower")
    if pd.isna(value):
        return "-"
    if column == "parameters":
        return f"{int(value):,}"
    if column in ("epochs", "best_epoch"):
        return f"{value:g}"
    if column in ("train_time_s", "time_to_best_s", "peak_memory_mb", "throughput_seq_s"):
        return f"{value:,.0f}"
    return str(value)


def display_columns(task_type: str, frame: pd.DataFrame | None = None) -> list[str]:
    metrics = list(METRICS[task_type])
    primary = PRIMARY_METRIC[task_type][0]
    stat = []
    if frame is not None and "tied_with_best" in frame:
        stat = ["ci", "p_vs_best_holm", "tied_with_best"]
    metrics.remove(primary)
    return ["rank", "model", primary, *stat, *metrics, *COLUMNS, "status", "error"]


HEADERS = {
    "train_time_s": "train time (s)",
    "best_epoch": "best epoch",
    "time_to_best_s": "time to best (s)",
    "throughput_seq_s": "inference (seq/s)",
    "peak_memory_mb": "peak memory (MB)",
    "parameters": "parameters",
    "ci": "95% CI",
    "p_vs_best_holm": "p vs best",
    "tied_with_best": "vs best",
}


def _columns(frame: pd.DataFrame, task_type: str) -> list[str]:
    return [
        c
        for c in display_columns(task_type, frame)
        if c != "error" or frame["error"].astype(bool).any()
    ]


def print_leaderboard(frame: pd.DataFrame, task_type: str, title: str, console=None) -> None:
    """The leaderboard as a terminal table; rows tied with the best are marked "≈ tied" (bold)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=None if Console().is_terminal else 200)
    table = Table(title=title)
    columns = _columns(frame, task_type)
    for c in columns:
        table.add_column(
            HEADERS.get(c, c), justify="left" if c in ("model", "status", "error") else "right"
        )
    for _, row in frame.iterrows():
        tied = "tied_with_best" in row and _is_true(row["tied_with_best"])
        table.add_row(*(format_cell(row, c) for c in columns), style="bold" if tied else None)
    console.print(table)
    if "tied_with_best" in frame:
        console.print(
            f"{tie_sentence(frame, task_type)}\n{convergence_sentence(frame)}\n95% CI: bootstrap over test items; p vs best: "
            "DeLong (binary AUROC) or paired bootstrap, Holm-corrected; sd over seeds blank with one seed.",
            highlight=False,
        )


# ---- plots --------------------------------------------------------------------------------------
def _figure_png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buffer.getvalue()


MARKERS = "osD^vP*Xhp<>"


def _history_times(run: RunResult) -> tuple[float, float]:
    """(seconds to the best epoch, seconds to the end of training) of one run. Uses a per-epoch
    ``time_s`` in the history when there is one, else assumes epochs of equal length."""
    total = float(run.train_time_s)
    history = run.history or []
    if not history:
        return total, total
    best = min(max(int(run.best_epoch), 0), len(history) - 1)
    for key in ("time_s", "elapsed_s", "wall_time_s"):
        if key in history[best]:
            return float(history[best][key]), total
    return total * (best + 1) / len(history), total


def _maybe_log_x(ax, values: np.ndarray) -> None:
    """A log x axis when ``values`` span more than 20x, with plain-number labels (1k, 20k, 0.5 M
    read better than powers of ten) on the decades and at 2x and 5x."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    values = values[np.isfinite(values) & (values > 0)]
    if not len(values) or values.max() / values.min() <= 20:
        return
    ax.set_xscale("log")

    def plain(v: float, _pos: int) -> str:
        for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if v >= scale:
                return f"{v / scale:g}{suffix}"
        return f"{v:g}"

    ax.xaxis.set_major_formatter(FuncFormatter(plain))
    ax.xaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    if values.max() / values.min() <= 1e3:  # beyond three decades minor labels would crowd
        ax.xaxis.set_minor_formatter(FuncFormatter(plain))
    else:
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.tick_params(axis="x", which="minor", labelsize=7)


def _legend_outside(ax, **kw) -> None:
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, **kw)


def make_plots(
    results: list[RunResult], frame: pd.DataFrame, task_type: str, out_dir: Path
) -> dict[str, bytes]:
    """Leaderboard with 95% CIs, ROC / PR curves (classification), learning curves with the best
    epoch marked, score vs parameters and score vs time to the best epoch. Model names are in
    legends outside the axes (never as labels on points, which overlap)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    primary = PRIMARY_METRIC[task_type][0]
    ok = frame[frame["status"] == "ok"]
    colors = {name: plt.cm.tab10(i % 10) for i, name in enumerate(frame["model"])}
    markers = {name: MARKERS[i % len(MARKERS)] for i, name in enumerate(frame["model"])}
    has_ci = f"{primary}_ci_low" in frame and frame[f"{primary}_ci_low"].notna().any()
    plots: dict[str, bytes] = {}

    def yerr(row: pd.Series) -> Any:
        if has_ci and pd.notna(row[f"{primary}_ci_low"]):
            return [
                [row[primary] - row[f"{primary}_ci_low"]],
                [row[f"{primary}_ci_high"] - row[primary]],
            ]
        return None

    if has_ci and len(ok):
        fig, ax = plt.subplots(figsize=(6.5, 0.9 + 0.42 * len(ok)))
        ypos = np.arange(len(ok))[::-1]
        for y, (_, row) in zip(ypos, ok.iterrows(), strict=True):
            tied = _is_true(row["tied_with_best"])
            err = yerr(row)
            ax.errorbar(
                row[primary],
                y,
                xerr=err,
                fmt=markers[row["model"]],
                color=colors[row["model"]],
                mfc=colors[row["model"]] if tied else "white",
                capsize=4,
                ms=7,
            )
        ax.set_yticks(ypos, [model_label(r) for _, r in ok.iterrows()])
        best = ok.iloc[0]
        if pd.notna(best[f"{primary}_ci_low"]):
            ax.axvspan(best[f"{primary}_ci_low"], best[f"{primary}_ci_high"], color="0.9", zorder=0)
        ax.set(
            xlabel=f"test {primary} (95% bootstrap CI)",
            title=f"Leaderboard: test {primary}",
            ylim=(-0.7, len(ok) - 0.3),
        )
        ax.legend(
            handles=[
                Line2D([], [], marker="o", ls="", color="0.3", label="tied with the best"),
                Line2D(
                    [], [], marker="o", ls="", color="0.3", mfc="white", label="lower (p < 0.05)"
                ),
            ],
            fontsize=8,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            frameon=False,
        )
        plots["leaderboard"] = _figure_png(fig)

    if task_type in ("binary", "multilabel"):
        for kind in ("roc", "pr"):
            fig, ax = plt.subplots(figsize=(5.5, 5))
            for name in ok["model"]:
                path = (
                    out_dir
                    / "runs"
                    / f"{name}-seed{_first_seed(results, name)}"
                    / "predictions.npz"
                )
                if not path.is_file():
                    continue
                with np.load(path) as data:
                    y, p = data["targets"].ravel(), data["preds"].ravel()
                known = np.isfinite(y)
                y, p = y[known], p[known]
                if len(np.unique(y)) < 2:
                    continue
                metric = frame.loc[
                    frame["model"] == name, "auroc" if kind == "roc" else "auprc"
                ].iloc[0]
                label = f"{name} ({metric:.3f})"
                if kind == "roc":
                    fpr, tpr = roc_curve(y, p)
                    ax.plot(fpr, tpr, color=colors[name], label=label)
                else:
                    recall, precision = pr_curve(y, p)
                    ax.plot(recall, precision, color=colors[name], label=label)
            pooled = " (all labels pooled)" if task_type == "multilabel" else ""
            if kind == "roc":
                ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
                ax.set(
                    xlabel="false positive rate",
                    ylabel="true positive rate",
                    title=f"ROC, test split, first seed{pooled}",
                )
            else:
                ax.set(
                    xlabel="recall",
                    ylabel="precision",
                    title=f"Precision-recall, test split{pooled}",
                )
            _legend_outside(ax)
            plots[kind] = _figure_png(fig)

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for name in ok["model"]:
        run = next((r for r in results if r.model == name and r.status == "ok"), None)
        if run and run.history:
            epochs = [h["epoch"] + 1 for h in run.history]
            values = [h.get(f"val/{primary}", np.nan) for h in run.history]
            ax.plot(epochs, values, marker=markers[name], ms=4, color=colors[name], label=name)
            best = min(max(int(run.best_epoch), 0), len(values) - 1)
            ax.plot(
                epochs[best],
                values[best],
                marker="*",
                ms=14,
                color=colors[name],
                mec="black",
                ls="",
            )
    ax.set(
        xlabel="epoch",
        ylabel=f"validation {primary}",
        title="Learning curves (first seed; ★ best epoch, the model kept)",
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _legend_outside(ax)
    plots["learning_curves"] = _figure_png(fig)

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for _, row in ok.iterrows():
        ax.errorbar(
            float(row["parameters"]),
            row[primary],
            yerr=yerr(row),
            fmt=markers[row["model"]],
            color=colors[row["model"]],
            capsize=3,
            label=model_label(row),
        )
    _maybe_log_x(ax, ok["parameters"].astype(float))
    ax.set(
        xlabel="parameters" + (" (log scale)" if ax.get_xscale() == "log" else ""),
        ylabel=f"test {primary}" + (" (95% CI)" if has_ci else ""),
        title=f"Test {primary} vs parameters",
    )
    _legend_outside(ax)
    plots["score_vs_parameters"] = _figure_png(fig)

    # time to the best epoch (filled) and to the end of training (open, joined by a line): runs
    # that stop at different epochs are compared at the point their kept model was reached
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    all_times = []
    for _, row in ok.iterrows():
        runs = [r for r in results if r.model == row["model"] and r.status == "ok"]
        times = np.mean([_history_times(r) for r in runs], axis=0)
        all_times.extend(times)
        color = colors[row["model"]]
        ax.plot(times, [row[primary]] * 2, color=color, lw=1, alpha=0.6)
        ax.plot(
            times[1], row[primary], marker=markers[row["model"]], mfc="white", color=color, ls=""
        )
        ax.errorbar(
            times[0],
            row[primary],
            yerr=yerr(row),
            fmt=markers[row["model"]],
            color=color,
            capsize=3,
            label=model_label(row),
        )
    _maybe_log_x(ax, np.asarray(all_times, dtype=float))
    ax.set(
        xlabel="training time, s" + (" (log scale)" if ax.get_xscale() == "log" else ""),
        ylabel=f"test {primary}" + (" (95% CI)" if has_ci else ""),
        title=f"Test {primary} vs training time\n(filled: best epoch reached; open: training stopped)",
    )
    _legend_outside(ax)
    plots["score_vs_time"] = _figure_png(fig)

    for key, png in plots.items():
        atomic.write_bytes(out_dir / f"{key}.png", png)
    return plots


def roc_curve(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate) of scores ``p`` for 0/1 labels ``y``."""
    import torch
    from torchmetrics.functional.classification import binary_roc

    fpr, tpr, _ = binary_roc(torch.as_tensor(p), torch.as_tensor(y).long())
    return fpr.numpy(), tpr.numpy()


def pr_curve(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(recall, precision) of scores ``p`` for 0/1 labels ``y``."""
    import torch
    from torchmetrics.functional.classification import binary_precision_recall_curve

    precision, recall, _ = binary_precision_recall_curve(
        torch.as_tensor(p), torch.as_tensor(y).long()
    )
    return recall.numpy(), precision.numpy()


def _first_seed(results: list[RunResult], name: str) -> int:
    return next(r.seed for r in results if r.model == name and r.status == "ok")


# ---- per-label metrics --------------------------------------------------------------------------
def per_label_table(
    results: list[RunResult], task_type: str, metric: str | None = None
) -> pd.DataFrame | None:
    """Label x model table of one metric (default the primary), mean over seeds, from the
    ``metrics_per_label`` each run's ``result.json`` may carry (label -> metric -> value, or
    metric -> label -> value). None when no run has them."""
    metric = metric or PRIMARY_METRIC[task_type][0]
    columns: dict[str, dict[str, list[float]]] = {}
    for r in results:
        per_label = getattr(r, "metrics_per_label", None) or {}
        if r.status != "ok" or not isinstance(per_label, dict) or not per_label:
            continue
        first = next(iter(per_label.values()))
        if not isinstance(first, dict):
            continue
        if set(first) & set(METRIC_NAMES):  # label -> metric -> value
            values = {label: m.get(metric) for label, m in per_label.items()}
        else:  # metric -> label -> value
            values = dict(per_label.get(metric, {}))
        for label, value in values.items():
            value = np.nan if value is None else float(value)
            columns.setdefault(r.model, {}).setdefault(label, []).append(value)
    if not columns:
        return None
    with np.errstate(all="ignore"):
        table = pd.DataFrame(
            {
                model: {
                    label: np.nanmean(v) if np.isfinite(v).any() else np.nan
                    for label, v in labels.items()
                }
                for model, labels in columns.items()
            }
        )
    table.index.name = "label"
    return table


def load_runs(out_dir: Path, results: list[RunResult]) -> list[RunResult]:
    """``results`` with ``metrics_per_label`` read from each run's ``result.json`` when the
    RunResult objects do not carry it."""
    for r in results:
        if getattr(r, "metrics_per_label", None):
            continue
        path = out_dir / "runs" / f"{r.model}-seed{r.seed}" / "result.json"
        try:
            per_label = json.loads(path.read_text()).get("metrics_per_label")
        except (OSError, json.JSONDecodeError):
            per_label = None
        if per_label:
            try:
                r.metrics_per_label = per_label
            except AttributeError:  # a frozen or slotted RunResult
                pass
    return results


# ---- files --------------------------------------------------------------------------------------
def total_wall_time(
    results: list[RunResult], out_dir: Path, wall_time_s: float | None
) -> dict[str, Any]:
    """The comparison's wall time across invocations (a resumed run does not reset it to ~0 s).

    Runs whose fingerprint is in the previous ``leaderboard.json`` were reused from that earlier
    invocation. Rule: nothing new trained -> the earlier total; some trained -> earlier total +
    this invocation; no earlier file or nothing reused -> this invocation. (Wall time of an
    interrupted invocation that wrote no leaderboard is not known and not counted.)"""
    previous: dict[str, Any] = {}
    path = out_dir / "leaderboard.json"
    if path.is_file():
        try:
            previous = json.loads(path.read_text())
        except json.JSONDecodeError:
            previous = {}
    before = {r.get("fingerprint") for r in previous.get("runs", []) if r.get("status") == "ok"}
    ok = [r for r in results if r.status == "ok"]
    reused = [r for r in ok if r.fingerprint in before]
    earlier = previous.get("wall_time", {}).get("total_s", previous.get("wall_time_s"))
    trained = len(results) - len(reused)
    if reused and earlier is not None:
        total = float(earlier) if trained == 0 else float(earlier) + (wall_time_s or 0.0)
    else:
        total = wall_time_s
    return {
        "total_s": total,
        "this_invocation_s": wall_time_s,
        "runs_reused": len(reused),
        "runs_run": trained,
    }


def write_outputs(
    results: list[RunResult],
    task,
    settings: CompareSettings,
    out_dir: str | Path,
    wall_time_s: float | None = None,
    n_boot: int = 1000,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Write ``leaderboard.csv``, ``leaderboard.json``, the PNG plots and ``report.html``.

    ``wall_time_s`` is this invocation's time; the files record the comparison's total (see
    :func:`total_wall_time`), also returned in ``frame.attrs["wall_time"]``. ``n_boot`` bootstrap
    resamples give the ``1 - alpha`` intervals and the tests (see :func:`add_statistics`)."""
    out = Path(out_dir)
    wall = total_wall_time(results, out, wall_time_s)
    results = load_runs(out, results)
    frame = leaderboard(results, task.task_type)
    frame, details = add_statistics(frame, results, task.task_type, out, n_boot, alpha)
    frame.attrs["wall_time"] = wall
    atomic.to_csv(frame, out / "leaderboard.csv", index=False)
    rows = json.loads(frame.to_json(orient="records"))
    for row in rows:
        row.update(details.get(row["model"], {}))
    per_label = per_label_table(results, task.task_type)
    payload = {
        "task": {
            "name": task.name,
            "task_type": task.task_type,
            "label_names": list(task.label_names),
            "seq_len": task.seq_len,
            "sizes": task.sizes(),
            "summary": task.summary,
        },
        "settings": {**vars(settings), "seeds": list(settings.seeds)},
        "wall_time_s": wall["total_s"],
        "wall_time": wall,
        "statistics": {
            "n_boot": n_boot,
            "alpha": alpha,
            "interval": "percentile bootstrap over test items (stratified by class for binary and "
            "multiclass); several seeds: interval of the seed-averaged metric",
            "test_vs_best": "DeLong (binary AUROC) or paired bootstrap, Holm-corrected over models; "
            f"tied when the corrected p >= {alpha:g}",
            "summary": tie_sentence(frame, task.task_type, alpha),
            "convergence": convergence_sentence(frame),
        },
        "leaderboard": rows,
        "runs": [{k: v for k, v in vars(r).items() if k != "history"} for r in results],
    }
    if getattr(settings, "baselines", ()):
        from regzoo.compare.baselines import describe

        payload["baselines"] = describe(task, tuple(settings.baselines))
    atomic.write_text(out / "leaderboard.json", json.dumps(payload, indent=2, default=float) + "\n")
    plots = make_plots(results, frame, task.task_type, out)
    atomic.write_text(
        out / "report.html", render_html(frame, plots, task, settings, wall, per_label, alpha)
    )
    return frame


def _wall_text(wall: dict[str, Any] | float | None) -> str:
    if not isinstance(wall, dict):
        return f"Total wall time: {wall:.0f} s." if wall else ""
    total, this = wall.get("total_s"), wall.get("this_invocation_s")
    if not total:
        return ""
    text = f"Total wall time: {total:.0f} s."
    if wall.get("runs_reused"):
        text += f" {wall['runs_reused']} run(s) were reused from an earlier invocation" + (
            f"; this invocation took {this:.0f} s." if this is not None else "."
        )
    return text


def render_html(
    frame: pd.DataFrame,
    plots: dict[str, bytes],
    task,
    settings: CompareSettings,
    wall_time_s: dict[str, Any] | float | None,
    per_label: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> str:
    """One HTML page with everything inline (images as base64): opens offline."""
    esc = html.escape
    columns = _columns(frame, task.task_type)
    head = "".join(f"<th>{esc(HEADERS.get(c, c))}</th>" for c in columns)

    def row_class(row: pd.Series) -> str:
        if row["status"] != "ok":
            return "failed"
        if row.get("rank") == 1 and "tied_with_best" in row:
            return "best"
        return "tied" if _is_true(row.get("tied_with_best")) else ""

    body = "".join(
        f"<tr class='{row_class(row)}'>"
        + "".join(f"<td>{esc(format_cell(row, c))}</td>" for c in columns)
        + "</tr>"
        for _, row in frame.iterrows()
    )
    images = "".join(
        f"<figure><img alt='{esc(key)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
        f"<figcaption>{esc(key.replace('_', ' '))}</figcaption></figure>"
        for key, png in plots.items()
    )
    header = {
        "task": task.name,
        "task type": task.task_type,
        "sequence length": task.seq_len,
        "labels": ", ".join(task.label_names),
        "sizes": task.sizes(),
    }
    summary = {
        k: v
        for k, v in (task.summary or {}).items()
        if k not in ("task_type", "label_names", "seq_len", "sizes", "name")
    }
    data_rows = "".join(
        f"<tr><th>{esc(str(k))}</th><td>{esc(json.dumps(v) if not isinstance(v, str) else v)}</td></tr>"
        for k, v in {**header, **summary}.items()
    )
    settings_rows = "".join(
        f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in vars(settings).items()
    )
    wall = _wall_text(wall_time_s)
    wall = f"<p>{esc(wall)}</p>" if wall else ""
    primary = PRIMARY_METRIC[task.task_type][0]
    verdict = ""
    if "tied_with_best" in frame:
        verdict = (
            f"<p class='verdict'>{esc(tie_sentence(frame, task.task_type, alpha))}</p>"
            f"<p class='verdict'>{esc(convergence_sentence(frame))}</p>"
        )
    baseline_note = ""
    if "baseline" in frame and frame["baseline"].astype(bool).any():
        baseline_note = (
            "<p class='note'>Rows marked (linear reference) are linear models (--baseline: "
            "L2-regularised logistic, softmax or ridge regression on k-mer counts or the flattened "
            "one-hot sequence, L2 strength chosen on the validation split), fitted on the same "
            "splits and scored on the same test items with the same intervals and tests; they "
            "have no epochs and no learning curve.</p>"
        )
    label_section = ""
    if per_label is not None and len(per_label):
        cells = "".join(f"<th>{esc(str(m))}</th>" for m in per_label.columns)
        label_rows = "".join(
            f"<tr><td>{esc(str(label))}</td>"
            + "".join(
                f"<td>{'n/a' if pd.isna(v) else f'{v:.3f}'}</td>" for v in per_label.loc[label]
            )
            + "</tr>"
            for label in per_label.index
        )
        label_section = (
            f"<h2>Per-label test {esc(primary)}</h2><div class='scroll'><table class='labels'>"
            f"<thead><tr><th>label</th>{cells}</tr></thead><tbody>{label_rows}</tbody></table></div>"
            "<p class='note'>Mean over seeds; n/a: undefined (one class in the test split).</p>"
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>regzoo compare: {esc(task.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
th {{ background: #f0f0f0; }} td:nth-child(2) {{ text-align: left; font-weight: 600; }}
tr.failed td {{ color: #a00; }}
tr.best td {{ background: #d8f0d8; }} tr.tied td {{ background: #eef8ee; }}
table.labels td:first-child {{ text-align: left; }} table.labels td:nth-child(2) {{ font-weight: normal; }}
.scroll {{ max-height: 480px; overflow: auto; display: inline-block; }}
.verdict {{ font-size: 1.05rem; background: #f6f6f6; padding: 0.5rem 0.8rem; border-left: 4px solid #6a6; }}
figure {{ display: inline-block; margin: 0.5rem; vertical-align: top; }}
figure img {{ max-width: 560px; }} figcaption {{ text-align: center; color: #555; }}
.kv th {{ text-align: left; }} .kv td {{ text-align: left; }}
.note {{ color: #555; font-size: 0.85rem; max-width: 900px; }}
</style></head><body>
<h1>regzoo compare — {esc(task.name)}</h1>
<p>Every architecture was trained on the same splits with the same seeds, optimiser and budget
and scored on the same held-out test split. Ranked by test {esc(primary)}.</p>
{baseline_note}
{wall}
<h2>Leaderboard</h2>
{verdict}
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<p class="note">Metrics on the test split (mean ± sd over seeds when there are several; no sd with one
seed). 95% CI: percentile bootstrap over the test sequences (stratified by class for classification;
with several seeds, the interval of the seed-averaged metric). p vs best: each model against the
top-ranked one on the same test sequences (DeLong for binary AUROC, else a paired bootstrap),
Holm-corrected over the models; "≈ tied" (shaded) when that p is at least {alpha:g}, i.e. the
difference is within what the test split's sampling explains. Train time is
wall-clock training time; inference is sequences per second on the test inputs; peak memory is the
peak CUDA allocation on a GPU, or on a CPU the peak resident memory the run added to its process (its
own worker process unless the comparison ran in-process, where memory an earlier run left with the
allocator is not counted again).</p>
{label_section}
<h2>Plots</h2>
{images}
<h2>Data</h2>
<table class="kv">{data_rows}</table>
<h2>Settings (identical for every architecture)</h2>
<table class="kv">{settings_rows}</table>
</body></html>
"""
