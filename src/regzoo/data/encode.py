"""DNA <-> one-hot encoding.

Convention used everywhere in regzoo: channel order **A, C, G, T**; upper and lower case are the
same; ``N`` and every other IUPAC ambiguity code (R, Y, S, W, K, M, B, D, H, V) encode as an
**all-zero column**. Internally sequences are stored as *codes*: a ``uint8`` array with
A=0, C=1, G=2, T=3, N/ambiguous=4, which is 4x smaller than one-hot and fast to reverse-complement.
"""

from __future__ import annotations

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

# code -> one-hot rows (row 4, N, is all zeros)
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


def codes_to_one_hot(codes: np.ndarray) -> np.ndarray:
    """Codes of shape ``(..., L)`` -> one-hot ``float32`` of shape ``(..., 4, L)``."""
    return np.moveaxis(_ONE_HOT_TABLE[codes], -1, -2)


def one_hot(seq: str | bytes | np.ndarray, name: str = "sequence") -> np.ndarray:
    """One-hot encode a DNA sequence.

    Args:
        seq: ``str``, ``bytes`` or ``uint8`` ASCII array of length L. Case-insensitive.

    Returns:
        ``float32`` array of shape ``(4, L)``, rows A, C, G, T; N and other IUPAC codes are
        all-zero columns.

    >>> one_hot("ACgN")[:, 2]
    array([0., 0., 1., 0.], dtype=float32)
    """
    return codes_to_one_hot(encode(seq, name))


def encode_batch(seqs: Sequence[str | bytes], name: str = "sequences") -> np.ndarray:
    """Encode many sequences of equal length as codes, shape ``(N, L)`` ``uint8``."""
    if len(seqs) == 0:
        return np.zeros((0, 0), dtype=np.uint8)
    lengths = {len(s) for s in seqs}
    if len(lengths) != 1:
        raise InputError(
            f"{name}: sequences have different lengths {sorted(lengths)[:5]}; "
            "pad or crop them to one length first (see regzoo.data.fit_length)"
        )
    joined = "".join(s if isinstance(s, str) else s.decode("ascii") for s in seqs)
    return encode(joined, name).reshape(len(seqs), -1)


def one_hot_batch(seqs: Sequence[str | bytes], name: str = "sequences") -> np.ndarray:
    """One-hot encode N equal-length sequences -> ``float32`` ``(N, 4, L)``."""
    return codes_to_one_hot(encode_batch(seqs, name))


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
