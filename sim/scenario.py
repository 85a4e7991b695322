"""Strict scenario schema: YAML → frozen pydantic models.

Every field carries its unit, default and source (or "assumption") in the
docstring under it. Unknown keys fail; a typo fails at load time with the
file, the key path and what was expected. A scenario may say ``base: other.yaml``
(relative to its own folder) and override keys of the base: mappings are merged
key by key, lists and scalars are replaced.
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
from collections.abc import Hashable
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator, model_validator

from sim.instruments import REGISTRY, InstrumentConfig
from sim.uses import COMMERCIAL_NAMES, OWNER_KINDS


MAX_SEED = 2**63 - 1  # seeds are stored as int64 in every output row
SIMPLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")   # names of result folders


class ScenarioError(ValueError):
    """Bad scenario input. ``str(err)`` holds one line per problem: ``file: key.path: message``."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class Problems(ValueError):
    """Raised by a validator that finds problems below the object it validates.

    ``items`` holds (key path relative to that object, message) pairs; ``problem_lines``
    turns each into one ``file: key.path: message`` line at its own key path."""

    def __init__(self, items: list[tuple[str, str]]):
        self.items = items
        super().__init__("; ".join(f"{k}: {m}" if k else m for k, m in items))


def _join(*parts: str) -> str:
    """Join key paths: ``a`` + ``b`` → ``a.b``; ``a`` + ``[0]`` → ``a[0]``."""
    out = ""
    for p in parts:
        if not p:
            continue
        out = p if not out else out + (p if p.startswith("[") else "." + p)
    return out


class Strict(BaseModel):
    """Base of every schema object: unknown keys fail, objects are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False,
                              use_attribute_docstrings=True)


class PerStreet(Strict):
    """One non-negative number per street class (footfall weights, cap-rate premiums)."""

    A1: Annotated[float, Field(ge=0.0)]
    A2: Annotated[float, Field(ge=0.0)]
    B: Annotated[float, Field(ge=0.0)]
    C: Annotated[float, Field(ge=0.0)]
    residential: Annotated[float, Field(ge=0.0)]

    def as_tuple(self) -> tuple[float, float, float, float, float]:
        return (self.A1, self.A2, self.B, self.C, self.residential)


class PerIncome(Strict):
    """One non-negative number per household income class (incomes, shares)."""

    low: Annotated[float, Field(ge=0.0)]
    middle: Annotated[float, Field(ge=0.0)]
    high: Annotated[float, Field(ge=0.0)]

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.low, self.middle, self.high)


# ---------------------------------------------------------------- drivers
class Trend(Strict):
    """A value at ``start_year`` that changes linearly by ``per_year``."""

    value: float
    """Level in the scenario's start year (unit of the driver)."""
    per_year: float = 0.0
    """Absolute change per year (unit of the driver per year)."""


class Series(Strict):
    """Year → value points, linearly interpolated, held flat beyond both ends."""

    series: dict[int, float]
    """Mapping of calendar year to value; years strictly increasing as written."""

    @field_validator("series", mode="before")
    @classmethod
    def _sorted_unique(cls, v: Any) -> Any:
        if isinstance(v, list):  # also accept [[year, value], ...]
            if not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in v):
                raise ValueError("a series is a mapping year: value or a list of [year, value] pairs")
            years = [_series_year(a) for a, _ in v]
            if len(set(years)) != len(years):
                raise ValueError(f"duplicate years in series {years}")
            v = dict(zip(years, (b for _, b in v)))
        if isinstance(v, dict):
            years = [_series_year(k) for k in v]
            if not v:
                raise ValueError("a series needs at least one year")
            if any(b <= a for a, b in zip(years, years[1:])):
                raise ValueError(f"series years must be strictly increasing, got {years}")
        return v


SERIES_YEARS = (1900, 2300)
"""Range of a series year: start years run 1990..2100 and horizons up to 100 years, with room for points before and after."""


def _series_year(key: Any) -> int:
    """A series key as a calendar year; anything else (``~``, text, fractions, booleans) is refused."""
    if isinstance(key, bool) or not isinstance(key, int):
        shown = "~ (null)" if key is None else repr(key)
        raise ValueError(f"series years are whole calendar years such as 2030, and {shown} is not one")
    if not SERIES_YEARS[0] <= key <= SERIES_YEARS[1]:
        raise ValueError(f"series years lie in {SERIES_YEARS[0]}..{SERIES_YEARS[1]}, and {key} does not")
    return key


def _driver_tag(v: Any) -> str | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return "constant"
    if isinstance(v, (Trend, Series)):
        return type(v).__name__.lower()
    if isinstance(v, dict):
        return "series" if "series" in v else "trend"
    return None


Driver = Annotated[
    Union[Annotated[float, Tag("constant")], Annotated[Trend, Tag("trend")], Annotated[Series, Tag("series")]],
    Discriminator(_driver_tag, custom_error_type="driver",
                  custom_error_message="expected a number, {value: ..., per_year: ...} or {series: {year: value}}"),
]
"""A context driver: a constant number, ``{value, per_year}``, or ``{series: {year: value}}``."""


def _driver_levels(driver: Driver) -> list[float]:
    """The levels a driver states (the constant, the trend's start value, or the series values)."""
    if isinstance(driver, (int, float)):
        return [float(driver)]
    if isinstance(driver, Trend):
        return [driver.value]
    return [float(x) for x in driver.series.values()]


def driver_value(driver: Driver, year: float, start_year: int) -> float:
    """Value of a driver at (fractional) calendar ``year``."""
    if isinstance(driver, (int, float)):
        return float(driver)
    if isinstance(driver, Trend):
        return driver.value + driver.per_year * (year - start_year)
    years = sorted(driver.series)
    values = [driver.series[y] for y in years]
    if year <= years[0]:
        return float(values[0])
    for (y0, v0), (y1, v1) in zip(zip(years, values), zip(years[1:], values[1:])):
        if year <= y1:
            return float(v0 + (v1 - v0) * (year - y0) / (y1 - y0))
    return float(values[-1])


# ---------------------------------------------------------------- city
class Archetype(BaseModel):
    """A Dutch centre size class (Locatus classes: a centre with more than 400 shops is among
    the ~17 largest of the country; 200-400 shops is a centre of Delft's size; source:
    Locatus, via 5dok.net "Bijlage branchering")."""

    side_cells: int
    """Grid side; the generator's street plan scales with it (about 14% of cells are commercial units)."""
    sales_level: float
    """Sales per m2 of the visitor-facing part of every sector relative to the midsize centre: a larger
    centre draws from a wider catchment. Calibrated so that the median A1 rent lands on the Dutch
    figures of its class (docs/calibration.md): small ~EUR 450-650 (national mean of 189 main shopping
    locations ~EUR 655, JLL via Reformatorisch Dagblad), midsize ~EUR 1,000-1,200 (Breda Eindstraat
    ~EUR 1,200, JLL via BN DeStem), large ~EUR 1,600-2,000 (Utrecht, Maastricht ~EUR 1,600, De Telegraaf;
    Rotterdam Koopgoot ~EUR 1,675)."""
    shops: str
    """Retail outlets (shops, vacant units excluded) the generated city has at the start."""
    demand_level: float = 1.0
    """Would-be entrants relative to the midsize centre, per 1,000 units: calibrated so that the frozen
    centre of this size keeps its start vacancy (docs/calibration.md §3)."""


ARCHETYPES: dict[str, Archetype] = {
    "small": Archetype(side_cells=56, sales_level=0.825, demand_level=1.08, shops="about 250 (a regional centre)"),
    "midsize": Archetype(side_cells=88, sales_level=1.2, demand_level=1.0, shops="about 450 (Locatus' class above 400 shops)"),
    "large": Archetype(side_cells=150, sales_level=1.556, demand_level=1.32, shops="about 1,100 (the largest centres)"),
}


class CityConfig(Strict):
    archetype: Literal["small", "midsize", "large"] = "midsize"
    """Synthetic city archetype by Dutch size class: ``small`` (56×56 cells, about 250 shops), ``midsize`` (88×88, about 450) or ``large`` (150×150, about 1,100). Schematic, not to scale."""
    size_cells: Annotated[int, Field(ge=32, le=512)] | None = None
    """Grid side length in cells; ``null`` takes the archetype's size."""
    sales_level: Annotated[float, Field(gt=0.0, le=10.0)] | None = None
    """Sales level of the visitor-facing part of sales relative to the midsize centre (0..10); ``null`` takes the archetype's (calibrated to Dutch prime rents, docs/calibration.md)."""
    demand_level: Annotated[float, Field(gt=0.0, le=10.0)] | None = None
    """Would-be entrants per 1,000 units relative to the midsize centre (0..10); ``null`` takes the archetype's (calibrated so that its start is stationary, docs/calibration.md)."""

    @property
    def side_cells(self) -> int:
        return self.size_cells or ARCHETYPES[self.archetype].side_cells

    @property
    def sales_level_value(self) -> float:
        return self.sales_level if self.sales_level is not None else ARCHETYPES[self.archetype].sales_level

    @property
    def demand_level_value(self) -> float:
        return self.demand_level if self.demand_level is not None else ARCHETYPES[self.archetype].demand_level


# ---------------------------------------------------------------- context
def _complete_per_sector(given: dict, defaults: dict, what: str) -> dict:
    """A per-sector mapping of a scenario: refuse names that are no commercial sector, fill the rest
    from ``defaults``."""
    unknown = sorted(set(given) - set(COMMERCIAL_NAMES))
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; expected some of {list(COMMERCIAL_NAMES)}")
    return {**defaults, **given}


def _online_defaults() -> dict[str, Driver]:
    # Online share of spending per sector in 2025 and its growth. CBS/Panteia:
    # ~10% (2015) → 16% (2019) of all retail spending; ~22% (2024, secondary source);
    # much higher for comparison goods than for daily goods. Split per sector: assumption.
    return {
        "comparison": Trend(value=0.30, per_year=0.008),
        "independent": Trend(value=0.18, per_year=0.006),
        "daily": Trend(value=0.06, per_year=0.003),
        "horeca": 0.0,
        "services": Trend(value=0.03, per_year=0.002),
        "culture": 0.0,
        "craft": Trend(value=0.05, per_year=0.002),
        "office": 0.0,
    }


def _share_levels(v: Driver) -> Driver:
    if not all(0.0 <= x <= 1.0 for x in _driver_levels(v)):
        raise ValueError(f"an online share is a fraction 0..1 (got {_driver_levels(v)})")
    return v


ShareDriver = Annotated[Driver, AfterValidator(_share_levels)]


class ContextConfig(Strict):
    online_share: dict[str, ShareDriver] = Field(default_factory=_online_defaults)
    """Share of the sector's spending that goes online (0..1) per commercial sector. Source: CBS/Panteia (about 10% of Dutch retail spending online in 2015, 16% in 2019; about 22% in 2024 by a secondary source); per-sector split and trend: assumption."""
    visitor_demand: Driver = Trend(value=1.0, per_year=-0.005)
    """Visitor demand index (start year = 1), 0..10 over the simulated period (would-be entrants scale with it). Footfall in Dutch shopping areas fell 22% 2004-2019 and large cities were back near 2019 levels by spring 2024 (interiorbusiness.nl, "Winkelstraten Nederland dit voorjaar veel drukker", 2024): a mild -0.5%/yr trend is an assumption."""
    housing_demand: Driver = 1.0
    """Housing demand index (1 = vacant dwellings are let at the usual pace), 0..10 over the simulated period. Assumption."""
    cap_rate: Driver = 0.055
    """Capitalisation rate of prime (A1) retail property (1/yr). Assumption within the 4-6% range of Dutch prime high-street yields."""
    interest_rate: Driver = 0.045
    """Owners' nominal interest rate on loans (1/yr). Assumption (Dutch commercial-property loans of 2024-25 in the 4-5% range, no source traced)."""
    inflation: Driver = 0.02
    """Consumer-price inflation (1/yr). Money in the model is in constant euros of the start year: commercial leases are indexed yearly (the ROZ model lease indexed to CPI by default until 2024; since then the parties choose the method, tk.nl), and dwelling rents, incomes, costs and budgets are taken to move with prices, so all stay level in constant euros; loans are nominal, so their real balance falls by inflation. Default: the ECB's 2% target (CBS: 3.3% in 2024)."""
    construction_cost_eur_m2: Driver = 1400.0
    """Cost of converting a ground-floor unit to housing (EUR per m2 floor). Assumption (Dutch transformation projects: EUR 1,000-1,800 per m2)."""
    crime_pressure: Driver = 1.0
    """Undermining pressure index (1 = today's rate of front-business entries), 0..10 over the simulated period. Assumption."""

    @field_validator("online_share")
    @classmethod
    def _known_sectors(cls, v: dict[str, Driver]) -> dict[str, Driver]:
        return _complete_per_sector(v, _online_defaults(), "sector(s)")

    @field_validator("visitor_demand", "housing_demand", "construction_cost_eur_m2", "crime_pressure",
                     "interest_rate", "inflation")
    @classmethod
    def _non_negative(cls, v: Driver) -> Driver:
        if min(_driver_levels(v)) < 0:
            raise ValueError(f"expected a non-negative level (got {min(_driver_levels(v))})")
        return v

    @field_validator("cap_rate")
    @classmethod
    def _positive(cls, v: Driver) -> Driver:
        if min(_driver_levels(v)) <= 0:
            raise ValueError(f"a cap rate must be positive (got {min(_driver_levels(v))})")
        return v


# ---------------------------------------------------------------- agents
Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]


class SectorParams(Strict):
    """Economics of one commercial sector."""

    sales_density_eur_m2: NonNeg
    """Annual sales per m2 of floor at the reference footfall (the start mean on A1 streets), before online loss (EUR/m2/yr)."""
    gross_margin: Share
    """Share of sales left after cost of goods (0..1)."""
    fixed_cost_eur_m2: NonNeg
    """Staff and other fixed costs per m2 per year (EUR/m2/yr)."""
    footfall_elasticity: NonNeg
    """Elasticity of sales to the local footfall/resident index (dimensionless)."""
    local_share: Share
    """Share of sales that comes from residents nearby rather than visitors (0..1)."""
    entry_rate_per_1000_units: Annotated[float, Field(ge=0.0, le=1000.0)]
    """Would-be entrants per year per 1,000 commercial units at visitor demand 1 (1/yr), scaled by visitor_demand^(1 − local_share) and the archetype's ``city.demand_level``. Calibrated (``python -m sim.calibration.stationary``, docs/calibration.md §3) so that the frozen midsize centre keeps its sector mix and its vacancy: they are then about as many as the businesses that leave. At most 1,000 (one searcher per unit a year): beyond that the entry draws only cost memory and time."""


def _sector_defaults() -> dict[str, SectorParams]:
    # Gross margins from Dutch cost structures (CBS: clothing shops 0.42, non-food shops 0.37,
    # food shops 0.25, 1999; horeca board 2009: horeca 0.70; services, culture and craft:
    # assumption; offices: no cost of goods). Sales densities and fixed costs derived by
    # `python -m sim.calibration.economics` from a bid-rent design (assumption: each sector's
    # residual rent at one street class and its rent share of sales there; docs/calibration.md §2),
    # so that at 2025 footfall chains and horeca bid most on the prime streets, independents
    # and services on A2-B, daily goods, offices, craft and culture on the edge and residential
    # streets. Entry rates: calibrated (see entry_rate_per_1000_units).
    S = SectorParams
    return {
        "comparison": S(sales_density_eur_m2=6340, gross_margin=0.42, fixed_cost_eur_m2=840, footfall_elasticity=0.8, local_share=0.05, entry_rate_per_1000_units=5.3),
        "independent": S(sales_density_eur_m2=7920, gross_margin=0.37, fixed_cost_eur_m2=1190, footfall_elasticity=0.6, local_share=0.25, entry_rate_per_1000_units=11.7),
        "daily": S(sales_density_eur_m2=5760, gross_margin=0.25, fixed_cost_eur_m2=620, footfall_elasticity=0.5, local_share=0.50, entry_rate_per_1000_units=11.7),
        "horeca": S(sales_density_eur_m2=4640, gross_margin=0.70, fixed_cost_eur_m2=2110, footfall_elasticity=0.4, local_share=0.30, entry_rate_per_1000_units=15.4),
        "services": S(sales_density_eur_m2=3760, gross_margin=0.85, fixed_cost_eur_m2=1890, footfall_elasticity=0.5, local_share=0.40, entry_rate_per_1000_units=13.0),
        "culture": S(sales_density_eur_m2=1470, gross_margin=0.90, fixed_cost_eur_m2=950, footfall_elasticity=0.2, local_share=0.50, entry_rate_per_1000_units=1.9),
        "craft": S(sales_density_eur_m2=2080, gross_margin=0.60, fixed_cost_eur_m2=770, footfall_elasticity=0.2, local_share=0.40, entry_rate_per_1000_units=3.5),
        # ground-floor offices (estate agents, banks, employment and travel agencies) serve mostly
        # local clients: they sit on B and C streets and pay rents there
        "office": S(sales_density_eur_m2=2410, gross_margin=1.00, fixed_cost_eur_m2=1890, footfall_elasticity=0.2, local_share=0.70, entry_rate_per_1000_units=6.0),
    }


class BusinessConfig(Strict):
    sectors: dict[str, SectorParams] = Field(default_factory=_sector_defaults)
    """Economics per commercial sector (keys: commercial use names). Fields not given keep their defaults."""

    @field_validator("sectors", mode="before")
    @classmethod
    def _merge_sectors(cls, v: Any) -> Any:
        return _merge_entries(v, _sector_defaults(), "sector")
    entry_rate_multiplier: Annotated[float, Field(ge=0.0, le=10.0)] = 1.0
    """Multiplies every sector's ``entry_rate_per_1000_units``: the level of demand for units at once (sensitivity analysis; the rates themselves are calibrated, docs/calibration.md). 0..10."""
    lease_years: Annotated[int, Field(ge=1, le=30)] = 5
    """Lease term in years; renewed term of the same length. Source: Dutch retail lease law, 5 + 5 years (BW 7:292)."""
    renewal_rent_to_market: Share = 0.5
    """At renewal the rent moves this share of the way to the market rent (rent review, BW 7:303). Assumption."""
    cash_buffer_quarters: NonNeg = 2.0
    """Entrants' starting cash in quarters of rent plus fixed costs. Assumption."""
    base_exit_per_year: Share = 0.05
    """Exit hazard per year for reasons outside the model (retirement, chain restructuring). Assumption (Locatus: about 10% of outlets change hands a year, part of it through the modelled insolvencies and lease ends)."""
    search: Literal["walk", "listings"] = "listings"
    """How would-be entrants find vacant units. ``listings`` (default): vacant shops are listed by brokers and on listing sites, so each entrant sees every lettable unit its sector may use (or each with probability ``listings_seen_share``) and, in a keyed order, takes the best deal still free; the friction is the letting time. ``walk`` (the search of version 0.4): each inspects ``candidates_per_entrant`` units found in proportion to footfall to the power ``search_footfall_weight`` and bids on the best one it saw; a structural alternative for testing what search friction explains, not calibrated (docs/calibration.md §4)."""
    candidates_per_entrant: Annotated[int, Field(ge=1, le=50)] = 5
    """Vacant units an entrant inspects before it bids (``search: walk``; from the listings, found in proportion to visibility). Assumption."""
    listings_seen_share: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    """``search: listings``: share of the lettable units of its sector that an entrant considers, each drawn on its own (0 < share ≤ 1). 1: vacant shops are listed by brokers and on listing sites, so entrants know the whole offer. Assumption."""
    letting_time_quarters: Annotated[int, Field(ge=1, le=8)] = 2
    """Mean time from the start of a vacancy until a new lease can start (marketing, negotiation, permits, fit-out), in quarters; each spell takes 1 to 2 × this − 1 quarters. Assumption (no Dutch figure found): with about 6% of units changing tenant a year it gives about 3% of units vacant for the time a letting takes, the rest of the start's 6% is units asked above what their location supports (docs/calibration.md §4)."""
    search_footfall_weight: Annotated[float, Field(ge=0.0, le=10.0)] = 2.0
    """``search: walk``: entrants find units in proportion to footfall to this power (visible units are found first), 0..10 (higher powers overflow). Assumption."""
    productivity_spread: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.3
    """Businesses of a sector differ: each sells a productivity drawn uniformly from 1 ± this share times what the sector's typical business sells on the same unit (0..1). Assumption."""
    productivity_known_share: Share = 0.5
    """How much of its productivity difference an entrant knows before it opens (0..1): it judges units by 1 + this × (productivity − 1) times the typical business's sales there, and learns the rest from its accounts; a sitting tenant judges its renewal by its own sales. 0: every newcomer plans with branch figures alone (then no newcomer pays more than the typical business can); 1: it knows exactly. Default 0.5: assumption (chains know their formats, starters do not)."""
    cluster_strength: NonNeg = 0.1
    """Maximum sales bonus (share) from complementary neighbours within 2 cells (and loss from vacant ones). Assumption; 0.1 since 0.5.0 (0.3 before): with thin margins a stronger effect made a vacancy contagious."""
    front_entry_rate_per_1000_units: Annotated[float, Field(ge=0.0, le=1000.0)] = 2.0
    """Criminal-front entrants per year per 1,000 commercial units at crime pressure 1 (at most 1,000: one per unit a year). Assumption."""
    front_bid_premium: NonNeg = 0.3
    """Fronts bid this share above the asking rent, regardless of footfall. Assumption."""
    front_detection_per_year: Share = 0.10
    """Chance per year that police work closes a front without any instrument. Assumption."""


class OwnerKindParams(Strict):
    count_per_1000_parcels: Annotated[float, Field(ge=0.0, le=1000.0)]
    """Owner agents of this kind per 1,000 parcels (at most 1,000: one owner per parcel; at least one owner of each kind exists)."""
    parcel_share_core: Share
    """Share of the parcels (any use) on A1, A2 and B streets owned by this kind."""
    parcel_share_edge: Share
    """Share of the parcels (any use) on C and residential streets owned by this kind."""
    rent_floor_share: Share
    """The headline asking rent of a vacant unit is never cut below this share of its appraisal rent (the last contract rent as the valuer carries it, converging on the market rent as vacancy lasts): a lower headline rent lowers the appraisal."""
    patience_quarters: Annotated[int, Field(ge=1, le=40)]
    """Quarters of vacancy before each asking-rent cut."""
    sale_per_year: Share
    """Sale hazard per parcel per year when not distressed."""
    loan_to_value: Share
    """Debt as a share of the price when a parcel is bought or financed (at the start: of its appraisal). The debt is not re-marked afterwards: it falls only by repayment (and, in constant euros, by inflation)."""
    covenant_ltv_max: Share = 0.7
    """Lender's loan-to-value covenant, tested yearly: debt above this share of the owner's appraised portfolio is a breach (Dutch banks: 60-70%, lenda.nl)."""
    covenant_icr_min: NonNeg = 1.25
    """Lender's interest-cover covenant, tested yearly: net rent income below this multiple of the interest due is a breach (most lenders: at least 1.25, blisshypotheekadviseurs.nl)."""
    payout_share: Share = 0.7
    """Share of the cash above the owner's reserve paid out each year (dividends, owners' drawings)."""


def _merge_entries(given: Any, defaults: dict[str, BaseModel], what: str) -> Any:
    """Let a scenario override single fields of a per-sector / per-kind entry."""
    if not isinstance(given, dict):
        return given
    unknown = sorted(str(k) for k in set(given) - set(defaults))
    if unknown:
        raise ValueError(f"unknown {what}(s) {unknown}; expected some of {list(defaults)}")
    out = {k: v.model_dump() for k, v in defaults.items()}
    for k, v in given.items():
        out[k] = {**out[k], **v} if k in out and isinstance(v, dict) else v
    return out


def _change_of_use_defaults() -> dict[str, float]:
    return {s: (600.0 if s == "horeca" else 250.0) for s in COMMERCIAL_NAMES}


def _owner_defaults() -> dict[str, OwnerKindParams]:
    # Institutional owners keep a high rent floor because a lower contract rent
    # lowers the appraisal and can breach loan covenants: this is why vacancy persists
    # (gebiedsontwikkeling.nu, "Waarom laten ze een winkelpand zo lang leegstaan").
    # Ownership shares: about 70% of retail owners live within 15 km (a reported figure
    # whose public source is not traced: assumption) → local + private dominate outside the prime core.
    # Covenants: Dutch banks cap commercial-property loans at 60-70% of value, and a breach can
    # get the loan called or repriced (lenda.nl, "De loan-to-value in vastgoedfinanciering");
    # most lenders ask an interest cover of at least 1.25 (blisshypotheekadviseurs.nl, "ICR";
    # a DSCR of 1.2-1.3: foederer.nl). Payout: listed Dutch retail landlords pay out 75-85% of
    # their direct result (Vastned at least 75%: vastned.com, dividend policy; Wereldhave 75-85%),
    # and a fiscal investment institution (FBI) must distribute its profit; private and local
    # owners' drawings: assumption; housing corporations pay no dividends (Woningwet) but move
    # surplus cash into the rest of their housing stock (assumption: the same 80%).
    # Other numbers: assumption.
    O = OwnerKindParams
    return {
        "institutional": O(count_per_1000_parcels=3, parcel_share_core=0.40, parcel_share_edge=0.05, rent_floor_share=0.90, patience_quarters=4, sale_per_year=0.05, loan_to_value=0.40, covenant_ltv_max=0.6, covenant_icr_min=1.25, payout_share=0.8),
        "private": O(count_per_1000_parcels=20, parcel_share_core=0.35, parcel_share_edge=0.35, rent_floor_share=0.75, patience_quarters=2, sale_per_year=0.06, loan_to_value=0.60, covenant_ltv_max=0.7, covenant_icr_min=1.25, payout_share=0.7),
        "local": O(count_per_1000_parcels=40, parcel_share_core=0.25, parcel_share_edge=0.35, rent_floor_share=0.60, patience_quarters=2, sale_per_year=0.03, loan_to_value=0.30, covenant_ltv_max=0.7, covenant_icr_min=1.25, payout_share=0.6),
        "corporation": O(count_per_1000_parcels=0.5, parcel_share_core=0.0, parcel_share_edge=0.25, rent_floor_share=0.60, patience_quarters=2, sale_per_year=0.005, loan_to_value=0.50, covenant_ltv_max=0.7, covenant_icr_min=1.25, payout_share=0.8),
    }


class OwnerConfig(Strict):
    kinds: dict[Literal["institutional", "private", "local", "corporation"], OwnerKindParams] = Field(default_factory=_owner_defaults)
    """Parameters per owner kind (the municipality becomes an owner only through instruments). Fields not given keep their defaults."""

    @field_validator("kinds", mode="before")
    @classmethod
    def _merge_kinds(cls, v: Any) -> Any:
        return _merge_entries(v, _owner_defaults(), "owner kind")
    rent_cut_share: Share = 0.10
    """Asking-rent cut per review of a vacant unit (share). Assumption."""
    distress_sale_multiplier: Annotated[float, Field(ge=1.0)] = 3.0
    """Sale hazard multiplier for a distressed owner (negative cash) or a unit vacant over 2 years. Assumption."""
    opex_share: Share = 0.15
    """Owner's operating costs as a share of rent income. Assumption (typical 10-20%)."""
    maintenance_threshold: Share = 0.6
    """Owners renovate a parcel when its condition falls below this (0..1). Assumption."""
    renovation_cost_eur_m2: NonNeg = 500.0
    """Cost of restoring condition from 0 to 1 (EUR per m2 floor, linear in the gap). Assumption."""
    conversion_min_vacant_years: NonNeg = 1.5
    """A vacant unit is considered for conversion after this many years. Assumption."""
    change_of_use_cost_eur_m2: dict[str, NonNeg] = Field(default_factory=lambda: _change_of_use_defaults())
    """Cost of turning a vacant unit to a commercial use the plan allows only on application (a change-of-use permit: fees, drawings and refit works), per target use, EUR per m2 floor. Horeca needs a kitchen, extraction, toilets and fire safety (EUR 600/m2); other uses a refit (EUR 250/m2). Assumption."""
    change_of_use_lag_quarters: Annotated[int, Field(ge=1, le=20)] = 2
    """Quarters from application to a unit ready to let after a change of use: the permit decision within 8 weeks (Omgevingswet, regular procedure, art. 16.64) plus works (assumption)."""

    @field_validator("change_of_use_cost_eur_m2")
    @classmethod
    def _known_targets(cls, v: dict[str, float]) -> dict[str, float]:
        return _complete_per_sector(v, _change_of_use_defaults(), "use(s)")
    conversion_lag_quarters: Annotated[int, Field(ge=1, le=20)] = 3
    """Permit (8 weeks regular procedure, Omgevingswet) plus works, in quarters. Assumption for the works."""
    letting_belief_halflife_years: Positive = 5.0
    """Owners' belief that a vacant unit will let halves every this many years of vacancy (drives conversion). Assumption."""
    residential_cap_rate: Positive = 0.045
    """Cap rate of residential property (1/yr). Assumption (Dutch residential net yields 3.5-5%)."""
    street_cap_rate_spread: PerStreet = PerStreet(A1=0.0, A2=0.005, B=0.01, C=0.015, residential=0.02)
    """Cap-rate premium over prime for A1, A2, B, C and residential streets (1/yr). Assumption."""
    dwelling_m2: Annotated[float, Field(ge=18.0)] = 70.0
    """Floor area per dwelling created by a conversion (m2), at least 18 (the Dutch building code's minimum usable floor area of a dwelling: Bouwbesluit 2012, now Bbl). Default: assumption."""
    amortisation_per_year: Share = 0.02
    """Share of a loan repaid each year. Dutch commercial-property loans repay linearly over terms of about five years and refinance the rest (handelsbanken.nl, "Aflossingsvormen"; financieringsfabriek.nl); the yearly share: assumption."""
    reserve_years_of_income: NonNeg = 0.5
    """Cash an owner keeps as a reserve, in years of its rent income; what it holds above the reserve is paid out at ``payout_share`` a year. Assumption."""
    max_rent_free_months: Annotated[float, Field(ge=0.0, le=60.0)] = 12.0
    """Most rent-free months an owner offers on a new lease of ``lease_years`` (the incentive that lets a unit without lowering the headline rent the appraisal rests on). 12 of 60 months is 20% of the term: the top of the 6-20% of the term that Amsterdam Zuidas office owners gave in 2003-2012 (DTZ Zadelhoff, "Incentives horen in het huurcontract", 2013; offices, as no retail figure was found: assumption for retail)."""
    rent_free_months_per_review: Annotated[float, Field(ge=0.0, le=60.0)] = 3.0
    """Rent-free months added to the offer at each review of a vacant unit, before the headline rent is cut. Assumption."""
    appraisal_reversion_years: Positive = 3.0
    """Valuers carry a vacant unit at its last contract rent and move it towards the market rent as vacancy lasts: the gap halves every this many years. Assumption."""
    upper_floor_cost_share: NonNeg = 0.8
    """Cost of turning unused upper floor into dwellings as a share of ``construction_cost_eur_m2`` (a separate entrance, stairs, fire safety; no shop front to rebuild). Assumption."""
    upper_floor_review_per_year: Share = 0.01
    """Chance per year that an owner looks at its unused upper floors (most do not: the barriers that Dutch "wonen boven winkels" programmes address: a separate entrance, fire safety, split ownership, financing). Conversions have been slow in practice: six in ten upper floors of commercial buildings in Dutch centres are not lived in, 40,000-50,000 floors, room for ~70,000 dwellings (Stec Groep, via geografie.nl 2023 and stadsfilosofie.nl); Utrecht's programme added about 95 dwellings above shops in 2023. The rate: assumption (about 0.5% of the buildings with a free upper floor converted a year in the midsize centre)."""
    forced_sale_discount: Share = 0.1
    """Discount on market value when a lender forces a sale after a covenant breach that the owner cannot cure. Assumption."""
    start_cash_years_of_rent: NonNeg = 1.1
    """Owners' starting cash in years of their rent income (commercial and dwelling rents): 1.1, the model's own steady state under the start year's context (reserve, payout and repayment balance there; ``python -m sim.calibration.steady_start``)."""
    buyer_mix: dict[Literal["institutional", "private", "local", "corporation"], NonNeg] = {"institutional": 0.2, "private": 0.5, "local": 0.3, "corporation": 0.0}
    """Kind of the buyer of a sold parcel (relative weights, at least one positive). Assumption."""

    @field_validator("buyer_mix")
    @classmethod
    def _some_buyer(cls, v: dict) -> dict:
        if sum(v.values()) <= 0:
            raise ValueError("at least one buyer kind needs a positive weight")
        return v

    @model_validator(mode="after")
    def _parcels_have_owners(self) -> "OwnerConfig":
        # parcels draw their owner's kind with weights parcel_share_core / _edge over the kinds
        problems = []
        for share, where in (("parcel_share_core", "A1, A2 and B streets"), ("parcel_share_edge", "C and residential streets")):
            if sum(getattr(k, share) for k in self.kinds.values()) <= 0:
                problems.append(("kinds", f"at least one owner kind needs a positive {share}: "
                                 f"the parcels on {where} are given owners in proportion to it (got 0 for every kind)"))
        if problems:
            raise Problems(problems)
        return self


MAX_RENT_TO_INCOME = 10.0
"""A dwelling rent may be at most this many times the lowest monthly income: in-movers weigh dwellings
by exp(−10 × (rent burden − 0.3)), which underflows to 0 for every dwelling near a burden of 75."""


class HouseholdConfig(Strict):
    income_eur_month: PerIncome = PerIncome(low=2000.0, middle=3500.0, high=6000.0)
    """Net monthly income of low, middle and high income classes (EUR), each positive (rent burden divides by it). Assumption (CBS orders of magnitude)."""
    income_mix: PerIncome = PerIncome(low=0.35, middle=0.40, high=0.25)
    """Shares of low, middle and high income among in-movers (relative weights, at least one positive). Assumption."""
    size_mean: Annotated[float, Field(gt=0.0, le=10.0)] = 1.6
    """Mean persons per household in inner cities (0..10). Assumption (CBS: about 1.5-1.7 in city centres)."""
    move_per_year: Share = 0.10
    """Base move-out hazard per year. Assumption (urban renters move about every 8-10 years)."""
    burden_move_multiplier: Annotated[float, Field(ge=1.0)] = 2.0
    """Move hazard multiplier when rent burden exceeds 40% of income. Assumption."""
    nuisance_move_weight: NonNeg = 1.0
    """Extra move hazard per unit of nearby horeca share (nuisance). Assumption."""
    decay_move_weight: NonNeg = 1.0
    """Extra move hazard per unit of nearby condition deficit (1 − condition). Assumption."""
    facilities_move_weight: NonNeg = 0.5
    """Move hazard reduction per unit of nearby daily-goods/services/culture share. Assumption."""
    fill_per_year: Annotated[float, Field(ge=0.0, le=365.0)] = 4.0
    """Vacant dwellings let per year at housing demand 1 (a vacant dwelling lets in about a quarter), at most 365 (within a day). Assumption (Dutch housing shortage)."""
    rent_social_eur_month: NonNeg = 650.0
    """Rent of a housing-corporation dwelling (EUR/month). Assumption (below the social rent limit)."""
    rent_private_eur_month: NonNeg = 1100.0
    """Free-sector rent of an average inner-city dwelling (EUR/month). Assumption."""
    rent_amenity_elasticity: Annotated[float, Field(ge=0.0, le=2.0)] = 0.25
    """Elasticity of free-sector dwelling rents to local footfall (0..2: higher powers of the footfall ratio overflow to infinite rents). Assumption."""
    upper_floor_dwellings_mean: Annotated[float, Field(ge=0.0, le=20.0)] = 1.0
    """Mean dwellings above a commercial ground floor (0..20: an upper bound for inner-city buildings). Assumption."""

    @field_validator("income_eur_month")
    @classmethod
    def _positive_incomes(cls, v: PerIncome) -> PerIncome:
        if min(v.as_tuple()) <= 0:
            raise ValueError("every income class needs a positive income: rent burden is rent / income")
        return v

    @field_validator("income_mix")
    @classmethod
    def _some_income(cls, v: PerIncome) -> PerIncome:
        if sum(v.as_tuple()) <= 0:
            raise ValueError("at least one income class needs a positive share: in-movers draw their class from it")
        return v

    @model_validator(mode="after")
    def _rents_payable(self) -> "HouseholdConfig":
        lowest = min(self.income_eur_month.as_tuple())
        problems = [(name, f"a rent of {rent:g} EUR/month is more than {MAX_RENT_TO_INCOME:g} times the lowest "
                           f"income ({lowest:g} EUR/month): in-movers could not weigh any dwelling; expected at most "
                           f"{MAX_RENT_TO_INCOME * lowest:g}")
                    for name in ("rent_social_eur_month", "rent_private_eur_month")
                    if (rent := getattr(self, name)) > MAX_RENT_TO_INCOME * lowest]
        if problems:
            raise Problems(problems)
        return self


class MunicipalityConfig(Strict):
    annual_budget_eur: NonNeg = 2_000_000.0
    """Annual budget for the instruments (EUR). Assumption for a midsize city."""
    property_fund_eur: NonNeg = 0.0
    """Revolving property fund at the start (EUR); e.g. Rotterdam's shop-buying fund: EUR 9M (2021; NOS, 2024)."""
    screenings_per_year: NonNeg = 0.0
    """Enforcement capacity: integrity screenings per year (the bibob instrument may set its own). Assumption."""
    allow_borrowing: bool = False
    """May the annual budget run a deficit? Default no: a discretionary action the year's money cannot pay is refused (counted as ``<instrument>_refused_budget``) and an obligation waits as arrears (``<instrument>_arrears_eur``). Yes: the deficit carries into the next year and bears interest at ``borrowing_rate_per_year``."""
    borrowing_rate_per_year: Annotated[float, Field(ge=0.0, le=0.2)] = 0.01
    """Real interest on a budget deficit, in the model's constant euros: about 3% nominal (a 25-year loan of BNG Bank, the municipalities' bank, at 2.99%: omo annual report 2017; ECB deposit rate 2.25% in 2025: Almere, bestuursrapportage 2025) less the 2% inflation of the context. Assumption within that range."""
    staff_cost_eur_per_hour: NonNeg = 80.0
    """Integral cost of an hour of municipal staff (EUR/h); staff hours of instruments are booked at it. Assumption (Dutch municipal integral hourly rates are about EUR 70-100)."""


class AgentsConfig(Strict):
    owners: OwnerConfig = OwnerConfig()
    businesses: BusinessConfig = BusinessConfig()
    households: HouseholdConfig = HouseholdConfig()
    municipality: MunicipalityConfig = MunicipalityConfig()


# ---------------------------------------------------------------- market
class MarketConfig(Strict):
    normal_profit_share: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.04
    """Operating profit, as a share of sales, that the typical business of a unit's best use keeps at the market rent: the market rent is the sales less cost of goods, fixed costs and this profit (0..1). Dutch retail's operating result was 4.1-4.2% of net sales in 2015-2017 (CBS via vakcentrum.nl, "Detailhandel algemeen"; 2-6% by branch in CBS 1999)."""
    spending_dilution: Share = 0.0
    """How far a sector's spending in the centre is a fixed pool shared by its floor: sales per m2 scale with (the sector's occupied floor at the start / now) to this power (0: sales do not depend on competitors' floor; 1: a fixed pool). More floor does not bring more spending (PBL, "Leegstand detailhandel herbezien": structural vacancy as oversupply of floor space). The power: assumption."""
    rent_vacancy_sensitivity: NonNeg = 1.0
    """Market rent falls by this share times the local vacancy share (5×5 window), on top of vacancy's effect on sales: valuers mark rents down where neighbours stand empty, which is the price that pulls a vacant street back (the owners' appraisals follow the market rent). Assumption; 1.0 since 0.5.0 (0.3 before: with thin margins vacancy then wandered without a restoring price, docs/calibration.md)."""
    vacant_value_discount: Share = 0.2
    """Appraisal discount of a vacant unit against its asking-rent value. Assumption."""
    footfall_radius_cells: Annotated[int, Field(ge=1, le=12)] = 4
    """Radius of the footfall field (cells). Assumption."""
    footfall_decay_cells: Positive = 2.0
    """Distance decay length of footfall (cells): weight exp(-d / L). Assumption."""
    street_weight: PerStreet = PerStreet(A1=3.0, A2=2.0, B=1.3, C=1.0, residential=0.4)
    """Footfall attraction multiplier of A1, A2, B, C and residential streets. Assumption."""
    resident_attraction: NonNeg = 0.05
    """Footfall attraction per occupied dwelling. Assumption."""
    anchor_station: NonNeg = 8.0
    """Attraction of each station cell. Assumption."""
    anchor_square: NonNeg = 2.0
    """Attraction of each market-square cell. Assumption."""
    condition_decay_per_year: Share = 0.02
    """Condition lost per year by an occupied, well-kept building (1/yr). Assumption (about 50 years to full decay)."""
    vacant_decay_multiplier: NonNeg = 1.5
    """Extra decay rate of a vacant unit (multiple of the base). Assumption."""
    vacancy_spillover: NonNeg = 1.0
    """Extra decay per unit of neighbouring vacancy share (3×3 window), as a multiple of the base. Assumption."""
    front_spillover: NonNeg = 0.5
    """Extra decay per neighbouring criminal front (3×3 window), multiple of the base; a front's own parcel: twice that. Assumption."""


# ---------------------------------------------------------------- scenario
CONTEXT_CEILINGS = {"visitor_demand": 10.0, "housing_demand": 10.0, "crime_pressure": 10.0}
"""Highest level over the simulated period of the drivers that scale agent arrivals (ten times
today's; assumption: far beyond any scenario of a Dutch centre, and above it the Poisson draws
of entrants, in-movers and fronts grow without bound in time and memory)."""
CONTEXT_CEILING_REASON = {"visitor_demand": "would-be entrants scale with visitor demand",
                          "housing_demand": "in-movers scale with housing demand",
                          "crime_pressure": "criminal-front entrants scale with crime pressure"}


# Words about a scenario, not part of what it simulates: editing them changes no run id
# (Scenario.sha256) and does not block `regie compare --resume`.
DESCRIPTIVE_KEYS = ("description", "description_nl")


class Scenario(Strict):
    name: str = "scenario"
    """Short name, used in result folders: a simple file name (letters, digits, ``_ . -``; at most 100 characters)."""

    @field_validator("name")
    @classmethod
    def _simple_file_name(cls, v: str) -> str:
        # the name becomes a folder under results/: no separators, no "..", nothing hidden
        if not SIMPLE_NAME.fullmatch(v):
            raise ValueError("a name is a simple file name: letters, digits, '_', '.' or '-', starting with a "
                             "letter or digit, at most 100 characters")
        return v
    description: str = ""
    """What the scenario represents (English; shown in English reports)."""
    description_nl: str = ""
    """The same in Dutch, for Dutch reports and workshop material ("" = none). A file that sets its own ``description`` does not inherit the ``description_nl`` of its ``base:``: that text describes the base."""
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 20250101
    """Root seed of a run (`regie run --seed` overrides it); comparisons and sweeps derive replicate seeds from it with SeedSequence.spawn."""
    start_year: Annotated[int, Field(ge=1990, le=2100)] = 2025
    """Calendar year of step 0."""
    horizon_years: Annotated[int, Field(ge=1, le=100)] = 20
    """Simulated years (default 20: a modelling choice)."""
    steps_per_year: Annotated[int, Field(ge=1, le=12)] = 4
    """Steps per year (4 = quarters, the default step length: a modelling choice)."""
    burn_in_years: Annotated[int, Field(ge=0, le=20)] = 10
    """Years of the commercial market simulated before step 0 under the start year's context, with no instruments and no household moves or upper-floor conversions (households start in their own steady state); not recorded. The start is drawn from the model's steady state (rents, vacancy spells and asks, owners' cash), but who sits where, the stock of long-vacant units and the owners' pricing of it take about ten years to settle (docs/calibration.md §3). 0..20."""
    city: CityConfig = CityConfig()
    context: ContextConfig = ContextConfig()
    agents: AgentsConfig = AgentsConfig()
    market: MarketConfig = MarketConfig()
    instruments: list[InstrumentConfig] = []
    """Policy instruments, each a mapping with ``kind:``; applied every step in list order."""

    @model_validator(mode="after")
    def _consistent(self) -> "Scenario":
        """Rules across sections: one problem line per finding, at its own key path."""
        problems: list[tuple[str, str]] = []
        seen: dict[tuple, int] = {}
        for i, inst in enumerate(self.instruments):
            key = (inst.kind, inst.area.key())
            if key in seen:
                problems.append((f"instruments[{i}]", f"a second {inst.kind!r} over the same area as "
                                 f"instruments[{seen[key]}]; two of one kind need different areas"))
            seen[key] = i
        unknown = sorted(set(self.agents.businesses.sectors) - set(COMMERCIAL_NAMES))
        if unknown:
            problems.append(("agents.businesses.sectors",
                             f"unknown sector(s) {unknown}; expected some of {list(COMMERCIAL_NAMES)}"))
        problems += self._context_in_range() + self._some_footfall() + self._areas_on_grid()
        if problems:
            raise Problems(problems)
        return self

    @property
    def years(self) -> tuple[int, int]:
        """First and last calendar year the scenario simulates (steps cover [start, start + horizon))."""
        return self.start_year, self.start_year + self.horizon_years - 1

    def _context_in_range(self) -> list[tuple[str, str]]:
        """Drivers with a ceiling stay below it over the whole simulated period (a trend may climb)."""
        out = []
        y0 = self.start_year
        y1 = y0 + (self.n_steps - 1) / self.steps_per_year      # the last step's time (model.year)
        for name, ceiling in CONTEXT_CEILINGS.items():
            driver = getattr(self.context, name)
            points = [y0, y1] + ([y for y in driver.series if y0 < y < y1] if isinstance(driver, Series) else [])
            year, level = max(((y, driver_value(driver, y, y0)) for y in points), key=lambda p: p[1])
            if level > ceiling:
                when = "" if isinstance(driver, (int, float)) else f" in {int(year)}"
                out.append((f"context.{name}", f"expected a level of at most {ceiling:g} over the simulated period "
                            f"{self.years[0]}..{self.years[1]} (got {level:.4g}{when}): {CONTEXT_CEILING_REASON[name]}"))
        return out

    def _some_footfall(self) -> list[tuple[str, str]]:
        """Sales are measured against the start footfall on A1 streets: it must not be zero everywhere."""
        m = self.market
        if m.resident_attraction > 0:
            return []      # occupied dwellings attract footfall of their own
        if driver_value(self.context.visitor_demand, self.start_year, self.start_year) <= 0:
            return [("context.visitor_demand", f"0 in the start year {self.start_year} together with "
                     "market.resident_attraction 0 leaves no footfall at the start, and sales are measured against "
                     "it; make one of them positive")]
        if max(m.street_weight.as_tuple()) <= 0 and m.anchor_station <= 0 and m.anchor_square <= 0:
            return [("market", "every source of footfall is 0 (street_weight for all street classes, anchor_station, "
                     "anchor_square and resident_attraction), and sales are measured against the start footfall; "
                     "make at least one positive")]
        return []

    def _areas_on_grid(self) -> list[tuple[str, str]]:
        """Instrument rectangles lie inside the grid (rows and columns 0..side, ends exclusive)."""
        n = self.city.side_cells
        out = []
        for i, inst in enumerate(self.instruments):
            for j, r in enumerate(inst.area.rectangles):
                beyond = [f"{axis} {a}..{b}" for axis, a, b in (("rows", r.row0, r.row1), ("columns", r.col0, r.col1))
                          if b > n]
                if not beyond:
                    continue
                wholly = r.row0 >= n or r.col0 >= n
                where = "lie outside" if wholly else "lie partly outside"
                tail = "" if wholly else "; end the rectangle at the grid edge"
                out.append((f"instruments[{i}].area.rectangles[{j}]",
                            f"{' and '.join(beyond)} {where} the {n}×{n} grid (rows and columns run 0..{n}){tail}"))
        return out

    def warnings(self, source: str = "<scenario>") -> list[str]:
        """Valid but probably unintended settings, one ``source: key.path: message`` line each.

        Instruments whose active years fall entirely outside the simulated period never act
        (a warning, not an error: a researcher may shorten the horizon on purpose)."""
        first, last = self.years
        out = []
        for i, inst in enumerate(self.instruments):
            a, b = inst.start_year, inst.end_year
            if (a is not None and a > last) or (b is not None and b < first):
                active = f"{a}..{b}" if a is not None and b is not None else (f"from {a}" if a is not None else f"until {b}")
                out.append(f"{source}: instruments[{i}]: active {active} but the scenario simulates "
                           f"{first}..{last}: it will never act")
        return out

    @property
    def n_steps(self) -> int:
        return self.horizon_years * self.steps_per_year

    def to_dict(self) -> dict:
        return self.model_dump(mode="json")

    def sha256(self) -> str:
        """Hash of everything that decides the results (the resolved contents without the
        descriptions, ``DESCRIPTIVE_KEYS``): run ids and ``--resume`` checks rest on it."""
        data = {k: v for k, v in self.to_dict().items() if k not in DESCRIPTIVE_KEYS}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: dict | None = None) -> "Scenario":
        """Load, resolve ``base:`` chains, apply ``overrides`` and validate. Raises ScenarioError."""
        path = Path(path)
        data = load_resolved(path)
        if overrides:
            data = deep_merge(data, overrides)
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict, source: str = "<scenario>") -> "Scenario":
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            raise ScenarioError(problem_lines(e, source)) from None


# ---------------------------------------------------------------- YAML loading
# Limits that keep reading a file within about a second and a few MB whatever it holds (PyYAML's
# pure-Python reader handles some 30,000 values a second); the shipped files are far below them.
MAX_FILE_BYTES = 256_000
"""Largest scenario or experiment file read (bytes); shipped files are a few kB."""
MAX_WRITTEN = 10_000
"""Largest number of YAML values (scalars, lists, mappings, aliases) written in a document; a scenario has a few hundred."""
MAX_NODES = 100_000
"""Largest number of YAML values in a document after expanding aliases: refuses alias bombs ("billion laughs")."""
MAX_DEPTH = 50
"""Deepest nesting of lists and mappings in a document (after expanding aliases); a scenario has about 6."""
MAX_INT_DIGITS = 100
"""Longest integer literal read (digits); longer ones are refused before Python converts them."""


if getattr(yaml, "__with_libyaml__", False):
    class _SafeBase(yaml.composer.Composer, yaml.constructor.SafeConstructor, yaml.resolver.Resolver,
                    yaml._yaml.CParser):
        """Safe loading on libyaml's scanner and parser (fast on any input) with PyYAML's Python
        composer, so that the counting below sees every node."""

        def __init__(self, stream):
            yaml._yaml.CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
else:                                  # pragma: no cover - PyYAML built without libyaml
    _SafeBase = yaml.SafeLoader


class _StrictLoader(_SafeBase):
    """Safe loader that refuses duplicate and unhashable keys (PyYAML silently keeps the last
    duplicate) and documents too large or too deep (counted while composing, before anything is built)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def fetch_flow_collection_start(self, token_class):
        # (pure-Python scanner only) it looks ahead over every open [ or { (possible keys), which costs time
        # quadratic in their nesting: stop at the limit before looking further
        if self.flow_level >= MAX_DEPTH:
            raise yaml.scanner.ScannerError(None, None, f"nested more than {MAX_DEPTH} levels deep", self.get_mark())
        super().fetch_flow_collection_start(token_class)

    def compose_node(self, parent, index):
        self._nodes += 1
        if self._nodes > MAX_WRITTEN:
            raise yaml.composer.ComposerError(
                None, None, f"document too large: more than {MAX_WRITTEN:,} values", self.peek_event().start_mark)
        if self._depth >= MAX_DEPTH and not self.check_event(yaml.AliasEvent, yaml.ScalarEvent):
            raise yaml.composer.ComposerError(
                None, None, f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            _check_expanded(node)
        return node


def _check_expanded(root: yaml.Node) -> None:
    """Refuse a composed document whose aliases expand beyond MAX_NODES values or MAX_DEPTH levels,
    or that contains itself; memoised per node, so an alias bomb costs no more than its text."""
    sizes: dict[int, tuple[int, int]] = {}   # id(node) -> (values, levels) once expanded
    open_: set[int] = set()

    def measure(node: yaml.Node, depth: int) -> tuple[int, int]:
        known = sizes.get(id(node))
        if known is None:
            if id(node) in open_:
                raise yaml.composer.ComposerError(None, None, "an alias refers to the list or mapping that "
                                                  "contains it (a recursive document)", node.start_mark)
            if depth > MAX_DEPTH + 1:     # a value below MAX_DEPTH nested lists/mappings: stop before recursing on
                raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep "
                                                  "once aliases are expanded", node.start_mark)
            open_.add(id(node))
            children = (node.value if isinstance(node, yaml.SequenceNode) else
                        [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else [])
            count, levels = 1, 0
            for child in children:
                c, d = measure(child, depth + 1)
                count, levels = count + c, max(levels, d)
                if count > MAX_NODES:
                    raise yaml.composer.ComposerError(
                        None, None, f"document too large: more than {MAX_NODES:,} values once aliases "
                        "are expanded (an alias bomb?)", node.start_mark)
            open_.discard(id(node))
            known = sizes[id(node)] = (count, levels + (1 if children or not isinstance(node, yaml.ScalarNode) else 0))
        if depth + known[1] > MAX_DEPTH + 1:
            raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep once "
                                              "aliases are expanded", node.start_mark)
        return known

    measure(root, 1)


_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    """A mapping with YAML merge keys (``<<: *anchor`` or ``<<: [*a, *b]``: the node's own keys win,
    then the merged mappings in the order listed); a key written twice in the node itself fails."""
    merged: list[dict] = []
    own: dict = {}
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for src in sources:
                if not isinstance(src, yaml.MappingNode):
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"a merge key (<<) takes a mapping or a list of mappings, found {src.id}", src.start_mark)
                merged.append(loader.construct_object(src, deep=True))
            continue
        key = "=" if key_node.tag == _VALUE_TAG else loader.construct_object(key_node, deep=deep)
        if not isinstance(key, Hashable):
            raise yaml.constructor.ConstructorError(
                None, None, f"a {type(key).__name__} cannot be a key (keys are names or numbers)", key_node.start_mark)
        if key in own:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        own[key] = loader.construct_object(value_node, deep=deep)
    if not merged:
        return own
    out: dict = {}
    for src in reversed(merged):      # the first mapping listed wins among the merged ones
        out.update(src)
    out.update(own)
    return out


def _construct_int(loader: _StrictLoader, node: yaml.ScalarNode) -> int:
    digits = sum(ch.isalnum() for ch in node.value)
    if digits > MAX_INT_DIGITS:
        raise yaml.constructor.ConstructorError(
            None, None, f"an integer of {digits} digits is too large (at most {MAX_INT_DIGITS})", node.start_mark)
    return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def read_yaml(path: Path) -> dict:
    """Read one YAML mapping with clear one-line errors (never a traceback, never a hang)."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise ScenarioError([f"{path}: is a broken symbolic link (its target does not exist)"]) from None
        raise ScenarioError([f"{path}: file not found"]) from None
    except OSError as e:
        raise ScenarioError([f"{path}: cannot read: {e.strerror or e}"]) from None
    if stat.S_ISDIR(info.st_mode):
        raise ScenarioError([f"{path}: is a folder, expected a YAML file"])
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError([f"{path}: is not a regular file (a pipe, socket or device), expected a YAML file"])
    if info.st_size > MAX_FILE_BYTES:
        raise ScenarioError([f"{path}: file of {info.st_size:,} bytes is too large for a scenario or experiment "
                             f"(at most {MAX_FILE_BYTES:,})"])
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise ScenarioError([f"{path}: is UTF-16 text; save the file as UTF-8"]) from None
        raise ScenarioError([f"{path}: not valid UTF-8 text (byte {e.start}); save the file as UTF-8"]) from None
    except OSError as e:
        raise ScenarioError([f"{path}: cannot read: {e.strerror or e}"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError([f"{path}: file is too large for a scenario or experiment (at most {MAX_FILE_BYTES:,} bytes)"])
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = _one_line(e.problem or e.context)
        if "maximum nesting depth" in problem:       # libyaml's own limit (1000 levels), met while looking ahead
            problem = f"nested more than {MAX_DEPTH} levels deep"
        elif e.problem and e.context:
            problem += f" ({_one_line(e.context)})"
        raise ScenarioError([f"{path}: {where}YAML error: {problem}"]) from None
    except yaml.YAMLError as e:
        raise ScenarioError([f"{path}: YAML error: {_one_line(str(e))}"]) from None
    except (RecursionError, MemoryError, ValueError, OverflowError) as e:   # guards behind the limits above
        raise ScenarioError([f"{path}: cannot read this YAML: {_one_line(str(e)) or type(e).__name__}"]) from None
    if data is None:
        raise ScenarioError([f"{path}: file is empty (expected a scenario mapping)"])
    if not isinstance(data, dict):
        raise ScenarioError([f"{path}: expected a mapping of scenario keys at the top level (got {type(data).__name__})"])
    return data


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


MAX_BASE_CHAIN = 20
"""Longest ``base:`` chain (files); the shipped ones are at most 2 deep."""


def load_resolved(path: Path, _chain: tuple[Path, ...] = ()) -> dict:
    """Read ``path`` and merge it over its ``base:`` chain."""
    path = Path(path)
    data = read_yaml(path)
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ScenarioError([f"{path}: base: expected a file name (got {base!r})"])
    if len(_chain) >= MAX_BASE_CHAIN:
        raise ScenarioError([f"{path}: base: more than {MAX_BASE_CHAIN} files in the base: chain"])
    try:
        base_path = (path.parent / base).resolve()
        found = base_path.exists()
    except (OSError, ValueError) as e:      # a name the file system refuses (too long, a NUL byte, a loop)
        raise ScenarioError([f"{path}: base: cannot use {base!r} as a file name ({e})"]) from None
    if base_path in _chain or base_path == path.resolve():
        raise ScenarioError([f"{path}: base: circular reference to {base}"])
    if not found:
        raise ScenarioError([f"{path}: base: file not found: {base}"])
    merged = deep_merge(load_resolved(base_path, _chain + (path.resolve(),)), data)
    if "description" in data and "description_nl" not in data:
        merged.pop("description_nl", None)   # the base's Dutch text describes the base, not this file
    return merged


def deep_merge(base: dict, over: dict) -> dict:
    """Mappings merge key by key; everything else in ``over`` replaces ``base``.

    A driver given as ``{series: ...}`` or ``{value: ...}`` replaces the base's
    driver whole (a child may change a trend into a series); ``{per_year: ...}``
    alone adjusts the base's trend.
    """
    out = dict(base)
    for k, v in over.items():
        replaces = isinstance(v, dict) and ("series" in v or "value" in v)
        if isinstance(v, dict) and isinstance(out.get(k), dict) and not replaces:
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def problem_lines(error: ValidationError, source: str) -> list[str]:
    """One ``source: key.path: what was expected (got …)`` line per problem of a pydantic error.

    A validator that raised ``Problems`` gives one line per item, at the item's own key path."""
    lines = []
    for err in error.errors():
        found = (err.get("ctx") or {}).get("error")
        if isinstance(found, Problems):
            at = _loc(err["loc"]) if err["loc"] else ""
            lines += [f"{source}: {_join(at, key) or '(top level)'}: {msg}" for key, msg in found.items]
        else:
            lines.append(f"{source}: {_loc(err['loc'])}: {_expected(err)}")
    return lines


def _loc(loc: tuple) -> str:
    """Dotted key path of a pydantic error location, without pydantic's internal markers."""
    parts: list[str] = []
    items = list(loc)
    for i, p in enumerate(items):
        nxt = items[i + 1] if i + 1 < len(items) else None
        prev = items[i - 1] if i > 0 else None
        if p in ("constant", "trend", "[key]") or (p == "series" and nxt == "series"):
            continue  # driver-union tags and dict-key markers are noise for a user
        if isinstance(prev, int) and p in REGISTRY:
            continue  # the instrument union's tag: the user wrote it as `kind:` already
        if isinstance(p, int) and parts and not parts[-1].endswith("series"):
            parts.append(f"[{p}]")
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts) or "(top level)"


def _expected(err: dict) -> str:
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif err["type"] == "union_tag_invalid":
        msg = f"unknown instrument kind {err['ctx']['tag']!r}; expected one of {sorted(REGISTRY)}"
    elif err["type"] == "union_tag_not_found":
        msg = f"an instrument needs `kind:`, one of {sorted(REGISTRY)}"
    got = err.get("input")
    if err["type"] == "missing":
        return f"{msg} (a value is required)"
    shown = repr(got)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{msg} (got {shown})"


def validate_files(paths: list[str]) -> list[str]:
    """Validate scenario files; return every problem line (empty when all are fine)."""
    return check_files(paths)[0]


def check_files(paths: list[str]) -> tuple[list[str], list[str]]:
    """Validate scenario files: (every problem line, every warning line of the files that are valid)."""
    problems: list[str] = []
    warnings: list[str] = []
    for p in paths:
        try:
            warnings.extend(Scenario.from_yaml(p).warnings(str(p)))
        except ScenarioError as e:
            problems.extend(e.problems)
    return problems, warnings


OWNER_KIND_NAMES = OWNER_KINDS
