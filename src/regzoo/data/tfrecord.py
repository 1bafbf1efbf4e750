"""Basenji TFRecord folders, read without TensorFlow.

Basenji (``basenji_data_write.py``) and Baskerville write training data as TFRecord files, each
compressed **as a whole** with ZLIB (``TFRecordOptions(compression_type="ZLIB")``), holding one
``tf.train.Example`` per sequence with two bytes features:

- ``sequence``: the DNA, either one-hot ``uint8`` of shape ``(seq_len, 4)`` (Basenji) or ``uint8``
  codes of shape ``(seq_len,)`` (Baskerville's ``dna_1hot_index``: A=0, C=1, G=2, T=3, N=4);
- ``target``: ``(target_length, n_targets)`` values, as bytes of ``float16`` (current Basenji) or
  ``float32``, or as a ``float_list`` (as in Basenji's test data).

Record framing (TFRecord): ``uint64`` little-endian length, ``uint32`` masked CRC-32C of those 8
bytes, the data, ``uint32`` masked CRC-32C of the data. The length CRC is always checked (pure
Python, 8 bytes). The data CRC is checked when a compiled CRC-32C (package ``crc32c`` or
``google-crc32c``) is installed, or when ``verify_data=True`` (pure Python, about 0.5 s per
megabyte); otherwise the protobuf parse and the array sizes catch damaged records.

The protobuf parser is hand-written and minimal: ``Example{features: Features{map<string,
Feature>}}``, ``Feature`` = ``bytes_list`` | ``float_list`` | ``int64_list``; wire types varint,
64-bit, length-delimited and 32-bit are understood (others are an error).

Shapes when there is no ``statistics.json`` (Basenji writes one next to ``tfrecords/`` with
``seq_length``, ``target_length``, ``num_targets``): one-hot vs codes from the sequence bytes (a
one-hot has only 0/1 bytes and at most one 1 per base), ``target_length = seq_len // pool_width``
(``pool_width`` 128 unless given), and the target dtype from ``n_targets`` when given, else the
one of float16/float32 whose values are all finite and non-negative (both plausible -> an error
asking for ``n_targets``).

:func:`from_basenji_tfrecords` converts a folder **once** into a memory-mapped cache
(``<cache>/basenji/<key>/``: ``codes.bin`` ``uint8 (N, seq_len)``, ``targets.bin`` float32 ``(N, n_targets,
target_length)``; keyed on the files' paths, sizes and mtimes; written atomically), so training
reads records at random without decompressing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import uuid
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from regzoo.data.task import TaskData
from regzoo.errors import InputError

_MASK_DELTA = 0xA282EAD8


def _make_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _make_table()


def crc32c_python(data: bytes) -> int:
    """CRC-32C (Castagnoli) in pure Python."""
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _fast_crc32c():
    try:
        import crc32c  # type: ignore[import-not-found]

        return crc32c.crc32c
    except ImportError:
        pass
    try:
        import google_crc32c  # type: ignore[import-not-found]

        return lambda data: google_crc32c.value(data)
    except ImportError:
        return None


def masked_crc(data: bytes, crc_fn=crc32c_python) -> int:
    """TFRecord's masked CRC: ``((crc >> 15) | (crc << 17)) + 0xa282ead8`` (mod 2**32)."""
    crc = crc_fn(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame_record(data: bytes) -> bytes:
    """One TFRecord frame around ``data`` (used to write test files)."""
    length = struct.pack("<Q", len(data))
    return (
        length
        + struct.pack("<I", masked_crc(length))
        + data
        + struct.pack("<I", masked_crc(data, _fast_crc32c() or crc32c_python))
    )


def _read_file_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:1] == b"\x78":  # zlib header (CMF 0x78: deflate, 32K window)
        try:
            return zlib.decompress(raw)
        except zlib.error as err:
            raise InputError(
                f"{path}: ZLIB stream is damaged or truncated ({err}); expected a whole-file "
                "ZLIB-compressed TFRecord as Basenji writes"
            ) from err
    if raw[:2] == b"\x1f\x8b":
        import gzip

        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise InputError(f"{path}: GZIP stream is damaged or truncated ({err})") from err
    return raw


def iter_records(path: str | os.PathLike, verify_data: bool | None = None) -> Iterator[bytes]:
    """The records of one TFRecord file (ZLIB, GZIP or uncompressed), checked.

    Raises:
        InputError: a truncated record or a CRC mismatch, naming the file and record index.
    """
    path = Path(path)
    data = _read_file_bytes(path)
    fast = _fast_crc32c()
    crc_data = fast if fast is not None else (crc32c_python if verify_data else None)
    if verify_data is False:
        crc_data = None
    pos, index, n = 0, 0, len(data)
    while pos < n:
        if pos + 12 > n:
            raise InputError(
                f"{path}: record {index}: truncated header ({n - pos} bytes left, expected 12)"
            )
        header = data[pos : pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[pos + 8 : pos + 12])
        if masked_crc(header) != length_crc:
            raise InputError(f"{path}: record {index}: length CRC mismatch (corrupt file)")
        start = pos + 12
        end = start + length
        if end + 4 > n:
            raise InputError(
                f"{path}: record {index}: truncated (needs {length + 4} bytes, "
                f"{max(n - start, 0)} left)"
            )
        record = data[start:end]
        if crc_data is not None:
            (want,) = struct.unpack("<I", data[end : end + 4])
            if masked_crc(record, crc_data) != want:
                raise InputError(f"{path}: record {index}: data CRC mismatch (corrupt record)")
        yield record
        pos = end + 4
        index += 1


# -- minimal protobuf ---------------------------------------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(buf: bytes) -> Iterator[tuple[int, int, object]]:
    """``(field_number, wire_type, value)``: value is an int (varint/fixed) or bytes."""
    pos, n = 0, len(buf)
    while pos < n:
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > n:
                raise ValueError("truncated length-delimited field")
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > n:
            raise ValueError("truncated field")
        yield field, wire, value


def _parse_feature(buf: bytes) -> bytes | list | np.ndarray:
    for field, _, value in _fields(buf):
        if field == 1:  # BytesList
            values = [v for f, _, v in _fields(value) if f == 1]
            return values[0] if len(values) == 1 else values
        if field == 2:  # FloatList: packed (wire 2) or one fixed32 per value (wire 5)
            parts = [v for f, _, v in _fields(value) if f == 1]
            return np.frombuffer(b"".join(parts), dtype="<f4").copy()
        if field == 3:  # Int64List: packed varints or one varint per value
            out: list[int] = []
            for f, wire, v in _fields(value):
                if f != 1:
                    continue
                if wire == 0:
                    out.append(v)
                else:
                    pos = 0
                    while pos < len(v):
                        x, pos = _varint(v, pos)
                        out.append(x)
            return np.array([x - (1 << 64) if x >= 1 << 63 else x for x in out], dtype=np.int64)
    return []


def parse_example(record: bytes) -> dict[str, bytes | list | np.ndarray]:
    """A serialized ``tf.train.Example`` -> ``{name: bytes | float32 array | int64 array}``
    (a bytes list of one value gives the bytes themselves).

    Raises:
        ValueError: malformed protobuf.
    """
    out: dict[str, bytes | list | np.ndarray] = {}
    for field, _, features in _fields(record):
        if field != 1:
            continue
        for f, _, entry in _fields(features):
            if f != 1:
                continue
            key, value = None, b""
            for ef, _, ev in _fields(entry):
                if ef == 1:
                    key = ev.decode()
                elif ef == 2:
                    value = ev
            if key is not None:
                out[key] = _parse_feature(value)
    return out


# -- encoding of the test records ----------------------------------------------------------------


def _encode_varint(x: int) -> bytes:
    out = bytearray()
    while True:
        b = x & 0x7F
        x >>= 7
        if x:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _len_field(field: int, payload: bytes) -> bytes:
    return _encode_varint(field << 3 | 2) + _encode_varint(len(payload)) + payload


def encode_example(features: dict[str, bytes]) -> bytes:
    """A ``tf.train.Example`` with bytes features (the inverse of :func:`parse_example`)."""
    entries = b""
    for key, value in features.items():
        feature = _len_field(1, _len_field(1, value))  # Feature.bytes_list{value}
        entries += _len_field(1, _len_field(1, key.encode()) + _len_field(2, feature))
    return _len_field(1, entries)


# -- Basenji records ----------------------------------------------------------------------------


def tfrecord_files(source: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """The ``.tfr``/``.tfrecord`` files of a folder (or its ``tfrecords/``), sorted; or the
    given files."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_file():
            return [path]
        if not path.is_dir():
            raise InputError(f"{path}: no such TFRecord file or folder")
        if (path / "tfrecords").is_dir():
            path = path / "tfrecords"
        files = sorted(p for p in path.iterdir() if p.suffix in (".tfr", ".tfrecord"))
        if not files:
            raise InputError(f"{path}: no .tfr or .tfrecord files in this folder")
        return files
    files = [Path(p) for p in source]
    for f in files:
        if not f.is_file():
            raise InputError(f"{f}: TFRecord file not found")
    return files


def _statistics(files: list[Path]) -> dict:
    for folder in {files[0].parent, files[0].parent.parent}:
        stats = folder / "statistics.json"
        if stats.is_file():
            return json.loads(stats.read_text())
    return {}


def decode_basenji_record(
    example: dict,
    where: str,
    seq_len: int | None = None,
    target_length: int | None = None,
    n_targets: int | None = None,
    pool_width: int = 128,
) -> tuple[np.ndarray, np.ndarray]:
    """``sequence`` and ``target`` features -> ``(codes uint8 (L,), target float32 (T, B))``.

    Raises:
        InputError: a missing feature or sizes that fit no layout (naming ``where``).
    """
    for key in ("sequence", "target"):
        if key not in example or not isinstance(example[key], bytes | np.ndarray):
            raise InputError(
                f"{where}: no feature {key!r} (features: {', '.join(example)}); expected "
                "Basenji's 'sequence' and 'target'"
            )
    raw_seq = example["sequence"]
    if isinstance(raw_seq, bytes):
        seq = np.frombuffer(raw_seq, dtype=np.uint8)
    else:
        if raw_seq.size and (raw_seq.min() < 0 or raw_seq.max() > 4):
            raise InputError(f"{where}: 'sequence' values outside 0-4; expected codes or one-hot")
        seq = raw_seq.astype(np.uint8)
    one_hot = (
        seq.size % 4 == 0
        and (seq_len is None or seq.size == 4 * seq_len)
        and seq.max(initial=0) <= 1
        and (seq_len is not None or seq.reshape(-1, 4).sum(1).max(initial=0) <= 1)
    )
    if one_hot:
        hot = seq.reshape(-1, 4)
        codes = np.where(hot.any(1), hot.argmax(1), 4).astype(np.uint8)
    else:
        if seq.max(initial=0) > 4:
            raise InputError(f"{where}: 'sequence' holds byte {seq.max()}; expected one-hot or 0-4")
        codes = seq.copy()
    if seq_len is not None and codes.size != seq_len:
        raise InputError(f"{where}: sequence of {codes.size} bp, expected {seq_len}")
    raw = example["target"]
    bins = target_length or codes.size // pool_width
    if isinstance(raw, np.ndarray):  # a float_list feature
        if bins < 1 or raw.size % bins or (n_targets is not None and raw.size != bins * n_targets):
            raise InputError(
                f"{where}: 'target' has {raw.size} floats, which is not {bins} bins x "
                f"{n_targets or 'n'} targets; give target_length / n_targets"
            )
        target = raw.astype(np.float32).reshape(bins, -1).T
        return codes, np.ascontiguousarray(target)
    if bins < 1 or len(raw) % bins:
        raise InputError(
            f"{where}: 'target' has {len(raw)} bytes, not a multiple of {bins} bins; give "
            "target_length"
        )
    per_bin = len(raw) // bins
    candidates = []
    for dtype in ("<f2", "<f4"):
        size = np.dtype(dtype).itemsize
        if per_bin % size:
            continue
        if n_targets is not None and per_bin // size != n_targets:
            continue
        vals = np.frombuffer(raw, dtype=dtype)
        if n_targets is not None or (np.isfinite(vals).all() and (vals >= 0).all()):
            candidates.append((dtype, vals))
    if len(candidates) != 1:
        what = "fits no" if not candidates else "is ambiguous between"
        raise InputError(
            f"{where}: 'target' of {len(raw)} bytes over {bins} bins {what} float16/float32 "
            "layouts; give n_targets (or a statistics.json with num_targets)"
        )
    _, vals = candidates[0]
    target = vals.astype(np.float32).reshape(bins, -1).T
    return codes, np.ascontiguousarray(target)


def _fingerprints(files: list[Path]) -> list[dict]:
    out = []
    for f in files:
        st = f.stat()
        out.append({"path": str(f.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    return out


def convert_tfrecords(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    seq_len: int | None = None,
    target_length: int | None = None,
    n_targets: int | None = None,
    pool_width: int = 128,
    verify_data: bool | None = None,
    cache_root: str | os.PathLike | None = None,
) -> Path:
    """Decode every record once into memory maps (module docstring); return the cache folder."""
    files = tfrecord_files(source)
    stats = _statistics(files)
    seq_len = seq_len or stats.get("seq_length")
    target_length = target_length or stats.get("target_length")
    n_targets = n_targets or stats.get("num_targets")
    if cache_root is None:
        from regzoo.data.genome import cache_dir

        cache_root = cache_dir() / "basenji"
    root = Path(cache_root)
    root.mkdir(parents=True, exist_ok=True)
    payload = [_fingerprints(files), seq_len, target_length, n_targets, pool_width, 1]
    key = hashlib.sha1(json.dumps(payload).encode()).hexdigest()[:16]
    final = root / key
    if (final / "index.json").is_file():
        return final
    tmp = root / f".tmp-{key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        origin = []
        with open(tmp / "codes.bin", "wb") as fc, open(tmp / "targets.bin", "wb") as ft:
            for f in files:
                for i, rec in enumerate(iter_records(f, verify_data)):
                    where = f"{f}: record {i}"
                    try:
                        example = parse_example(rec)
                    except ValueError as err:
                        raise InputError(f"{where}: malformed tf.train.Example ({err})") from err
                    codes, target = decode_basenji_record(
                        example, where, seq_len, target_length, n_targets, pool_width
                    )
                    # the first record fixes the layout; later ones must match it
                    seq_len, (n_targets, target_length) = codes.size, target.shape
                    fc.write(codes.tobytes())
                    ft.write(target.astype(np.float32).tobytes())
                    origin.append([f.name, i])
        n_total = len(origin)
        if n_total == 0:
            raise InputError(f"{files[0].parent}: the TFRecord files hold no records")
        index = {
            "files": [str(f) for f in files],
            "n_records": n_total,
            "seq_len": seq_len,
            "n_targets": n_targets,
            "target_length": target_length,
            "origin": origin,
        }
        (tmp / "index.json").write_text(json.dumps(index))
        try:
            os.replace(tmp, final)
        except OSError:
            if not (final / "index.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


class BasenjiTFRecordDataset:
    """A torch Dataset over a Basenji TFRecord folder (converted once into memory maps).

    Args:
        source: a folder (or its ``tfrecords/`` child), one file, or a list of files.
        seq_len, target_length, n_targets, pool_width: layout hints (module docstring).
        verify_data: check every record's data CRC (default: when a fast CRC-32C is installed).
        indices: keep only these records (for splits).

    Items: ``(x float32 (4, seq_len), y float32 (n_targets, target_length))``.
    """

    def __init__(
        self,
        source,
        seq_len: int | None = None,
        target_length: int | None = None,
        n_targets: int | None = None,
        pool_width: int = 128,
        verify_data: bool | None = None,
        indices: Sequence[int] | None = None,
        cache_root: str | os.PathLike | None = None,
    ) -> None:
        self.path = convert_tfrecords(
            source, seq_len, target_length, n_targets, pool_width, verify_data, cache_root
        )
        self.index = json.loads((self.path / "index.json").read_text())
        self.seq_len = int(self.index["seq_len"])
        self.n_targets = int(self.index["n_targets"])
        self.target_length = int(self.index["target_length"])
        n = int(self.index["n_records"])
        self.indices = np.arange(n) if indices is None else np.asarray(indices, dtype=np.int64)
        self._codes: np.ndarray | None = None
        self._targets: np.ndarray | None = None

    def _open(self) -> tuple[np.ndarray, np.ndarray]:
        if self._codes is None or self._targets is None:
            n = int(self.index["n_records"])
            self._codes = np.memmap(
                self.path / "codes.bin", mode="r", dtype=np.uint8, shape=(n, self.seq_len)
            )
            self._targets = np.memmap(
                self.path / "targets.bin",
                mode="r",
                dtype=np.float32,
                shape=(n, self.n_targets, self.target_length),
            )
        return self._codes, self._targets

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_codes"] = state["_targets"] = None
        return state

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def codes(self, i: int) -> np.ndarray:
        """The ``uint8`` codes ``(seq_len,)`` of item ``i``."""
        return np.asarray(self._open()[0][self.indices[i]])

    def __getitem__(self, i: int):
        import torch

        from regzoo.data.encode import codes_to_one_hot

        codes, targets = self._open()
        j = int(self.indices[i])
        x = torch.from_numpy(np.ascontiguousarray(codes_to_one_hot(np.asarray(codes[j]))))
        y = torch.from_numpy(np.array(targets[j], dtype=np.float32))
        return x, y


def _split_of(name: str) -> str | None:
    for split in ("train", "valid", "test"):
        if split in name:
            return split
    return None


def from_basenji_tfrecords(
    folder: str | os.PathLike,
    *,
    seq_len: int | None = None,
    target_length: int | None = None,
    n_targets: int | None = None,
    pool_width: int = 128,
    valid_frac: float = 0.1,
    test_frac: float = 0.1,
    seed: int = 0,
    name: str | None = None,
    verify_data: bool | None = None,
) -> TaskData:
    """A Basenji TFRecord folder as a profile :class:`~regzoo.data.task.TaskData`.

    Splits: Basenji names its files ``train-*``, ``valid-*``, ``test-*``; when the folder has all
    three, they are the splits. Otherwise the records are split at random (``seed``) into
    ``valid_frac`` and ``test_frac`` of the records (at least one each) and the rest for training,
    and the summary says so. Track names come from ``targets.txt`` (its ``identifier`` column)
    when the folder has one, else ``target0``, ``target1``, ...

    The task's ``summary`` holds ``bin_size`` (``pool_width``) and ``n_bins`` (``target_length``):
    a Basenji/Enformer model must be built with matching bins (see
    :func:`regzoo.train.profile.profile_model_overrides`). No augmentation.
    """
    files = tfrecord_files(folder)
    common = dict(
        seq_len=seq_len,
        target_length=target_length,
        n_targets=n_targets,
        pool_width=pool_width,
        verify_data=verify_data,
    )
    full = BasenjiTFRecordDataset(files, **common)
    origin = full.index["origin"]
    split_names = [_split_of(f) for f, _ in origin]
    if {"train", "valid", "test"} <= set(split_names):
        split_rule = "by file name (train-*, valid-*, test-*)"
        groups = {s: [i for i, g in enumerate(split_names) if g == s] for s in SPLIT_ORDER}
    else:
        n = len(full)
        if n < 3:
            raise InputError(f"{folder}: {n} records; need at least 3 for train/valid/test")
        order = np.random.default_rng(seed).permutation(n)
        n_valid = max(1, int(round(valid_frac * n)))
        n_test = max(1, int(round(test_frac * n)))
        groups = {
            "valid": sorted(order[:n_valid].tolist()),
            "test": sorted(order[n_valid : n_valid + n_test].tolist()),
            "train": sorted(order[n_valid + n_test :].tolist()),
        }
        split_rule = (
            f"records split at random (seed {seed}): {valid_frac:g} valid, {test_frac:g} test; "
            "the file names name no train/valid/test split"
        )
    datasets = {s: BasenjiTFRecordDataset(files, **common, indices=groups[s]) for s in SPLIT_ORDER}
    labels = _target_names(files, full.n_targets)
    summary = {
        "source": "basenji_tfrecords",
        "folder": str(folder),
        "files": [str(f) for f in files],
        "cache": str(full.path),
        "records": len(full),
        "split_rule": split_rule,
        "sizes": {s: len(d) for s, d in datasets.items()},
        "seq_len": full.seq_len,
        "bin_size": pool_width,
        "n_bins": full.target_length,
        "n_targets": full.n_targets,
        "crc": "data CRC checked" if (verify_data or _fast_crc32c()) else "length CRC only",
    }
    return TaskData(
        name=name or Path(folder).name,
        task_type="profile",
        label_names=labels,
        seq_len=full.seq_len,
        train=datasets["train"],
        valid=datasets["valid"],
        test=datasets["test"],
        summary=summary,
    )


SPLIT_ORDER = ("train", "valid", "test")


def _target_names(files: list[Path], n_targets: int) -> list[str]:
    for folder in (files[0].parent, files[0].parent.parent):
        table = folder / "targets.txt"
        if table.is_file():
            lines = [ln.split("\t") for ln in table.read_text().splitlines() if ln.strip()]
            header = lines[0]
            if "identifier" in header and len(lines) - 1 == n_targets:
                col = header.index("identifier")
                return [row[col] for row in lines[1:]]
    return [f"target{i}" for i in range(n_targets)]
