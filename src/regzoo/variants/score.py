"""Score sequence variants with a model: reference vs alternative allele in a window of the genome.

**Input.** A VCF (plain or bgzip; read with pysam's ``VariantFile``) or a TSV with the columns
``chrom, pos, ref, alt`` (1-based ``pos`` as in VCF; optional ``id``). Multi-allelic records are
split into one variant per ALT. Symbolic or breakend alleles (``<DEL>``, ``*``, ``]chr:pos]``) and
missing ALTs are **skipped and counted**; so are alleles longer than the model's window.

**Window rule** (SNVs and indels alike). The model reads ``L = seq_len`` bases. In each sequence
the allele (REF in the reference sequence, ALT in the alternative one) starts at index
``L // 2 - len(allele) // 2``: the variant is **centred**, the left flank is the genome before the
variant and the right flank the genome after REF, each as long as needed to fill ``L``. So for a
SNV both sequences are the same window with one base changed (at ``L // 2``); for an insertion the
alternative sequence has less flank on both sides; for a deletion more. Bases past a chromosome
end are ``N``.

**REF check.** REF is compared (case-insensitive) with the genome at ``pos``. A mismatch is never
scored silently: with ``on_ref_mismatch="flag"`` (default) the variant is scored with the genome's
bases as reference and the row says ``ref_match = False``; ``"skip"`` leaves it out (counted);
``"error"`` raises :class:`~regzoo.errors.InputError` naming the file line.

**Scores** per task ``t``: ``t_ref``, ``t_alt`` (activated predictions: probabilities for
classification, rates for profile models), ``t_diff = alt - ref`` and
``t_log2_ratio = log2((alt + eps) / (ref + eps))`` (NaN where a value is negative). For profile
models the prediction is summed over all bins, and with ``target_bins=(a, b)`` also over bins
``[a, b)`` (columns ``t_bins_ref`` ...). ``rc_average`` averages each prediction with that of the
reverse complement (bins flipped back).
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from regzoo.data.encode import encode, fit_length
from regzoo.data.genome import Genome, _example_names, chrom_mismatch_hint
from regzoo.errors import InputError
from regzoo.inference import predict

EPS = 1e-6
_BASES = set("ACGTNacgtn")


@dataclass
class Variant:
    """One ALT allele. ``pos`` is 1-based (VCF); ``line`` the source line (or record) number;
    ``record``/``alt_index`` locate it in a VCF for writing INFO back."""

    chrom: str
    pos: int
    ref: str
    alt: str
    id: str = "."
    line: int = 0
    record: int = -1
    alt_index: int = 0


def _allele_ok(allele: str) -> bool:
    return bool(allele) and set(allele) <= _BASES


def read_variants(path: str | Path) -> tuple[list[Variant], Counter]:
    """Read a VCF (``.vcf``, ``.vcf.gz``, ``.bcf``) or a TSV (``chrom pos ref alt [id]``).

    Returns:
        ``(variants, skipped)``: one :class:`Variant` per ALT allele, and counts of what was left
        out (``symbolic``, ``missing_alt``).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: variant file not found")
    name = path.name.lower()
    if name.endswith((".tsv", ".txt", ".tsv.gz", ".csv")):
        return _read_table(path)
    return _read_vcf(path)


def _count_header_lines(path: Path) -> int:
    """Lines starting with '#' at the top of a (b)gzip or plain VCF (0 for BCF)."""
    import gzip

    with open(path, "rb") as fh:
        magic = fh.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    n = 0
    try:
        with opener(path, "rb") as fh:
            for line in fh:
                if not line.startswith(b"#"):
                    break
                n += 1
    except (OSError, UnicodeDecodeError):
        return 0
    return n


def _read_vcf(path: Path) -> tuple[list[Variant], Counter]:
    import pysam

    skipped: Counter = Counter()
    out = []
    try:
        vcf = pysam.VariantFile(str(path))
    except (OSError, ValueError) as err:
        detail = "" if "is it VCF/BCF format" in str(err) else f" ({err})"
        raise InputError(
            f"{path}: cannot read as VCF{detail}; expected a '##fileformat=VCF' header line and "
            "a '#CHROM POS ID REF ALT ...' line before the records"
        ) from None
    with vcf:
        n_header = _count_header_lines(path)
        k = -1
        try:
            for k, rec in enumerate(vcf):
                line = n_header + k + 1
                if rec.pos < 1:
                    raise InputError(f"{path}: line {line}: POS {rec.pos}; expected 1 or more")
                if not _allele_ok(rec.ref or ""):
                    raise InputError(f"{path}: line {line}: REF {rec.ref!r} is not A/C/G/T/N")
                if not rec.alts:
                    skipped["missing_alt"] += 1
                    continue
                for j, alt in enumerate(rec.alts):
                    if not _allele_ok(alt):
                        skipped["symbolic"] += 1
                        continue
                    out.append(Variant(rec.chrom, rec.pos, rec.ref, alt, rec.id or ".", line, k, j))
        except InputError:
            raise
        except (OSError, ValueError) as err:  # pysam fails on the record after the last good one
            raise InputError(
                f"{path}: line {n_header + k + 2}: invalid VCF record ({err}); expected "
                "tab-separated CHROM, POS, ID, REF, ALT, QUAL, FILTER, INFO"
            ) from None
    return out, skipped


def _read_table(path: Path) -> tuple[list[Variant], Counter]:
    sep = "," if path.name.lower().endswith(".csv") else "\t"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # extra fields would be lost
            frame = pd.read_csv(path, sep=sep, dtype=str, comment=None, index_col=False)
    except pd.errors.ParserWarning:
        raise InputError(
            f"{path}: a row has more fields than the header; expected chrom, pos, ref, alt [id]"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(
            f"{path}: cannot read as a variant table ({' '.join(str(err).split())}); expected "
            "a header chrom, pos, ref, alt [id]"
        ) from None
    except (EOFError, OSError) as err:
        raise InputError(f"{path}: cannot read ({err}); the file is damaged or truncated") from None
    frame.columns = [c.strip().lstrip("#").lower() for c in frame.columns]
    missing = [c for c in ("chrom", "pos", "ref", "alt") if c not in frame.columns]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)}; expected chrom, pos, ref, alt "
            f"(found {', '.join(frame.columns)})"
        )
    skipped: Counter = Counter()
    out = []
    for k, row in enumerate(frame.itertuples(index=False)):
        line = k + 2
        try:
            pos = int(row.pos)
        except (TypeError, ValueError):
            raise InputError(f"{path}: line {line}: pos {row.pos!r} is not an integer") from None
        if pos < 1:
            raise InputError(f"{path}: line {line}: pos {pos} must be >= 1 (1-based)")
        if not _allele_ok(str(row.ref)):
            raise InputError(f"{path}: line {line}: ref {row.ref!r} is not A/C/G/T/N")
        for j, alt in enumerate(str(row.alt).split(",")):
            if not _allele_ok(alt):
                skipped["symbolic"] += 1
                continue
            vid = str(getattr(row, "id", ".") or ".")
            out.append(Variant(str(row.chrom), pos, str(row.ref), alt, vid, line, k, j))
    return out, skipped


def allele_windows(genome: Genome, v: Variant, seq_len: int) -> tuple[str, str, bool]:
    """``(ref_seq, alt_seq, ref_matches)`` by the window rule of the module docstring."""
    start = v.pos - 1
    end = start + len(v.ref)
    genome_ref = genome.fetch(v.chrom, start, end, warn=False)
    seqs = []
    for allele in (genome_ref, v.alt):
        left = seq_len // 2 - len(allele) // 2
        right = seq_len - left - len(allele)
        seqs.append(
            genome.fetch(v.chrom, start - left, start, warn=False)
            + allele
            + genome.fetch(v.chrom, end, end + right, warn=False)
        )
    return seqs[0], seqs[1], genome_ref.upper() == v.ref.upper()


def score_variants(
    model: nn.Module,
    genome: Genome | str | Path,
    variants: list[Variant] | str | Path,
    rc_average: bool = False,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    target_bins: tuple[int, int] | None = None,
    on_ref_mismatch: str = "flag",
    progress: bool = True,
) -> pd.DataFrame:
    """Predict every variant's reference and alternative sequence and compare them.

    Args:
        model: a saved regzoo model (``regzoo.saved.load``); its ``regzoo_task`` gives the window
            length, task type and task names.
        genome: a :class:`Genome` or a FASTA path.
        variants: a list of :class:`Variant` or a VCF / TSV path (:func:`read_variants`).
        on_ref_mismatch: ``flag`` | ``skip`` | ``error`` (see the module docstring).

    Returns:
        one row per scored ALT allele: ``chrom, pos, id, ref, alt, ref_match`` and per task the
        score columns of the module docstring. ``frame.attrs["summary"]`` counts the variants read,
        scored, skipped by reason and REF mismatches.
    """
    from tqdm.auto import tqdm

    if on_ref_mismatch not in ("flag", "skip", "error"):
        raise InputError(f"on_ref_mismatch must be flag, skip or error, not {on_ref_mismatch!r}")
    source = str(variants) if isinstance(variants, str | Path) else "variants"
    skipped: Counter = Counter()
    if isinstance(variants, str | Path):
        variants, skipped = read_variants(variants)
    genome = genome if isinstance(genome, Genome) else Genome(genome)
    task = getattr(model, "regzoo_task", {}) or {}
    seq_len = int(task.get("seq_len") or model.regzoo_config["seq_len"])
    task_type = task.get("task_type", "binary")
    n_read = len(variants) + sum(skipped.values())
    kept, refs, alts, matches = [], [], [], []
    for v in variants:
        if v.chrom not in genome.chrom_sizes:
            raise InputError(
                f"{source}: line {v.line}: chromosome {v.chrom!r} is not in {genome.source}"
                f"{chrom_mismatch_hint(v.chrom, genome.chroms)}; genome names: "
                f"{_example_names(genome.chroms)}"
            )
        if max(len(v.ref), len(v.alt)) > seq_len:
            skipped["longer_than_window"] += 1
            continue
        ref_seq, alt_seq, ok = allele_windows(genome, v, seq_len)
        if not ok:
            if on_ref_mismatch == "error":
                raise InputError(
                    f"{source}: line {v.line}: REF {v.ref} does not match the genome "
                    f"({genome.fetch(v.chrom, v.pos - 1, v.pos - 1 + len(v.ref))}) at "
                    f"{v.chrom}:{v.pos}"
                )
            if on_ref_mismatch == "skip":
                skipped["ref_mismatch"] += 1
                continue
        kept.append(v)
        refs.append(encode(ref_seq))
        alts.append(encode(alt_seq))
        matches.append(ok)
    names = list(task.get("label_names") or [])
    cols: dict[str, list[np.ndarray]] = {}
    bar = tqdm(total=len(kept), unit="variant", disable=not progress, desc="scoring")
    for lo in range(0, len(kept), batch_size):
        codes = np.stack([fit_length(c, seq_len) for c in refs[lo : lo + batch_size]
                          + alts[lo : lo + batch_size]])  # fmt: skip
        pred = predict(model, codes, task_type, batch_size * 2, device, rc_average)
        half = len(pred) // 2
        scores = {"": pred.sum(-1) if pred.ndim == 3 else pred}
        if target_bins is not None:
            if pred.ndim != 3:
                raise InputError("--target-bins apply to profile models only")
            a, b = target_bins
            if not 0 <= a < b <= pred.shape[-1]:
                raise InputError(f"target bins {a}:{b} outside the model's {pred.shape[-1]} bins")
            scores["_bins"] = pred[..., a:b].sum(-1)
        for suffix, s in scores.items():
            cols.setdefault(suffix + "ref", []).append(s[:half])
            cols.setdefault(suffix + "alt", []).append(s[half:])
        bar.update(half)
    bar.close()
    frame = pd.DataFrame(
        {
            "chrom": [v.chrom for v in kept],
            "pos": [v.pos for v in kept],
            "id": [v.id for v in kept],
            "ref": [v.ref for v in kept],
            "alt": [v.alt for v in kept],
            "ref_match": matches,
        }
    )
    n_tasks = cols["ref"][0].shape[1] if kept else len(names)
    names = names if len(names) == n_tasks else [f"task{i}" for i in range(n_tasks)]
    new = {}
    for suffix in [k[:-3] for k in cols if k.endswith("ref")]:
        ref = np.concatenate(cols[suffix + "ref"])
        alt = np.concatenate(cols[suffix + "alt"])
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.log2((alt + EPS) / (ref + EPS))
        for i, t in enumerate(names):
            new[f"{t}{suffix}_ref"] = ref[:, i]
            new[f"{t}{suffix}_alt"] = alt[:, i]
            new[f"{t}{suffix}_diff"] = alt[:, i] - ref[:, i]
            new[f"{t}{suffix}_log2_ratio"] = ratio[:, i]
    frame = pd.concat([frame, pd.DataFrame(new)], axis=1)
    frame.attrs["summary"] = {
        "read": n_read,
        "scored": len(frame),
        "ref_mismatch": int((~frame["ref_match"]).sum()) + skipped.get("ref_mismatch", 0),
        "skipped": dict(skipped),
    }
    frame.attrs["variants"] = kept
    if frame.attrs["summary"]["ref_mismatch"] and on_ref_mismatch == "flag":
        warnings.warn(
            f"{source}: {frame.attrs['summary']['ref_mismatch']} variant(s) whose REF does not "
            "match the genome (flagged ref_match=False, scored with the genome's bases)",
            stacklevel=2,
        )
    return frame


def write_vcf(source: str | Path, frame: pd.DataFrame, out: str | Path) -> Path:
    """Copy the VCF ``source`` to ``out`` with each score column of ``frame`` added as an INFO
    field ``RZ_<column>`` (``Number=A``: one value per ALT; ``.`` for ALTs not scored)."""
    import pysam

    variants = frame.attrs.get("variants")
    if variants is None:
        raise InputError("write_vcf needs the frame returned by score_variants")
    score_cols = [c for c in frame.columns if c.endswith(("_ref", "_alt", "_diff", "_log2_ratio"))]
    values: dict[tuple[int, int], np.ndarray] = {
        (v.record, v.alt_index): frame.loc[i, score_cols].to_numpy(dtype=float)
        for i, v in enumerate(variants)
    }
    with pysam.VariantFile(str(source)) as vin:
        header = vin.header.copy()
        ids = ["RZ_" + "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in c)
               for c in score_cols]  # fmt: skip
        for field, col in zip(ids, score_cols, strict=True):
            header.info.add(field, "A", "Float", f"regzoo score-variants: {col}")
        header.info.add("RZ_REF_MATCH", "A", "String", "REF matches the genome (1/0)")
        with pysam.VariantFile(str(out), "w", header=header) as vout:
            for k, rec in enumerate(vin):
                new = vout.new_record(contig=rec.chrom, start=rec.start, stop=rec.stop,
                                      alleles=rec.alleles, id=rec.id, qual=rec.qual,
                                      filter=list(rec.filter), info=dict(rec.info))  # fmt: skip
                alts = rec.alts or ()
                rows = [values.get((k, j)) for j in range(len(alts))]
                if any(r is not None for r in rows):
                    for c, field in enumerate(ids):
                        new.info[field] = tuple(None if r is None else float(r[c]) for r in rows)
                    match = []
                    for j in range(len(alts)):
                        hit = [
                            i for i, v in enumerate(variants) if (v.record, v.alt_index) == (k, j)
                        ]
                        match.append(str(int(bool(frame.loc[hit[0], "ref_match"]))) if hit else ".")
                    new.info["RZ_REF_MATCH"] = tuple(match)
                vout.write(new)
    return Path(out)
