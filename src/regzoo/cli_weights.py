"""CLI command importing published weights (regzoo import)."""
