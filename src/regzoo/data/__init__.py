"""regzoo.data: files -> sequences, labels and splits -> :class:`TaskData`.

Encoding (:mod:`~regzoo.data.encode`): one-hot ``(4, L)``, channels A, C, G, T; N and other IUPAC
codes all-zero. Genomes (:mod:`~regzoo.data.genome`), BED intervals and splits
(:mod:`~regzoo.data.intervals`), GFF annotation (:mod:`~regzoo.data.gff`), sequence tables
(:mod:`~regzoo.data.tables`), builders (:mod:`~regzoo.data.sources`) and the bundled real tasks
(:mod:`~regzoo.data.bundled`).
"""

from regzoo.data.bundled import list_tasks, load_arrays, load_task
from regzoo.data.datasets import IntervalDataset, SequenceDataset
from regzoo.data.encode import (
    codes_to_one_hot,
    decode,
    encode,
    encode_batch,
    fit_length,
    one_hot,
    one_hot_batch,
    reverse_complement,
)
from regzoo.data.genome import Genome, cache_dir
from regzoo.data.gff import read_gff
from regzoo.data.intervals import read_bed, split_by_chrom
from regzoo.data.shuffle import dinucleotide_shuffle, shuffled_negatives
from regzoo.data.sources import from_fasta, from_intervals, from_table, infer_task_type
from regzoo.data.synthetic import planted_motif_task
from regzoo.data.tables import fit_sequences, read_table
from regzoo.data.task import TaskData

__all__ = [
    "Genome",
    "IntervalDataset",
    "SequenceDataset",
    "TaskData",
    "cache_dir",
    "codes_to_one_hot",
    "decode",
    "dinucleotide_shuffle",
    "encode",
    "encode_batch",
    "fit_length",
    "fit_sequences",
    "from_fasta",
    "from_intervals",
    "from_table",
    "infer_task_type",
    "list_tasks",
    "load_arrays",
    "load_task",
    "one_hot",
    "one_hot_batch",
    "planted_motif_task",
    "read_bed",
    "read_gff",
    "read_table",
    "shuffled_negatives",
    "reverse_complement",
    "split_by_chrom",
]
