"""Sensitivity sweeps: the experiment design (``design``), sampling and running (``sweep``),
SALib analysis (``analysis``) and its figures (``plots``)."""
