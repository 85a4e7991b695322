"""Regie: agent-based simulator of Dutch inner-city transformation."""

__version__ = "0.4.0"
