"""The bundled ``elements`` task: label derivation from a hand-made GFF, sanity on fly chr4, cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from regzoo.data.elements import (
    ELEMENT_LABELS,
    ELEMENT_TASKS,
    cache_path,
    element_intervals,
    load_elements_task,
    task_files,
)
from regzoo.data.gff import GENE_TYPES, read_gff
from regzoo.errors import NameNotFoundError

GFF = """##gff-version 3
c1\tt\tgene\t1001\t3000\t.\t+\t.\tID=g1;gene_biotype=protein_coding
c1\tt\tmRNA\t1001\t3000\t.\t+\t.\tID=m1;Parent=g1
c1\tt\texon\t1001\t1200\t.\t+\t.\tID=e1;Parent=m1
c1\tt\texon\t1501\t2000\t.\t+\t.\tID=e2;Parent=m1
c1\tt\texon\t2501\t3000\t.\t+\t.\tID=e3;Parent=m1
c1\tt\tCDS\t1101\t1200\t.\t+\t0\tID=c1;Parent=m1
c1\tt\tCDS\t1501\t2000\t.\t+\t0\tID=c1;Parent=m1
c1\tt\tCDS\t2501\t2700\t.\t+\t0\tID=c1;Parent=m1
c1\tt\tgene\t5001\t6000\t.\t-\t.\tID=g2;gene_biotype=protein_coding
c1\tt\tmRNA\t5001\t6000\t.\t-\t.\tID=m2;Parent=g2
c1\tt\texon\t5001\t6000\t.\t-\t.\tID=e4;Parent=m2
c1\tt\tCDS\t5201\t5900\t.\t-\t0\tID=c2;Parent=m2
c1\tt\tpseudogene\t7001\t7500\t.\t+\t.\tID=p1;gene_biotype=pseudogene
c1\tt\tgene\t8001\t8300\t.\t+\t.\tID=g3;gene_biotype=lncRNA
c1\tt\tlnc_RNA\t8001\t8400\t.\t+\t.\tID=r3;Parent=g3
"""


def test_element_intervals_from_a_hand_made_gff(write):
    ann = read_gff(write("a.gff", GFF), attributes=("ID", "Parent", "gene_biotype"))
    iv = element_intervals(ann, {"c1": 10_000})
    got = {
        name: iv[iv["label"] == j][["start", "end"]].values.tolist()
        for j, name in enumerate(ELEMENT_LABELS)
    }
    assert got["tss"] == [[750, 1251], [5749, 6250]]  # + strand TSS 1000, - strand TSS 5999
    assert got["utr5"] == [[1000, 1100], [5900, 6000]]  # the - strand 5' UTR is on the right
    assert got["cds"] == [[1100, 1200], [1500, 2000], [2500, 2700], [5200, 5900]]
    assert got["intron"] == [[1200, 1500], [2000, 2500]]
    assert got["utr3"] == [[2700, 3000], [5000, 5200]]
    assert got["gene_body"] == [[1000, 3000], [5000, 6000]]
    assert got["pseudogene"] == [[7000, 7500]]
    assert got["ncrna"] == [[8000, 8300]]
    # the transcript of g3 runs past its gene: intergenic starts after it
    assert got["intergenic"] == [
        [0, 1000],
        [3000, 5000],
        [6000, 7000],
        [7500, 8000],
        [8400, 10_000],
    ]


@pytest.fixture(scope="module")
def tiny():
    return load_elements_task("elements-tiny")


def test_tiny_task_shape_splits_and_cache(tiny):
    assert set(ELEMENT_TASKS) == {"elements", "elements-tiny"}
    assert tiny.task_type == "multilabel" and tiny.label_names == list(ELEMENT_LABELS)
    s = tiny.summary
    sizes = tiny.sizes()
    assert sizes["train"] > 4000 and sizes["valid"] > 400 and sizes["test"] > 400
    assert sum(s["dropped"].values()) > 0 and s["dropped"]["too_many_n"] > 0
    # contiguous blocks: valid then test at the end of the chromosome
    assert (
        tiny.train.starts.max() > tiny.valid.starts.max()
        or tiny.train.starts.min() < tiny.valid.starts.min()
    )
    assert tiny.valid.starts.max() + 1000 <= tiny.test.starts.min()
    x, y = tiny.train_augmented[0]
    assert x.shape == (4, 1000) and y.shape == (9,) and x.dtype == y.dtype == torch.float32
    path = cache_path("elements-tiny")
    mtime = path.stat().st_mtime_ns
    again = load_elements_task("elements-tiny")  # read from the cache, not rebuilt
    assert path.stat().st_mtime_ns == mtime
    assert np.array_equal(again.train.labels, tiny.train.labels)
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(NameNotFoundError):
        load_elements_task("elements-huge")


def test_tiny_labels_agree_with_the_annotation(tiny):
    _, gff = task_files("elements-tiny")
    ann = read_gff(gff, attributes=("ID", "Parent", "gene_biotype"))
    genes = ann[ann["type"].isin(GENE_TYPES)]
    coding = genes[genes["gene_biotype"] == "protein_coding"]
    occupied = ann[~ann["type"].isin(["region", "mobile_genetic_element"])]

    def overlap(cs, frame):  # bp of [cs, cs + 200) covered by the features of frame
        cover = np.zeros(200, bool)
        hit = frame[(frame["start"] < cs + 200) & (frame["end"] > cs)]
        for s, e in zip(hit["start"], hit["end"], strict=True):
            cover[max(s - cs, 0) : min(e - cs, 200)] = True
        return int(cover.sum())

    ds = tiny.train
    rng = np.random.default_rng(0)
    names = list(ELEMENT_LABELS)
    for i in rng.choice(len(ds), 300, replace=False):
        cs = int(ds.starts[i]) + 400
        y = ds.labels[i]
        if y[names.index("cds")] or y[names.index("utr5")] or y[names.index("utr3")]:
            assert overlap(cs, coding) > 0, i  # inside (or touching) a protein-coding gene
        if y[names.index("intron")]:  # introns of any transcript (lncRNAs, pseudogenes have some)
            assert overlap(cs, genes) >= 50, i
        if y[names.index("gene_body")]:
            assert overlap(cs, coding) >= 100
        if y[names.index("intergenic")]:
            assert 200 - overlap(cs, occupied) >= 100
        if y[names.index("cds")]:
            assert overlap(cs, ann[ann["type"] == "CDS"]) > 0
    y = pd.DataFrame(ds.labels, columns=names)
    assert 0.05 < y["cds"].mean() < 0.6 and 0.05 < y["intergenic"].mean() < 0.6
    assert y["gene_body"].mean() > y["cds"].mean()
    assert ((y["cds"] == 1) & (y["intergenic"] == 1)).mean() < 0.02
