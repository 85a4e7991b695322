"""Instrument protocol and registry (Covasim-style lifecycle).

An instrument is one module in ``sim/instruments/`` with a pydantic config
class (``kind: Literal["..."]``) and an ``Instrument`` subclass with
``initialize(model)`` and ``apply(model)``. ``register`` adds both to the
registry; the scenario schema's ``instruments`` list is a discriminated union
over every registered config, so adding an instrument is one module plus its
import in ``sim/instruments/__init__.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Union

from pydantic import BaseModel, ConfigDict, Field, PlainValidator

if TYPE_CHECKING:
    from sim.model import CityModel


class InstrumentParams(BaseModel):
    """Base of instrument configs: strict and frozen like the scenario."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, use_attribute_docstrings=True)
    kind: str
    start_year: int | None = None
    """First calendar year the instrument acts (null: from the start)."""
    end_year: int | None = None
    """Last calendar year the instrument acts (null: to the horizon)."""


class Instrument:
    """Lifecycle of an instrument inside a run. ``name`` keys the municipal ledger."""

    config_class: ClassVar[type[InstrumentParams]]

    def __init__(self, config: InstrumentParams, index: int):
        self.config = config
        self.name = f"{config.kind}" if index == 0 else f"{config.kind}_{index}"

    def active(self, year: float) -> bool:
        c = self.config
        return (c.start_year is None or year >= c.start_year) and (c.end_year is None or year < c.end_year + 1)

    def initialize(self, model: "CityModel") -> None:  # pragma: no cover - protocol
        """Called once after the city and agents exist."""

    def apply(self, model: "CityModel") -> None:  # pragma: no cover - protocol
        """Called every step, before the kernels, while active."""


REGISTRY: dict[str, type[Instrument]] = {}


def register(cls: type[Instrument]) -> type[Instrument]:
    kind = cls.config_class.model_fields["kind"].default
    REGISTRY[kind] = cls
    return cls


def _no_instrument_kinds(value: Any) -> Any:
    kind = value.get("kind") if isinstance(value, dict) else None
    raise ValueError(f"unknown instrument kind {kind!r}; no instrument kinds are available in this version")


def instrument_config_type() -> Any:
    """The discriminated union over registered configs (or a clear refusal when none exist)."""
    configs = [cls.config_class for cls in REGISTRY.values()]
    if not configs:
        return Annotated[Any, PlainValidator(_no_instrument_kinds)]
    if len(configs) == 1:
        return configs[0]
    return Annotated[Union[tuple(configs)], Field(discriminator="kind")]


InstrumentConfig = instrument_config_type()


def build_instruments(configs: list[InstrumentParams]) -> list[Instrument]:
    """Instantiate the scenario's instruments; two of one kind get distinct ledger names."""
    seen: dict[str, int] = {}
    out = []
    for cfg in configs:
        i = seen.get(cfg.kind, 0)
        seen[cfg.kind] = i + 1
        out.append(REGISTRY[cfg.kind](cfg, i))
    return out
