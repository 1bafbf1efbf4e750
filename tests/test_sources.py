import numpy as np
import pytest
import torch

from conftest import fasta_text
from regzoo.data.encode import one_hot
from regzoo.data.genome import Genome
from regzoo.data.sources import (
    fraction_split,
    from_fasta,
    from_intervals,
    from_table,
    infer_task_type,
    prepare_labels,
)
from regzoo.errors import InputError, NameNotFoundError


def _random_seqs(n, length, seed=0):
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), size=length)) for _ in range(n)]


def test_infer_task_type():
    assert infer_task_type(np.array([0, 1, 1, 0])) == "binary"
    assert infer_task_type(np.array([[0, 1], [1, 1]])) == "multilabel"
    assert infer_task_type(np.array([0, 1, 2, 2])) == "multiclass"
    assert infer_task_type(np.array([0.5, 1.0])) == "regression"
    assert infer_task_type(np.array([[0, 2], [1, 3]])) == "regression"
    # integers with gaps are quantities unless the user says classes
    assert infer_task_type(np.array([3, 5, 7, 5])) == "regression"
    y, names, kind = prepare_labels(np.array([3, 5, 7, 5]), ["cls"], "multiclass", "x")
    assert kind == "multiclass" and names == ["cls=3", "cls=5", "cls=7"]
    assert y[:, 0].tolist() == [0, 1, 2, 1]
    with pytest.raises(InputError, match="needs labels 0 or 1"):
        prepare_labels(np.array([0.5, 1.0]), ["y"], "binary", "x")
    with pytest.raises(NameNotFoundError, match="unknown task type"):
        prepare_labels(np.array([0, 1]), ["y"], "ranking", "x")


def test_fraction_split_disjoint_and_seeded():
    train, valid, test = fraction_split(100, 0.1, 0.2, seed=1)
    assert (len(train), len(valid), len(test)) == (70, 10, 20)
    assert not (set(train) & set(valid) or set(train) & set(test) or set(valid) & set(test))
    assert set(train) | set(valid) | set(test) == set(range(100))
    again = fraction_split(100, 0.1, 0.2, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip((train, valid, test), again, strict=True))
    assert not np.array_equal(fraction_split(100, 0.1, 0.2, seed=2)[2], test)
    with pytest.raises(InputError, match="summing to < 1"):
        fraction_split(10, 0.6, 0.5)


def test_from_table_binary_with_unequal_lengths(write):
    seqs = _random_seqs(50, 20)
    seqs[3] = seqs[3][:14]  # shorter: padded
    seqs[7] = seqs[7] + "ACGTAC"  # longer: cropped
    rows = "".join(f"s{i},{s},{i % 2}\n" for i, s in enumerate(seqs))
    path = write("t.csv", "name,sequence,bound\n" + rows)
    task = from_table(path, valid_frac=0.2, test_frac=0.2, seed=0)
    assert task.task_type == "binary" and task.label_names == ["bound"]
    assert task.seq_len == 20  # the modal length
    assert task.sizes() == {"train": 30, "valid": 10, "test": 10}
    lengths = task.summary["lengths"]
    assert lengths["n_padded"] == 1 and lengths["n_cropped"] == 1
    x, y = task.train[0]
    assert x.shape == (4, 20) and x.dtype == torch.float32 and y.shape == (1,)
    # the three splits are disjoint: every sequence is in exactly one
    seen = []
    for part in (task.train, task.valid, task.test):
        seen += [part.codes[i].tobytes() for i in range(len(part))]
    assert len(seen) == len(set(seen)) == 50
    balance = task.summary["class_balance"]
    assert set(balance) == {"train", "valid", "test"} and 0 <= balance["test"]["bound"] <= 1
    # user tables: no augmentation unless asked for (strand semantics unknown)
    assert not task.train_augmented.rc_augment and task.train_augmented.max_shift == 0
    assert task.augmentation["rc"] is False and "user files" in task.augmentation["reason"]
    asked = from_table(path, valid_frac=0.2, test_frac=0.2, rc_augment=True, max_shift=3)
    assert asked.train_augmented.rc_augment and asked.train_augmented.max_shift == 3
    assert asked.augmentation["rc"] and "set by the user" in asked.augmentation["reason"]


def test_from_table_multiclass_regression_and_seq_len(write):
    seqs = _random_seqs(30, 12, seed=1)
    path = write(
        "m.tsv", "sequence\tclass\n" + "".join(f"{s}\t{i % 3}\n" for i, s in enumerate(seqs))
    )
    task = from_table(path, seq_len=16, rc_augment=False)
    assert task.task_type == "multiclass" and task.label_names == ["class=0", "class=1", "class=2"]
    assert task.seq_len == 16 and task.summary["lengths"]["n_padded"] == 30
    assert not task.train_augmented.rc_augment
    path = write(
        "r.csv", "sequence,a,b\n" + "".join(f"{s},{i / 7},{i}\n" for i, s in enumerate(seqs))
    )
    task = from_table(path)
    assert task.task_type == "regression" and task.n_tasks == 2
    assert "mean" in task.summary["class_balance"]["train"]["a"]


def test_from_fasta_multilabel(write):
    seqs = _random_seqs(20, 10, seed=2)
    text = "".join(f">r{i} a={i % 2} b={(i // 2) % 2}\n{s}\n" for i, s in enumerate(seqs))
    task = from_fasta(write("l.fa", text), valid_frac=0.1, test_frac=0.1)
    assert task.task_type == "multilabel" and task.label_names == ["a", "b"]
    assert sum(task.sizes().values()) == 20


@pytest.fixture
def genome_and_bed(tmp_path):
    rng = np.random.default_rng(0)
    chroms = {f"chr{i}": "".join(rng.choice(list("ACGT"), size=4000)) for i in range(1, 5)}
    fasta = tmp_path / "g.fa"
    fasta.write_text(fasta_text(chroms, width=60))
    lines = []
    for chrom in chroms:
        for start in range(200, 3700, 100):
            lines.append(f"{chrom}\t{start}\t{start + 50}\tp\t0\t.\t{(start // 100) % 2}\n")
    bed = tmp_path / "peaks.bed"
    bed.write_text("".join(lines))
    return fasta, bed, chroms


def test_from_intervals_by_chromosome_lazy_windows(genome_and_bed):
    fasta, bed, chroms = genome_and_bed
    task = from_intervals(fasta, bed, seq_len=100, valid_chroms=["chr2"], test_chroms=["chr3"])
    assert task.task_type == "binary"
    assert task.sizes() == {"train": 70, "valid": 35, "test": 35}
    assert set(task.valid.chroms) == {"chr2"} and set(task.test.chroms) == {"chr3"}
    assert not set(task.train.chroms) & {"chr2", "chr3"}
    # the window is centred on the interval and read from the genome
    x, y = task.valid[0]
    centre = (200 + 250) // 2
    expected = one_hot(chroms["chr2"][centre - 50 : centre + 50])
    assert torch.equal(x, torch.from_numpy(expected)) and y.item() == 0
    # chromosomes drawn with the seed when not given
    auto = from_intervals(fasta, bed, seq_len=100, seed=1)
    held = set(auto.summary["valid_chroms"]) | set(auto.summary["test_chroms"])
    assert not set(auto.train.chroms) & held


def test_from_intervals_single_chromosome_uses_blocks(tmp_path, genome_and_bed):
    fasta, _, _ = genome_and_bed
    bed = tmp_path / "one.bed"
    bed.write_text(
        "".join(f"chr1\t{s}\t{s + 20}\tp\t0\t.\t{s % 2}\n" for s in range(100, 3900, 37))
    )
    task = from_intervals(fasta, bed, seq_len=60, max_shift=3)
    blocks = task.summary["blocks"]["chr1"]
    assert [b[0] for b in blocks] == ["train", "valid", "test"]
    n_total = sum(task.sizes().values()) + task.summary["dropped"]["straddling_block_boundary"]
    assert n_total == len(range(100, 3900, 37))
    for k, part in enumerate((task.train, task.valid, task.test)):
        _, lo, hi = blocks[k]
        assert (part.window_starts - 3 >= lo).all() and (part.window_starts + 60 + 3 <= hi).all()


def test_interval_augmentation_changes_input_not_label(genome_and_bed):
    fasta, bed, _ = genome_and_bed
    task = from_intervals(
        fasta,
        bed,
        seq_len=100,
        valid_chroms=["chr2"],
        test_chroms=["chr3"],
        seed=0,
        rc_augment=True,
        max_shift=3,
    )
    plain, aug = task.train, task.train_augmented
    assert aug.rc_augment and aug.max_shift == 3 and not plain.rc_augment
    changed = 0
    for i in range(40):
        x0, y0 = plain[i]
        x1, y1 = aug[i]
        assert torch.equal(y0, y1)
        assert x1.shape == x0.shape and torch.all(x1.sum(0) == 1)  # real flanks, no N fill
        changed += not torch.equal(x0, x1)
    assert changed > 20
    # the default for user intervals: no augmentation
    task = from_intervals(fasta, bed, seq_len=100, valid_chroms=["chr2"], test_chroms=["chr3"])
    assert not task.train_augmented.rc_augment and task.train_augmented.max_shift == 0


def test_from_intervals_errors(tmp_path, genome_and_bed):
    fasta, _, _ = genome_and_bed
    bed = tmp_path / "nolabel.bed"
    bed.write_text("chr1\t10\t20\n")
    with pytest.raises(InputError, match="no label columns"):
        from_intervals(fasta, bed)
    bed = tmp_path / "wrong.bed"
    bed.write_text("1\t10\t20\tp\t0\t.\t1\n")
    with pytest.raises(InputError, match="calls it 'chr1'"):
        from_intervals(fasta, bed)
    assert Genome(fasta).padded_bases == 0
