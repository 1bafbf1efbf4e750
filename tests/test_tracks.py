"""Coverage tracks: binning against bigWigs written here with known values, the NaN rule,
transforms and soft clip, the cache (reuse, rebuild on change, never half-written), tables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyBigWig
import pytest

from regzoo.data import tracks as tr
from regzoo.data.tracks import (
    BinnedTracks,
    StreamedTracks,
    TrackSpec,
    apply_transform,
    bin_values,
    build_track_cache,
    read_tracks_table,
    strand_pair_indices,
)
from regzoo.errors import InputError

GENOME = {"I": 1000, "II": 300}  # genome names; the bigWigs below say chrI / chrII


def write_bigwig(path: Path, per_base: dict[str, np.ndarray]) -> Path:
    """A bigWig with one entry per base (NaN bases left uncovered)."""
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([(c, len(v)) for c, v in per_base.items()])
    for chrom, v in per_base.items():
        pos = np.flatnonzero(~np.isnan(v))
        if pos.size:
            bw.addEntries(
                [chrom] * pos.size,
                pos.tolist(),
                ends=(pos + 1).tolist(),
                values=v[pos].astype(float).tolist(),
            )
    bw.close()
    return path


@pytest.fixture
def coverage():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, size=1000).astype(float)
    a[100:110] = np.nan  # 10 uncovered bases
    b = rng.integers(0, 3, size=300).astype(float)
    return {"chrI": a, "chrII": b}


@pytest.fixture
def bigwig(tmp_path, coverage):
    return write_bigwig(tmp_path / "a.bw", coverage)


def expected_bins(v: np.ndarray, bin_size: int, summary: str) -> np.ndarray:
    """Straightforward loop: the reference the vectorised code must match."""
    out = []
    for lo in range(0, len(v), bin_size):
        chunk = np.nan_to_num(v[lo : lo + bin_size], nan=0.0)
        out.append(chunk.sum() if summary == "sum" else chunk.sum() / len(chunk))
    return np.array(out)


@pytest.mark.parametrize("summary", ["sum", "mean"])
def test_cache_bins_match_hand_computed(tmp_path, bigwig, coverage, summary):
    spec = TrackSpec(bigwig, "a", summary=summary)
    path = build_track_cache([spec], GENOME, bin_size=128, cache_root=tmp_path / "c")
    t = BinnedTracks(path)
    for gname, bname in (("I", "chrI"), ("II", "chrII")):
        want = expected_bins(coverage[bname], 128, summary)
        got = t.chrom_bins(gname)[0]
        assert got.shape == want.shape  # 1000 bp -> 8 bins, the last one partial (104 bp)
        np.testing.assert_allclose(got, want, rtol=1e-3)
    # partial last bin of I: 1000 - 7 * 128 = 104 bases; mean divides by 104, not 128
    last = np.nan_to_num(coverage["chrI"][896:])
    assert t.chrom_bins("I")[0, -1] == pytest.approx(
        last.sum() if summary == "sum" else last.sum() / 104, rel=1e-3
    )
    stats = t.summary()["tracks"][0]
    assert stats["nan_bases"] == 10
    assert "chrI->I" in stats["alias_message"]


def test_nan_rule_counts_missing_as_zero():
    v = np.array([1.0, np.nan, 3.0, np.nan])
    bins, n_nan = bin_values(v, 2, "mean")
    assert n_nan == 2
    np.testing.assert_allclose(bins, [0.5, 1.5])  # NaN counts as 0, the bin's bases divide


def test_read_windows_out_of_chromosome_zero_and_rounding(tmp_path, bigwig, coverage):
    spec = TrackSpec(bigwig, "a")
    t = BinnedTracks(build_track_cache([spec], GENOME, 128, cache_root=tmp_path / "c"))
    full = t.chrom_bins("I")[0]
    w = t.read("I", -256, 256)  # 2 bins before the chromosome, then bins 0, 1
    assert w.shape == (1, 4) and w.dtype == np.float32
    np.testing.assert_array_equal(w[0], [0, 0, full[0], full[1]])
    np.testing.assert_array_equal(t.read("I", 768, 1280)[0], [full[6], full[7], 0, 0])
    # starts that are not multiples of the bin size round to the nearest boundary
    np.testing.assert_array_equal(t.read("I", 128 + 3, 128 + 3 + 256)[0], full[1:3])
    np.testing.assert_array_equal(t.read("I", 128 - 60, 128 - 60 + 256)[0], full[1:3])
    batch = t.read_batch(["I", "II", "I"], [0, 0, 512], 3)
    assert batch.shape == (3, 1, 3)
    np.testing.assert_array_equal(batch[0, 0], full[:3])
    np.testing.assert_array_equal(batch[2, 0], full[4:7])
    # II has 3 bins (300 bp), the last one partial (44 bp), not zero
    np.testing.assert_array_equal(batch[1, 0], t.chrom_bins("II")[0])
    assert t.read_batch(["II"], [128], 3)[0, 0, 2] == 0  # bin 3 of II is past its end


def test_streamed_equals_cached(tmp_path, bigwig):
    specs = [
        TrackSpec(bigwig, "a", summary="mean", transform="log1p", clip=1.0),
        TrackSpec(bigwig, "b", summary="sum", transform="sqrt"),
    ]
    cached = BinnedTracks(build_track_cache(specs, GENOME, 128, cache_root=tmp_path / "c"))
    streamed = StreamedTracks(specs, GENOME, 128)
    chroms, starts = ["I", "I", "II", "I"], [0, 384, -128, 900]
    np.testing.assert_allclose(
        cached.read_batch(chroms, starts, 4), streamed.read_batch(chroms, starts, 4), rtol=2e-3
    )
    import pickle

    clone = pickle.loads(pickle.dumps(streamed))  # handles dropped, reopened lazily
    assert clone._handles is None
    np.testing.assert_array_equal(clone.read("I", 0, 512), streamed.read("I", 0, 512))
    clone2 = pickle.loads(pickle.dumps(cached))
    assert clone2._values is None
    np.testing.assert_array_equal(clone2.read("I", 0, 512), cached.read("I", 0, 512))


def test_transforms_and_soft_clip():
    x = np.array([0.0, 3.0, 10.0, 20.0])
    np.testing.assert_allclose(
        apply_transform(x, TrackSpec("f", "t", transform="log1p")), np.log1p(x)
    )
    np.testing.assert_allclose(
        apply_transform(x, TrackSpec("f", "t", transform="sqrt")), np.sqrt(x)
    )
    # Basenji clip_soft: above 10, 10 + sqrt(x - 10)
    clipped = apply_transform(x, TrackSpec("f", "t", clip=10.0))
    np.testing.assert_allclose(clipped, [0.0, 3.0, 10.0, 10.0 + np.sqrt(10.0)])
    # transform first, then clip in transformed units
    both = apply_transform(np.array([100.0]), TrackSpec("f", "t", transform="sqrt", clip=4.0))
    np.testing.assert_allclose(both, [4.0 + np.sqrt(6.0)])
    with pytest.raises(InputError, match="sqrt of negative"):
        apply_transform(np.array([-1.0]), TrackSpec("f", "t", transform="sqrt"))


def test_cache_reused_then_rebuilt_when_bigwig_changes(tmp_path, coverage):
    bw_path = write_bigwig(tmp_path / "a.bw", coverage)
    spec = TrackSpec(bw_path, "a")
    root = tmp_path / "c"
    first = build_track_cache([spec], GENOME, 128, cache_root=root)
    mtime = (first / "values.bin").stat().st_mtime_ns
    assert build_track_cache([spec], GENOME, 128, cache_root=root) == first
    assert (first / "values.bin").stat().st_mtime_ns == mtime  # not rewritten
    index = json.loads((first / "index.json").read_text())
    assert index["fingerprints"][0]["path"] == str(bw_path.resolve())

    changed = {k: v.copy() for k, v in coverage.items()}
    changed["chrI"][:128] = 100.0
    write_bigwig(bw_path, changed)
    os.utime(bw_path, ns=(mtime + 10**9, mtime + 10**9))
    second = build_track_cache([spec], GENOME, 128, cache_root=root)
    assert second != first
    assert BinnedTracks(second).chrom_bins("I")[0, 0] == pytest.approx(12800)


def test_failed_build_leaves_no_cache(tmp_path, bigwig, monkeypatch):
    root = tmp_path / "c"
    spec = TrackSpec(bigwig, "a")

    def boom(*args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(tr, "apply_transform", boom)
    with pytest.raises(RuntimeError):
        build_track_cache([spec], GENOME, 128, cache_root=root)
    assert list(root.iterdir()) == []  # no final folder, temporary one removed
    monkeypatch.undo()
    assert (build_track_cache([spec], GENOME, 128, cache_root=root) / "index.json").is_file()


def test_killed_build_leaves_no_cache(tmp_path, bigwig):
    """A process killed mid-build (os._exit: no cleanup runs) leaves only a temporary folder,
    which readers never take for a cache."""
    root = tmp_path / "c"
    code = textwrap.dedent(
        f"""
        import os
        from regzoo.data import tracks as tr
        def die(*a, **k):
            os._exit(9)
        tr.apply_transform = die
        tr.build_track_cache([tr.TrackSpec({str(bigwig)!r}, "a")], {GENOME!r}, 128,
                             cache_root={str(root)!r})
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.returncode == 9, proc.stderr.decode()
    left = list(root.iterdir())
    assert left and all(p.name.startswith(".tmp-") for p in left)
    path = build_track_cache([TrackSpec(bigwig, "a")], GENOME, 128, cache_root=root)
    assert (path / "index.json").is_file() and not path.name.startswith(".tmp-")


def test_missing_chromosome_zero_with_warning_or_error(tmp_path, coverage):
    only_i = write_bigwig(tmp_path / "i.bw", {"chrI": coverage["chrI"]})
    with pytest.warns(UserWarning, match="1 genome chromosomes have no coverage"):
        path = build_track_cache([TrackSpec(only_i, "a")], GENOME, 128, cache_root=tmp_path / "c")
    t = BinnedTracks(path)
    assert not t.chrom_bins("II").any()
    assert t.summary()["tracks"][0]["missing_chroms"] == ["II"]
    with pytest.raises(InputError, match="no coverage"):
        build_track_cache(
            [TrackSpec(only_i, "a")], GENOME, 128, cache_root=tmp_path / "d", missing="error"
        )
    other = write_bigwig(tmp_path / "x.bw", {"chrX": np.ones(10)})
    with pytest.raises(InputError, match="no chromosome in common"):
        build_track_cache([TrackSpec(other, "x")], GENOME, 128, cache_root=tmp_path / "e")


def test_float32_when_values_exceed_float16(tmp_path):
    big = write_bigwig(tmp_path / "big.bw", {"I": np.full(1000, 1000.0), "II": np.ones(300)})
    t = BinnedTracks(build_track_cache([TrackSpec(big, "a")], GENOME, 128, cache_root=tmp_path))
    assert t.index["dtype"] == "float32"  # 128 * 1000 > 65504
    assert t.chrom_bins("I")[0, 0] == 128_000


def test_strand_pairs(tmp_path, bigwig):
    specs = [
        TrackSpec(bigwig, "fwd", strand_pair="rev"),
        TrackSpec(bigwig, "dnase"),
        TrackSpec(bigwig, "rev"),
    ]
    assert strand_pair_indices(specs) == [2, 1, 0]
    t = BinnedTracks(build_track_cache(specs, GENOME, 128, cache_root=tmp_path / "c"))
    assert t.strand_pairs == [2, 1, 0] and t.names == ["fwd", "dnase", "rev"]
    bad = [TrackSpec(bigwig, "a", strand_pair="b"), TrackSpec(bigwig, "b", strand_pair="c"),
           TrackSpec(bigwig, "c")]  # fmt: skip
    with pytest.raises(InputError, match="must name each other"):
        strand_pair_indices(bad)


def test_tracks_table(tmp_path, bigwig):
    (tmp_path / "sub").mkdir()
    table = tmp_path / "t.tsv"
    table.write_text(
        "file\tname\tsummary\ttransform\tclip\tstrand_pair\n"
        "# a comment\n"
        "a.bw\tfwd\tmean\tlog1p\t32\trev\n"
        f"{bigwig}\trev\t\t\t\t\n"
    )
    specs = read_tracks_table(table)
    assert specs[0] == TrackSpec(bigwig, "fwd", "mean", "log1p", 32.0, "rev")
    assert specs[1] == TrackSpec(bigwig, "rev")
    assert strand_pair_indices(specs) == [1, 0]


@pytest.mark.parametrize(
    "body, match",
    [
        ("file\tlabel\na.bw\tx\n", "line 1: no 'name' column"),
        ("file\tname\tcolour\na.bw\tx\tred\n", "unknown column"),
        ("file\tname\na.bw\n", "line 2: 1 tab-separated fields, expected 2"),
        ("file\tname\nmissing.bw\tx\n", "line 2: column 'file': bigWig .*missing.bw not found"),
        ("file\tname\tclip\na.bw\tx\thigh\n", "line 2: column 'clip': 'high' is not a number"),
        ("file\tname\tsummary\na.bw\tx\tmax\n", "line 2: .*summary 'max'"),
        ("file\tname\na.bw\tx\na.bw\tx\n", "appears twice"),
        ("file\tname\tstrand_pair\na.bw\tx\ty\n", "line 2: column 'strand_pair': no track"),
        ("file\tname\n\n", "header but no rows"),
    ],
)
def test_tracks_table_errors(tmp_path, bigwig, body, match):
    table = tmp_path / "t.tsv"
    table.write_text(body)
    with pytest.raises(InputError, match=match):
        read_tracks_table(table)
