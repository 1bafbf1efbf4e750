"""Augmentation defaults on a strand- and position-specific task: rice 6mA sites (41 bp, centred on
the modified A; ../shared/data/rice_6mA_lv_subset).

Reproduces the issue that found the defect: a balanced subset (704 + 704 sequences, so 1,126
training rows after regzoo's default 80/10/10 split), trained through the CLI with the defaults and
with ``--rc-augment --max-shift 3``, next to a logistic regression on one-hot input (scikit-learn)
on the same split. Prints a markdown table of test AUROC.

    python benchmarks/augmentation_6mA.py ../shared/data [--models deep6mapred,danq,deepbind]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd


def subset(data_dir: Path, out: Path, n_per_class: int = 704, seed: int = 0) -> Path:
    folder = data_dir / "rice_6mA_lv_subset"
    frames = []
    for name in ("pos.csv", "neg.csv"):
        df = pd.read_csv(folder / name)
        frames.append(df.sample(n=n_per_class, random_state=seed))
    table = pd.concat(frames).rename(columns={"data": "sequence"}).reset_index(drop=True)
    table.to_csv(out, index=False)
    return out


def train_cli(table: Path, model: str, out: Path, extra: list[str]) -> float:
    regzoo = Path(sys.executable).parent / "regzoo"
    cmd = [str(regzoo), "train", "--model", model, "--table", str(table), "--out", str(out)]
    cmd += ["--max-epochs", "30", "--patience", "5", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads((out / "metrics.json").read_text())["test"]["auroc"]


def logistic_regression(table: Path) -> float:
    """One-hot logistic regression on regzoo's default split of the same table (seed 0)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from regzoo.data.sources import from_table

    task = from_table(table)

    def xy(split):
        x = np.stack([split[i][0].numpy().ravel() for i in range(len(split))])
        return x, split.labels[:, 0]

    (x_tr, y_tr), (x_te, y_te) = xy(task.train), xy(task.test)
    clf = LogisticRegression(max_iter=2000, C=1.0).fit(x_tr, y_tr)
    return float(roc_auc_score(y_te, clf.predict_proba(x_te)[:, 1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--models", default="deep6mapred,danq,deepbind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        table = subset(args.data_dir, tmp / "rice6mA.csv")
        rows = []
        for model in args.models.split(","):
            plain = train_cli(table, model, tmp / f"{model}-default", [])
            augmented = train_cli(
                table, model, tmp / f"{model}-rc", ["--rc-augment", "--max-shift", "3"]
            )
            rows.append((model, plain, augmented))
            print(f"{model}: default {plain:.3f}, --rc-augment --max-shift 3 {augmented:.3f}")
        lr = logistic_regression(table)
    print("\n| model | defaults (no augmentation) | --rc-augment --max-shift 3 |")
    print("|---|---|---|")
    for model, plain, augmented in rows:
        print(f"| {model} | {plain:.3f} | {augmented:.3f} |")
    print(f"| logistic regression on one-hot (scikit-learn) | {lr:.3f} | |")


if __name__ == "__main__":
    main()
