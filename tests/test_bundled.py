"""The bundled promoter task, checked against the GFF and FASTA read independently here."""

import gzip

import numpy as np
import pytest

from regzoo.data import bundled
from regzoo.data.encode import encode, reverse_complement
from regzoo.errors import NameNotFoundError

TINY = "promoters-tiny"
SEQ_LEN = 500


@pytest.fixture(scope="module")
def tiny_genome() -> dict[str, str]:
    fasta, _ = bundled.task_files(TINY)
    records, name = {}, None
    with gzip.open(fasta, "rt") as fh:
        for line in fh:
            if line.startswith(">"):
                name = line[1:].split()[0]
                records[name] = []
            else:
                records[name].append(line.strip())
    return {k: "".join(v) for k, v in records.items()}


@pytest.fixture(scope="module")
def tiny_gff() -> list[dict]:
    _, gff = bundled.task_files(TINY)
    rows = []
    with gzip.open(gff, "rt") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            f = line.rstrip("\n").split("\t")
            attrs = dict(kv.split("=", 1) for kv in f[8].split(";") if "=" in kv)
            rows.append(
                {
                    "chrom": f[0],
                    "type": f[2],
                    "start": int(f[3]),
                    "end": int(f[4]),
                    "strand": f[6],
                    **attrs,
                }
            )
    return rows


def _tss0(row):  # GFF 1-based closed -> 0-based 5' base
    return row["start"] - 1 if row["strand"] == "+" else row["end"] - 1


def test_list_and_unknown_name():
    assert {"promoters", TINY} <= set(bundled.list_tasks())
    with pytest.raises(NameNotFoundError, match="unknown task 'promotors'.*promoters-tiny"):
        bundled.load_task("promotors")


def test_tiny_task_shape_and_balance(tiny_task, tiny_arrays):
    assert tiny_task.task_type == "binary" and tiny_task.label_names == ["promoter"]
    assert tiny_task.seq_len == SEQ_LEN
    sizes = tiny_task.sizes()
    assert sum(sizes.values()) >= 250 and min(sizes.values()) >= 10
    x, y = tiny_task.train[0]
    assert x.shape == (4, SEQ_LEN) and y.shape == (1,)
    s = tiny_task.summary
    for split in ("train", "valid", "test"):
        assert s["counts"][split]["positives"] == s["counts"][split]["negatives"]
        assert s["class_balance"][split]["promoter"] == 0.5
        gc = s["gc_matching"]["mean_gc"][split]
        assert abs(gc["positives"] - gc["negatives"]) < 0.02
    assert set(s["dropped"]) >= {"straddling_block_boundary", "too_many_n", "off_chromosome_end"}
    # strand-aware: shift-only augmentation
    assert not tiny_task.train_augmented.rc_augment and tiny_task.train_augmented.max_shift == 3


def test_positives_centred_on_annotated_tss(tiny_arrays, tiny_gff, tiny_genome):
    genes = {
        r["ID"]
        for r in tiny_gff
        if r["type"] == "gene" and r.get("gene_biotype") == "protein_coding"
    }
    mrna_tss = {
        (r["chrom"], _tss0(r), r["strand"])
        for r in tiny_gff
        if r["type"] == "mRNA" and r.get("Parent") in genes
    }
    a = tiny_arrays
    pos = np.flatnonzero(a["labels"] == 1)
    assert len(pos) > 100
    half = SEQ_LEN // 2
    for i in pos:
        chrom, tss, strand = str(a["chrom"][i]), int(a["tss"][i]), str(a["strand"][i])
        assert (chrom, tss, strand) in mrna_tss
        start = tss - half if strand == "+" else tss + half + 1 - SEQ_LEN
        assert a["start"][i] == start and a["end"][i] == start + SEQ_LEN
    rng = np.random.default_rng(0)
    for i in rng.choice(pos, 25, replace=False):
        chrom, start, end, strand = (
            str(a["chrom"][i]),
            int(a["start"][i]),
            int(a["end"][i]),
            str(a["strand"][i]),
        )
        seq = tiny_genome[chrom][start:end]
        if strand == "-":
            seq = reverse_complement(seq)
        np.testing.assert_array_equal(a["codes"][i], encode(seq))
        # the TSS base sits at index seq_len // 2, read on the gene's strand
        base = tiny_genome[chrom][int(a["tss"][i])]
        assert seq[half] == (base if strand == "+" else reverse_complement(base))


def test_negatives_far_from_every_tss(tiny_arrays, tiny_gff, tiny_genome):
    gene_ids = {r["ID"] for r in tiny_gff if r["type"] in ("gene", "pseudogene")}
    starts = [
        _tss0(r)
        for r in tiny_gff
        if r["type"] in ("gene", "pseudogene")
        or (r.get("Parent") in gene_ids and r["type"] not in ("exon", "CDS"))
    ]
    tss = np.array(sorted(starts))
    a = tiny_arrays
    neg = np.flatnonzero(a["labels"] == 0)
    assert len(neg) > 100
    for i in neg:
        s, e = int(a["start"][i]), int(a["end"][i])
        dist = np.where(tss < s, s - tss, np.where(tss >= e, tss - (e - 1), 0))
        assert dist.min() >= 2000, (s, e)
        seq = tiny_genome[str(a["chrom"][i])][s:e]
        if a["strand"][i] == "-":
            seq = reverse_complement(seq)
        np.testing.assert_array_equal(a["codes"][i], encode(seq))
    assert set(a["strand"][neg]) == {"+", "-"}  # random strand


def test_splits_disjoint_contiguous_blocks(tiny_arrays, tiny_genome):
    a = tiny_arrays
    blocks = a["summary"]["blocks"]
    for chrom, regions in blocks.items():
        assert regions[0][1] == 0 and regions[-1][2] == len(tiny_genome[chrom])
        assert all(r[2] == n[1] for r, n in zip(regions, regions[1:], strict=False))
        for k, name in enumerate(("train", "valid", "test")):
            mine = [(lo, hi) for split, lo, hi in regions if split == name]
            if name != "train":
                assert len(mine) == 1  # one contiguous block
            on = (a["split"] == k) & (a["chrom"] == chrom)
            inside = np.zeros(on.sum(), dtype=bool)
            for lo, hi in mine:
                inside |= (a["start"][on] >= lo) & (a["end"][on] <= hi)
            assert inside.all(), name
    keys = {
        (str(c), int(s), str(t))
        for c, s, t in zip(a["chrom"], a["start"], a["strand"], strict=True)
    }
    assert len(keys) == len(a["start"])


def test_deterministic_and_cached(tiny_arrays, tmp_path, monkeypatch, capsys):
    builds = []
    for d in ("one", "two"):
        monkeypatch.setenv("REGZOO_CACHE", str(tmp_path / d))
        builds.append(bundled.load_arrays(TINY))
        assert "built task 'promoters-tiny'" in capsys.readouterr().err  # reported once, on build
        assert bundled.cache_path(TINY).is_relative_to(tmp_path / d)
    for key in ("codes", "labels", "split", "chrom", "start", "strand", "tss", "gene_id"):
        np.testing.assert_array_equal(builds[0][key], builds[1][key])
        np.testing.assert_array_equal(builds[0][key], tiny_arrays[key])
    # second load comes from the cache: no rebuild, no message, file untouched
    path = bundled.cache_path(TINY)
    mtime = path.stat().st_mtime_ns

    def no_build(*args, **kwargs):
        raise AssertionError("rebuilt instead of reading the cache")

    monkeypatch.setattr(bundled, "build_promoter_arrays", no_build)
    task = bundled.load_task(TINY)
    assert capsys.readouterr().err == ""
    assert path.stat().st_mtime_ns == mtime
    assert len(task.train) == int((builds[1]["split"] == 0).sum())


def test_seed_changes_negatives_only(tiny_arrays, tmp_path, monkeypatch):
    monkeypatch.setenv("REGZOO_CACHE", str(tmp_path))
    other = bundled.load_arrays(TINY, seed=1)
    pos0 = tiny_arrays["labels"] == 1
    pos1 = other["labels"] == 1
    np.testing.assert_array_equal(tiny_arrays["tss"][pos0], other["tss"][pos1])
    assert set(tiny_arrays["start"][~pos0]) != set(other["start"][~pos1])


@pytest.mark.parametrize("name", ["jaspar-motifs", "elements-tiny", "tracks-tiny"])
def test_bundled_task_reports_the_augmentation_it_trains_with(name):
    """The augmentation printed at start and saved with a model is what ``train_augmented``
    does (jaspar-motifs trained with reverse complement + shifts while reporting 'none')."""
    from regzoo.data.bundled import _load_extra

    task = _load_extra(name, None, 0, None, None)
    aug, data = task.augmentation, task.train_augmented
    assert (aug["rc"], aug["max_shift"]) == (data.rc_augment, data.max_shift), aug
    assert aug["reason"] not in ("", "none")
    # and a user's choice replaces both
    off = _load_extra(name, None, 0, False, 0)
    assert (off.augmentation["rc"], off.augmentation["max_shift"]) == (False, 0)
    assert (off.train_augmented.rc_augment, off.train_augmented.max_shift) == (False, 0)
