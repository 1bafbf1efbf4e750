"""Distributed data-parallel training through Lightning (two CPU processes, gloo)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from regzoo.data.synthetic import planted_motif_task
    from regzoo.train import evaluate, train_model

    if __name__ == "__main__":
        task = planted_motif_task(n_train=1600, n_valid=300, n_test=400, seq_len=101, seed=1)
        fit = train_model("deepbind", task, seed=0, model_args={"compact": True}, max_epochs=4,
                          lr=3e-3, progress=False, accelerator="cpu", devices=2, strategy="ddp")
        metrics = evaluate(fit.model, task.test, "binary", device="cpu")
        out = {"rank": fit.global_rank, "world": fit.world_size, "metrics": metrics,
               "epochs": fit.epochs, "weights": float(sum(p.sum() for p in fit.model.parameters()))}
        with open(sys.argv[1] + f"/rank{fit.global_rank}.json", "w") as fh:
            json.dump(out, fh)
    """
)


def test_ddp_two_processes_train_one_model(tmp_path):
    """Lightning launches the second rank; both end with the same weights, the planted motif is
    learned, and metrics are synchronised."""
    script = tmp_path / "train_ddp.py"
    script.write_text(SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]
    assert ranks[0]["weights"] == ranks[1]["weights"]  # DDP keeps the replicas identical
    assert ranks[0]["metrics"] == ranks[1]["metrics"]
    assert ranks[0]["metrics"]["auroc"] >= 0.9
