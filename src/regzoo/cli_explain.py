"""CLI commands for interpretation and variant scoring (explain, motifs, score-variants)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from regzoo import atomic
from regzoo.cli import app, err_console
from regzoo.errors import InputError, RegzooError

FastaOpt = Annotated[Path | None, typer.Option("--fasta", help="FASTA of sequences to explain.")]
TableOpt = Annotated[
    Path | None, typer.Option("--table", help="CSV/TSV with a sequence column (--seq-col).")
]
SeqColOpt = Annotated[str, typer.Option("--seq-col", help="Sequence column of --table.")]
GenomeOpt = Annotated[Path | None, typer.Option("--genome", help="Genome FASTA for --regions.")]
RegionsOpt = Annotated[
    Path | None,
    typer.Option(
        "--regions", help="BED of regions; windows of the model's length centred on each."
    ),
]
TargetOpt = Annotated[
    str | None,
    typer.Option("--target", help="Task explained: name or index (default: mean of all tasks)."),
]
BinsOpt = Annotated[
    str | None, typer.Option("--target-bins", help="Profile models: bins a:b summed (default all).")
]
MaxSeqsOpt = Annotated[int, typer.Option("--max-seqs", help="Explain at most this many sequences.")]
BatchOpt = Annotated[int, typer.Option("--batch-size", help="Batch size.")]
DeviceOpt = Annotated[
    str | None, typer.Option("--device", help="cpu, cuda, cuda:1 (default auto).")
]


def _bins(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    try:
        a, b = (int(v) for v in value.split(":"))
    except ValueError:
        raise InputError(f"--target-bins {value!r}: expected a:b, e.g. 400:500") from None
    return a, b


def _read_regions(path: Path, genome, seq_len: int):
    """Windows of ``seq_len`` centred on each BED region: ``(names, seqs, coords)``, ``coords``
    ``[(chrom, window_start)]``. Bases past a chromosome end are N (counted in
    ``genome.padded_bases`` and reported by the caller)."""
    names, seqs, coords = [], [], []
    with open(path) as fh:
        for k, line in enumerate(fh, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 3:
                raise InputError(f"{path}: line {k}: expected chrom, start, end (tab-separated)")
            try:
                start, end = int(fields[1]), int(fields[2])
            except ValueError:
                raise InputError(f"{path}: line {k}: start/end are not integers") from None
            genome.check_chrom(fields[0])
            centre = (start + end) // 2
            lo = centre - seq_len // 2
            seqs.append(genome.fetch(fields[0], lo, lo + seq_len, warn=False))
            names.append(fields[3] if len(fields) > 3 else f"{fields[0]}:{start}-{end}")
            coords.append((fields[0], lo))
    if not seqs:
        raise InputError(f"{path}: no regions")
    return names, seqs, coords


def _inputs(model, fasta, table, seq_col, genome, regions, max_seqs):
    """``(names, codes (N, L), coords)`` from exactly one of --fasta, --table, --genome +
    --regions; ``coords`` (``[(chrom, window_start)]`` and the chromosome sizes) only for
    --regions, else None. Prints what was left out (--max-seqs) or padded (chromosome ends)."""
    from regzoo.data import tables
    from regzoo.data.genome import Genome

    given = [o for o, v in (("--fasta", fasta), ("--table", table), ("--regions", regions)) if v]
    if len(given) != 1:
        raise RegzooError("give exactly one of --fasta, --table or --genome with --regions")
    seq_len = int(model.regzoo_task.get("seq_len") or model.regzoo_config["seq_len"])
    coords = None
    if regions is not None:
        if genome is None:
            raise RegzooError("--regions needs --genome")
        fa = Genome(genome)
        names, seqs, windows = _read_regions(regions, fa, seq_len)
        coords = (windows[:max_seqs], dict(fa.chrom_sizes))
        if fa.padded_bases:
            err_console.print(
                f"note: {fa.padded_bases} bases of the {seq_len}-bp windows lie past a "
                "chromosome end; they are N (all-zero input) and get no attribution track"
            )
        source = regions
    else:
        source = fasta or table
        names, seqs = tables.read_sequences(source, seq_col)
    if len(seqs) > max_seqs:
        err_console.print(
            f"note: {source} has {len(seqs)} sequences; using the first {max_seqs} (--max-seqs)"
        )
    names, seqs = names[:max_seqs], seqs[:max_seqs]
    codes, _ = tables.fit_sequences(seqs, seq_len, source=str(source))
    return names, codes, coords


def write_contribution_bigwig(path: Path, coords, contrib: np.ndarray) -> int:
    """Per-base contributions of genome windows as one bigWig; returns the bases written.

    ``coords`` is ``([(chrom, window_start)], {chrom: size})`` and ``contrib`` ``(N, L)``: the
    attribution of the base present (attributions x one-hot summed over A, C, G, T). Where windows
    overlap, a base gets the mean of the windows covering it; bases past a chromosome end are left
    out. Chromosomes in the genome's order, windows sorted by start."""
    import pyBigWig

    windows, sizes = coords
    seq_len = contrib.shape[1]
    bw = pyBigWig.open(str(path), "w")
    if bw is None:
        raise InputError(f"{path}: cannot open for writing a bigWig")
    written = 0
    try:
        bw.addHeader([(name, int(size)) for name, size in sizes.items()])
        by_chrom: dict[str, list[int]] = {}
        for i, (chrom, _lo) in enumerate(windows):
            by_chrom.setdefault(chrom, []).append(i)
        for chrom in (c for c in sizes if c in by_chrom):
            rows = sorted(by_chrom[chrom], key=lambda i: windows[i][1])
            k = 0
            while k < len(rows):  # one cluster of overlapping windows at a time
                a, b, j = windows[rows[k]][1], windows[rows[k]][1] + seq_len, k + 1
                while j < len(rows) and windows[rows[j]][1] < b:
                    b = max(b, windows[rows[j]][1] + seq_len)
                    j += 1
                total, count = np.zeros(b - a), np.zeros(b - a)
                for i in rows[k:j]:
                    off = windows[i][1] - a
                    total[off : off + seq_len] += contrib[i]
                    count[off : off + seq_len] += 1
                lo, hi = max(a, 0), min(b, int(sizes[chrom]))
                if hi > lo:
                    values = total[lo - a : hi - a] / count[lo - a : hi - a]
                    bw.addEntries(chrom, int(lo), values=values.tolist(), span=1, step=1)
                    written += hi - lo
                k = j
    finally:
        bw.close()
    return written


def _top_logos(codes, attributions, names, n=5, width=60):
    from regzoo.data.encode import codes_to_one_hot

    x = codes_to_one_hot(codes)
    contrib = (x * attributions).sum(1)
    out = []
    for i in np.argsort(-np.abs(contrib).max(1))[:n]:
        p = int(np.abs(contrib[i]).argmax())
        lo = min(max(p - width // 2, 0), max(codes.shape[1] - width, 0))
        out.append(
            (f"{names[i]} [{lo}:{lo + width}]", (x[i] * attributions[i])[:, lo : lo + width])
        )
    return out


@app.command("explain")
def explain_cmd(
    model_dir: Annotated[Path, typer.Argument(help="A saved model directory.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    fasta: FastaOpt = None,
    table: TableOpt = None,
    seq_col: SeqColOpt = "sequence",
    genome: GenomeOpt = None,
    regions: RegionsOpt = None,
    method: Annotated[
        str, typer.Option("--method", help="ism | saliency | ixg | ig | deepliftshap.")
    ] = "ixg",
    target: TargetOpt = None,
    target_bins: BinsOpt = None,
    rc_average: Annotated[
        bool, typer.Option("--rc-average", help="ISM: average both strands.")
    ] = False,
    max_seqs: MaxSeqsOpt = 1000,
    batch_size: BatchOpt = 128,
    device: DeviceOpt = None,
) -> None:
    """Attribute each sequence's prediction to its bases: OUT/attributions.npz and OUT/report.html.

    attributions.npz holds ``attributions`` (N, 4, L) float32 (gradient methods and ISM centred per
    position, all four bases), ``one_hot`` (N, 4, L) and ``names`` (N,)."""
    from regzoo.data.encode import codes_to_one_hot
    from regzoo.interpret.attribution import METHODS, attribute
    from regzoo.interpret.logos import write_report
    from regzoo.interpret.targets import target_index
    from regzoo.saved import load

    if method not in ("ism", *METHODS):
        raise InputError(f"unknown --method {method!r}; valid: ism, {', '.join(METHODS)}")
    model = load(model_dir)
    names, codes, coords = _inputs(model, fasta, table, seq_col, genome, regions, max_seqs)
    kwargs = {"rc_average": True} if (rc_average and method == "ism") else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        attr = attribute(model, codes, method, target_index(model, target), _bins(target_bins),
                         batch_size=batch_size, device=device, **kwargs)  # fmt: skip
    notes = [str(w.message) for w in caught if "convergence delta" in str(w.message)]
    for note in notes:
        err_console.print(f"[yellow]warning:[/] {note}", highlight=False)
    out.mkdir(parents=True, exist_ok=True)
    atomic.save_npz(out / "attributions.npz", attributions=attr.astype(np.float32),
                        one_hot=codes_to_one_hot(codes), names=np.array(names))  # fmt: skip
    write_report(out / "report.html", f"regzoo explain: {model_dir} ({method})",
                 sequences=_top_logos(codes, attr, names), notes=notes)  # fmt: skip
    wrote = f"wrote {out / 'attributions.npz'} ({len(names)} sequences), report.html"
    if coords is not None:
        contrib = (codes_to_one_hot(codes) * attr).sum(1)
        with atomic.atomic_path(out / "attributions.bw") as tmp:
            n_bp = write_contribution_bigwig(tmp, coords, contrib)
        wrote += f" and attributions.bw ({n_bp:,} bp)"
    err_console.print(wrote)


@app.command("motifs")
def motifs_cmd(
    model_dir: Annotated[Path, typer.Argument(help="A saved model directory.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    fasta: FastaOpt = None,
    table: TableOpt = None,
    seq_col: SeqColOpt = "sequence",
    genome: GenomeOpt = None,
    regions: RegionsOpt = None,
    method: Annotated[
        str, typer.Option("--method", help="Attribution for seqlets: ixg | ism | ig | ...")
    ] = "ixg",
    target: TargetOpt = None,
    target_bins: BinsOpt = None,
    min_seqlets: Annotated[int, typer.Option(help="Seqlets per discovered motif.")] = 10,
    max_seqs: MaxSeqsOpt = 2000,
    batch_size: BatchOpt = 128,
    device: DeviceOpt = None,
) -> None:
    """Filters and attribution seqlets -> motifs matched to JASPAR: matches.tsv, motifs.meme, report.html."""
    from regzoo.interpret.attribution import attribute
    from regzoo.interpret.logos import write_report
    from regzoo.interpret.motifs import (
        attribution_motifs,
        filter_motifs,
        jaspar_motifs,
        match_jaspar,
        write_meme,
    )
    from regzoo.interpret.targets import target_index
    from regzoo.saved import load

    model = load(model_dir)
    _, codes, _ = _inputs(model, fasta, table, seq_col, genome, regions, max_seqs)
    filters = filter_motifs(model, codes, batch_size=batch_size, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        attr = attribute(model, codes, method, target_index(model, target), _bins(target_bins),
                         batch_size=batch_size, device=device)  # fmt: skip
    from regzoo.data.encode import codes_to_one_hot

    patterns = attribution_motifs(codes_to_one_hot(codes), attr, min_seqlets=min_seqlets)
    motifs = filters + patterns
    database = jaspar_motifs()
    matches = match_jaspar(motifs, database)
    out.mkdir(parents=True, exist_ok=True)
    atomic.to_csv(matches, out / "matches.tsv", sep="\t", index=False, float_format="%.4g")
    write_meme(out / "motifs.meme", motifs)
    best_p = dict(zip(matches.motif, matches.p_value, strict=True))
    shown = sorted(motifs, key=lambda m: best_p.get(m.name, 1.0))
    write_report(out / "report.html", f"regzoo motifs: {model_dir}", shown, matches,
                 {m.name: m for m in database},
                 notes=[f"{len(filters)} filter motifs, {len(patterns)} attribution motifs "
                        f"({method}); JASPAR {len(database)} CORE vertebrate matrices"])  # fmt: skip
    n_sig = int((matches.q_value < 0.05).sum())
    err_console.print(
        f"wrote {len(motifs)} motifs ({n_sig} with a JASPAR match at q < 0.05) to {out}"
    )


@app.command("score-variants")
def score_variants_cmd(
    model_dir: Annotated[Path, typer.Argument(help="A saved model directory.")],
    vcf: Annotated[Path, typer.Option("--vcf", help="VCF, or TSV with chrom pos ref alt.")],
    genome: Annotated[Path, typer.Option("--genome", help="Genome FASTA.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="TSV to write.")],
    out_vcf: Annotated[
        Path | None, typer.Option("--out-vcf", help="Also write the VCF with RZ_* INFO fields.")
    ] = None,
    rc_average: Annotated[bool, typer.Option("--rc-average", help="Average both strands.")] = False,
    target_bins: BinsOpt = None,
    on_ref_mismatch: Annotated[
        str, typer.Option("--on-ref-mismatch", help="flag | skip | error.")
    ] = "flag",
    batch_size: BatchOpt = 64,
    device: DeviceOpt = None,
) -> None:
    """Score variants: per task ref and alt predictions, difference and log2 ratio."""
    from regzoo.saved import load
    from regzoo.variants import score_variants, write_vcf

    model = load(model_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = score_variants(model, genome, vcf, rc_average=rc_average, batch_size=batch_size,
                               device=device, target_bins=_bins(target_bins),
                               on_ref_mismatch=on_ref_mismatch)  # fmt: skip
    output.parent.mkdir(parents=True, exist_ok=True)
    atomic.to_csv(frame, output, sep="\t", index=False, float_format="%.6g")
    summary = frame.attrs["summary"]
    if out_vcf is not None:
        if vcf.name.lower().endswith((".tsv", ".txt", ".csv", ".tsv.gz")):
            raise InputError("--out-vcf needs a VCF input")
        write_vcf(vcf, frame, out_vcf)
    err_console.print(
        f"scored {summary['scored']} of {summary['read']} variants -> {output}; REF mismatches: "
        f"{summary['ref_mismatch']}; skipped: {json.dumps(summary['skipped'])}",
        highlight=False,
    )
