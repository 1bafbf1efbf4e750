"""Leaderboard (CSV, JSON, terminal table) and the self-contained HTML report of a comparison."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from regzoo.compare.run import CompareSettings, RunResult
from regzoo.train.metrics import PRIMARY_METRIC

METRICS = {
    "binary": ["auroc", "auprc", "accuracy", "mcc"],
    "multilabel": ["auroc", "auprc", "accuracy", "mcc"],
    "multiclass": ["accuracy", "auroc", "auprc", "mcc"],
    "regression": ["pearson", "spearman", "mse"],
}
COLUMNS = ["parameters", "train_time_s", "epochs", "throughput_seq_s", "peak_memory_mb"]


def leaderboard(results: list[RunResult], task_type: str) -> pd.DataFrame:
    """One row per architecture: mean and sd over seeds of every metric and cost, ranked by the
    task's primary metric (failed architectures last, with their reason)."""
    metric_names = METRICS[task_type]
    rows = []
    for name in dict.fromkeys(r.model for r in results):
        runs = [r for r in results if r.model == name]
        ok = [r for r in runs if r.status == "ok"]
        row: dict[str, Any] = {"model": name, "status": "ok" if ok else "failed", "seeds": len(ok)}
        for m in metric_names:
            values = [r.metrics.get(m, np.nan) for r in ok]
            row[m] = float(np.mean(values)) if values else np.nan
            row[f"{m}_sd"] = (
                float(np.std(values, ddof=1)) if len(values) > 1 else (0.0 if values else np.nan)
            )
        for c in COLUMNS:
            values = [getattr(r, c) for r in ok]
            row[c] = float(np.mean(values)) if values else np.nan
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
    return frame


def format_cell(row: pd.Series, column: str) -> str:
    value = row[column]
    if column in ("auroc", "auprc", "accuracy", "mcc", "pearson", "spearman", "mse"):
        if pd.isna(value):
            return "-"
        sd = row.get(f"{column}_sd", 0.0)
        return f"{value:.3f}" + (f" ± {sd:.3f}" if row["seeds"] > 1 else "")
    if pd.isna(value):
        return "-"
    if column == "parameters":
        return f"{int(value):,}"
    if column == "epochs":
        return f"{value:g}"
    if column in ("train_time_s", "peak_memory_mb", "throughput_seq_s"):
        return f"{value:,.0f}"
    return str(value)


def display_columns(task_type: str) -> list[str]:
    return ["rank", "model", *METRICS[task_type], *COLUMNS, "status", "error"]


HEADERS = {
    "train_time_s": "train time (s)",
    "throughput_seq_s": "inference (seq/s)",
    "peak_memory_mb": "peak memory (MB)",
    "parameters": "parameters",
}


def print_leaderboard(frame: pd.DataFrame, task_type: str, title: str, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=None if Console().is_terminal else 180)
    table = Table(title=title)
    columns = [
        c for c in display_columns(task_type) if c != "error" or frame["error"].astype(bool).any()
    ]
    for c in columns:
        table.add_column(
            HEADERS.get(c, c), justify="left" if c in ("model", "status", "error") else "right"
        )
    for _, row in frame.iterrows():
        table.add_row(*(format_cell(row, c) for c in columns))
    console.print(table)


# ---- plots ------------------------------------------------------------------------------------
def _figure_png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buffer.getvalue()


def make_plots(
    results: list[RunResult], frame: pd.DataFrame, task_type: str, out_dir: Path
) -> dict[str, bytes]:
    """ROC / PR curves (classification), learning curves, score vs parameters and vs time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, NullFormatter

    primary = PRIMARY_METRIC[task_type][0]
    ok = frame[frame["status"] == "ok"]
    colors = {name: plt.cm.tab10(i % 10) for i, name in enumerate(frame["model"])}
    plots: dict[str, bytes] = {}

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
                data = np.load(path)
                y, p = data["targets"].ravel(), data["preds"].ravel()
                metric = frame.loc[
                    frame["model"] == name, "auroc" if kind == "roc" else "auprc"
                ].iloc[0]
                if kind == "roc":
                    fpr, tpr = roc_curve(y, p)
                    ax.plot(fpr, tpr, color=colors[name], label=f"{name} ({metric:.3f})")
                else:
                    recall, precision = pr_curve(y, p)
                    ax.plot(recall, precision, color=colors[name], label=f"{name} ({metric:.3f})")
            if kind == "roc":
                ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
                ax.set(
                    xlabel="false positive rate",
                    ylabel="true positive rate",
                    title="ROC (test split)",
                )
            else:
                ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (test split)")
            ax.legend(fontsize=8, loc="lower right" if kind == "roc" else "lower left")
            plots[kind] = _figure_png(fig)

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name in ok["model"]:
        run = next((r for r in results if r.model == name and r.status == "ok"), None)
        if run and run.history:
            epochs = [h["epoch"] + 1 for h in run.history]
            ax.plot(
                epochs,
                [h.get(f"val/{primary}", np.nan) for h in run.history],
                marker="o",
                color=colors[name],
                label=name,
            )
    ax.set(xlabel="epoch", ylabel=f"validation {primary}", title="Learning curves (first seed)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    plots["learning_curves"] = _figure_png(fig)

    for key, column, label in (
        ("score_vs_parameters", "parameters", "parameters (log scale)"),
        ("score_vs_time", "train_time_s", "training time, s (log scale)"),
    ):
        fig, ax = plt.subplots(figsize=(6, 4.5))
        for _, row in ok.iterrows():
            ax.errorbar(
                float(row[column]),
                row[primary],
                yerr=row.get(f"{primary}_sd", 0) or 0,
                fmt="o",
                color=colors[row["model"]],
                capsize=3,
            )
            ax.annotate(
                row["model"],
                (float(row[column]), row[primary]),
                fontsize=8,
                xytext=(4, 3),
                textcoords="offset points",
            )
        values = ok[column].astype(float)
        if len(values) and values.min() > 0 and values.max() / values.min() > 10:
            ax.set_xscale("log")  # parameters span orders of magnitude; times usually do not
            ax.xaxis.set_minor_formatter(NullFormatter())
        else:
            label = label.replace(" (log scale)", "")
        ax.set(
            xlabel=label,
            ylabel=f"test {primary}",
            title=f"Test {primary} vs {label.split(',')[0].split(' (')[0]}",
        )
        plots[key] = _figure_png(fig)

    for key, png in plots.items():
        (out_dir / f"{key}.png").write_bytes(png)
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


# ---- files ------------------------------------------------------------------------------------
def write_outputs(
    results: list[RunResult],
    task,
    settings: CompareSettings,
    out_dir: str | Path,
    wall_time_s: float | None = None,
) -> pd.DataFrame:
    """Write ``leaderboard.csv``, ``leaderboard.json``, the PNG plots and ``report.html``."""
    out = Path(out_dir)
    frame = leaderboard(results, task.task_type)
    frame.to_csv(out / "leaderboard.csv", index=False)
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
        "wall_time_s": wall_time_s,
        "leaderboard": json.loads(frame.to_json(orient="records")),
        "runs": [{k: v for k, v in vars(r).items() if k != "history"} for r in results],
    }
    (out / "leaderboard.json").write_text(json.dumps(payload, indent=2, default=float) + "\n")
    plots = make_plots(results, frame, task.task_type, out)
    (out / "report.html").write_text(render_html(frame, plots, task, settings, wall_time_s))
    return frame


def render_html(
    frame: pd.DataFrame,
    plots: dict[str, bytes],
    task,
    settings: CompareSettings,
    wall_time_s: float | None,
) -> str:
    """One HTML page with everything inline (images as base64): opens offline."""
    esc = html.escape
    columns = [
        c
        for c in display_columns(task.task_type)
        if c != "error" or frame["error"].astype(bool).any()
    ]
    head = "".join(f"<th>{esc(HEADERS.get(c, c))}</th>" for c in columns)
    body = "".join(
        "<tr class='{}'>".format("failed" if row["status"] != "ok" else "")
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
    wall = f"<p>Total wall time: {wall_time_s:.0f} s.</p>" if wall_time_s else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>regzoo compare: {esc(task.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
th {{ background: #f0f0f0; }} td:nth-child(2) {{ text-align: left; font-weight: 600; }}
tr.failed td {{ color: #a00; }}
figure {{ display: inline-block; margin: 0.5rem; vertical-align: top; }}
figure img {{ max-width: 560px; }} figcaption {{ text-align: center; color: #555; }}
.kv th {{ text-align: left; }} .kv td {{ text-align: left; }}
.note {{ color: #555; font-size: 0.85rem; max-width: 900px; }}
</style></head><body>
<h1>regzoo compare — {esc(task.name)}</h1>
<p>Every architecture was trained on the same splits with the same seeds, optimiser and budget
and scored on the same held-out test split. Ranked by test {esc(PRIMARY_METRIC[task.task_type][0])}.</p>
{wall}
<h2>Leaderboard</h2>
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<p class="note">Metrics on the test split (mean ± sd over seeds when there are several). Train time is
wall-clock training time; inference is sequences per second on the test inputs; peak memory is the
peak CUDA allocation on a GPU, or on a CPU the peak resident memory the run added to its process (its
own worker process unless the comparison ran in-process, where memory an earlier run left with the
allocator is not counted again).</p>
<h2>Plots</h2>
{images}
<h2>Data</h2>
<table class="kv">{data_rows}</table>
<h2>Settings (identical for every architecture)</h2>
<table class="kv">{settings_rows}</table>
</body></html>
"""
