"""The console's message catalogs (Simplified Chinese by default, English) and lookups."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from string import Formatter
from typing import Any

CATALOG_DIR = Path(__file__).parent / "i18n"
DEFAULT_LOCALE = "zh_CN"
SUPPORTED_LOCALES = ("zh_CN", "en")
LOCALE_COOKIE = "yutang_locale"


@cache
def catalog(locale: str) -> dict[str, str]:
    """Every message of ``locale``: the union of its per-area files (``i18n/<locale>/*.json``).

    One file per area keeps domains from editing the same file; a key defined in two files is
    an error, not a silent override.
    """
    messages: dict[str, str] = {}
    for path in sorted((CATALOG_DIR / locale).glob("*.json")):
        with path.open(encoding="utf-8") as handle:
            area: dict[str, str] = json.load(handle)
        clash = messages.keys() & area.keys()
        if clash:
            raise ValueError(f"{locale}/{path.name} redefines {sorted(clash)} of another file")
        messages.update(area)
    return messages


def has_message(locale: str, key: str) -> bool:
    return key in catalog(locale)


def translate(locale: str, key: str, **params: Any) -> str:
    """The message ``key`` in ``locale`` with ``{name}`` placeholders filled.

    A missing key falls back to the default locale, then to the key itself, so a gap in a
    catalog shows up on the page instead of breaking it (and the catalog test catches it).
    """
    template = catalog(locale).get(key) or catalog(DEFAULT_LOCALE).get(key) or key
    wanted = {name for _, name, _, _ in Formatter().parse(template) if name}
    return template.format_map({name: params.get(name, "") for name in wanted})


def supported(locale: str | None) -> str | None:
    return locale if locale in SUPPORTED_LOCALES else None
