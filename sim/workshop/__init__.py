"""The workshop comparison: scenarios side by side on common random numbers (``compare``),
their statistics (``statistics``) and the report a non-modeller reads (``report``)."""
