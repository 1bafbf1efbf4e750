"""Explaining models: in-silico mutagenesis, attributions, filters and discovered motifs matched to
JASPAR, logos and reports.

Functions first (as in tangermeme): each takes ``(model, X, ..., batch_size, device)`` and returns
numpy arrays with documented shapes.
"""

from regzoo.interpret.ism import saturation_mutagenesis

__all__ = ["saturation_mutagenesis"]
