"""Fuzzing the text readers with hypothesis: FASTA (genome and sequences), BED, peak intervals,
sequence tables, VCF and variant TSV.

Budget: :data:`MAX_EXAMPLES` examples per property (150), no per-example deadline, derandomised
(the same examples on every run, so CI is reproducible). 7 readers x 2 properties = 14 properties.
``REGZOO_FUZZ_EXAMPLES=2000`` asks for a longer local search with fresh random examples.

Properties, for every reader:

- **random bytes** (any bytes, plus bytes drawn from the format's own alphabet) and
- **random edits of a valid file** (deletions, insertions, swapped characters, duplicated lines,
  truncation)

give either a parse that satisfies the format's invariants, or a :class:`regzoo.errors.RegzooError`
(one line), never another exception. The unedited file parses to its known content.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regzoo.errors import RegzooError

MAX_EXAMPLES = int(os.environ.get("REGZOO_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize="REGZOO_FUZZ_EXAMPLES" not in os.environ,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

RNG = np.random.default_rng(11)
CHR1 = "".join(RNG.choice(list("ACGT"), 130))
CHR2 = "".join(RNG.choice(list("ACGTN"), 70))
SIZES = {"chr1": len(CHR1), "chr2": len(CHR2)}
IUPAC = set("ACGTUNRYSWKMBDHVacgtunryswkmbdhv")


def _lines(seq: str, width: int = 60) -> str:
    return "\n".join(seq[i : i + width] for i in range(0, len(seq), width))


VALID = {
    "genome.fa": f">chr1 first\n{_lines(CHR1)}\n>chr2\n{_lines(CHR2)}\n",
    "seqs.fa": ">s1\nACGTACGTAA\n>s2 two\nGGGCCCAATT\nAC\n",
    "i.bed": "#chrom\tstart\tend\tname\tscore\tstrand\tbound\nchr1\t10\t50\ta\t0\t+\t1\n"
    "chr1\t60\t90\tb\t0\t-\t0\nchr2\t5\t40\tc\t0\t.\t1\n",
    "p.narrowPeak": "track type=narrowPeak\nchr1\t10\t50\t.\t0\t.\t5.0\t2.1\t1.3\t20\n"
    "chr2\t0\t30\t.\t0\t.\t4.0\t1.0\t0.5\t15\n",
    "t.csv": "name,sequence,label\n"
    + "".join(f"r{i},{CHR1[i * 10 : i * 10 + 20]},{i % 2}\n" for i in range(10)),
    "v.vcf": "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=130>\n##contig=<ID=chr2,length=70>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    f"chr1\t5\trs1\t{CHR1[4]}\tA,C\t.\tPASS\t.\n"
    f"chr1\t20\t.\t{CHR1[19:22]}\t{CHR1[19]}\t50\t.\tDP=3\n"
    f"chr2\t7\t.\t{CHR2[6]}\t<DEL>\t.\t.\t.\n",
    "v.tsv": f"chrom\tpos\tref\talt\tid\nchr1\t5\t{CHR1[4]}\tA,C\trs1\nchr2\t9\t{CHR2[8]}\t*\t.\n",
}


# -- the readers and what a successful parse must satisfy ---------------------------------------


def read_genome(path: Path):
    from regzoo.data.genome import Genome

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = Genome(path)
        for chrom, size in g.chrom_sizes.items():
            assert size > 0
            seq = g.fetch(chrom, 0, size, warn=False)
            assert len(seq) == size and set(seq) <= IUPAC
            assert g.fetch_codes(chrom, size - 3, size + 3, warn=False).shape == (6,)
    return g.chrom_sizes


def read_seqs(path: Path):
    from regzoo.data.tables import read_fasta_records

    names, seqs = read_fasta_records(path)
    assert len(names) == len(seqs) and all(seqs)
    return dict(zip(names, seqs, strict=False))


def read_bed(path: Path):
    from regzoo.data.intervals import read_bed

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = read_bed(path, genome=SIZES)
    assert (df["start"] >= 0).all() and (df["start"] <= df["end"]).all()
    assert (df["end"] <= df["chrom"].map(SIZES)).all()
    for col in df.attrs["label_cols"]:
        assert np.isfinite(df[col].to_numpy()).all()
    return df[["chrom", "start", "end", *df.attrs["label_cols"]]].values.tolist()


def read_peaks(path: Path):
    from regzoo.data.windows import read_intervals

    df = read_intervals(path)
    assert (df["start"] >= 0).all() and (df["start"] < df["end"]).all()
    return df[["chrom", "start", "end"]].values.tolist()


def read_table(path: Path):
    from regzoo.data.sources import from_table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        task = from_table(path, missing_labels="mask", valid_frac=0.2, test_frac=0.2)
    x, _ = task.train[0]
    assert x.shape == (4, task.seq_len)
    return task.sizes(), task.seq_len


def read_vcf(path: Path):
    from regzoo.variants import read_variants

    variants, skipped = read_variants(path)
    for v in variants:
        assert v.pos >= 1 and v.ref and v.alt and set(v.ref + v.alt) <= set("ACGTNacgtn")
    return [(v.chrom, v.pos, v.ref, v.alt) for v in variants], dict(skipped)


READERS = {
    "genome.fa": read_genome,
    "seqs.fa": read_seqs,
    "i.bed": read_bed,
    "p.narrowPeak": read_peaks,
    "t.csv": read_table,
    "v.vcf": read_vcf,
    "v.tsv": read_vcf,
}

EXPECTED = {
    "genome.fa": {"chr1": 130, "chr2": 70},
    "seqs.fa": {"s1": "ACGTACGTAA", "s2": "GGGCCCAATTAC"},
    "i.bed": [["chr1", 10, 50, 1.0], ["chr1", 60, 90, 0.0], ["chr2", 5, 40, 1.0]],
    "p.narrowPeak": [["chr1", 10, 50], ["chr2", 0, 30]],
    "t.csv": ({"train": 6, "valid": 2, "test": 2}, 20),
    "v.vcf": (
        [
            ("chr1", 5, CHR1[4], "A"),
            ("chr1", 5, CHR1[4], "C"),
            ("chr1", 20, CHR1[19:22], CHR1[19]),
        ],
        {"symbolic": 1},
    ),
    "v.tsv": ([("chr1", 5, CHR1[4], "A"), ("chr1", 5, CHR1[4], "C")], {"symbolic": 1}),
}


def outcome(name: str, data: bytes, gz: bool = False):
    """Write ``data`` as ``name`` in a fresh folder and read it: the parse, or the error's line."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / (name + (".gz" if gz else ""))
        path.write_bytes(gzip.compress(data) if gz else data)
        try:
            return READERS[name](path)
        except RegzooError as err:
            message = str(err)
            assert message and "\n" not in message, message
            return err


# -- strategies ----------------------------------------------------------------------------------

# bytes that matter to these formats, and a few that do not belong in text at all
ALPHABET = list(b">#\n\r\t ,.-+=:;<>*[]0123456789ACGTNacgtnJZchrtk") + [0, 0x7F, 0xC3, 0xFF]
format_bytes = st.lists(st.sampled_from(ALPHABET), max_size=300).map(bytes)


@st.composite
def edited(draw, valid: bytes) -> bytes:
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["delete", "insert", "swap", "truncate", "duplicate"]))
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "delete":
            del data[i : i + draw(st.integers(1, 12))]
        elif kind == "insert":
            data[i:i] = draw(
                st.one_of(format_bytes.filter(bool), st.binary(min_size=1, max_size=8))
            )
        elif kind == "swap" and len(data) > 1:
            j = draw(st.integers(0, len(data) - 1))
            data[i], data[j] = data[j], data[i]
        elif kind == "truncate":
            del data[i:]
        elif kind == "duplicate":
            lines = bytes(data).split(b"\n")
            k = draw(st.integers(0, len(lines) - 1))
            lines.insert(k, lines[k])
            data = bytearray(b"\n".join(lines))
    return bytes(data)


# -- properties ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", READERS)
def test_valid_files_parse_to_their_content(name):
    assert outcome(name, VALID[name].encode()) == EXPECTED[name]
    if name != "v.vcf":  # pysam reads gzip-compressed VCF through htslib; covered elsewhere
        assert outcome(name, VALID[name].encode(), gz=True) == EXPECTED[name]


@pytest.mark.parametrize("name", READERS)
@FUZZ
@given(data=st.one_of(st.binary(max_size=300), format_bytes))
def test_random_bytes_parse_or_refuse(name, data):
    outcome(name, data)


@pytest.mark.parametrize("name", READERS)
@FUZZ
@given(data=st.data())
def test_edited_files_parse_or_refuse(name, data):
    raw = data.draw(edited(VALID[name].encode()))
    outcome(name, raw, gz=data.draw(st.booleans()) and name != "v.vcf")
