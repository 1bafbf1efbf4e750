"""The bad-input corpus: malformed or awkward files, each written here into ``tmp_path``, and the
documented behaviour for each (``docs/bad-inputs.md`` lists them all).

Every case is one row of :data:`CASES` and is either

- **refused**: the reader raises a :class:`regzoo.errors.RegzooError` whose message is one line,
  names the file, and matches the case's patterns (the line or record, and what was expected); a
  representative subset is also run through the real ``regzoo`` command line (``regzoo.cli.main``),
  which must exit with status 2, print one ``error:`` line naming the file and no traceback; or
- **tolerated**: the reader returns a result, and the case checks the returned or warned count
  (and, for a subset, the count the command line prints).
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import re
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyBigWig
import pytest
from tests.test_cli import run

from regzoo.errors import RegzooError

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(7)
CHR1 = "".join(RNG.choice(list("ACGT"), 200))
CHR2 = "".join(RNG.choice(list("ACGT"), 120))
CHR3 = "".join(RNG.choice(list("ACGT"), 120))
SEQ_LEN = 24  # the tiny saved model's input length
VCF_HEAD = (
    "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=200>\n##contig=<ID=chr2,length=120>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
)


def fasta(records: dict[str, str], width: int = 60, eol: str = "\n") -> str:
    lines = []
    for name, seq in records.items():
        lines.append(f">{name}")
        lines += [seq[i : i + width] for i in range(0, len(seq), width)]
    return eol.join(lines) + eol


GENOME_TEXT = fasta({"chr1": CHR1, "chr2": CHR2, "chr3": CHR3})


# -- what each case gets: a folder to write into and a few good files ----------------------------


@dataclass
class Ctx:
    dir: Path
    model: Path  # a tiny saved model (deepbind, 24 bp), shared and read-only

    def write(self, name: str, text: str | bytes) -> Path:
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return path

    @property
    def genome(self) -> Path:
        path = self.dir / "genome.fa"
        if not path.exists():
            path.write_text(GENOME_TEXT)
        return path

    def copy_model(self) -> Path:
        out = self.dir / "model"
        shutil.copytree(self.model, out)
        return out

    def table(self, name: str, seqs: list[str], labels: list[object] | None = None) -> Path:
        labels = labels if labels is not None else [i % 2 for i in range(len(seqs))]
        rows = "".join(f"{s},{y}\n" for s, y in zip(seqs, labels, strict=True))
        return self.write(name, "sequence,label\n" + rows)


def random_seqs(n: int, length: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]


def bigwig(path: Path, per_base: dict[str, np.ndarray]) -> Path:
    """A bigWig with one entry per base; NaN bases are left uncovered."""
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([(c, len(v)) for c, v in per_base.items()])
    for chrom, v in per_base.items():
        pos = np.flatnonzero(~np.isnan(v))
        bw.addEntries(
            [chrom] * pos.size, pos.tolist(), ends=(pos + 1).tolist(), values=v[pos].tolist()
        )
    bw.close()
    return path


def tfrecords(ctx: Ctx, n: int = 4) -> Path:
    """A Basenji-style TFRecord file of ``n`` records: 8-bp one-hot sequences, 2 bins x 1 track."""
    from regzoo.data.tfrecord import encode_example, frame_record

    data = b""
    for i in range(n):
        seq = np.eye(4, dtype=np.uint8)[np.arange(8) % 4].tobytes()
        target = np.array([i, i + 1], dtype=np.float16).tobytes()
        data += frame_record(encode_example({"sequence": seq, "target": target}))
    return ctx.write("tfr/data-0.tfr", data)


# -- the readers, as the command line calls them -------------------------------------------------


def genome(path, **kw):
    from regzoo.data.genome import Genome

    return Genome(path, **kw)


def bed(path, **kw):
    from regzoo.data.intervals import read_bed

    sizes = {"chr1": len(CHR1), "chr2": len(CHR2), "chr3": len(CHR3)}
    return read_bed(path, genome=sizes, **kw)


def peaks_task(ctx: Ctx, peak_file: Path):
    from regzoo.data.peaks import from_peaks

    return from_peaks(
        ctx.genome,
        [peak_file],
        seq_len=40,
        stride=20,
        label_center=20,
        valid_chroms=["chr2"],
        test_chroms=["chr3"],
        negatives_per_positive=None,
        verbose=False,
    )


def tracks(ctx: Ctx, bw: Path, **kw):
    from regzoo.data.tracks import BinnedTracks, TrackSpec, build_track_cache

    sizes = {"chr1": len(CHR1), "chr2": len(CHR2)}
    path = build_track_cache([TrackSpec(bw, "t")], sizes, 16, ctx.dir / "trackcache", **kw)
    return BinnedTracks(path)


def table_task(path, **kw):
    from regzoo.data.sources import from_table

    return from_table(path, **kw)


def score(ctx: Ctx, vcf: Path, **kw):
    from regzoo.saved import load
    from regzoo.variants import score_variants

    return score_variants(load(ctx.model), ctx.genome, vcf, progress=False, **kw)


def load_model(path):
    from regzoo.saved import load

    return load(path)


def fasta_records(path):
    from regzoo.data.tables import read_fasta_records

    return read_fasta_records(path)


def tfrecord_records(path):
    from regzoo.data.tfrecord import iter_records

    return list(iter_records(path))


def tfrecord_task(folder, **kw):
    from regzoo.data.tfrecord import from_basenji_tfrecords

    return from_basenji_tfrecords(folder, **kw)


def _damaged(path: Path, change: Callable[[bytes], bytes]) -> Path:
    path.write_bytes(change(path.read_bytes()))
    return path


def _model_without(ctx: Ctx, name: str) -> Path:
    out = ctx.copy_model()
    (out / name).unlink()
    return out


# -- the corpus ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input. ``make`` writes it and returns what ``call`` reads; ``refused`` holds
    patterns the error's message must match (besides the file's name), ``check`` asserts a
    tolerated result from ``(result, warning messages, ctx)``; ``cli`` gives ``regzoo`` arguments
    (``{model}``, ``{genome}``, ``{out}`` and ``{file}`` filled in), ``cli_says`` what a
    tolerated run must print."""

    id: str
    group: str
    make: Callable[[Ctx], Path]
    call: Callable[[Ctx, Path], object]
    refused: tuple[str, ...] = ()
    check: Callable[[object, list[str], Ctx], None] | None = None
    cli: tuple[str, ...] = ()
    cli_says: tuple[str, ...] = field(default=())


def _fai_stale_newer(ctx: Ctx) -> Path:
    path = ctx.write("stale.fa", GENOME_TEXT)
    # an index of an older version of the file (only chr1), written after it
    ctx.write("stale.fa.fai", "chr1\t200\t6\t60\t61\n")
    return path


def _fai_stale_older(ctx: Ctx) -> Path:
    path = ctx.write("old.fa", GENOME_TEXT)
    fai = ctx.write("old.fa.fai", "chr1\t120\t6\t60\t61\n")
    os.utime(fai, (1_000_000_000, 1_000_000_000))
    return path


def _check_genome(g, msgs, ctx):
    assert g.chrom_sizes == {"chr1": 200, "chr2": 120, "chr3": 120}
    assert g.fetch("chr2", 55, 70) == CHR2[55:70]


def _check_stale(g, msgs, ctx):
    _check_genome(g, msgs, ctx)
    assert any("stale FASTA index" in m and "rebuilt" in m for m in msgs), msgs


def _check_gzip(g, msgs, ctx):
    _check_genome(g, msgs, ctx)
    assert g.path != g.source and g.path.is_file()  # the decompressed copy, in the cache
    assert genome(g.source).path == g.path  # reused, not decompressed again


def _check_soft_masked(g, msgs, ctx):
    lower = CHR1[:100].lower() + CHR1[100:]
    assert g.fetch("chr1", 95, 105) == lower[95:105]  # case kept
    assert (g.fetch_codes("chr1", 0, 200) == genome(ctx.genome).fetch_codes("chr1", 0, 200)).all()


def _pickle_model(ctx: Ctx) -> Path:
    """A folder holding only a pickle whose loading would create a marker file."""
    marker = ctx.dir / "unpickled"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    out = ctx.dir / "pickled"
    out.mkdir()
    (out / "model.pt").write_bytes(pickle.dumps(Evil()))
    return out


def _pickle_as_safetensors(ctx: Ctx) -> Path:
    import torch

    out = ctx.copy_model()
    torch.save({"w": torch.zeros(2)}, out / "model.safetensors")
    return out


def _model_with(ctx: Ctx, change: Callable[[dict], None]) -> Path:
    out = ctx.copy_model()
    config = json.loads((out / "config.json").read_text())
    change(config)
    (out / "config.json").write_text(json.dumps(config))
    return out


def _truncated_model(ctx: Ctx) -> Path:
    out = ctx.copy_model()
    raw = (out / "model.safetensors").read_bytes()
    (out / "model.safetensors").write_bytes(raw[: len(raw) // 2])
    return out


def _fits(n_cropped=0, n_padded=0, seq_len=None):
    def check(task, msgs, ctx):
        lengths = task.summary["lengths"]
        assert (lengths["n_cropped"], lengths["n_padded"]) == (n_cropped, n_padded), lengths
        if seq_len:
            assert task.seq_len == seq_len

    return check


def _vcf(ctx: Ctx, body: str, head: str = VCF_HEAD) -> Path:
    return ctx.write("v.vcf", head + body)


def _snv(pos: int, ref: str | None = None, alt: str = "N", chrom: str = "chr1") -> str:
    ref = ref or CHR1[pos - 1]
    alt = alt if alt != "N" else ("A" if ref != "A" else "C")
    return f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t.\t.\t.\n"


def _check_ref_mismatch(frame, msgs, ctx):
    _summary(read=2, scored=2, ref_mismatch=1)(frame, msgs, ctx)
    assert frame["ref_match"].tolist() == [True, False]
    assert any("1 variant(s) whose REF does not match" in m for m in msgs), msgs


def _summary(**want):
    def check(frame, msgs, ctx):
        summary = frame.attrs["summary"]
        for key, value in want.items():
            assert summary[key] == value, summary

    return check


PEAK_CMD = ("train", "--model", "deepbind", "--genome", "{genome}", "--peaks", "{file}")
PEAK_CMD += ("--valid-chroms", "chr2", "--test-chroms", "chr3", "--seq-len", "40", "--out", "{out}")
INTERVALS_CMD = ("train", "--model", "deepbind", "--genome", "{genome}", "--intervals", "{file}")
INTERVALS_CMD += ("--out", "{out}")
GENOME_CMD = ("train", "--model", "deepbind", "--genome", "{file}", "--intervals", "{bed}")
GENOME_CMD += ("--out", "{out}")
MODEL_PREDICT = ("predict", "{file}", "--fasta", "{genome}", "-o", "{out}/p.tsv")
TABLE_CMD = ("train", "--model", "deepbind", "--table", "{file}", "--out", "{out}")
PREDICT_FASTA = ("predict", "{model}", "--fasta", "{file}", "-o", "{out}/p.tsv")
PREDICT_TABLE = ("predict", "{model}", "--table", "{file}", "-o", "{out}/p.tsv")
SCORE_CMD = ("score-variants", "{model}", "--vcf", "{file}", "--genome", "{genome}")
SCORE_CMD += ("-o", "{out}/s.tsv")

GOOD_BED = "chr1\t10\t50\t.\t0\t+\t1\nchr2\t10\t50\t.\t0\t+\t0\nchr3\t10\t50\t.\t0\t+\t1\n"

CASES: list[Case] = [
    # ---- FASTA genomes (Genome: --genome) ------------------------------------------------------
    Case(
        "fasta-no-header",
        "FASTA",
        lambda c: c.write("g.fa", CHR1 + "\n"),
        lambda c, p: genome(p),
        (r"not a FASTA file", r"expected a '>' header"),
        cli=GENOME_CMD,
    ),
    Case(
        "fasta-duplicate-names",
        "FASTA",
        lambda c: c.write("g.fa", fasta({"chr1": CHR1, "chr2": CHR2}) + fasta({"chr1": CHR3})),
        lambda c, p: genome(p),
        (r'"chr1"', r"record names must be unique"),
    ),
    Case(
        "fasta-non-iupac-letter",
        "FASTA",
        lambda c: c.write("g.fa", fasta({"chr1": CHR1[:70] + "J" + CHR1[71:]})),
        lambda c, p: genome(p),
        (r"record 'chr1'", r"invalid character 'J' at position 71", r"IUPAC"),
        cli=GENOME_CMD,
    ),
    Case(
        "fasta-windows-line-endings",
        "FASTA",
        lambda c: c.write("g.fa", fasta({"chr1": CHR1, "chr2": CHR2, "chr3": CHR3}, eol="\r\n")),
        lambda c, p: genome(p),
        check=_check_genome,
    ),
    Case(
        "fasta-empty-record",
        "FASTA",
        lambda c: c.write("g.fa", ">chr1\n" + fasta({"chr2": CHR2})),
        lambda c, p: genome(p),
        (r"record 'chr1' has an empty sequence",),
    ),
    Case(
        "fasta-plain-gzip",
        "FASTA",
        lambda c: c.write("g.fa.gz", gzip.compress(GENOME_TEXT.encode())),
        lambda c, p: genome(p),
        check=_check_gzip,
    ),
    Case(
        "fasta-plain-gzip-no-decompress",
        "FASTA",
        lambda c: c.write("g.fa.gz", gzip.compress(GENOME_TEXT.encode())),
        lambda c, p: genome(p, decompress=False),
        (r"plain gzip cannot be read at random", r"bgzip"),
    ),
    Case(
        "fasta-truncated-gzip",
        "FASTA",
        lambda c: c.write("g.fa.gz", gzip.compress(GENOME_TEXT.encode())[:150]),
        lambda c, p: genome(p),
        (r"cannot decompress", r"expected a gzip FASTA"),
    ),
    Case(
        "fasta-missing-fai",
        "FASTA",
        lambda c: c.write("g.fa", GENOME_TEXT),
        lambda c, p: (genome(p), Path(str(p) + ".fai").is_file()),
        check=lambda r, m, c: _check_genome(r[0], m, c) or r[1] or _fail("no .fai written"),
    ),
    Case(
        "fasta-stale-fai-newer-than-fasta",
        "FASTA",
        _fai_stale_newer,
        lambda c, p: genome(p),
        check=_check_stale,
    ),
    Case(
        "fasta-stale-fai-older-than-fasta",
        "FASTA",
        _fai_stale_older,
        lambda c, p: genome(p),
        check=_check_genome,
    ),
    Case(
        "fasta-soft-masked",
        "FASTA",
        lambda c: c.write("g.fa", fasta({"chr1": CHR1[:100].lower() + CHR1[100:]})),
        lambda c, p: genome(p),
        check=_check_soft_masked,
    ),
    Case(
        "fasta-binary-bytes",
        "FASTA",
        lambda c: c.write("g.fa", b">chr1\nAC\xff\xfeGT\n"),
        lambda c, p: genome(p),
        (r"byte 0xff is not text", r"expected a FASTA"),
    ),
    Case(  # found by fuzzing: pyfaidx indexes this without error and returns wrong bases
        "fasta-uneven-line-lengths",
        "FASTA",
        lambda c: c.write("g.fa", f">chr1\n{CHR1[:60]}\n{CHR1[60:124]}\n>chr2\n{CHR2}\n"),
        lambda c, p: genome(p),
        (r"g\.fa:3: record 'chr1': line 2 of its sequence has 64 bases but its first line has 60",),
    ),
    Case(
        "fasta-ragged-lines",
        "FASTA",
        lambda c: c.write("g.fa", ">chr1\nACGTAC\nAC\nACGTAC\n"),
        lambda c, p: genome(p),
        (r"cannot index FASTA", r"line 3"),
    ),
    # ---- FASTA of sequences to score (predict --fasta) and labelled FASTA tables ---------------
    Case(
        "seqs-fasta-no-header",
        "FASTA",
        lambda c: c.write("s.fa", "ACGT\n>s1\nACGT\n"),
        lambda c, p: fasta_records(p),
        (r":1: sequence before the first '>' header",),
        cli=PREDICT_FASTA,
    ),
    Case(
        "seqs-fasta-empty-record",
        "FASTA",
        lambda c: c.write("s.fa", ">s1\nACGT\n>s2\n>s3\nACGT\n"),
        lambda c, p: fasta_records(p),
        (r":3: record 's2' has an empty sequence",),
        cli=PREDICT_FASTA,
    ),
    Case(
        "labelled-fasta-different-keys",
        "FASTA",
        lambda c: c.write("s.fa", ">s1 bound=1\nACGT\n>s2 open=0\nACGT\n"),
        lambda c, p: table_task(p),
        (r":3: record 's2' has labels \['open'\]", r"same keys"),
    ),
    # ---- BED intervals (read_bed: --intervals) --------------------------------------------------
    Case(
        "bed-header-without-hash",
        "BED",
        lambda c: c.write("i.bed", "chrom\tstart\tend\tname\tscore\tstrand\tlabel\n" + GOOD_BED),
        lambda c, p: bed(p),
        (r":1: .* looks like a header line", r"start with '#'"),
    ),
    Case(
        "bed-track-browser-comment-lines",
        "BED",
        lambda c: c.write("i.bed", "browser position chr1\ntrack name=x\n# note\n" + GOOD_BED),
        lambda c, p: bed(p),
        check=lambda df, m, c: (len(df) == 3 and df.index.tolist() == [4, 5, 6]) or _fail(df),
    ),
    Case(
        "bed-start-after-end",
        "BED",
        lambda c: c.write("i.bed", GOOD_BED + "chr1\t50\t40\t.\t0\t+\t1\n"),
        lambda c, p: bed(p),
        (r":4: start 50 is after end 40",),
        cli=INTERVALS_CMD,
    ),
    Case(
        "bed-negative-start",
        "BED",
        lambda c: c.write("i.bed", "chr1\t-5\t40\t.\t0\t+\t1\n" + GOOD_BED),
        lambda c, p: bed(p),
        (r":1: start -5 is negative",),
    ),
    Case(
        "bed-beyond-chromosome-end",
        "BED",
        lambda c: c.write("i.bed", GOOD_BED + "chr2\t100\t130\t.\t0\t+\t1\n"),
        lambda c, p: bed(p),
        (r":4: end 130 is past the end of chr2 \(length 120\)",),
    ),
    Case(
        "bed-chrom-naming-mismatch",
        "BED",
        lambda c: c.write("i.bed", GOOD_BED.replace("chr", "")),
        lambda c, p: bed(p),
        (r":1: chromosome '1' is not in", r"the genome calls it 'chr1'", r"unknown.chroms"),
        cli=INTERVALS_CMD,
    ),
    Case(
        "bed-unknown-chrom-dropped",
        "BED",
        lambda c: c.write("i.bed", GOOD_BED + "chrUn\t0\t10\t.\t0\t+\t1\n"),
        lambda c, p: bed(p, unknown_chroms="drop"),
        check=lambda df, m, c: (
            (len(df) == 3 and any("dropped 1 intervals" in x for x in m)) or _fail(m)
        ),
    ),
    Case(
        "bed-non-integer-coordinate",
        "BED",
        lambda c: c.write("i.bed", GOOD_BED + "chr1\t1e3\t2000\t.\t0\t+\t1\n"),
        lambda c, p: bed(p),
        (r":4: start '1e3' is not an integer",),
    ),
    Case(
        "bed-huge-coordinate",
        "BED",
        lambda c: c.write("i.bed", "chr1\t0\t99999999999999999999\n"),
        lambda c, p: bed(p),
        (r":1: end '99999999999999999999' is not an integer",),
    ),
    Case(
        "bed-too-few-columns",
        "BED",
        lambda c: c.write("i.bed", "chr1\t10\nchr1\t20\n"),
        lambda c, p: bed(p),
        (r":1: 2 fields; a BED line needs chrom, start, end",),
    ),
    Case(
        "bed-unequal-columns",
        "BED",
        lambda c: c.write("i.bed", GOOD_BED + "chr1\t10\t50\n"),
        lambda c, p: bed(p),
        (r":4: 3 fields but the first interval has 7",),
    ),
    Case(
        "bed-duplicate-intervals",
        "BED",
        lambda c: c.write("i.bed", GOOD_BED + GOOD_BED.splitlines(True)[0]),
        lambda c, p: bed(p),
        check=lambda df, m, c: (
            (
                len(df) == 4
                and df.attrs["duplicates"] == 1
                and any("1 duplicate interval(s)" in x and "line 4 repeats line 1" in x for x in m)
            )
            or _fail(m)
        ),
    ),
    Case(
        "bed-non-numeric-label",
        "BED",
        lambda c: c.write("i.bed", GOOD_BED + "chr1\t10\t50\t.\t0\t+\tyes\n"),
        lambda c, p: bed(p),
        (r":4: label column 'col7' holds 'yes'; expected a finite number",),
    ),
    Case(
        "bed-infinite-label",
        "BED",
        lambda c: c.write("i.bed", GOOD_BED + "chr1\t10\t50\t.\t0\t+\tinf\n"),
        lambda c, p: bed(p),
        (r":4: label column 'col7' holds 'inf'; expected a finite number",),
    ),
    Case(
        "bed-binary-bytes",
        "BED",
        lambda c: c.write("i.bed", GOOD_BED.encode() + b"chr1\t1\t5\t\xff\n"),
        lambda c, p: bed(p),
        (r":4: byte 0xff is not text",),
    ),
    # ---- narrowPeak / peak BEDs (read_intervals / from_peaks: --peaks) --------------------------
    Case(
        "peak-header-without-hash",
        "narrowPeak",
        lambda c: c.write("P.narrowPeak", "chrom\tstart\tend\nchr1\t10\t30\n"),
        lambda c, p: peaks_task(c, p),
        (r":1: 'chrom\\tstart\\tend' is not an interval",),
        cli=PEAK_CMD,
    ),
    Case(
        "peak-track-and-comment-lines",
        "narrowPeak",
        lambda c: c.write(
            "P.narrowPeak", "track type=narrowPeak\n#x\nchr1\t10\t30\t.\t0\t.\t5\t1\t1\t10\n"
        ),
        lambda c, p: peaks_task(c, p),
        check=lambda t, m, c: (
            (t.summary["positives_per_label"]["train"] == {"P": 1}) or _fail(t.summary)
        ),
    ),
    Case(
        "peak-start-after-end",
        "narrowPeak",
        lambda c: c.write("P.narrowPeak", "chr1\t10\t30\nchr1\t40\t35\n"),
        lambda c, p: peaks_task(c, p),
        (r":2: start 40, end 35; expected 0 <= start < end",),
    ),
    Case(
        "peak-negative-start",
        "narrowPeak",
        lambda c: c.write("P.narrowPeak", "chr1\t-1\t30\n"),
        lambda c, p: peaks_task(c, p),
        (r":1: start -1, end 30; expected 0 <= start < end",),
    ),
    Case(
        "peak-too-few-columns",
        "narrowPeak",
        lambda c: c.write("P.narrowPeak", "chr1\t10\n"),
        lambda c, p: peaks_task(c, p),
        (r":1: 2 fields; expected at least 3",),
    ),
    Case(
        "peak-non-integer",
        "narrowPeak",
        lambda c: c.write("P.narrowPeak", "chr1\t10.5\t30\n"),
        lambda c, p: peaks_task(c, p),
        (r":1: .* is not an interval", r"integer start and end"),
    ),
    Case(
        "peak-chrom-naming-alias",
        "narrowPeak",
        lambda c: c.write("P.narrowPeak", "1\t10\t30\n2\t10\t30\n3\t10\t30\n"),
        lambda c, p: peaks_task(c, p),
        check=lambda t, m, c: ("1->chr1" in t.summary["chrom_names"]) or _fail(t.summary),
    ),
    Case(
        "peak-unknown-chrom",
        "narrowPeak",
        lambda c: c.write("P.narrowPeak", "chr1\t10\t30\nchrZ\t10\t30\n"),
        lambda c, p: peaks_task(c, p),
        (r"chrZ",),
        cli=PEAK_CMD,
    ),
    Case(
        "peak-beyond-chromosome-end",
        "narrowPeak",
        lambda c: c.write("P.narrowPeak", "chr1\t10\t30\nchr1\t190\t260\nchr2\t500\t600\n"),
        lambda c, p: peaks_task(c, p),
        check=lambda t, m, c: (
            (
                t.summary["dropped"]["peaks_beyond_chrom_end"] == 1
                and "1 peaks start past their chromosome's end (dropped) and 1 run past it (kept)"
                in t.summary["chrom_names"]
            )
            or _fail(t.summary)
        ),
    ),
    Case(
        "peak-truncated-gzip",
        "narrowPeak",
        lambda c: c.write("P.narrowPeak.gz", gzip.compress(b"chr1\t10\t30\n" * 4000)[:60]),
        lambda c, p: peaks_task(c, p),
        (r"cannot read", r"damaged or truncated"),
    ),
    # ---- bigWig tracks (--tracks) ---------------------------------------------------------------
    Case(
        "bigwig-missing-chromosome",
        "bigWig",
        lambda c: bigwig(c.dir / "t.bw", {"chr1": np.ones(200)}),
        lambda c, p: tracks(c, p),
        check=lambda t, m, c: (
            (
                t.summary()["tracks"][0]["missing_chroms"] == ["chr2"]
                and any("1 genome chromosomes have no coverage" in x for x in m)
                and float(t.chrom_bins("chr2").max()) == 0.0
            )
            or _fail(m)
        ),
    ),
    Case(
        "bigwig-missing-chromosome-strict",
        "bigWig",
        lambda c: bigwig(c.dir / "t.bw", {"chr1": np.ones(200)}),
        lambda c, p: tracks(c, p, missing="error"),
        (r"1 genome chromosomes have no coverage in this bigWig \(chr2\)",),
    ),
    Case(
        "bigwig-nan-regions",
        "bigWig",
        lambda c: bigwig(
            c.dir / "t.bw",
            {"chr1": np.r_[np.ones(40), np.full(30, np.nan), np.ones(130)], "chr2": np.ones(120)},
        ),
        lambda c, p: tracks(c, p),
        check=lambda t, m, c: (
            (
                t.summary()["tracks"][0]["nan_bases"] == 30
                and t.chrom_bins("chr1")[0].tolist()[2:5] == [8.0, 0.0, 10.0]
            )
            or _fail(t.summary())
        ),
    ),
    Case(
        "bigwig-not-a-bigwig",
        "bigWig",
        lambda c: c.write("t.bw", "chr1\t0\t10\t1.0\n"),
        lambda c, p: tracks(c, p),
        (r"(cannot open as bigWig|not a bigWig)",),
        cli=(
            "train",
            "--model",
            "basenji",
            "--genome",
            "{genome}",
            "--tracks",
            "{file}",
            "--valid-chroms",
            "chr2",
            "--test-chroms",
            "chr3",
            "--out",
            "{out}",
        ),
    ),
    # ---- VCF (score-variants --vcf) -------------------------------------------------------------
    Case(
        "vcf-ref-mismatch",
        "VCF",
        lambda c: _vcf(c, _snv(30) + _snv(40, ref="N")),
        lambda c, p: score(c, p),
        check=_check_ref_mismatch,
    ),
    Case(
        "vcf-ref-mismatch-refused",
        "VCF",
        lambda c: _vcf(c, _snv(30) + _snv(40, ref="NN")),
        lambda c, p: score(c, p, on_ref_mismatch="error"),
        (r"line 6: REF NN does not match the genome", r"chr1:40"),
    ),
    Case(
        "vcf-multi-allelic",
        "VCF",
        lambda c: _vcf(c, _snv(30, alt=",".join(b for b in "ACGT" if b != CHR1[29]))),
        lambda c, p: score(c, p),
        check=_summary(read=3, scored=3, ref_mismatch=0),
        cli=SCORE_CMD,
        cli_says=("scored 3 of 3 variants",),
    ),
    Case(
        "vcf-symbolic-alleles",
        "VCF",
        lambda c: _vcf(
            c,
            _snv(30)
            + f"chr1\t50\t.\t{CHR1[49]}\t<DEL>\t.\t.\t.\n"
            + f"chr1\t60\t.\t{CHR1[59]}\t*\t.\t.\t.\n",
        ),
        lambda c, p: score(c, p),
        check=_summary(read=3, scored=1, skipped={"symbolic": 2}),
        cli=SCORE_CMD,
        cli_says=("scored 1 of 3 variants", '"symbolic": 2'),
    ),
    Case(
        "vcf-missing-contig",
        "VCF",
        lambda c: _vcf(c, _snv(30) + _snv(5, "A", "C", chrom="chr9")),
        lambda c, p: score(c, p),
        (r"line 6: chromosome 'chr9' is not in",),
        cli=SCORE_CMD,
    ),
    Case(
        "vcf-unsorted",
        "VCF",
        lambda c: _vcf(c, _snv(90) + _snv(10, chrom="chr2") + _snv(30)),
        lambda c, p: score(c, p),
        check=lambda f, m, c: (
            (f["pos"].tolist() == [90, 10, 30] and f.attrs["summary"]["scored"] == 3) or _fail(f)
        ),
    ),
    Case(
        "vcf-non-integer-pos",
        "VCF",
        lambda c: _vcf(c, _snv(30) + "chr1\tx\t.\tA\tC\t.\t.\t.\n"),
        lambda c, p: score(c, p),
        (r"line 6: invalid VCF record",),
        cli=SCORE_CMD,
    ),
    Case(
        "vcf-pos-zero",
        "VCF",
        lambda c: _vcf(c, "chr1\t0\t.\tA\tC\t.\t.\t.\n"),
        lambda c, p: score(c, p),
        (r"line 5: POS 0; expected 1 or more",),
    ),
    Case(
        "vcf-no-header",
        "VCF",
        lambda c: _vcf(c, _snv(30), head=""),
        lambda c, p: score(c, p),
        (r"cannot read as VCF",),
    ),
    # ---- sequence tables (--table; predict --table) ---------------------------------------------
    Case(
        "table-missing-column",
        "table",
        lambda c: c.write("t.csv", "seq,label\nACGT,1\n"),
        lambda c, p: table_task(p),
        (r"no column 'sequence'; available columns: seq, label",),
    ),
    Case(
        "table-nan-label",
        "table",
        lambda c: c.table("t.csv", random_seqs(30, 20), [*(i % 2 for i in range(29)), "NA"]),
        lambda c, p: table_task(p),
        (r"1 missing label value\(s\)", r"first at line 31", r"missing.labels.+mask"),
        cli=TABLE_CMD,
    ),
    Case(
        "table-nan-label-masked",
        "table",
        lambda c: c.table("t.csv", random_seqs(30, 20), [*(i % 2 for i in range(29)), ""]),
        lambda c, p: table_task(p, missing_labels="mask"),
        check=lambda t, m, c: (
            (t.summary["missing_labels"]["missing_values"] == 1) or _fail(t.summary)
        ),
    ),
    Case(
        "table-longer-than-seq-len",
        "table",
        lambda c: c.table("t.csv", random_seqs(30, 20) + random_seqs(1, 30)),
        lambda c, p: table_task(p, seq_len=20),
        check=_fits(n_cropped=1, seq_len=20),
        cli=PREDICT_TABLE,
        cli_says=("1 sequence(s) centre-cropped and 30 N-padded",),
    ),
    Case(
        "table-shorter-than-seq-len",
        "table",
        lambda c: c.table("t.csv", random_seqs(30, 20) + random_seqs(2, 12)),
        lambda c, p: table_task(p, seq_len=20),
        check=_fits(n_padded=2, seq_len=20),
    ),
    Case(
        "table-mixed-lengths",
        "table",
        lambda c: c.table("t.csv", random_seqs(20, 20) + random_seqs(5, 18) + random_seqs(5, 25)),
        lambda c, p: table_task(p),
        check=_fits(n_cropped=5, n_padded=5, seq_len=20),
    ),
    Case(
        "table-empty-file",
        "table",
        lambda c: c.write("t.csv", ""),
        lambda c, p: table_task(p),
        (r"cannot read as a table",),
        cli=TABLE_CMD,
    ),
    Case(
        "table-header-only",
        "table",
        lambda c: c.write("t.csv", "sequence,label\n"),
        lambda c, p: table_task(p),
        (r"a header but no rows",),
    ),
    Case(
        "table-non-numeric-label",
        "table",
        lambda c: c.table("t.csv", random_seqs(4, 20), [0, 1, "x", 1]),
        lambda c, p: table_task(p),
        (r"line 4, column 'label': 'x' is not a number",),
    ),
    Case(
        "table-invalid-base",
        "table",
        lambda c: c.table("t.csv", random_seqs(3, 20) + ["ACGTZ" * 4]),
        lambda c, p: table_task(p),
        (r"line 5", r"'Z'"),
    ),
    Case(
        "table-row-with-extra-field",
        "table",
        lambda c: c.write("t.csv", "sequence,label\nACGTACGT,1,0\nACGTACGT,0\n"),
        lambda c, p: table_task(p),
        (r"line 2: more fields than the header's",),
        cli=PREDICT_TABLE,
    ),
    Case(
        "table-duplicate-column",
        "table",
        lambda c: c.write("t.csv", "sequence,label,label\nACGTACGT,1,0\nACGTACGT,0,1\n"),
        lambda c, p: table_task(p),
        (r"line 1: the header names a column more than once: 'label' \(2 times\)",),
        cli=TABLE_CMD,
    ),
    Case(
        "table-binary-bytes",
        "table",
        lambda c: c.write("t.csv", b"sequence,label\nACGT,1\nAC\xffGT,0\n"),
        lambda c, p: table_task(p),
        (r":3: byte 0xff is not text",),
    ),
    # ---- saved models (predict / evaluate / score-variants DIR) ---------------------------------
    Case(
        "model-missing-folder",
        "saved model",
        lambda c: c.dir / "nothing-here",
        lambda c, p: load_model(p),
        (r"not a directory; expected a saved model directory",),
    ),
    Case(
        "model-missing-weights-file",
        "saved model",
        lambda c: _model_without(c, "model.safetensors"),
        lambda c, p: load_model(p),
        (r"not a saved regzoo model: missing model.safetensors",),
        cli=("evaluate", "{file}"),
    ),
    Case(
        "model-truncated-safetensors",
        "saved model",
        _truncated_model,
        lambda c, p: load_model(p),
        (r"model.safetensors: cannot read weights", r"expected safetensors"),
        cli=MODEL_PREDICT,
    ),
    Case(
        "model-unknown-architecture",
        "saved model",
        lambda c: _model_with(c, lambda cfg: cfg["model"].update(name="deepnope")),
        lambda c, p: load_model(p),
        (r"config.json: field 'model': unknown model 'deepnope'",),
        cli=("evaluate", "{file}"),
    ),
    Case(
        "model-config-without-name",
        "saved model",
        lambda c: _model_with(c, lambda cfg: cfg["model"].pop("name")),
        lambda c, p: load_model(p),
        (r"config.json: not a regzoo model config",),
    ),
    Case(
        "model-config-not-json",
        "saved model",
        lambda c: (
            _damaged(c.copy_model() / "config.json", lambda raw: b"{\n  'model': 1\n}\n").parent
        ),
        lambda c, p: load_model(p),
        (r"config.json: line 2: invalid JSON",),
    ),
    Case(
        "model-pickle-instead",
        "saved model",
        _pickle_model,
        lambda c, p: load_model(p),
        (r"model.pt is a pickle checkpoint, which regzoo never loads",),
        cli=MODEL_PREDICT,
    ),
    Case(
        "model-pickle-named-safetensors",
        "saved model",
        _pickle_as_safetensors,
        lambda c, p: load_model(p),
        (r"cannot read weights", r"pickle / torch.save file"),
    ),
    # ---- Basenji TFRecords (--basenji-tfrecords) ------------------------------------------------
    Case(
        "tfrecord-truncated-record",
        "TFRecord",
        lambda c: _damaged(tfrecords(c), lambda raw: raw[:-20]),
        lambda c, p: tfrecord_task(p.parent, seq_len=8, target_length=2, n_targets=1),
        (r"data-0.tfr: record 3: truncated",),
    ),
    Case(
        "tfrecord-corrupt-crc",
        "TFRecord",
        lambda c: _damaged(tfrecords(c), lambda raw: b"\x00" + raw[1:]),
        lambda c, p: tfrecord_records(p),
        (r"record 0: length CRC mismatch",),
    ),
    Case(
        "tfrecord-empty-folder",
        "TFRecord",
        lambda c: (c.dir / "empty").mkdir() or c.dir / "empty",
        lambda c, p: tfrecord_task(p),
        (r"no .tfr or .tfrecord files in this folder",),
        cli=("train", "--model", "basenji", "--basenji-tfrecords", "{file}", "--out", "{out}"),
    ),
]

GROUPS = ("FASTA", "BED", "narrowPeak", "bigWig", "VCF", "table", "saved model", "TFRecord")


def _fail(what):
    raise AssertionError(what)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    import torch

    from regzoo.models import create
    from regzoo.saved import save_model

    torch.manual_seed(0)
    model = create("deepbind", seq_len=SEQ_LEN, n_tasks=1)
    out = tmp_path_factory.mktemp("model") / "deepbind"
    return save_model(out, model, {"task_type": "binary", "label_names": ["y"], "seq_len": SEQ_LEN})


def _ctx(tmp_path, tiny_model) -> Ctx:
    return Ctx(tmp_path, tiny_model)


def test_the_corpus_is_complete():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 40
    assert {c.group for c in CASES} == set(GROUPS)
    assert sum(bool(c.cli) for c in CASES) >= 12
    doc = (ROOT / "docs" / "bad-inputs.md").read_text()
    missing = [i for i in ids if f"`{i}`" not in doc]
    assert not missing, f"docs/bad-inputs.md lacks {missing}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, tmp_path, tiny_model):
    ctx = _ctx(tmp_path, tiny_model)
    path = case.make(ctx)
    if case.refused:
        with pytest.raises(RegzooError) as info:
            case.call(ctx, path)
        message = str(info.value)
        assert "\n" not in message, message
        assert path.name in message, message
        for pattern in case.refused:
            assert re.search(pattern, message), (pattern, message)
        if case.id == "model-pickle-instead":
            assert not (ctx.dir / "unpickled").exists()  # never unpickled
    else:
        assert case.check is not None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = case.call(ctx, path)
        case.check(result, [str(w.message) for w in caught], ctx)


CLI_CASES = [c for c in CASES if c.cli]


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.id for c in CLI_CASES])
def test_case_through_the_cli(case: Case, tmp_path, tiny_model, capsys, monkeypatch):
    ctx = _ctx(tmp_path, tiny_model)
    path = case.make(ctx)
    fill = {
        "{model}": str(tiny_model),
        "{genome}": str(ctx.genome),
        "{out}": str(tmp_path / "out"),
        "{file}": str(path),
        "{bed}": str(ctx.write("good.bed", GOOD_BED)),
    }
    args = [fill.get(a, a).replace("{out}", str(tmp_path / "out")) for a in case.cli]
    code, out, err = run(capsys, monkeypatch, *args)
    assert "Traceback" not in out + err
    if case.refused:
        assert code == 2, (code, err)
        lines = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and path.name in lines[0], err
        assert re.search(case.refused[0], lines[0]), err
    else:
        assert code == 0, err
        for text in case.cli_says:
            assert text in err + out, err
