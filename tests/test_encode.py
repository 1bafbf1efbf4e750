import importlib

import numpy as np
import pytest
import torch

from regzoo.data.encode import (
    N_CODE,
    codes_to_one_hot,
    decode,
    encode,
    encode_batch,
    fit_length,
    one_hot,
    one_hot_batch,
    reverse_complement,
)
from regzoo.errors import InputError


def test_one_hot_known_answer():
    x = one_hot("ACGTN")
    expected = np.array(
        [
            [1, 0, 0, 0, 0],  # A
            [0, 1, 0, 0, 0],  # C
            [0, 0, 1, 0, 0],  # G
            [0, 0, 0, 1, 0],  # T
        ],
        dtype=np.float32,
    )
    assert x.dtype == np.float32 and x.shape == (4, 5)
    np.testing.assert_array_equal(x, expected)


def test_lower_case_and_iupac_codes():
    np.testing.assert_array_equal(one_hot("acgt"), one_hot("ACGT"))
    for code in "NRYSWKMBDHVnry":
        assert one_hot(code).sum() == 0, code
    np.testing.assert_array_equal(encode("AcGtNr"), [0, 1, 2, 3, N_CODE, N_CODE])
    assert decode(encode("acgtR")) == "ACGTN"


def test_batched_forms():
    seqs = ["ACGT", "TTNA", "gcga"]
    codes = encode_batch(seqs)
    assert codes.shape == (3, 4) and codes.dtype == np.uint8
    batch = one_hot_batch(seqs)
    assert batch.shape == (3, 4, 4)
    for i, s in enumerate(seqs):
        np.testing.assert_array_equal(batch[i], one_hot(s))
    np.testing.assert_array_equal(codes_to_one_hot(codes), batch)
    with pytest.raises(InputError, match="different lengths"):
        encode_batch(["ACGT", "ACG"])


def test_reverse_complement_known_and_involution():
    assert reverse_complement("AACGTN") == "NACGTT"
    assert reverse_complement("acgR") == "Ycgt"
    s = "ACGTTGCANNRYacgt"
    assert reverse_complement(reverse_complement(s)) == s

    codes = encode("AACGTN")
    np.testing.assert_array_equal(reverse_complement(codes), encode("NACGTT"))
    np.testing.assert_array_equal(reverse_complement(reverse_complement(codes)), codes)

    x = one_hot("AACGTN")
    np.testing.assert_array_equal(reverse_complement(x), one_hot("NACGTT"))
    np.testing.assert_array_equal(reverse_complement(reverse_complement(x)), x)

    t = torch.from_numpy(one_hot_batch(["AACGTN", "GGGTTA"]))
    expected = torch.from_numpy(one_hot_batch(["NACGTT", "TAACCC"]))
    assert torch.equal(reverse_complement(t), expected)


def test_invalid_character_names_position():
    with pytest.raises(InputError, match=r"'X' at position 4") as err:
        encode("ACGXT", name="reads.fa record 2")
    assert "reads.fa record 2" in str(err.value)
    assert "\n" not in str(err.value)


def test_fit_length_centre_crop_and_pad():
    codes = encode("ACGTACG")  # 7 bp
    # crop: keep the centre; an odd surplus drops the extra base on the right
    assert decode(fit_length(codes, 5)) == "CGTAC"
    assert decode(fit_length(codes, 4)) == "CGTA"
    # pad: centre with N; an odd deficit puts the extra N on the right
    assert decode(fit_length(codes, 9)) == "NACGTACGN"
    assert decode(fit_length(codes, 10)) == "NACGTACGNN"
    assert fit_length(codes, 7) is codes
    batch = encode_batch(["ACGTACG", "TTTTAAA"])
    assert fit_length(batch, 3).shape == (2, 3)


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64", "int8", "uint8", "bool"])
def test_one_hot_dtypes_known_answer(dtype):
    x = one_hot("ACGTNacgtr", dtype=dtype)
    expected = np.zeros((4, 10), dtype=dtype)
    for pos, row in enumerate([0, 1, 2, 3, None, 0, 1, 2, 3, None]):
        if row is not None:
            expected[row, pos] = 1
    assert x.dtype == np.dtype(dtype) and x.shape == (4, 10)
    np.testing.assert_array_equal(x, expected)
    assert one_hot("ACGT").dtype == np.float32  # default unchanged
    assert one_hot("", dtype=dtype).shape == (4, 0)


@pytest.mark.parametrize("dtype", ["float32", "int8", "bool", "float16", "float64"])
@pytest.mark.parametrize("length", [1, 2, 7, 4097])
def test_one_hot_fast_path_matches_codes_across_chunks(monkeypatch, dtype, length):
    enc = importlib.import_module("regzoo.data.encode")  # the package exports a function "encode"

    monkeypatch.setattr(enc, "_CHUNK_BYTES", 64)  # many chunks, one of them partial
    rng = np.random.default_rng(length)
    letters = np.frombuffer(b"ACGTNacgtnRYUu", dtype=np.uint8)
    raw = letters[rng.integers(0, len(letters), length)]
    want = codes_to_one_hot(encode(raw)).astype(dtype)
    for form in (raw, raw.tobytes(), raw.tobytes().decode()):
        got = one_hot(form, dtype=dtype)
        np.testing.assert_array_equal(got, want)
    assert np.array_equal(one_hot(raw)[:, raw == ord("U")].argmax(0), [3] * int((raw == 85).sum()))


@pytest.mark.parametrize("dtype", ["float32", "int8", "float16", "float64"])
def test_one_hot_invalid_character_in_later_chunk_or_last_base(monkeypatch, dtype):
    enc = importlib.import_module("regzoo.data.encode")  # the package exports a function "encode"

    monkeypatch.setattr(enc, "_CHUNK_BYTES", 64)
    seq = "ACGT" * 100
    with pytest.raises(InputError, match=r"'X' at position 301"):
        one_hot(seq[:300] + "X" + seq[301:], dtype=dtype)
    with pytest.raises(InputError, match=r"'Z' at position 401"):
        one_hot(seq + "Z", dtype=dtype)  # odd length: the last base is looked up alone
    with pytest.raises(InputError, match="one-hot dtype 'int32'"):
        one_hot("ACGT", dtype="int32")
    np.testing.assert_array_equal(
        one_hot_batch(["ACGT", "TTNA"], dtype="int8"), one_hot_batch(["ACGT", "TTNA"])
    )


def _naive_one_hot(seq: str, dtype) -> np.ndarray:
    """Column by column from the documented convention (A, C, G, T rows; U is T; N and the other
    IUPAC codes all-zero; case ignored)."""
    out = np.zeros((4, len(seq)), dtype=dtype)
    for i, char in enumerate(seq.upper().replace("U", "T")):
        if char in "ACGT":
            out["ACGT".index(char), i] = 1
        else:
            assert char in "NRYSWKMBDHV", char
    return out


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64", "int8", "uint8", "bool"])
def test_one_hot_and_batch_equal_naive_reference_every_dtype(dtype):
    rng = np.random.default_rng(7)
    letters = "ACGTUNRYSWKMBDHV" + "ACGTUNRYSWKMBDHV".lower()
    seqs = ["".join(rng.choice(list(letters), 257)) for _ in range(5)]  # odd length
    for seq in seqs:
        got = one_hot(seq, dtype=dtype)
        assert got.dtype == np.dtype(dtype) and got.shape == (4, 257)
        np.testing.assert_array_equal(got, _naive_one_hot(seq, dtype))
    batch = one_hot_batch(seqs, dtype=dtype)
    assert batch.dtype == np.dtype(dtype) and batch.shape == (5, 4, 257)
    np.testing.assert_array_equal(batch, np.stack([_naive_one_hot(s, dtype) for s in seqs]))
    # same values and memory layout as the codes route it replaced
    old = codes_to_one_hot(encode_batch(seqs), dtype)
    assert batch.strides == old.strides
    np.testing.assert_array_equal(batch, old)
    np.testing.assert_array_equal(one_hot_batch([s.encode() for s in seqs], dtype=dtype), batch)


def test_one_hot_batch_edge_cases_and_errors():
    assert one_hot_batch([]).shape == (0, 4, 0)
    assert one_hot_batch(["", ""], dtype="int8").shape == (2, 4, 0)
    assert encode_batch(["", ""]).shape == (2, 0)
    assert one_hot_batch(["a"]).shape == (1, 4, 1)
    for call in (encode_batch, one_hot_batch):
        with pytest.raises(InputError, match=r"^my seqs: invalid character 'X' at position 6 "):
            call(["ACGT", "AXGT"], name="my seqs")
        with pytest.raises(InputError, match="different lengths"):
            call(["ACGT", "ACG"])


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64", "int8", "uint8", "bool"])
def test_codes_to_one_hot_equals_table_lookup(monkeypatch, dtype):
    enc = importlib.import_module("regzoo.data.encode")  # the package exports a function "encode"

    monkeypatch.setattr(enc, "_CHUNK_BYTES", 64)  # many chunks, one of them partial
    table = enc._ONE_HOT_TABLE.astype(dtype)  # row per code: A, C, G, T, N (zeros)
    rng = np.random.default_rng(3)
    for codes in (
        rng.integers(0, 5, 37).astype(np.uint8),
        rng.integers(0, 5, (3, 2, 11)).astype(np.uint8),
        rng.integers(-5, 5, (4, 9)),  # negative codes count from the end, as in a table
        np.zeros((0, 0), dtype=np.uint8),
        rng.integers(0, 5, (2, 30)).astype(np.uint8)[:, ::-1],  # not contiguous
        [0, 1, 2, 3, 4],
    ):
        got = codes_to_one_hot(codes, dtype)
        want = np.moveaxis(table[codes], -1, -2)
        assert got.dtype == np.dtype(dtype) and got.shape == want.shape
        assert got.strides == want.strides or not got.size  # (..., L, 4) layout, transposed
        np.testing.assert_array_equal(got, want)
    for bad in ([0, 5, 1], np.array([[1, -6]])):
        with pytest.raises(IndexError, match=r"index (5|-6) is out of bounds"):
            codes_to_one_hot(bad, dtype)


def _encode_module():
    return importlib.import_module("regzoo.data.encode")  # the package exports a function "encode"


def test_compiled_one_hot_loop_is_built_where_a_compiler_is():
    """The install builds regzoo/data/_onehot.c (an optional extension); with a C compiler on
    this machine it must have been built, or one_hot silently runs its slower numpy gather."""
    import shutil
    import sysconfig
    from pathlib import Path

    if not any(shutil.which(cc) for cc in ("cc", "gcc", "clang")):
        pytest.skip("no C compiler here: the optional extension is not expected")
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").exists():
        pytest.skip("no Python headers here: the optional extension is not expected")
    enc = _encode_module()
    assert enc._c_gather_pairs is not None, "reinstall: pip install -e . builds _onehot.c"
    _, pairs = enc._tables(np.dtype("int8"))
    with pytest.raises(ValueError, match="expected 2n and 8n"):
        enc._c_gather_pairs(pairs, np.zeros(4, np.uint8), np.zeros(3, np.uint64))
    with pytest.raises(ValueError, match="table has 8 bytes"):
        enc._c_gather_pairs(np.zeros(1, np.uint64), np.zeros(4, np.uint8), np.zeros(2, np.uint64))
    # the typed loop (aligned buffers) and the byte-copy loop (unaligned) write the same values
    seq = np.frombuffer(b"xACGTNacgtRYAT", np.uint8)  # 13 bases after one byte
    aligned_in = seq[1:13].copy()
    out = np.zeros(6, np.uint64)
    assert enc._c_gather_pairs(pairs, aligned_in, out)
    odd = bytearray(49)
    assert enc._c_gather_pairs(pairs, seq[1:13], memoryview(odd)[1:])  # both unaligned
    assert bytes(odd[1:]) == out.tobytes()
    np.testing.assert_array_equal(
        out.view(np.int8).reshape(12, 4).T, one_hot(aligned_in, "x", "int8")
    )
    assert not enc._c_gather_pairs(pairs, np.frombuffer(b"AC!T", np.uint8), np.zeros(2, np.uint64))


@pytest.mark.parametrize("dtype", ["int8", "uint8", "bool"])
@pytest.mark.parametrize("length", [4096, 4097, 12_345])
def test_compiled_threaded_and_numpy_gathers_agree(monkeypatch, dtype, length):
    enc = _encode_module()
    if enc._c_gather_pairs is None:
        pytest.skip("the compiled loop was not built (no C compiler at install)")
    rng = np.random.default_rng(length)
    letters = "ACGTUNRYSWKMBDHV" + "ACGTUNRYSWKMBDHV".lower()
    seq = "".join(rng.choice(list(letters), length))
    want = _naive_one_hot(seq, dtype)
    np.testing.assert_array_equal(one_hot(seq, dtype=dtype), want)  # C, one thread
    monkeypatch.setattr(enc, "_gather_threads", lambda n: 3)  # C, three threads
    np.testing.assert_array_equal(one_hot(seq, dtype=dtype), want)
    bad = seq[: length - 5] + "!" + seq[length - 4 :]  # in the last thread's part
    with pytest.raises(InputError, match=rf"'!' at position {length - 4}\b"):
        one_hot(bad, dtype=dtype)
    monkeypatch.setattr(enc, "_c_gather_pairs", None)  # the numpy fallback
    np.testing.assert_array_equal(one_hot(seq, dtype=dtype), want)
    with pytest.raises(InputError, match=rf"'!' at position {length - 4}\b"):
        one_hot(bad, dtype=dtype)


def test_gather_threads_follow_torch_threads(monkeypatch):
    enc = _encode_module()
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # as in a DataLoader worker
        assert enc._gather_threads(10**8) == 1
        torch.set_num_threads(8)
        assert enc._gather_threads(10**8) == 4  # capped: the page faults stop scaling
        assert enc._gather_threads(enc._THREADS_MIN_BASES - 1) == 1  # short: one thread
    finally:
        torch.set_num_threads(before)
