"""On-disk genome code cache: a FASTA converted once into memory-mapped ``uint8`` codes.

Layout, under ``<cache>/genome_codes/<stem>-<path hash>-<fingerprint hash>/`` (``<cache>`` is
:func:`regzoo.data.genome.cache_dir`):

- ``codes.u8``: every record's codes (A=0, C=1, G=2, T=3, N/IUPAC=4; :mod:`regzoo.data.encode`)
  concatenated in file order, no separators;
- ``index.json``: ``names``, ``offsets``, ``sizes`` and the ``source`` fingerprint (resolved path,
  size, ``mtime_ns`` and a SHA-1 of the file's first and last MiB).

Rules:

- **Atomic**: the folder is written under a temporary name (``.tmp-...``) and renamed into place
  with :func:`os.replace` only when both files are complete, so a crash (or a killed process) never
  leaves a folder that looks valid; a leftover temporary folder is never read.
- **Fingerprinted**: the folder name holds a hash of the fingerprint, so a changed FASTA (size,
  mtime or first/last MiB) gets a new folder and is rebuilt; the stale folders of the same path are
  removed after a successful build.
- Plain gzip, bgzip and uncompressed FASTA are streamed (no decompressed copy is kept).

:class:`GenomeCache` reads it: ``fetch`` / ``fetch_batch`` return codes (``N`` outside a
chromosome, reverse-complement codes on ``-``). The memory map is opened lazily and dropped on
pickling, so DataLoader workers and DDP ranks each map the same file (the OS shares the pages; no
per-worker copy).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from regzoo.data.encode import _CODE_TABLE, _INVALID, _RC_CODE, N_CODE
from regzoo.data.genome import cache_dir, chrom_mismatch_hint
from regzoo.errors import InputError, NameNotFoundError

log = logging.getLogger(__name__)

CACHE_VERSION = 1
CODES_FILE = "codes.u8"
INDEX_FILE = "index.json"
_BLOCK = 1 << 24  # bytes read per block when converting
_HASH_SPAN = 1 << 20  # bytes hashed at each end of the source
_SLICE_MIN_LEN = 2048  # fetch_batch: per-row slices for windows at least this long


def _example_names(names: list[str], k: int = 5) -> str:
    shown = ", ".join(names[:k])
    return shown + (f", ... ({len(names)} in total)" if len(names) > k else "")


def fingerprint(path: str | os.PathLike) -> dict:
    """``{"path", "size", "mtime_ns", "head_tail_sha1"}`` of a file (reads at most 2 MiB)."""
    path = Path(path).resolve()
    st = path.stat()
    digest = hashlib.sha1()
    with open(path, "rb") as fh:
        digest.update(fh.read(_HASH_SPAN))
        if st.st_size > 2 * _HASH_SPAN:
            fh.seek(st.st_size - _HASH_SPAN)
        digest.update(fh.read(_HASH_SPAN))
    return {
        "path": str(path),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "head_tail_sha1": digest.hexdigest(),
    }


def _short_hash(obj) -> str:
    return hashlib.sha1(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:10]


def _cache_root(cache_root: str | os.PathLike | None) -> Path:
    root = Path(cache_root) if cache_root is not None else cache_dir() / "genome_codes"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _path_prefix(fasta: Path) -> str:
    stem = fasta.name.split(".")[0][:40] or "genome"
    return f"{stem}-{_short_hash(str(fasta.resolve()))}"


def cache_path(fasta: str | os.PathLike, cache_root: str | os.PathLike | None = None) -> Path:
    """The folder where the cache of ``fasta`` is (or will be) for its current fingerprint."""
    fasta = Path(fasta)
    key = _short_hash([CACHE_VERSION, fingerprint(fasta)])
    return _cache_root(cache_root) / f"{_path_prefix(fasta)}-{key}"


def _is_valid(folder: Path) -> bool:
    index = folder / INDEX_FILE
    codes = folder / CODES_FILE
    if not (index.is_file() and codes.is_file()):
        return False
    try:
        meta = json.loads(index.read_text())
    except (OSError, ValueError):
        return False
    return meta.get("version") == CACHE_VERSION and codes.stat().st_size == meta.get("total")


# -- conversion ---------------------------------------------------------------------------------


def _open_fasta(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _complete_lines(fh) -> Iterator[bytes]:
    """Blocks of whole lines (each ending in a newline, but perhaps the last)."""
    carry = b""
    while True:
        chunk = fh.read(_BLOCK)
        if not chunk:
            break
        data = carry + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            carry = data
            continue
        carry = data[cut + 1 :]
        yield data[: cut + 1]
    if carry:
        yield carry + b"\n"


def _records(fh) -> Iterator[tuple[str, bytes]]:
    """``("header", name)`` and ``("seq", raw bytes with newlines)`` events of a FASTA stream."""
    for block in _complete_lines(fh):
        pos = 0
        while pos < len(block):
            if block[pos : pos + 1] == b">":
                eol = block.index(b"\n", pos)
                header = block[pos + 1 : eol].decode("utf-8", errors="replace").strip()
                yield "header", header.split()[0] if header.split() else ""
                pos = eol + 1
                continue
            nxt = block.find(b"\n>", pos)
            end = len(block) if nxt < 0 else nxt + 1
            yield "seq", block[pos:end]
            pos = end


def write_codes(fasta: Path, out: Path) -> dict:
    """Convert ``fasta`` into ``out/codes.u8``; returns ``{"names", "sizes"}``.

    Raises:
        InputError: no ``>`` header before sequence, an empty or duplicate record, or an invalid
            character (named with record and 1-based position).
    """
    names: list[str] = []
    sizes: list[int] = []
    with _open_fasta(fasta) as fh, open(out / CODES_FILE, "wb") as dst:
        try:
            for kind, value in _records(fh):
                if kind == "header":
                    if not value:
                        raise InputError(f"{fasta}: a '>' header without a name")
                    if value in names:
                        raise InputError(f"{fasta}: duplicate record name {value!r}")
                    if names and sizes[-1] == 0:
                        raise InputError(f"{fasta}: record {names[-1]!r} has an empty sequence")
                    names.append(value)
                    sizes.append(0)
                    continue
                raw = np.frombuffer(value, dtype=np.uint8)
                raw = raw[(raw != 10) & (raw != 13) & (raw != 32) & (raw != 9)]
                if not raw.size:
                    continue
                if not names:
                    raise InputError(f"{fasta}: sequence before the first '>' header")
                codes = _CODE_TABLE[raw]
                bad = np.flatnonzero(codes == _INVALID)
                if bad.size:
                    char = chr(raw[bad[0]]) if raw[bad[0]] < 128 else f"\\x{raw[bad[0]]:02x}"
                    raise InputError(
                        f"{fasta}: record {names[-1]!r}: invalid character {char!r} at position "
                        f"{sizes[-1] + int(bad[0]) + 1}; expected A, C, G, T or an IUPAC code"
                    )
                dst.write(codes.tobytes())
                sizes[-1] += int(codes.size)
        except (OSError, EOFError) as err:
            raise InputError(f"{fasta}: cannot read ({err})") from err
    if not names:
        raise InputError(f"{fasta}: no '>' header; expected a FASTA file")
    if sizes[-1] == 0:
        raise InputError(f"{fasta}: record {names[-1]!r} has an empty sequence")
    return {"names": names, "sizes": sizes}


def build_genome_cache(
    fasta: str | os.PathLike, cache_root: str | os.PathLike | None = None, force: bool = False
) -> Path:
    """The cache folder of ``fasta``, built once (atomically) for its current fingerprint.

    Args:
        fasta: FASTA file: plain, gzip or bgzip.
        cache_root: parent folder; default ``cache_dir() / "genome_codes"``.
        force: rebuild even when a valid cache exists.

    Returns:
        the folder holding ``codes.u8`` and ``index.json`` (open it with :class:`GenomeCache`).
    """
    fasta = Path(fasta)
    if not fasta.is_file():
        raise InputError(f"{fasta}: genome FASTA not found")
    final = cache_path(fasta, cache_root)
    if _is_valid(final) and not force:
        return final
    root = final.parent
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=root))
    try:
        meta = write_codes(fasta, tmp)
        offsets = np.concatenate([[0], np.cumsum(meta["sizes"])[:-1]]).astype(int).tolist()
        index = {
            "version": CACHE_VERSION,
            "names": meta["names"],
            "sizes": meta["sizes"],
            "offsets": offsets,
            "total": int(sum(meta["sizes"])),
            "source": fingerprint(fasta),
        }
        (tmp / INDEX_FILE).write_text(json.dumps(index, indent=1))
        if final.exists() and not force and _is_valid(final):  # another process was faster
            shutil.rmtree(tmp, ignore_errors=True)
            return final
        if final.exists():  # a forced rebuild, or an invalid folder
            trash = Path(tempfile.mkdtemp(prefix=f".old-{final.name}-", dir=root))
            os.replace(final, trash / "old")
            shutil.rmtree(trash, ignore_errors=True)
        try:
            os.replace(tmp, final)
        except OSError:  # another process put a complete cache there first
            if not _is_valid(final):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    prefix = _path_prefix(fasta) + "-"
    for stale in root.glob(prefix + "*"):
        if stale != final and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
            log.info("removed the stale genome cache %s", stale)
    log.info("built the genome code cache of %s in %s", fasta, final)
    return final


# -- reading ------------------------------------------------------------------------------------


class GenomeCache:
    """Random access to a genome code cache (see the module docstring).

    Args:
        path: a cache folder (from :func:`build_genome_cache`) or a FASTA file (its cache is built
            first when needed).

    Attributes:
        names: record names in file order. ``chrom_sizes``: ``{name: length}``.
        offsets: ``int64`` ``(n_chroms,)`` start of each record in ``codes.u8``.
        source: the fingerprint of the FASTA the cache was built from.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        path = Path(path)
        if path.is_file():
            path = build_genome_cache(path)
        if not _is_valid(path):
            raise InputError(f"{path}: not a complete genome code cache (no valid {INDEX_FILE})")
        self.path = path
        meta = json.loads((path / INDEX_FILE).read_text())
        self.names: list[str] = list(meta["names"])
        self.sizes = np.asarray(meta["sizes"], dtype=np.int64)
        self.offsets = np.asarray(meta["offsets"], dtype=np.int64)
        self.chrom_sizes: dict[str, int] = dict(zip(self.names, meta["sizes"], strict=True))
        self.total = int(meta["total"])
        self.source: dict = meta["source"]
        self._index = {name: i for i, name in enumerate(self.names)}
        self._codes: np.ndarray | None = None

    @property
    def codes(self) -> np.ndarray:
        """The whole genome as a read-only ``uint8`` memory map ``(total,)``, opened on first use."""
        if self._codes is None:
            self._codes = np.memmap(self.path / CODES_FILE, dtype=np.uint8, mode="r")
        return self._codes

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_codes"] = None  # each process maps the file itself
        return state

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"GenomeCache({str(self.path)!r}, {len(self.names)} records, {self.total} bp)"

    def chrom_index(self, chrom: str) -> int:
        """Position of ``chrom`` in :attr:`names`; raises a :class:`NameNotFoundError`."""
        try:
            return self._index[chrom]
        except KeyError:
            raise NameNotFoundError(
                f"{self.source['path']}: unknown chromosome {chrom!r}"
                f"{chrom_mismatch_hint(chrom, self.names)}; this genome's names: "
                f"{_example_names(self.names)}"
            ) from None

    def chrom_codes(self, chrom: str) -> np.ndarray:
        """A whole chromosome's codes ``(size,)`` (a view on the memory map)."""
        i = self.chrom_index(chrom)
        return self.codes[self.offsets[i] : self.offsets[i] + self.sizes[i]]

    def fetch(self, chrom: str, start: int, end: int, strand: str = "+") -> np.ndarray:
        """Codes of ``chrom[start:end]`` (0-based, half-open) -> ``uint8`` ``(end - start,)``.

        Positions outside the chromosome are ``N`` (4); on ``strand="-"`` the reverse complement.
        """
        if strand not in ("+", "-"):
            raise InputError(f"strand {strand!r}; expected '+' or '-'")
        start, end = int(start), int(end)
        if end < start:
            raise InputError(f"{chrom}:{start}-{end}: start is after end")
        out = self.fetch_batch([self.chrom_index(chrom)], [start], end - start)[0]
        return _RC_CODE[out[::-1]] if strand == "-" else out

    def fetch_batch(
        self,
        chroms: Sequence[int] | Sequence[str] | np.ndarray,
        starts: Sequence[int] | np.ndarray,
        length: int,
        strands: Sequence[str] | np.ndarray | None = None,
    ) -> np.ndarray:
        """Codes of B windows of one length -> ``uint8`` ``(B, length)``.

        Args:
            chroms: ``(B,)`` chromosome indices (into :attr:`names`) or names.
            starts: ``(B,)`` 0-based window starts (may be negative or run past the end: those
                positions are ``N``).
            length: window length.
            strands: ``(B,)`` of ``"+"``/``"-"`` (or booleans, True = minus); ``-`` rows are
                reverse-complemented. Default all ``+``.

        Windows of at least 2,048 bp are copied row by row as slices of the memory map (one
        ``memcpy`` each, the fastest read); shorter ones in one fancy-indexing gather over a
        ``(B, length)`` index grid.
        """
        idx = np.asarray(chroms)
        if idx.dtype.kind in "US":
            idx = np.array([self.chrom_index(str(c)) for c in idx], dtype=np.int64)
        idx = idx.astype(np.int64, copy=False)
        starts = np.asarray(starts, dtype=np.int64)
        n = len(starts)
        if len(idx) != n:
            raise InputError(f"fetch_batch: {len(idx)} chromosomes but {n} starts")
        sizes, offsets = self.sizes[idx], self.offsets[idx]
        codes = self.codes
        inside = (starts >= 0) & (starts + length <= sizes)
        if length >= _SLICE_MIN_LEN or n == 1:
            out = np.empty((n, length), dtype=np.uint8)
            for row in range(n):
                s, size, off = int(starts[row]), int(sizes[row]), int(offsets[row])
                if inside[row]:
                    out[row] = codes[off + s : off + s + length]
                else:
                    out[row] = N_CODE
                    lo, hi = max(s, 0), min(s + length, size)
                    if hi > lo:
                        out[row, lo - s : hi - s] = codes[off + lo : off + hi]
        else:
            pos = starts[:, None] + np.arange(length, dtype=np.int64)
            if inside.all():
                out = codes[pos + offsets[:, None]]
            else:
                valid = (pos >= 0) & (pos < sizes[:, None])
                out = codes[np.where(valid, pos + offsets[:, None], 0)]
                out[~valid] = N_CODE
        if strands is not None:
            strands = np.asarray(strands)
            minus = strands if strands.dtype == bool else strands == "-"
            if minus.any():
                out[minus] = _RC_CODE[out[minus, ::-1]]
        return out
