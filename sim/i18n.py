"""The two languages of Regie's output, English and Dutch, and how a text is picked from a table.

Every module keeps its own table of texts, ``key -> (English, Dutch)``, next to the code that
uses them (console, report, charts, maps, sweep figures); ``text`` picks one and fills in its
fields, and refuses a language that is not one of ``LANGS``."""

from __future__ import annotations

from collections.abc import Mapping

LANGS: tuple[str, ...] = ("en", "nl")


def lang_index(lang: str) -> int:
    """0 for English, 1 for Dutch: the position of ``lang``'s text in a table's pairs.

    Raises:
        ValueError: for any other language code.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    return LANGS.index(lang)


def text(table: Mapping[str, tuple[str, str]], key: str, lang: str, **fields) -> str:
    """The text ``key`` of ``table`` in ``lang``, with ``fields`` filled in (``str.format``)."""
    chosen = table[key][lang_index(lang)]
    return chosen.format(**fields) if fields else chosen
