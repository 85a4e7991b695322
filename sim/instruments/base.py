"""Instrument protocol, target areas and registry (Covasim-style lifecycle).

An instrument is one module in ``sim/instruments/`` with a pydantic config
class (``kind: Literal["..."]``) and an ``Instrument`` subclass with
``initialize(model)`` and ``apply(model)``. ``register`` adds both to the
registry; the scenario schema's ``instruments`` list is a discriminated union
over every registered config, so adding an instrument is one module plus its
import in ``sim/instruments/__init__.py``.

Besides ``apply`` (every step while active, before the kernels), an instrument
may implement any of the hooks below; the municipality asks every active
instrument and combines the answers (``sim/agents/municipality.py``). A hook an
instrument does not implement answers neutrally.

=====================  ===============================================  ==========
hook                   asked when                                       combined
=====================  ===============================================  ==========
first_refusal          an owner decided to sell a parcel; True means    first True or
                       "I buy it and have paid from the fund", None     None wins
                       "I negotiate: the sale waits"                    (asked in order)
screen_lease           an owner is about to accept a bid                all must pass
use_permitted          entrants choose the vacant units they search     all must pass
                       (published plan rules: a use-mix cap)
conversion_subsidy     an owner weighs (commit=False) / starts a        sum (EUR)
                       conversion (commit=True)
conversion_extra_steps an owner starts a conversion (permit lag)        max (steps)
rent_support_share     entrants weigh vacant units (share of the        sum, ≤ 1
                       rent the municipality pays for that sector)
maintenance_support    an owner weighs (commit=False) / does            sum (EUR)
                       renovation (commit=True)
on_let                 a unit was let                                   all told
on_exit                a business left its unit                         all told
idle                   every step while the instrument is not active    (own)
kpis                   KPIs are recorded (metrics ``<name>_<key>``)     merged
=====================  ===============================================  ==========
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, model_validator

from sim.uses import STREET_CODE

if TYPE_CHECKING:
    from sim.model import CityModel

AreaName = Literal["core", "edge", "shopping", "residential", "all"]
StreetName = Literal["A1", "A2", "B", "C", "residential"]


class StrictParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False,
                              use_attribute_docstrings=True)


class Rect(StrictParams):
    """A rectangle of cells: rows ``row0 ≤ r < row1``, columns ``col0 ≤ c < col1``."""

    row0: Annotated[int, Field(ge=0)]
    col0: Annotated[int, Field(ge=0)]
    row1: Annotated[int, Field(ge=1)]
    col1: Annotated[int, Field(ge=1)]

    @model_validator(mode="after")
    def _ordered(self) -> "Rect":
        if self.row1 <= self.row0 or self.col1 <= self.col0:
            raise ValueError(f"empty rectangle: rows {self.row0}..{self.row1}, columns {self.col0}..{self.col1}")
        return self


class Area(StrictParams):
    """Target area: the union of the named areas, street classes and rectangles given.

    Nothing given means the whole city. Named areas come from the city
    generator: ``core`` (core retail area, A1+A2), ``edge`` (C streets,
    aanloopstraten), ``shopping`` (A1-C), ``residential`` (residential streets), ``all``.
    """

    zones: list[AreaName] = []
    """Named areas of the generated city."""
    street_classes: list[StreetName] = []
    """Parcels fronting these street classes."""
    rectangles: list[Rect] = []
    """Rectangles of cells (row/column indices of the grid)."""

    def mask(self, parcels) -> np.ndarray:
        """Boolean (H, W) mask of the parcels in the area."""
        from sim.parcels import named_area
        if not (self.zones or self.street_classes or self.rectangles):
            return parcels.is_parcel.copy()
        m = np.zeros(parcels.shape, bool)
        for z in self.zones:
            m |= named_area(parcels, z)
        for s in self.street_classes:
            m |= parcels.street_class == STREET_CODE[s]
        for r in self.rectangles:
            m[r.row0:r.row1, r.col0:r.col1] = True
        return m & parcels.is_parcel

    def key(self) -> tuple:
        return (tuple(sorted(self.zones)), tuple(sorted(self.street_classes)),
                tuple((r.row0, r.col0, r.row1, r.col1) for r in self.rectangles))


class InstrumentParams(StrictParams):
    """Fields every instrument has: its kind, when it acts and where."""

    kpi_keys: ClassVar[tuple[str, ...]] = ()
    """Keys of the instrument's ``kpis()``, recorded as metrics ``<name>_<key>``: `regie validate` checks an
    experiment's KPI names against them (``sim.kpis.known_metrics``); a test checks them against real runs."""

    kind: str
    start_year: Annotated[int, Field(ge=1990, le=2200)] | None = None
    """First calendar year the instrument acts (null: from the start)."""
    end_year: Annotated[int, Field(ge=1990, le=2200)] | None = None
    """Last calendar year the instrument acts (null: to the horizon)."""
    area: Area = Area()
    """Where it acts (default: the whole city)."""

    @model_validator(mode="after")
    def _years_ordered(self) -> "InstrumentParams":
        if self.start_year is not None and self.end_year is not None and self.end_year < self.start_year:
            raise ValueError(f"end_year {self.end_year} is before start_year {self.start_year}")
        return self


class Instrument:
    """Lifecycle of an instrument inside a run. ``name`` keys the municipal ledger and its metrics."""

    config_class: ClassVar[type[InstrumentParams]]
    levy_funded: ClassVar[bool] = False    # spends a levy, not municipal money (no capital cost: the BIZ)

    def __init__(self, config: InstrumentParams, index: int):
        self.config = config
        self.name = f"{config.kind}" if index == 0 else f"{config.kind}_{index}"
        self.area_mask: np.ndarray | None = None

    def active(self, year: float) -> bool:
        c = self.config
        return (c.start_year is None or year >= c.start_year) and (c.end_year is None or year < c.end_year + 1)

    def initialize(self, model: "CityModel") -> None:
        """Called once after the city, the agents and the burn-in exist."""
        self.area_mask = self.config.area.mask(model.parcels)

    def in_area(self, parcel: int) -> bool:
        return bool(self.area_mask.reshape(-1)[parcel])

    def apply(self, model: "CityModel") -> None:  # pragma: no cover - protocol
        """Called every step while active, before the kernels."""

    def idle(self, model: "CityModel") -> None:
        """Called every step while not active (before start_year, after end_year): for
        commitments that outlive the active period, e.g. grants already promised."""

    def kpis(self, model: "CityModel") -> dict[str, float]:
        """Instrument-specific metrics, recorded as ``<name>_<key>`` every step (also when inactive)."""
        return {}

    def holdings_value_eur(self, model: "CityModel") -> float:
        """Market value of the property the instrument holds now (what a sale would fetch): credited
        against its cost in ``net_public_cost_eur``. Instruments that hold nothing: 0."""
        return 0.0


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


def build_instruments(configs: list[InstrumentParams]) -> list[Instrument]:
    """Instantiate the scenario's instruments; two of one kind get distinct ledger names."""
    seen: dict[str, int] = {}
    out = []
    for cfg in configs:
        i = seen.get(cfg.kind, 0)
        seen[cfg.kind] = i + 1
        out.append(REGISTRY[cfg.kind](cfg, i))
    return out
