"""Numbers in English or Dutch: shares in %, differences of shares in percentage points, euros
in millions (a lone amount of a billion or more in billions), with the language's decimal mark
("12.3%" / "12,3%", "EUR 0.3 million" / "€ 0,3 miljoen", "EUR 2.3 billion" / "€ 2,3 miljard").
Shared by the report, the console output and the charts of a comparison."""

from __future__ import annotations

import math
from collections.abc import Iterable

from sim.i18n import LANGS
MINUS = "\u2212"  # a real minus sign: a hyphen is easy to miss in a table
_SCALE = {"plain": 1.0, "index": 1.0, "count": 1.0, "m2": 1.0, "share": 100.0, "points": 100.0, "eur": 1e-6}
_UNIT = {"plain": ("", ""), "index": ("", ""), "count": ("", ""), "m2": (" m²", " m²"), "share": ("%", "%"),
         "points": (" points", " procentpunt")}
# Euros from a billion up read as billions ("EUR 2.3 billion", not "EUR 2,300 million"): a property
# stock or a large city's cost runs into billions (presentation choice).
BILLION_EUR = 1e9
_EUR_WORD = {"million": ("million", "miljoen"), "billion": ("billion", "miljard")}


def decimals_for(values: Iterable[float], kind: str) -> int:
    """Decimals that show the largest of ``values`` (raw units) with about two significant digits.

    One value group (a mean and its interval) shares its decimals so the numbers line up.
    """
    finite = [abs(float(v)) * _SCALE[kind] for v in values if v is not None and math.isfinite(float(v))]
    m = max(finite, default=0.0)
    if kind in ("share", "points"):
        return 2 if 0 < m < 1 else 1
    if kind == "eur":
        return 0 if m >= 100 else 1 if m >= 0.1 or m == 0 else 2
    if kind in ("count", "m2"):
        return 0 if m >= 10 or m == 0 else 1 if m >= 1 else 2
    return 0 if m >= 100 else 1 if m >= 1 or m == 0 else 2 if m >= 0.1 else 3


def format_number(value: float, lang: str = "en", kind: str = "plain", *, decimals: int | None = None,
                  signed: bool = False, unit: bool = True) -> str:
    """Format a number for the report in the language's style.

    Args:
        value: The value in model units (shares as fractions, euros in EUR).
        lang: "en" (1,234.5) or "nl" (1.234,5).
        kind: "share" (fraction shown as %), "points" (difference of fractions
            shown in percentage points), "eur" (shown in millions), "m2",
            "count", "index" or "plain".
        decimals: Decimals; default from ``decimals_for``.
        signed: Put "+" before positive values (for differences).
        unit: Append (or for euros wrap in) the unit.

    Euros of a billion or more are shown in billions ("EUR 2.3 billion" / "€ 2,3 miljard") when
    ``decimals`` is not given. With ``decimals`` the value is one of a group that shares
    ``decimals_for`` (a mean and its interval, whose bounds may be printed without unit), so
    it stays in millions like the rest of its group.

    Returns:
        The text, e.g. "−2.1 points", "€ 0,3 miljoen", "€ 2,3 miljard", "12.345 m²"; "–" for
        NaN or None.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    i = LANGS.index(lang)
    if kind not in _SCALE:
        raise ValueError(f"unknown number kind {kind!r}")
    if value is None or not math.isfinite(float(value)):
        return "–"
    # from 999.5 million up: in whole millions that would read "1,000 million"
    billions = kind == "eur" and decimals is None and abs(float(value)) >= BILLION_EUR - 0.5e6
    x = float(value) / BILLION_EUR if billions else float(value) * _SCALE[kind]
    if decimals is not None:
        d = decimals
    elif billions:   # the millions rule applied to the number of billions: 2.3, 14.5, 120
        d = decimals_for([x * 1e6], kind)
    else:
        d = decimals_for([value], kind)
    body = f"{abs(x):,.{d}f}"
    if lang == "nl":
        body = body.translate(str.maketrans(",.", ".,"))
    sign = "" if round(abs(x), d) == 0 else MINUS if x < 0 else "+" if signed else ""
    if not unit:
        return sign + body
    if kind == "eur":
        return f"{sign}{('EUR ', '€ ')[i]}{body} {_EUR_WORD['billion' if billions else 'million'][i]}"
    return sign + body + _UNIT[kind][i]
