"""CLI commands for interpretation and variant scoring (explain, motifs, score-variants)."""
