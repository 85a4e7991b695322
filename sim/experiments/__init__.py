"""Experiments: pattern checks (and, later, comparison and sensitivity sweeps)."""
