"""Random access to a reference genome in FASTA format.

:class:`Genome` wraps :mod:`pyfaidx`. Coordinates are **0-based, half-open** (BED style) everywhere.

Compressed files:

- **bgzip** (``bgzip file.fa``; blocked gzip) is read in place, with a ``.fai`` and ``.gzi`` index.
- **plain gzip** (``gzip file.fa``, e.g. the NCBI ``*_genomic.fna.gz`` downloads) cannot be read at
  random. regzoo's choice: decompress it **once** into the cache (``<cache>/genomes/``, see
  :func:`cache_dir`) and read the copy; the copy is keyed on the source's path, size and modification
  time, so it is reused until the source changes. Pass ``decompress=False`` to refuse such a file
  instead (the error says to run ``gunzip`` or ``bgzip``).

The cache directory is ``platformdirs.user_cache_dir("regzoo")``, or ``$REGZOO_CACHE`` when set.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import platformdirs
import pyfaidx

from regzoo.data.encode import _CODE_TABLE, _INVALID, encode, reverse_complement
from regzoo.errors import InputError, NameNotFoundError

log = logging.getLogger(__name__)

CACHE_ENV = "REGZOO_CACHE"
_VALIDATE_CHUNK = 1 << 24  # bases per validation read


def cache_dir() -> Path:
    """regzoo's cache directory: ``$REGZOO_CACHE`` if set, else the user cache dir. Created."""
    path = Path(os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir("regzoo"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def gzip_kind(path: str | os.PathLike) -> str:
    """``"bgzip"``, ``"gzip"`` (plain) or ``"none"``, from the file's first bytes."""
    with open(path, "rb") as fh:
        head = fh.read(18)
    if head[:2] != b"\x1f\x8b":
        return "none"
    # bgzip: FEXTRA flag set and a 'BC' extra subfield
    if len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC":
        return "bgzip"
    return "gzip"


def _source_key(path: Path) -> str:
    st = path.stat()
    text = f"{path.resolve()}|{st.st_size}|{int(st.st_mtime)}"
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def decompressed_copy(path: str | os.PathLike) -> Path:
    """Decompress a plain-gzip FASTA once into ``<cache>/genomes/`` and return the copy's path.

    The copy is reused while the source keeps its path, size and modification time. The write is
    atomic (temporary file, then rename), so parallel processes never see half a file.
    """
    path = Path(path)
    stem = path.name[:-3] if path.name.endswith(".gz") else path.name
    out = cache_dir() / "genomes" / f"{_source_key(path)}-{stem}"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with gzip.open(path, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, length=1 << 22)
        os.replace(tmp, out)
    except (OSError, EOFError) as err:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot decompress ({err}); expected a gzip FASTA") from err
    log.info("decompressed %s into %s (once; reused from the cache)", path, out)
    return out


def _first_line(path: Path, compressed: bool) -> bytes:
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as fh:
            for line in fh:
                if line.strip():
                    return line.strip()
    except (OSError, EOFError) as err:
        raise InputError(f"{path}: cannot read ({err})") from err
    return b""


def _example_names(names: list[str], k: int = 5) -> str:
    shown = ", ".join(names[:k])
    return shown + (f", ... ({len(names)} in total)" if len(names) > k else "")


def chrom_mismatch_hint(name: str, names: list[str]) -> str:
    """A hint when ``name`` differs from a genome name only by a ``chr`` prefix."""
    if name.startswith("chr") and name[3:] in names:
        return f"; the genome calls it {name[3:]!r} (no 'chr' prefix)"
    if "chr" + name in names:
        return f"; the genome calls it {'chr' + name!r}"
    return ""


def index_problem(path: Path, index) -> str | None:
    """Why a ``.fai`` index does not describe the (uncompressed) FASTA ``path``, or None.

    Each record's header line must lie between the previous record's last base and the record's
    first base, name the record, and only whitespace may follow the last record. One short read
    per record, so it is cheap even for genomes of many scaffolds.
    """
    size = path.stat().st_size
    prev_end = 0
    with open(path, "rb") as fh:
        for name, rec in index.items():
            gap = rec.offset - prev_end
            if gap < 2 or gap > 1 << 16 or rec.offset > size:
                return f"record {name!r} is not where the index says"
            fh.seek(prev_end)
            head = fh.read(gap).strip()
            words = head[1:].split()
            if not head.startswith(b">") or b"\n" in head or not words or words[0] != name.encode():
                return f"no header '>{name}' before the bases of record {name!r}"
            prev_end = rec.bend
        fh.seek(prev_end)
        if fh.read(4096).strip():
            return "the FASTA holds more sequence than the index describes"
    return None


class Genome:
    """A FASTA genome with random access.

    Args:
        path: FASTA file, plain, bgzip-compressed or plain-gzip (see the module docstring).
        decompress: decompress a plain-gzip file into the cache (default) instead of refusing it.
        validate: check every record once on opening: no empty record, only IUPAC nucleotide codes
            (about 0.1 s per 30 Mb). Turn off for very large genomes you trust.

    Attributes:
        source: the path given. ``path``: the file actually read (the cached copy for plain gzip).
        chrom_sizes: ``{name: length}`` in file order.
        padded_bases: how many bases :meth:`fetch` has padded with ``N`` past chromosome ends.

    Raises:
        InputError: missing file, no ``>`` header, empty record, invalid character, duplicate
            record name or inconsistent line lengths; the message names the file and record.
    """

    def __init__(
        self, path: str | os.PathLike, decompress: bool = True, validate: bool = True
    ) -> None:
        self.source = Path(path)
        if not self.source.is_file():
            raise InputError(f"{self.source}: genome FASTA not found")
        kind = gzip_kind(self.source)
        first = _first_line(self.source, compressed=kind != "none")
        if not first.startswith(b">"):
            what = "is empty" if not first else f"starts with {first[:20]!r}"
            raise InputError(f"{self.source}: not a FASTA file (it {what}); expected a '>' header")
        if kind == "gzip":
            if not decompress:
                raise InputError(
                    f"{self.source}: plain gzip cannot be read at random; run "
                    f"'gunzip {self.source.name}' or recompress with 'bgzip' "
                    f"(zcat {self.source.name} | bgzip > {self.source.stem}.bgz)"
                )
            self.path = decompressed_copy(self.source)
        else:
            self.path = self.source
        self._fasta: pyfaidx.Fasta | None = None
        self._pid = -1
        fai = Path(self._index_names().get("indexname", f"{self.path}.fai"))
        # an index pyfaidx will not rebuild (not older than the FASTA) is checked against it
        kept = fai.is_file() and fai.stat().st_mtime >= self.path.stat().st_mtime
        fasta = self._open()
        if kept and kind != "bgzip":
            fasta = self._check_index(fasta)
        self.chrom_sizes: dict[str, int] = {k: len(fasta[k]) for k in fasta.keys()}
        self.padded_bases = 0
        if validate:
            self.validate()

    # -- opening -------------------------------------------------------------------------------

    def _index_names(self) -> dict:
        if os.access(self.path.parent, os.W_OK):
            return {}
        base = cache_dir() / "indexes" / f"{_source_key(self.path)}-{self.path.name}"
        base.parent.mkdir(parents=True, exist_ok=True)
        return {"indexname": f"{base}.fai", "gzi_indexname": f"{base}.gzi"}

    def _open(self) -> pyfaidx.Fasta:
        """The pyfaidx handle, reopened in a new process (DataLoader workers must not share one)."""
        if self._fasta is None or self._pid != os.getpid():
            try:
                self._fasta = pyfaidx.Fasta(
                    str(self.path),
                    as_raw=True,
                    sequence_always_upper=False,
                    **self._index_names(),
                )
            except pyfaidx.FastaIndexingError as err:
                raise InputError(f"{self.source}: cannot index FASTA: {err}") from err
            except UnicodeDecodeError as err:
                raise InputError(
                    f"{self.source}: byte {err.object[err.start]:#04x} is not text; expected a "
                    "FASTA file (ASCII headers and bases)"
                ) from None
            except ValueError as err:  # duplicate record names
                raise InputError(f"{self.source}: {err}; record names must be unique") from err
            self._pid = os.getpid()
        return self._fasta

    def _check_index(self, fasta: pyfaidx.Fasta) -> pyfaidx.Fasta:
        """Rebuild a stale ``.fai`` (one that no longer describes the FASTA, e.g. left from an
        older version of the file but newer than it), with a warning; return the handle to use."""
        why = index_problem(self.path, fasta.faidx.index)
        if why is None:
            return fasta
        fai = Path(fasta.faidx.indexname)
        fasta.close()
        self._fasta = None
        try:
            fai.unlink()
        except OSError as err:
            raise InputError(
                f"{fai}: the FASTA index does not match {self.source} ({why}) and cannot be "
                f"removed ({err.strerror}); delete it or run 'samtools faidx'"
            ) from None
        warnings.warn(
            f"{fai}: stale FASTA index ({why}); rebuilt it from {self.source}", stacklevel=3
        )
        return self._open()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_fasta"] = None
        return state

    def close(self) -> None:
        if self._fasta is not None:
            self._fasta.close()
            self._fasta = None

    def __enter__(self) -> Genome:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Genome({str(self.source)!r}, {len(self.chrom_sizes)} records)"

    # -- checks --------------------------------------------------------------------------------

    @property
    def chroms(self) -> list[str]:
        """Record names in file order."""
        return list(self.chrom_sizes)

    def check_chrom(self, chrom: str) -> None:
        """Raise a :class:`NameNotFoundError` listing example names if ``chrom`` is unknown."""
        if chrom not in self.chrom_sizes:
            raise NameNotFoundError(
                f"{self.source}: unknown chromosome {chrom!r}"
                f"{chrom_mismatch_hint(chrom, self.chroms)}; "
                f"this genome's names: {_example_names(self.chroms)}"
            )

    def validate(self) -> None:
        """Check every record: non-empty and only IUPAC codes. Raises :class:`InputError`."""
        fasta = self._open()
        layout = None if gzip_kind(self.path) == "bgzip" else np.memmap(self.path, np.uint8, "r")
        for chrom, size in self.chrom_sizes.items():
            if size == 0:
                raise InputError(f"{self.source}: record {chrom!r} has an empty sequence")
            if layout is not None:
                self._check_layout(layout, chrom, fasta.faidx.index[chrom])
            for start in range(0, size, _VALIDATE_CHUNK):
                seq = fasta[chrom][start : min(start + _VALIDATE_CHUNK, size)]
                raw = np.frombuffer(seq.encode("ascii", errors="replace"), dtype=np.uint8)
                bad = np.flatnonzero(_CODE_TABLE[raw] == _INVALID)
                if bad.size:
                    pos = start + int(bad[0])
                    raise InputError(
                        f"{self.source}: record {chrom!r}: invalid character "
                        f"{chr(raw[bad[0]])!r} at position {pos + 1}; expected A, C, G, T or an "
                        "IUPAC code such as N"
                    )

    def _check_layout(self, raw: np.ndarray, chrom: str, rec) -> None:
        """The record's bytes are laid out as its index entry says: every line but the last holds
        ``lenc`` bases, then the same line end; the last line ends the record. Otherwise pyfaidx
        would return wrong bases without an error."""
        width, eol = rec.lenc, rec.lenb - rec.lenc
        n_lines = -(-rec.rlen // width)
        ends = rec.offset + rec.lenb * np.arange(1, n_lines, dtype=np.int64) - eol
        last_len = rec.rlen - (n_lines - 1) * width
        bend = rec.offset + (n_lines - 1) * rec.lenb + last_len
        ok = eol in (1, 2) and bend <= raw.size and (ends + eol <= raw.size).all()
        if ok:
            body = raw[rec.offset : bend]
            newline_ok = raw[ends + eol - 1] == 10
            cr_ok = raw[ends] == 13 if eol == 2 else np.ones(len(ends), dtype=bool)
            ok = (
                bool(newline_ok.all() and cr_ok.all())
                and int(np.count_nonzero(body == 10)) == len(ends)
                and int(np.count_nonzero(body == 13)) == (len(ends) if eol == 2 else 0)
                and (bend == raw.size or raw[bend] in (10, 13))
            )
        if ok:
            return
        line = int(np.count_nonzero(raw[: min(rec.offset, raw.size)] == 10)) + 1
        lines = bytes(raw[rec.offset : min(raw.size, bend + rec.lenb + 2)]).split(b"\n")
        bad = next(
            (i for i, text in enumerate(lines[:n_lines]) if len(text.rstrip(b"\r")) != width),
            n_lines - 1,
        )
        found = len(lines[bad].rstrip(b"\r")) if bad < len(lines) else 0
        raise InputError(
            f"{self.source}:{line + bad}: record {chrom!r}: line {bad + 1} of its sequence has "
            f"{found} bases but its first line has {width}; every line of a record but the last "
            "must be equally long"
        )

    # -- access --------------------------------------------------------------------------------

    def fetch(self, chrom: str, start: int, end: int, strand: str = "+", warn: bool = True) -> str:
        """Sequence of ``chrom[start:end]`` (0-based, half-open), 5'->3' on ``strand``.

        Bases past either chromosome end are returned as ``N``; they are counted in
        :attr:`padded_bases` and, unless ``warn=False``, reported with :func:`warnings.warn`.
        Case is kept as in the file (soft-masked bases stay lower case).

        Returns:
            ``str`` of length ``end - start``; reverse-complemented when ``strand == "-"``.
        """
        self.check_chrom(chrom)
        start, end = int(start), int(end)
        if end < start:
            raise InputError(f"{self.source}: {chrom}:{start}-{end}: start is after end")
        if strand not in ("+", "-"):
            raise InputError(f"{self.source}: strand {strand!r}; expected '+' or '-'")
        size = self.chrom_sizes[chrom]
        lo, hi = max(start, 0), min(end, size)
        if hi > lo:
            seq = self._open()[chrom][lo:hi]
            left, right = lo - start, end - hi
        else:  # entirely off the chromosome
            seq, left, right = "", end - start, 0
        if left or right:
            self.padded_bases += left + right
            seq = "N" * left + seq + "N" * right
            if warn:
                warnings.warn(
                    f"{self.source}: {chrom}:{start}-{end} runs past the chromosome "
                    f"(length {size}); padded {left + right} bases with N "
                    f"({self.padded_bases} padded so far, see Genome.padded_bases)",
                    stacklevel=2,
                )
        return reverse_complement(seq) if strand == "-" else seq

    def fetch_codes(
        self, chrom: str, start: int, end: int, strand: str = "+", warn: bool = True
    ) -> np.ndarray:
        """Like :meth:`fetch` but returns ``uint8`` codes of shape ``(end - start,)``."""
        seq = self.fetch(chrom, start, end, strand, warn=warn)
        return encode(seq, name=f"{self.source} {chrom}:{start}-{end}")

    def chrom_codes(self, chrom: str) -> np.ndarray:
        """A whole chromosome as ``uint8`` codes, shape ``(chrom_sizes[chrom],)`` (+ strand)."""
        self.check_chrom(chrom)
        return encode(self._open()[chrom][:], name=f"{self.source} record {chrom!r}")
