"""DNA <-> one-hot encoding.

Convention used everywhere in regzoo: channel order **A, C, G, T**; upper and lower case are the
same; ``N`` and every other IUPAC ambiguity code (R, Y, S, W, K, M, B, D, H, V) encode as an
**all-zero column**. Internally sequences are stored as *codes*: a ``uint8`` array with
A=0, C=1, G=2, T=3, N/ambiguous=4, which is 4x smaller than one-hot and fast to reverse-complement.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence

import numpy as np

from regzoo.errors import InputError

ALPHABET = "ACGT"
N_CODE = 4
_INVALID = 255

# byte -> code lookup table
_CODE_TABLE = np.full(256, _INVALID, dtype=np.uint8)
for _i, _base in enumerate(ALPHABET):
    _CODE_TABLE[ord(_base)] = _i
    _CODE_TABLE[ord(_base.lower())] = _i
for _amb in "NRYSWKMBDHV":
    _CODE_TABLE[ord(_amb)] = N_CODE
    _CODE_TABLE[ord(_amb.lower())] = N_CODE
_CODE_TABLE[ord("U")] = 3  # RNA uracil reads as T
_CODE_TABLE[ord("u")] = 3

# code -> one-hot rows (row 4, N, is all zeros); the reference codes_to_one_hot is tested against
_ONE_HOT_TABLE = np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), dtype=np.float32)])
_RC_CODE = np.array([3, 2, 1, 0, N_CODE], dtype=np.uint8)
_COMPLEMENT = str.maketrans("ACGTNacgtnRYSWKMBDHVryswkmbdhv", "TGCANtgcanYRSWMKVHDByrswmkvhdb")
_CODE_TO_BYTE = np.frombuffer(b"ACGTN", dtype=np.uint8)


def encode(seq: str | bytes | np.ndarray, name: str = "sequence") -> np.ndarray:
    """Encode one sequence as codes.

    Args:
        seq: DNA as ``str``, ``bytes`` or a ``uint8`` array of ASCII bytes.
        name: how to call the sequence in an error message (e.g. ``"file.fa record 3"``).

    Returns:
        ``uint8`` array of shape ``(L,)`` with A=0, C=1, G=2, T=3, N/IUPAC=4.

    Raises:
        InputError: on a character that is not an IUPAC nucleotide code; the message names the
        character and its position.
    """
    if isinstance(seq, str):
        raw = np.frombuffer(seq.encode("ascii", errors="replace"), dtype=np.uint8)
    elif isinstance(seq, bytes | bytearray):
        raw = np.frombuffer(bytes(seq), dtype=np.uint8)
    else:
        raw = np.asarray(seq, dtype=np.uint8)
    codes = _CODE_TABLE[raw]
    bad = np.flatnonzero(codes == _INVALID)
    if bad.size:
        pos = int(bad[0])
        char = chr(raw[pos]) if raw[pos] < 128 else f"\\x{raw[pos]:02x}"
        raise InputError(
            f"{name}: invalid character {char!r} at position {pos + 1} "
            f"({bad.size} invalid in total); expected A, C, G, T or an IUPAC code such as N"
        )
    return codes


def decode(codes: np.ndarray) -> str:
    """Codes ``(L,)`` -> DNA string (ambiguous bases come back as ``N``)."""
    return _CODE_TO_BYTE[np.asarray(codes, dtype=np.uint8)].tobytes().decode("ascii")


ONE_HOT_DTYPES = ("float32", "float16", "float64", "int8", "uint8", "bool")
_CHUNK_BYTES = 1 << 20  # output bytes gathered per step: the index cast stays in cache
_TABLES: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
_CODE_COLUMNS: dict[str, np.ndarray] = {}  # dtype name -> columns of codes 0-4 as wide elements


def _one_hot_dtype(dtype) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.name not in ONE_HOT_DTYPES:
        raise InputError(f"one-hot dtype {dt.name!r}; expected one of {', '.join(ONE_HOT_DTYPES)}")
    return dt


def _tables(dt: np.dtype) -> tuple[np.ndarray, np.ndarray | None]:
    """Lookup tables from ASCII bytes to one-hot columns of ``dt``, as single wide elements.

    ``per_base[b]`` holds the 4 values of byte ``b`` (4 x itemsize bytes: uint32, uint64 or
    complex128, so that a gather copies one element per base); ``pairs[b0 | b1 << 8]`` (1-byte
    dtypes only) holds two bases in one uint64. Bytes that are not IUPAC codes map to all-0xFF
    bytes, which no valid one-hot value contains (checked after each gather).
    """
    if dt.name in _TABLES:
        return _TABLES[dt.name]
    values = np.zeros((256, 4), dtype=dt)
    ok = (_CODE_TABLE != _INVALID) & (_CODE_TABLE < N_CODE)
    values[np.flatnonzero(ok), _CODE_TABLE[ok]] = 1
    raw = values.view(np.uint8).reshape(256, -1).copy()
    raw[_CODE_TABLE == _INVALID] = 0xFF
    wide = {4: np.uint32, 8: np.uint64, 16: np.complex128}.get(raw.shape[1])
    per_base = raw.view(wide).ravel() if wide else raw  # float64: (256, 32) bytes
    pairs = None
    if dt.itemsize == 1:
        lo = per_base.astype(np.uint64)
        pairs = (lo[:, None] << np.uint64(32) | lo[None, :]).ravel()  # [b0 | b1 << 8]
    _TABLES[dt.name] = (per_base, pairs)
    return per_base, pairs


def _gather(table: np.ndarray, index: np.ndarray, out: np.ndarray) -> bool:
    """``out[i] = table[index[i]]`` in cache-sized chunks; False if an invalid byte was met."""
    step = max(1, _CHUNK_BYTES // max(1, out[:1].nbytes))
    for lo in range(0, len(index), step):
        part = out[lo : lo + step]
        np.take(table, index[lo : lo + step], axis=0, out=part, mode="clip")
        if part.view(np.uint8).max() == 0xFF:
            return False
    return True


try:  # the compiled two-base gather (an optional extension: numpy below when it is missing)
    from regzoo.data._onehot import gather_pairs as _c_gather_pairs
except ImportError:  # pragma: no cover - depends on the build
    _c_gather_pairs = None
_C_MIN_BASES = 1 << 12  # below this the numpy gather is as fast (no call set-up to amortise)
_THREADS_MIN_BASES = 1 << 21  # from 2 Mbp on, split across threads (the C loop frees the GIL)


def _gather_threads(n_bases: int) -> int:
    """Threads for the C gather: ``min(4, torch.get_num_threads())`` from 2 Mbp on, else 1
    (DataLoader workers run torch with one thread, so they stay single-threaded)."""
    if n_bases < _THREADS_MIN_BASES or "torch" not in sys.modules:
        return 1
    return max(1, min(4, sys.modules["torch"].get_num_threads()))


def _gather_pairs(pairs: np.ndarray, raw: np.ndarray, out: np.ndarray) -> bool:
    """``out[i] = pairs[raw[2i] | raw[2i+1] << 8]`` (``raw``: an even number of bytes);
    False if an invalid byte was met. The compiled loop when built, else :func:`_gather`."""
    n = len(out)
    if _c_gather_pairs is None or 2 * n < _C_MIN_BASES:
        return _gather(pairs, raw.view(np.uint16), out)
    threads = _gather_threads(2 * n)
    if threads == 1:
        return _c_gather_pairs(pairs, raw, out)
    cuts = [i * n // threads for i in range(threads + 1)]
    results: list[bool | None] = [None] * threads  # None: that thread failed

    def part(i: int) -> None:
        lo, hi = cuts[i], cuts[i + 1]
        results[i] = _c_gather_pairs(pairs, raw[2 * lo : 2 * hi], out[lo:hi])

    workers = [threading.Thread(target=part, args=(i,)) for i in range(1, threads)]
    for worker in workers:
        worker.start()
    part(0)
    for worker in workers:
        worker.join()
    if None in results:
        raise RuntimeError("one_hot: a gather thread failed (see the message above)")
    return all(results)


def codes_to_one_hot(codes: np.ndarray, dtype=np.float32) -> np.ndarray:
    """Codes of shape ``(..., L)`` -> one-hot of shape ``(..., 4, L)`` (``float32`` by default;
    any of :data:`ONE_HOT_DTYPES`), the transposed view of a C-contiguous ``(..., L, 4)`` array.

    Codes index the rows A, C, G, T, N as a table would (``-5 <= code < 5``; a negative code counts
    from the end); anything else raises ``IndexError``. One gather of a whole column per code
    (a single wide element, see :func:`_tables`), in cache-sized chunks: about 10x faster than
    fancy indexing of a ``(5, 4)`` table from 64k codes up, the same for 1,000."""
    dt = _one_hot_dtype(dtype)
    codes = np.asarray(codes)
    flat = np.ascontiguousarray(codes).reshape(-1)
    if flat.size and (flat.max() >= 5 or (flat.dtype.kind != "u" and flat.min() < -5)):
        bad = flat[(flat >= 5) | (flat < -5)][0]
        raise IndexError(f"index {bad} is out of bounds for axis 0 with size 5")
    if dt.name not in _CODE_COLUMNS:
        _CODE_COLUMNS[dt.name] = _tables(dt)[0][np.frombuffer(b"ACGTN", dtype=np.uint8)]
    table = _CODE_COLUMNS[dt.name]
    out = np.empty((flat.size,) + table.shape[1:], dtype=table.dtype)
    step = max(1, _CHUNK_BYTES // max(1, out[:1].nbytes))
    for lo in range(0, flat.size, step):  # mode="wrap": in range after the check above
        np.take(table, flat[lo : lo + step], axis=0, out=out[lo : lo + step], mode="wrap")
    return np.moveaxis(out.view(dt).reshape(codes.shape + (4,)), -1, -2)


def one_hot(seq: str | bytes | np.ndarray, name: str = "sequence", dtype=np.float32) -> np.ndarray:
    """One-hot encode a DNA sequence.

    Args:
        seq: ``str``, ``bytes`` or ``uint8`` ASCII array of length L. Case-insensitive.
        name: how to call the sequence in an error message.
        dtype: output dtype: ``float32`` (default), ``float16``, ``float64``, ``int8``, ``uint8``
            or ``bool`` (1-byte dtypes are 4x smaller than float32 and the fastest to make).

    Returns:
        array of shape ``(4, L)``, rows A, C, G, T; N and other IUPAC codes are all-zero columns.
        It is the transposed view of a C-contiguous ``(L, 4)`` array (as before; use
        ``np.ascontiguousarray`` where row-contiguous memory is needed).

    Raises:
        InputError: on a character that is not an IUPAC nucleotide code (its position named).

    Speed: one gather per base from a 256-entry table of whole one-hot columns (two bases per
    gather from a 65,536-entry table for 1-byte dtypes), in cache-sized chunks, instead of
    encoding to codes first (see ``benchmarks/bench_loader.py`` and ``benchmarks/bench_peers.py``).
    For 1-byte dtypes the two-base gather runs in a small C loop built at install
    (``regzoo/data/_onehot.c``; numpy's gather, which casts its index to intp and re-reads the
    output for the validity check, is the fallback when it was not built), on up to
    ``min(4, torch.get_num_threads())`` threads from 2 Mbp on: most of the time of a long
    sequence is the kernel faulting in the fresh output's pages, which threads share.

    >>> one_hot("ACgN")[:, 2]
    array([0., 0., 1., 0.], dtype=float32)
    """
    dt = _one_hot_dtype(dtype)
    if isinstance(seq, str):
        raw = np.frombuffer(seq.encode("ascii", errors="replace"), dtype=np.uint8)
    elif isinstance(seq, bytes | bytearray):
        raw = np.frombuffer(bytes(seq), dtype=np.uint8)
    else:
        raw = np.ascontiguousarray(seq, dtype=np.uint8).reshape(-1)
    n = len(raw)
    per_base, pairs = _tables(dt)
    if pairs is not None:
        out = np.empty((n + 1) // 2, dtype=np.uint64)
        ok = _gather_pairs(pairs, raw[: n - n % 2], out[: n // 2])
        if ok and n % 2:
            out[-1] = np.uint64(per_base[raw[-1]])
            ok = int(per_base[raw[-1]]) != 0xFFFFFFFF
        flat = out.view(dt)[: 4 * n]
    else:
        out = np.empty((n,) + per_base.shape[1:], dtype=per_base.dtype)
        ok = _gather(per_base, raw, out)
        flat = out.view(dt)
    if not ok:
        encode(raw, name)  # raises the error naming the first invalid character
    return flat.reshape(n, 4).T


def _join_equal_length(seqs: Sequence[str | bytes], name: str) -> tuple[str, int]:
    """The sequences (at least one) as one string, and their common length."""
    lengths = {len(s) for s in seqs}
    if len(lengths) != 1:
        raise InputError(
            f"{name}: sequences have different lengths {sorted(lengths)[:5]}; "
            "pad or crop them to one length first (see regzoo.data.fit_length)"
        )
    joined = "".join(s if isinstance(s, str) else s.decode("ascii") for s in seqs)
    return joined, lengths.pop()


def encode_batch(seqs: Sequence[str | bytes], name: str = "sequences") -> np.ndarray:
    """Encode many sequences of equal length as codes, shape ``(N, L)`` ``uint8``."""
    if len(seqs) == 0:
        return np.zeros((0, 0), dtype=np.uint8)
    joined, length = _join_equal_length(seqs, name)
    return encode(joined, name).reshape(len(seqs), length)


def one_hot_batch(
    seqs: Sequence[str | bytes], name: str = "sequences", dtype=np.float32
) -> np.ndarray:
    """One-hot encode N equal-length sequences -> ``(N, 4, L)`` (``float32`` by default; any of
    :data:`ONE_HOT_DTYPES`), the transposed view of a C-contiguous ``(N, L, 4)`` array, equal to
    ``codes_to_one_hot(encode_batch(seqs), dtype)``. The sequences are joined and encoded by
    :func:`one_hot` in one call (about 1.4x faster than those codes then ``codes_to_one_hot``,
    4x faster than the table lookup that function did before); an invalid
    character is named by its position in the joined string, as :func:`encode_batch` does."""
    if len(seqs) == 0:
        return codes_to_one_hot(np.zeros((0, 0), dtype=np.uint8), dtype)
    joined, length = _join_equal_length(seqs, name)
    columns = one_hot(joined, name, dtype).T  # (N * L, 4), C-contiguous
    return columns.reshape(len(seqs), length, 4).transpose(0, 2, 1)


def reverse_complement(x):
    """Reverse complement of a sequence in any of regzoo's forms.

    Accepts a ``str`` (IUPAC codes complemented, case kept), a codes array ``(..., L)``
    (``uint8``), or a one-hot array or tensor ``(..., 4, L)`` (float; channels A, C, G, T, so the
    complement is the channel flip). Returns the same type and shape.
    """
    if isinstance(x, str):
        return x.translate(_COMPLEMENT)[::-1]
    try:  # torch tensors, without importing torch here
        import torch

        if isinstance(x, torch.Tensor):
            return torch.flip(x, dims=(-2, -1))
    except ImportError:  # pragma: no cover
        pass
    arr = np.asarray(x)
    if arr.dtype == np.uint8:
        return _RC_CODE[arr][..., ::-1].copy()
    return arr[..., ::-1, ::-1].copy()


def fit_length(codes: np.ndarray, seq_len: int) -> np.ndarray:
    """Centre a code sequence in a window of ``seq_len``: crop or pad with N equally on both sides.

    Rule (used for every table/FASTA input of unequal length): if the sequence is longer, keep its
    central ``seq_len`` bases (an odd surplus drops the extra base on the right); if shorter, pad with
    N (all-zero one-hot), the extra base of an odd deficit going to the right.
    """
    length = codes.shape[-1]
    if length == seq_len:
        return codes
    if length > seq_len:
        start = (length - seq_len) // 2
        return codes[..., start : start + seq_len]
    left = (seq_len - length) // 2
    out = np.full(codes.shape[:-1] + (seq_len,), N_CODE, dtype=np.uint8)
    out[..., left : left + length] = codes
    return out
