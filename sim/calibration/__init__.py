"""Calibration tools (``python -m sim.calibration.<tool>``): sector economics, the stationary
entry rates, the steady start and the pattern check of docs/calibration.md."""
