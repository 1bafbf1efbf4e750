"""Variant effect prediction: read VCF / TSV variants, score them with a model, write TSV / VCF."""

from regzoo.variants.score import read_variants, score_variants, write_vcf

__all__ = ["read_variants", "score_variants", "write_vcf"]
