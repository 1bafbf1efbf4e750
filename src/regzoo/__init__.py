"""regzoo: the classic sequence-to-function architectures of regulatory genomics, head-to-head."""

__version__ = "0.1.0"
