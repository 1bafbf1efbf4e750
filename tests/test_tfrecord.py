"""Basenji TFRecords without TensorFlow: records framed and encoded by hand here, then read back;
damaged files refused with the file and record named; the real test records when present."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from regzoo.data.tfrecord import (
    BasenjiTFRecordDataset,
    crc32c_python,
    from_basenji_tfrecords,
    iter_records,
    parse_example,
)
from regzoo.errors import InputError

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "basenji_testdata_cage10"


# --- a hand-written TFRecord writer, independent of the module under test --------------------


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(data: bytes) -> int:
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(x: int) -> bytes:
    out = b""
    while x > 0x7F:
        out += bytes([(x & 0x7F) | 0x80])
        x >>= 7
    return out + bytes([x])


def ld(field: int, payload: bytes) -> bytes:  # length-delimited field
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def example(features: dict[str, bytes | np.ndarray]) -> bytes:
    entries = b""
    for key, value in features.items():
        if isinstance(value, bytes):
            feature = ld(1, ld(1, value))  # bytes_list
        else:
            feature = ld(2, ld(1, value.astype("<f4").tobytes()))  # packed float_list
        entries += ld(1, ld(1, key.encode()) + ld(2, feature))
    return ld(1, entries)


def frame(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked(length)) + data + struct.pack("<I", masked(data))


SEQ_LEN, BINS, TARGETS = 512, 4, 3  # pool width 128


def make_record(rng, float_list: bool = False):
    codes = rng.integers(0, 4, SEQ_LEN)
    codes[5] = 4  # one N
    one_hot = np.zeros((SEQ_LEN, 4), dtype=np.uint8)
    one_hot[codes < 4, codes[codes < 4]] = 1
    target = rng.gamma(1.0, 2.0, size=(BINS, TARGETS)).astype(np.float16)
    value = target.astype(np.float32) if float_list else target.tobytes()
    return codes, target, example({"sequence": one_hot.tobytes(), "target": value})


def write_tfrecord(path: Path, records: list[bytes], compress: bool = True) -> Path:
    data = b"".join(frame(r) for r in records)
    path.write_bytes(zlib.compress(data) if compress else data)
    return path


def test_crc32c_check_value():
    assert crc32c_python(b"123456789") == 0xE3069283 == crc32c(b"123456789")


@pytest.mark.parametrize("float_list", [False, True])
def test_round_trip_hand_written_records(tmp_path, float_list):
    rng = np.random.default_rng(0)
    made = [make_record(rng, float_list) for _ in range(5)]
    folder = tmp_path / "data"
    folder.mkdir()
    write_tfrecord(folder / "train-0.tfr", [m[2] for m in made[:3]])
    write_tfrecord(folder / "valid-0.tfr", [made[3][2]])
    write_tfrecord(folder / "test-0.tfr", [made[4][2]], compress=False)
    parsed = parse_example(next(iter_records(folder / "train-0.tfr", verify_data=True)))
    assert set(parsed) == {"sequence", "target"}

    task = from_basenji_tfrecords(folder, n_targets=TARGETS, verify_data=True)
    assert task.task_type == "profile" and task.seq_len == SEQ_LEN
    assert task.sizes() == {"train": 3, "valid": 1, "test": 1}
    assert task.summary["n_bins"] == BINS and task.summary["bin_size"] == 128
    assert task.label_names == ["target0", "target1", "target2"]
    x, y = task.train[1]
    codes, target, _ = made[1]
    assert x.shape == (4, SEQ_LEN) and x.dtype == torch.float32
    assert y.shape == (TARGETS, BINS) and y.dtype == torch.float32
    np.testing.assert_array_equal(x.argmax(0)[codes < 4].numpy(), codes[codes < 4])
    assert x[:, 5].sum() == 0  # N
    np.testing.assert_array_equal(y.numpy(), target.astype(np.float32).T)
    xv, yv = task.test[0]  # the uncompressed file
    np.testing.assert_array_equal(yv.numpy(), made[4][1].astype(np.float32).T)


def test_truncated_record_names_file_and_index(tmp_path):
    rng = np.random.default_rng(1)
    records = [make_record(rng)[2] for _ in range(3)]
    data = b"".join(frame(r) for r in records)
    path = tmp_path / "cut.tfr"
    path.write_bytes(zlib.compress(data[: len(data) - 100]))
    with pytest.raises(InputError, match=r"cut.tfr: record 2: truncated"):
        list(iter_records(path))
    # a damaged compressed stream
    path.write_bytes(zlib.compress(data)[:-50])
    with pytest.raises(InputError, match="cut.tfr: ZLIB stream is damaged or truncated"):
        list(iter_records(path))


def test_crc_mismatch_refused(tmp_path):
    rng = np.random.default_rng(2)
    framed = bytearray(frame(make_record(rng)[2]))
    framed[40] ^= 0xFF  # flip a byte inside the data
    path = tmp_path / "bad.tfr"
    path.write_bytes(bytes(framed))
    with pytest.raises(InputError, match="bad.tfr: record 0: data CRC mismatch"):
        list(iter_records(path, verify_data=True))
    framed = bytearray(frame(b"abc"))
    framed[0] ^= 0x01  # the length field
    path.write_bytes(bytes(framed))
    with pytest.raises(InputError, match="record 0: length CRC mismatch"):
        list(iter_records(path))


def test_missing_feature_named(tmp_path):
    write_tfrecord(tmp_path / "x.tfr", [example({"sequence": b"\x00" * 512})])
    with pytest.raises(InputError, match="x.tfr: record 0: no feature 'target'"):
        BasenjiTFRecordDataset(tmp_path / "x.tfr")


@pytest.mark.skipif(not REAL.is_dir(), reason="shared real data not present (as in CI)")
def test_real_basenji_records():
    task = from_basenji_tfrecords(REAL)
    assert task.summary["records"] == 20 and task.summary["n_targets"] == 10
    assert task.summary["n_bins"] == 2048 and task.seq_len == 262_144
    x, y = task.train[0]
    assert x.shape == (4, 262_144) and y.shape == (10, 2048)
    assert torch.all(x.sum(0) <= 1) and x.sum() > 0.99 * 262_144
    assert (y >= 0).all() and y.sum() > 0
