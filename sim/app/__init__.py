"""`regie app`: a local web page for workshops: choose instruments, run, see the difference.

One module per concern:

- ``form``: the choices on the page (archetype, instruments and their main parameters, years,
  replicates) and the scenarios they make, validated by the scenario schema;
- ``runner``: the warm process pool shared by all browser sessions and one comparison job
  (baseline + package on common random numbers, as ``regie compare``);
- ``results``: what the page shows of a finished job (table, charts, maps, cost), from the
  same functions ``regie compare`` and its report use;
- ``texts``: the page's words in English and Dutch;
- ``page``: the Solara components (all state lives in them: each browser session has its own);
- ``serve``: starts the server (``regie app``).

Needs the ``app`` extra (``pip install -e ".[app]"``); nothing else in ``sim`` imports this package.
"""
