"""``import regie``: Regie's public Python API under the distribution's name.

The code lives in the package ``sim`` (the project's layout: ``sim/model.py``, ...); this
package only re-exports ``sim``'s public names (``sim.__all__``), so ``regie.run`` *is*
``sim.run`` and the two imports give the same objects. docs/api.md describes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sim as _sim

__version__ = _sim.__version__
__all__ = list(_sim.__all__)


def __getattr__(name: str) -> Any:
    """``regie.NAME`` is ``sim.NAME`` for every public name (imported on first use)."""
    if name in __all__:
        return getattr(_sim, name)
    raise AttributeError(f"module 'regie' has no attribute {name!r} (its names: sim.__all__)")


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:   # what type checkers and IDEs see (regie/py.typed)
    from sim import *  # noqa: F403 - the names of sim.__all__
