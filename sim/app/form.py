"""The choices on the app's page and the two scenarios they make (doing nothing, the package).

A choice is plain data (``Choice``: archetype, years, replicates, per instrument on/off, area and
its main parameters as typed text), so the page keeps it in its own session state and the
functions here are pure. Ranges come from the scenario schema (the instrument config classes);
defaults from the shipped settings in ``scenarios/instruments/<kind>.yaml``; every value is
checked by the schema itself (``Scenario.from_dict``), and a refusal is shown next to its field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml

import sim
from sim.scenario import Scenario, ScenarioError
from sim.workshop.report import CHOSEN_PACKAGE, INSTRUMENT_LABELS

SCENARIOS_DIR = Path(sim.__file__).resolve().parents[1] / "scenarios"   # in a clone (editable install)
ARCHETYPES = ("small", "midsize", "large")
ZONES = ("core", "edge", "shopping", "residential", "all")   # sim.instruments.base.AreaName
BASELINE_NAME = "baseline"
PACKAGE_NAME = CHOSEN_PACKAGE[0]   # the report calls it "Chosen package" / "Gekozen pakket"
SOURCE = "<app>"   # how schema messages name the scenario made on the page

# The 2-4 parameters of each instrument a workshop changes (the rest keep their shipped values):
# its money (fund or budget), its strength (shares, fines) and its timing (years). Assumption: the
# levers a council decides on; the other parameters are behaviour and procedure (docs/instruments/).
MAIN_PARAMETERS: dict[str, tuple[str, ...]] = {
    "vacancy_ordinance": ("report_after_months", "fine_eur", "nominate"),
    "facade_subsidy": ("budget_eur", "share", "max_eur_per_parcel", "programme_years"),
    "rent_subsidy": ("budget_eur", "share", "max_eur_per_tenancy", "programme_years"),
    "transformation_subsidy": ("budget_eur", "max_share_of_cost", "max_eur_per_project"),
    "zoning": ("start_year", "procedure"),
    "branchering": ("max_share", "start_year"),
    "biz": ("levy_share_of_value", "levy_min_eur", "levy_max_eur", "payer"),
    "bibob": ("screenings_per_year", "checks_per_year", "screen_horeca"),
    "preemption": ("fund_eur", "agree_share", "rent_discount_share", "period_years"),
    "acquisition_fund": ("fund_eur", "willing_share", "offers_per_year", "rent_discount_share"),
}
INSTRUMENT_ORDER = tuple(MAIN_PARAMETERS)   # the order on the page: cheap rules first, funds last

# Bounds of the page's own numbers. Years: the schema's 1..100 allows runs a workshop cannot wait
# for; replicates: at least 2 for any interval, at most 32 (assumption: about a minute for a
# midsize 20-year comparison on 2 cores, see README "Workshop app").
HORIZON_YEARS = (1, 50)
REPLICATES = (2, 32)
DEFAULT_REPLICATES = 8     # the speed figure of the README is for 8
DEFAULT_SEED = 20250101    # scenarios/baseline.yaml's seed: the page's runs are those of `regie compare`


@dataclass(frozen=True)
class Parameter:
    """One main parameter of an instrument as the form shows it."""

    name: str
    type: str                       # "float", "int", "bool" or "choice"
    low: float | None = None        # bounds from the schema (None: unbounded)
    high: float | None = None
    low_open: bool = False          # gt rather than ge
    high_open: bool = False
    options: tuple[str, ...] = ()   # for "choice"
    optional: bool = False          # the schema allows null (empty field = null)
    description: str = ""           # the schema's description (English, with its source)


def _unwrap(annotation: Any) -> tuple[Any, list, bool]:
    """(base type, constraint metadata, allows None) of a field annotation such as
    ``Annotated[int, Field(ge=1)] | None``."""
    metadata: list = []
    optional = False
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) < len(get_args(annotation))
        annotation = args[0] if len(args) == 1 else annotation
        origin = get_origin(annotation)
    if origin is Annotated:
        base, *meta = get_args(annotation)
        for m in meta:
            metadata.extend(getattr(m, "metadata", [m]))
        annotation = base
    return annotation, metadata, optional


def parameter(kind: str, name: str) -> Parameter:
    """The form's view of one instrument parameter, read from its config class."""
    from sim.instruments import REGISTRY

    f = REGISTRY[kind].config_class.model_fields[name]
    base, meta, optional = _unwrap(f.annotation)
    meta = list(f.metadata) + meta
    bound = {k: next((getattr(m, k) for m in meta if getattr(m, k, None) is not None), None)
             for k in ("ge", "gt", "le", "lt")}
    low = bound["ge"] if bound["ge"] is not None else bound["gt"]
    high = bound["le"] if bound["le"] is not None else bound["lt"]
    if get_origin(base) is Literal:
        kind_name, options = "choice", tuple(get_args(base))
    else:
        kind_name, options = {bool: "bool", int: "int"}.get(base, "float"), ()
    return Parameter(name, kind_name, low, high, bound["ge"] is None and bound["gt"] is not None,
                     bound["le"] is None and bound["lt"] is not None, options, optional, f.description or "")


def parameters(kind: str) -> list[Parameter]:
    return [parameter(kind, name) for name in MAIN_PARAMETERS[kind]]


def shipped_instrument(kind: str) -> dict:
    """The instrument's first item in its shipped scenario (the form's defaults), or its schema
    defaults when the scenarios folder is not there (an installed wheel)."""
    path = SCENARIOS_DIR / "instruments" / f"{kind}.yaml"
    if path.exists():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in data.get("instruments", []):
            if item.get("kind") == kind:
                return dict(item)
    return {"kind": kind}


def _area_key(area: dict | None) -> str:
    """The form's key of an area: a zone name, or ``streets:A2+B`` for street classes."""
    area = area or {}
    zones, streets = list(area.get("zones", [])), list(area.get("street_classes", []))
    if len(zones) == 1 and not streets and not area.get("rectangles"):
        return zones[0]
    if streets and not zones and not area.get("rectangles"):
        return "streets:" + "+".join(streets)
    return "all"


def area_from_key(key: str) -> dict:
    if key.startswith("streets:"):
        return {"street_classes": key.split(":", 1)[1].split("+")}
    return {"zones": [key]}


def area_options(kind: str) -> list[str]:
    """The named zones, and the shipped area when it is made of street classes."""
    shipped = _area_key(shipped_instrument(kind).get("area"))
    return list(ZONES) + ([shipped] if shipped not in ZONES else [])


def format_value(value: Any) -> str:
    """A value as the form's text field shows it (no exponent for euros, no trailing .0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class InstrumentChoice:
    on: bool = False
    area: str = "all"
    values: tuple[tuple[str, str], ...] = ()   # parameter name -> text as typed

    def value(self, name: str) -> str:
        return dict(self.values).get(name, "")

    def with_value(self, name: str, text: str) -> "InstrumentChoice":
        return replace(self, values=tuple((k, text if k == name else v) for k, v in self.values))


@dataclass(frozen=True)
class Choice:
    """Everything the page's form holds (immutable: the page replaces it on every change)."""

    archetype: str = "midsize"
    horizon_years: str = "20"
    replicates: str = str(DEFAULT_REPLICATES)
    instruments: tuple[tuple[str, InstrumentChoice], ...] = field(default_factory=tuple)

    def instrument(self, kind: str) -> InstrumentChoice:
        return dict(self.instruments)[kind]

    def with_instrument(self, kind: str, choice: InstrumentChoice) -> "Choice":
        return replace(self, instruments=tuple((k, choice if k == kind else c) for k, c in self.instruments))

    def chosen(self) -> list[str]:
        return [k for k, c in self.instruments if c.on]


def default_choice(archetype: str = "midsize", horizon_years: int = 20, replicates: int = DEFAULT_REPLICATES) -> Choice:
    """Every instrument off, with its shipped settings filled in."""
    items = []
    for kind in INSTRUMENT_ORDER:
        shipped = shipped_instrument(kind)
        defaults = {p.name: format_value(shipped.get(p.name, _schema_default(kind, p.name))) for p in parameters(kind)}
        area = _area_key(shipped.get("area")) if "area" in shipped else "all"
        items.append((kind, InstrumentChoice(False, area, tuple(defaults.items()))))
    return Choice(archetype, str(horizon_years), str(replicates), tuple(items))


def _schema_default(kind: str, name: str) -> Any:
    from sim.instruments import REGISTRY
    return REGISTRY[kind].config_class.model_fields[name].get_default(call_default_factory=True)


class FormError(ValueError):
    """The form's values the schema (or the page's own bounds) refuse: field key -> message.

    Keys: ``horizon_years``, ``replicates``, ``archetype``, ``<kind>.<parameter>``, ``<kind>``
    (a problem of the instrument as a whole) and ``""`` (anything else)."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("; ".join(f"{k}: {m}" if k else m for k, m in problems.items()))


def _parse(text: str, p: Parameter) -> Any:
    """Text to the parameter's type; raises ValueError with a short reason."""
    text = text.strip().replace(",", ".") if p.type in ("float", "int") else text.strip()
    if text == "" and p.optional:
        return None
    if p.type == "bool":
        if text.lower() not in ("true", "false"):
            raise ValueError("expected true or false")
        return text.lower() == "true"
    if p.type == "choice":
        if text not in p.options:
            raise ValueError(f"expected one of {', '.join(p.options)}")
        return text
    try:
        number = float(text)
    except ValueError:
        raise ValueError("expected a number") from None
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    if p.type == "int":
        if not number.is_integer():
            raise ValueError("expected a whole number")
        return int(number)
    return number


def _whole(text: str, low: int, high: int) -> int:
    try:
        number = float(text.strip())
    except ValueError:
        raise ValueError(f"expected a whole number {low}..{high}") from None
    if not number.is_integer() or not low <= number <= high:
        raise ValueError(f"expected a whole number {low}..{high} (got {text.strip()})")
    return int(number)


def scenario_data(choice: Choice) -> tuple[dict, dict]:
    """The two scenario mappings of a choice, (doing nothing, package), before validation.

    Raises:
        FormError: for text that is not a value of the field's type or outside the page's bounds.
    """
    problems: dict[str, str] = {}
    if choice.archetype not in ARCHETYPES:
        problems["archetype"] = f"expected one of {', '.join(ARCHETYPES)}"
    years = replicates = None
    try:
        years = _whole(choice.horizon_years, *HORIZON_YEARS)
    except ValueError as e:
        problems["horizon_years"] = str(e)
    try:
        replicates = _whole(choice.replicates, *REPLICATES)
    except ValueError as e:
        problems["replicates"] = str(e)
    base_path = SCENARIOS_DIR / "baseline.yaml"
    base = Scenario.from_yaml(base_path).to_dict() if base_path.exists() else Scenario().to_dict()
    base["name"] = BASELINE_NAME
    base["city"] = {**base["city"], "archetype": choice.archetype}
    if years is not None:
        base["horizon_years"] = years
    del replicates   # checked here, used by the runner
    instruments = []
    for kind in choice.chosen():
        c = choice.instrument(kind)
        item = shipped_instrument(kind)
        item["area"] = area_from_key(c.area)
        for p in parameters(kind):
            try:
                item[p.name] = _parse(c.value(p.name), p)
            except ValueError as e:
                problems[f"{kind}.{p.name}"] = str(e)
        instruments.append(item)
    if problems:
        raise FormError(problems)
    chosen = choice.chosen()
    names_en = ", ".join(INSTRUMENT_LABELS[k][0] for k in chosen)
    names_nl = ", ".join(INSTRUMENT_LABELS[k][1] for k in chosen)
    # one instrument: its kind as the name, so tables and the report call it by its label
    package = {**base, "name": chosen[0] if len(chosen) == 1 else PACKAGE_NAME, "instruments": instruments,
               "description": f"The baseline plus the instruments chosen in `regie app`: {names_en}.",
               "description_nl": f"Het basisscenario plus de in `regie app` gekozen instrumenten: {names_nl}."}
    base["description"] = "Doing nothing: the baseline, no instruments."
    base["description_nl"] = "Niets doen: het basisscenario, zonder instrumenten."
    return base, package


def _field_of(line: str, kinds: list[str]) -> str:
    """The form field of a schema problem line ``<app>: instruments[0].share: message``."""
    path = line.split(": ", 2)[1] if line.count(": ") >= 2 else ""
    if path.startswith("instruments["):
        index = int(path[len("instruments["):path.index("]")])
        rest = path[path.index("]") + 2:] if "]." in path else ""
        kind = kinds[index] if index < len(kinds) else ""
        name = rest.split(".")[0].split("[")[0]
        return f"{kind}.{name}" if name in MAIN_PARAMETERS.get(kind, ()) else kind
    return path.split(".")[0] if path.split(".")[0] in ("horizon_years", "city") else ""


def build(choice: Choice) -> tuple[Scenario, Scenario, int]:
    """The validated scenarios of a choice, (doing nothing, package), and the replicates.

    Raises:
        FormError: for values the page or the schema refuse, keyed by form field; an
            instrument that is on but whose values the schema refuses is named by its key.
    """
    base, package = scenario_data(choice)
    problems: dict[str, str] = {}
    scenarios = []
    for data in (base, package):
        try:
            scenarios.append(Scenario.from_dict(data, source=SOURCE))
        except ScenarioError as e:
            for line in e.problems:
                key = _field_of(line, choice.chosen())
                message = line.split(": ", 2)[-1]
                problems.setdefault(key, message)
    if not choice.chosen():
        problems.setdefault("", "no instrument is switched on")
    if problems:
        raise FormError(problems)
    return scenarios[0], scenarios[1], _whole(choice.replicates, *REPLICATES)


def scenario_yaml(scenario: Scenario) -> str:
    """The package as a scenario file a researcher can rerun (`regie compare scenarios/baseline.yaml
    this.yaml`): the keys that differ from the schema's defaults, the instruments in full."""
    defaults = Scenario().to_dict()
    data = scenario.to_dict()
    out = {k: v for k, v in data.items() if k in ("name", "description", "description_nl", "seed", "horizon_years",
                                                   "instruments") or v != defaults.get(k)}
    out["city"] = {k: v for k, v in data["city"].items() if v is not None}
    return yaml.safe_dump(out, sort_keys=False, allow_unicode=True, width=100)
