"""The ground-floor use classes, street classes and land types: one table each.

A new use class is one line in ``USES``. Codes are the row index, stored as
int8 in the parcel array ``use``. Economic defaults per commercial sector live
in ``sim/scenario.py`` (``SectorParams``) so that scenarios can override them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class UseClass(NamedTuple):
    name: str          # identifier used in YAML and metric names (share_<name>)
    label_en: str
    label_nl: str
    colour: str        # map colour (colour-blind-safe-ish, distinct on a light background)
    commercial: bool   # a business (tenant) can occupy it
    retail: bool       # counts as retail for retail-specific KPIs
    attraction: float  # footfall attraction weight per parcel (assumption, relative to comparison retail = 1)


# Attraction weights are assumptions: chains and horeca draw most visitors,
# offices and homes almost none. They are relative: only ratios matter.
USES: tuple[UseClass, ...] = (
    UseClass("vacant",        "Vacant",                 "Leegstand",                    "#d9d9d9", False, False, 0.05),
    UseClass("comparison",    "Comparison retail (chains)", "Winkels (ketens)",         "#1f78b4", True,  True,  1.00),
    UseClass("independent",   "Independent retail",     "Zelfstandige winkels",         "#a6cee3", True,  True,  0.70),
    UseClass("daily",         "Daily goods",            "Dagelijkse boodschappen",      "#33a02c", True,  True,  0.60),
    UseClass("horeca",        "Food and drink (horeca)", "Horeca",                      "#e31a1c", True,  False, 0.90),
    UseClass("services",      "Services",               "Dienstverlening",              "#ff7f00", True,  False, 0.35),
    UseClass("culture",       "Culture and civic",      "Cultuur en maatschappelijk",   "#6a3d9a", True,  False, 0.80),
    UseClass("craft",         "Craft and makers",       "Ambacht en makers",            "#b15928", True,  False, 0.30),
    UseClass("office",        "Office",                 "Kantoor",                      "#8c8c8c", True,  False, 0.10),
    UseClass("residential",   "Residential",            "Wonen",                        "#fdbf6f", False, False, 0.02),
    UseClass("conversion",    "Under conversion",       "In transformatie",             "#fb9a99", False, False, 0.00),
)

USE_NAMES: tuple[str, ...] = tuple(u.name for u in USES)
USE_CODE: dict[str, int] = {u.name: i for i, u in enumerate(USES)}
N_USES = len(USES)

VACANT = USE_CODE["vacant"]
RESIDENTIAL = USE_CODE["residential"]
CONVERSION = USE_CODE["conversion"]

COMMERCIAL_NAMES: tuple[str, ...] = tuple(u.name for u in USES if u.commercial)
COMMERCIAL_CODES = np.array([i for i, u in enumerate(USES) if u.commercial], dtype=np.int64)
IS_COMMERCIAL = np.array([u.commercial for u in USES], dtype=np.bool_)
IS_RETAIL = np.array([u.retail for u in USES], dtype=np.bool_)
ATTRACTION = np.array([u.attraction for u in USES], dtype=np.float64)

# Sectors of undermining risk (the risk sectors named in Dutch anti-undermining practice:
# barbershops, nail/massage salons, souvenir/phone/mini-market shops, and horeca, where most
# Bibob screenings happen because the alcohol and operating licences trigger them; their
# mapping onto the model's sectors is an assumption): criminal fronts take one of these uses.
FRONT_SECTORS: tuple[str, ...] = ("services", "independent", "daily", "horeca")


class Labelled(NamedTuple):
    """A code's name, English and Dutch labels and map colour (street classes, land types)."""

    name: str
    label_en: str
    label_nl: str
    colour: str


StreetClass = Labelled


# Street class of the street a parcel fronts (docs/ODD.md §2.3).
STREET_CLASSES: tuple[StreetClass, ...] = (
    StreetClass("A1", "A1 (prime)", "A1 (toplocatie)", "#08306b"),
    StreetClass("A2", "A2", "A2", "#2171b5"),
    StreetClass("B", "B", "B", "#6baed6"),
    StreetClass("C", "C (edge street)", "C (aanloopstraat)", "#c6dbef"),
    StreetClass("residential", "Residential street", "Woonstraat", "#f7f7f7"),
)
STREET_NAMES: tuple[str, ...] = tuple(s.name for s in STREET_CLASSES)
STREET_CODE: dict[str, int] = {s.name: i for i, s in enumerate(STREET_CLASSES)}
N_STREETS = len(STREET_CLASSES)
RES_STREET = STREET_CODE["residential"]


LandType = Labelled


# What a cell is. Only LAND_PARCEL cells carry a use; the rest is public space.
LAND_TYPES: tuple[LandType, ...] = (
    LandType("parcel", "Parcel", "Perceel", "#ffffff"),
    LandType("street", "Street", "Straat", "#f0f0f0"),
    LandType("square", "Square", "Plein", "#c7b98a"),
    LandType("water", "Water", "Water", "#41ae9f"),
    LandType("station", "Station", "Station", "#525252"),
)
LAND_CODE: dict[str, int] = {t.name: i for i, t in enumerate(LAND_TYPES)}
LAND_PARCEL = LAND_CODE["parcel"]

# Owner kinds (docs/ODD.md §2.4, §5.2). Code = index.
OWNER_KINDS: tuple[str, ...] = ("institutional", "private", "local", "corporation", "municipality")
OWNER_CODE: dict[str, int] = {k: i for i, k in enumerate(OWNER_KINDS)}
MUNICIPALITY = OWNER_CODE["municipality"]

# Household income classes. Code = index.
INCOME_CLASSES: tuple[str, ...] = ("low", "middle", "high")
