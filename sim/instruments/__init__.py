"""Policy instruments: one module per instrument (kind), found and registered on import.

Adding an instrument is one module in this folder that defines a config class
(``kind: Literal["..."]``) and an ``Instrument`` subclass decorated with
``@register``; this file imports every module here, so the scenario schema's
``instruments`` union picks it up (see ``base.py`` for the protocol and hooks).
"""

import importlib
import pkgutil

from sim.instruments.base import REGISTRY, build_instruments, instrument_config_type

_NOT_INSTRUMENTS = {"base", "area", "describe"}
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module not in _NOT_INSTRUMENTS:
        importlib.import_module(f"{__name__}.{_module}")

InstrumentConfig = instrument_config_type()

__all__ = ["REGISTRY", "InstrumentConfig", "build_instruments"]
