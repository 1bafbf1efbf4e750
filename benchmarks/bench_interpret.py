"""Interpretation benchmark: planted-motif recovery, attribution AUROC, ISM and variant speed.

1. **Planted motifs** (``regzoo.data.planted``, task ``jaspar-motifs``): each architecture is trained
   (compact configuration) to convergence: early stopping on the validation loss
   (``--patience`` epochs), ``--epochs`` and ``--budget`` minutes only as caps (5 epochs, the
   old default, left every model near chance: validation loss 0.603 against 0.611 for
   predicting the base rate). ``--save-models DIR`` keeps each model (``NAME.pt`` and the
   training record ``NAME.json``); ``--load-models DIR`` evaluates models trained elsewhere
   (e.g. on a GPU, same ``train_model`` arguments) instead of training. Then

   - *recovery*: motifs from first-layer filters and from attribution seqlets (input x gradient
     on test sequences, each planted TF's task explained on the sequences that hold it) are matched
     to JASPAR CORE vertebrates by TOMTOM; a planted TF is **recovered** when some motif's best
     match is that TF (by name, case-insensitive) at q < 0.05. Reported as a fraction of the 10
     (``recovered``), and, because JASPAR holds paralogs with nearly the same matrix (GATA1-6,
     the E-box proteins MAX/MYC/USF/TFE3, FOXA1/FOXA2 ...) between which TOMTOM's first place is
     a coin toss for a short motif, also as the fraction matched at rank <= 5
     (``recovered_top5``), with the best rank reached and, for each TF missed, the names its
     own seqlet motifs matched first;
   - *learnability*: per TF, the model's test AUROC (``test_auroc``: a TF the model does not
     predict leaves no seqlets of its own) and, in the ceiling row, the AUROC of scanning the
     planted matrix itself (``scanner_auroc``: about 0.88 for GATA1, FOXA1 and YY1, short
     AT-rich motifs with chance sites in the AT-rich background);
   - ``--contrast``: seqlet motifs must be enriched over the TF's negatives
     (``attribution_motifs(..., background=...)``);
   - *attribution AUROC*: per planted TF, on test sequences holding it, the per-position
     |input x gradient| of that TF's output scores positions inside its planted sites (positives)
     against all other positions; the mean over TFs.

2. **ISM speed**: sequences/s of ``regzoo.interpret.saturation_mutagenesis`` on 1,000-bp sequences
   with compact DeepSEA (its default local recompute, and ``fast=False``: a full forward pass
   per substitution), against a naive loop (one forward pass per substitution; timed on a
   fraction of one sequence and scaled) and against ``tangermeme.saturation_mutagenesis``
   (``pip install --no-deps tangermeme==1.6.0 numba llvmlite``; its default call, which picks
   its own fastISM or full-pass path, and again with its fastISM path forced); same model, same inputs, same thread count, in one
   process, the four timed in turn in each of ``--ism-rounds`` rounds; medians of sequences/s
   and of the per-round ratios; the outputs are checked equal (largest difference reported).

3. **score-variants speed**: variants/s for compact DeepSEA (1,000 bp) and compact Enformer
   (4,096 bp) on SNVs drawn from the bundled Arabidopsis chromosome 1.

Usage::

    python benchmarks/bench_interpret.py [--models deepbind,deepsea] [--n-seqs 4000]
        [--seq-len 200] [--epochs 200] [--budget 15] [--patience 6] [--threads 2]
        [--save-models DIR | --load-models DIR] [--contrast] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import torch

from regzoo.data.encode import codes_to_one_hot


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve by ranks (ties averaged)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for v in np.unique(scores[np.diff(np.sort(scores), prepend=np.nan) == 0]):
        tie = scores == v
        ranks[tie] = ranks[tie].mean()
    n_pos = labels.sum()
    n_neg = len(labels) - n_pos
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def per_tf_test_auroc(models, targets, x, labels, tf_names) -> dict:
    """Per planted TF, the AUROC of its model output (``models[j]``, output ``targets[j]``) on
    the test sequences: whether the model learned that TF at all (a TF it cannot predict leaves
    no seqlets of its own)."""
    out = {}
    with torch.inference_mode():
        for j, tf in enumerate(tf_names):
            chunks = np.array_split(x, max(1, len(x) // 256))
            y = torch.cat([models[j](torch.as_tensor(b))[:, targets[j]] for b in chunks])
            out[tf] = round(auroc(y.numpy(), labels[:, j] == 1), 3)
    return out


def _one_tf_task(task, j):
    """The multi-label planted task reduced to TF ``j`` alone (a binary task)."""
    from regzoo.data.datasets import SequenceDataset
    from regzoo.data.planted import MAX_SHIFT
    from regzoo.data.task import TaskData

    parts = [
        SequenceDataset(d.codes, d.labels[:, [j]]) for d in (task.train, task.valid, task.test)
    ]
    return TaskData(name=f"{task.name}:{task.label_names[j]}", task_type="binary",
                    label_names=[task.label_names[j]], seq_len=task.seq_len, train=parts[0],
                    valid=parts[1], test=parts[2], summary=task.summary,
                    train_augmented=parts[0].augmented(rc_augment=True, max_shift=MAX_SHIFT,
                                                       seed=0))  # fmt: skip


TOP_K = 5  # a planted TF counts as recovered "in the top k" when a motif matches it at rank <= k


def planted_ceiling(arrays, sites, tf_names, database, match_jaspar, rows) -> dict:
    """The recovery a perfect model could reach: the PFM of each TF's planted instances in the
    test sequences (read off the sites, reverse-complemented on the minus strand), matched to
    JASPAR by the same TOMTOM rule. Separates what the matching can do from what training and
    seqlet calling recover."""
    from regzoo.interpret.motifs import Motif

    motifs = []
    for j, tf in enumerate(tf_names):
        counts = None
        for row, _label, start, end, strand in sites[sites[:, 1] == j]:
            codes = arrays["codes"][row, start:end]
            codes = (3 - codes)[::-1] if strand == 1 else codes
            one = (codes[None, :] == np.arange(4)[:, None]).astype(np.float64)
            counts = one if counts is None else counts + one
        if counts is not None:
            pfm = counts / np.maximum(counts.sum(0, keepdims=True), 1)
            motifs.append(Motif(f"{tf}_planted", pfm, "truth", int(counts.sum(0).max())))
    matches = match_jaspar(motifs, database)
    hits = matches[(matches.q_value < 0.05) & (matches["rank"] == 1)].tf_name.str.upper()
    recovered = sorted(set(hits) & set(tf_names))
    return {"model": "planted instances (ceiling)", "recovered": len(recovered) / len(tf_names),
            "recovered_tfs": recovered,
            "scanner_auroc": scanner_aurocs(arrays, tf_names, rows)}  # fmt: skip


def scanner_aurocs(arrays, tf_names, rows) -> dict:
    """Per planted TF, the test AUROC of the best log-odds score of its own JASPAR matrix (the
    one planted) over each sequence, both strands, against the background base composition: how
    well a model that had learned the motif exactly could predict the label. Short AT-rich
    motifs in AT-rich Arabidopsis background stay well below 1 (chance sites)."""
    onehot = np.eye(4)[arrays["codes"][rows]].transpose(0, 2, 1)
    freq = onehot.mean((0, 2))
    out = {}
    for j, (tf, pfm) in enumerate(zip(tf_names, arrays["pfms"], strict=True)):
        pwm = np.log2((pfm + 1e-3) / freq[:, None])
        width = pwm.shape[1]
        windows = np.lib.stride_tricks.sliding_window_view(onehot, width, axis=2)  # N,4,P,W
        best = np.maximum(
            np.einsum("ncpw,cw->np", windows, pwm),
            np.einsum("ncpw,cw->np", windows, pwm[::-1, ::-1]),
        ).max(1)
        out[tf] = round(auroc(best, arrays["labels"][rows, j] == 1), 3)
    return out


def _train_or_load(name, task, epochs, budget, patience, save_dir, load_dir):
    """Train ``name`` (compact) on ``task``, or load it from ``load_dir`` (``NAME.pt``, a whole
    pickled model, and ``NAME.json``, its training record) as ``--save-models`` wrote it or as
    trained elsewhere (e.g. on a GPU) with the same ``train_model`` arguments."""
    from pathlib import Path

    from regzoo.train import train_model

    if load_dir:
        model = torch.load(Path(load_dir) / f"{name}.pt", weights_only=False, map_location="cpu")
        record = json.loads((Path(load_dir) / f"{name}.json").read_text())
        return model.eval(), record
    began = time.perf_counter()
    fit = train_model(name, task, model_args={"compact": True}, max_epochs=epochs,
                      budget_minutes=budget, patience=patience, progress=False)  # fmt: skip
    losses = [h.get("val/loss", np.nan) for h in fit.history]
    record = {"train_s": round(time.perf_counter() - began, 1), "epochs": fit.epochs,
              "stopped_by": fit.stopped_by, "val_loss": round(float(np.nanmin(losses)), 4),
              "device": str(next(fit.model.parameters()).device)}  # fmt: skip
    model = fit.model.cpu().eval()
    if save_dir:
        Path(save_dir).mkdir(parents=True, exist_ok=True)
        torch.save(model, Path(save_dir) / f"{name}.pt")
        (Path(save_dir) / f"{name}.json").write_text(json.dumps(record))
    return model, record


def planted_benchmark(names, n_seqs, seq_len, epochs, budget, max_test, patience=6,
                      save_dir=None, load_dir=None, contrast=False, per_tf=False):  # fmt: skip
    from regzoo.data.planted import load_planted_task, planted_arrays
    from regzoo.interpret.attribution import input_x_gradient
    from regzoo.interpret.motifs import (
        attribution_motifs,
        filter_motifs,
        jaspar_motifs,
        match_jaspar,
    )

    arrays = planted_arrays(seq_len, 0, n_seqs)
    task = load_planted_task("jaspar-motifs", seq_len, 0, n_seqs)
    test = np.flatnonzero(arrays["split"] == 2)[:max_test]
    x = codes_to_one_hot(arrays["codes"][test])
    sites = arrays["sites"][np.isin(arrays["sites"][:, 0], test)]
    row_of = {int(s): i for i, s in enumerate(test)}
    database = jaspar_motifs()
    tf_names = [n.upper() for n in arrays["label_names"]]
    rows = [planted_ceiling(arrays, sites, tf_names, database, match_jaspar, test)]
    print(json.dumps(rows[-1]), flush=True)
    for name in names:
        if per_tf:  # one single-output model per TF (DeepBind's own protocol)
            per = [_train_or_load(f"{name}", _one_tf_task(task, j), epochs, budget, patience,
                                  save_dir and f"{save_dir}/{tf}", load_dir and f"{load_dir}/{tf}")
                   for j, tf in enumerate(tf_names)]  # fmt: skip
            models, targets = [m for m, _ in per], [0] * len(tf_names)
            record = {"train_s": round(sum(r["train_s"] for _, r in per), 1),
                      "epochs": [r["epochs"] for _, r in per],
                      "stopped_by": sorted({r["stopped_by"] for _, r in per}),
                      "val_loss": [r["val_loss"] for _, r in per], "per_tf": True}  # fmt: skip
            motifs = []
            for tf, m in zip(tf_names, models, strict=True):
                for f in filter_motifs(m, x, device="cpu"):
                    f.name = f"{tf}_{f.name}"
                    motifs.append(f)
        else:
            model, record = _train_or_load(name, task, epochs, budget, patience, save_dir,
                                           load_dir)  # fmt: skip
            models, targets = [model] * len(tf_names), list(range(len(tf_names)))
            motifs = filter_motifs(model, x, device="cpu")
        aucs = []
        for j in range(len(tf_names)):
            model, target = models[j], targets[j]
            holders = np.flatnonzero(arrays["labels"][test, j] == 1)
            if holders.size == 0:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                attr = input_x_gradient(model, x[holders], target=target, device="cpu")
            background = None
            if contrast:  # the same output explained on test sequences without this TF
                others = np.flatnonzero(arrays["labels"][test, j] == 0)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    background = (x[others], input_x_gradient(model, x[others], target=target,
                                                              device="cpu"))  # fmt: skip
            found = attribution_motifs(x[holders], attr, min_seqlets=5, background=background)
            for k, m in enumerate(found):
                m.name = f"{tf_names[j]}_pattern{k}"
            motifs += found
            truth = np.zeros((len(holders), x.shape[2]), dtype=bool)
            holder_rows = {row_of[int(test[h])]: r for r, h in enumerate(holders)}
            for s in sites[sites[:, 1] == j]:
                r = holder_rows.get(row_of[int(s[0])])
                if r is not None:
                    truth[r, s[2] : s[3]] = True
            score = np.abs((x[holders] * attr).sum(1))
            aucs.append(auroc(score.ravel(), truth.ravel()))
        matches = match_jaspar(motifs, database, n_best=TOP_K)
        matches = matches[matches.q_value < 0.05]
        matches = matches.assign(tf=matches.tf_name.str.upper())
        strict = sorted(set(matches.loc[matches["rank"] == 1, "tf"]) & set(tf_names))
        top_k = sorted(set(matches["tf"]) & set(tf_names))
        best_rank = {t: int(matches.loc[matches.tf == t, "rank"].min()) for t in top_k}
        # recovered by the TF's own motifs (its seqlets; its model's filters with --per-tf)
        own = sorted(t for t in strict if ((matches["rank"] == 1) & (matches.tf == t)
                                           & matches.motif.str.startswith(t + "_")).any())  # fmt: skip
        # for each planted TF, what its own motifs (filters or its seqlets) matched first
        first = {t: sorted(set(matches.loc[(matches["rank"] == 1)
                                            & matches.motif.str.startswith(t + "_"), "tf"]))
                 for t in tf_names if t not in strict}  # fmt: skip
        rows.append({
            "model": name + (" (one model per TF)" if per_tf else ""), **record,
            "contrast": contrast,
            "recovered": len(strict) / len(tf_names), "recovered_tfs": strict,
            "recovered_by_own_motifs": own,
            f"recovered_top{TOP_K}": len(top_k) / len(tf_names), "best_rank": best_rank,
            "missed_best_match": first,
            "attribution_auroc": round(float(np.mean(aucs)), 3), "n_motifs": len(motifs),
            "test_auroc": per_tf_test_auroc(models, targets, x, arrays["labels"][test],
                                            tf_names),
        })  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    return rows


def _naive_seq_per_s(model, x, sub=20):
    """One forward pass per substitution on ``sub`` positions of one sequence, scaled to 1,000."""
    part = x[:1].clone()
    t0 = time.perf_counter()
    with torch.inference_mode():
        for p in range(sub):
            for b in range(3):
                m = part.clone()
                m[0, :, p] = 0
                m[0, (int(part[0, :, p].argmax()) + b + 1) % 4, p] = 1
                model(m)
    return 1 / ((time.perf_counter() - t0) * x.shape[2] / sub)


def ism_benchmark(n_seqs, threads, rounds=3):
    """regzoo (local recompute and full passes), the naive loop and tangermeme, timed in turn in
    each of ``rounds`` rounds (so that load on a shared machine falls on all of them); medians
    of sequences/s and of the per-round ratios."""
    from regzoo.interpret.ism import saturation_mutagenesis
    from regzoo.models import create

    torch.manual_seed(0)
    model = create("deepsea", compact=True, seq_len=1000, n_tasks=1).eval()
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (n_seqs, 1000)), 4).permute(0, 2, 1)
    x = x.float()
    try:
        import tangermeme.saturation_mutagenesis as tm_module

        tm_ism = tm_module.saturation_mutagenesis
    except ImportError as err:  # peer missing
        tm_ism, missing = None, f"{type(err).__name__}: {err}"[:200]
    saturation_mutagenesis(model, x[:1], device="cpu", start=0, end=50)  # warm-up
    runs = {"regzoo": [], "regzoo_full_passes": [], "naive": [], "tangermeme": [],
            "tangermeme_fastism": []}  # fmt: skip
    tm_paths, max_diff = {}, 0.0
    for _ in range(rounds):
        began = time.perf_counter()
        ours = saturation_mutagenesis(model, x, device="cpu")
        runs["regzoo"].append(n_seqs / (time.perf_counter() - began))
        began = time.perf_counter()
        full = saturation_mutagenesis(model, x, device="cpu", fast=False)
        runs["regzoo_full_passes"].append(n_seqs / (time.perf_counter() - began))
        max_diff = max(max_diff, float(np.abs(ours - full).max()))
        runs["naive"].append(_naive_seq_per_s(model, x))
        if tm_ism is None:
            continue
        # their default call, then their fastISM path forced (by default they try it only
        # for jobs that would take over 30 s; it may still fall back, with a warning)
        for key, min_seconds in (("tangermeme", None), ("tangermeme_fastism", 0.0)):
            saved, decide, used = tm_module._FAST_MIN_SECONDS, tm_module._fast_path, []

            def recording(*args, _decide=decide, _used=used, **kwargs):
                result = _decide(*args, **kwargs)  # (fast path or None, first outputs, count)
                _used.append(result[0] is not None)
                return result

            tm_module._fast_path = recording
            if min_seconds is not None:
                tm_module._FAST_MIN_SECONDS = min_seconds
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    began = time.perf_counter()
                    y0, y_hat = tm_ism(model, x, batch_size=256, raw_outputs=True, device="cpu")
                    runs[key].append(n_seqs / (time.perf_counter() - began))
            finally:
                tm_module._FAST_MIN_SECONDS, tm_module._fast_path = saved, decide
            said = [str(w.message)[:160] for w in caught if "fast" in str(w.message)]
            tm_paths.setdefault(key, []).append(
                ("fastISM" if used and used[0] else "full passes")
                + (f" ({said[0]})" if said else "")
            )
            # their raw edit outputs minus the reference equal our effects at the substitutions
            theirs = (y_hat[..., 0] - y0[:, None, None, 0]).numpy()
            theirs[x.numpy() == 1] = 0
            max_diff = max(max_diff, float(np.abs(ours - theirs).max()))
    out = {"threads": threads, "n_seqs": n_seqs, "seq_len": 1000, "model": "deepsea compact",
           "rounds": rounds, "max_abs_diff_between_methods": max_diff}  # fmt: skip
    for name, values in runs.items():
        if values:
            out[f"{name}_seq_per_s"] = round(float(np.median(values)), 4)
            out[f"{name}_seq_per_s_rounds"] = [round(v, 4) for v in values]
    for peer in ("naive", "tangermeme", "tangermeme_fastism", "regzoo_full_passes"):
        if runs[peer]:
            ratios = np.array(runs["regzoo"]) / np.array(runs[peer])
            out[f"ratio_vs_{peer}"] = round(float(np.median(ratios)), 2)
    if tm_ism is None:
        out["tangermeme_error"] = missing
    else:
        out["tangermeme_path"] = tm_paths
    print(json.dumps(out), flush=True)
    return out


def variant_benchmark(n_variants):
    from regzoo.data.bundled import TASKS, package_data_dir
    from regzoo.data.genome import Genome
    from regzoo.models import create
    from regzoo.variants.score import Variant, score_variants

    spec = TASKS["promoters"]
    genome = Genome(package_data_dir(spec.package) / spec.fasta, validate=False)
    chrom = genome.chroms[0]
    rng = np.random.default_rng(0)
    variants = []
    for pos in rng.integers(10_000, genome.chrom_sizes[chrom] - 10_000, n_variants * 2):
        ref = genome.fetch(chrom, int(pos) - 1, int(pos)).upper()
        if ref in "ACGT" and len(variants) < n_variants:
            alt = "ACGT"[("ACGT".index(ref) + 1) % 4]
            variants.append(Variant(chrom, int(pos), ref, alt))
    out = []
    for name, kwargs in (("deepsea", {"seq_len": 1000}), ("enformer", {"seq_len": 4096})):
        model = create(name, compact=True, n_tasks=4, **kwargs).eval()
        seq_len = model.regzoo_config["seq_len"]
        model.regzoo_task = {"seq_len": seq_len, "task_type": "regression",
                             "label_names": [f"t{i}" for i in range(4)]}  # fmt: skip
        n = n_variants if name == "deepsea" else max(8, n_variants // 20)
        began = time.perf_counter()
        frame = score_variants(model, genome, variants[:n], batch_size=32, device="cpu",
                               progress=False)  # fmt: skip
        wall = time.perf_counter() - began
        out.append({"model": f"{name} compact", "seq_len": seq_len, "variants": len(frame),
                    "variants_per_s": round(len(frame) / wall, 1)})  # fmt: skip
        print(json.dumps(out[-1]), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="deepbind,deepsea,basset,danq")
    parser.add_argument("--n-seqs", type=int, default=4000)
    parser.add_argument("--seq-len", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=200, help="most epochs (early stopping)")
    parser.add_argument("--budget", type=float, default=15.0, help="minutes per model")
    parser.add_argument("--max-test", type=int, default=400)
    parser.add_argument("--patience", type=int, default=6, help="early-stopping patience")
    parser.add_argument("--save-models", help="folder to write each trained model (NAME.pt/.json)")
    parser.add_argument("--load-models", help="folder of models to evaluate instead of training")
    parser.add_argument(
        "--per-tf",
        action="store_true",
        help="one single-output model per planted TF instead of one multi-label",
    )
    parser.add_argument("--contrast", action="store_true",
                        help="seqlet motifs must be enriched over the TF's negatives")  # fmt: skip
    parser.add_argument("--ism-seqs", type=int, default=8)
    parser.add_argument("--ism-rounds", type=int, default=3)
    parser.add_argument("--variants", type=int, default=400)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip", default="", help="comma list of planted,ism,variants to skip")
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    skip = set(args.skip.split(","))
    results = {}
    if "ism" not in skip:
        results["ism"] = ism_benchmark(args.ism_seqs, args.threads, args.ism_rounds)
    if "variants" not in skip:
        results["variants"] = variant_benchmark(args.variants)
    if "planted" not in skip:
        results["planted"] = planted_benchmark(args.models.split(","), args.n_seqs, args.seq_len,
                                               args.epochs, args.budget, args.max_test,
                                               args.patience, args.save_models, args.load_models,
                                               args.contrast, args.per_tf)  # fmt: skip
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=2, default=str)


if __name__ == "__main__":
    main()
