"""The portal's languages: Brazilian Portuguese and English, from gettext catalogs.

The catalogs are the ``.po`` files under ``locale/<lang>/LC_MESSAGES/<domain>.po`` (``portal``:
the pages; ``mail``: the messages to customers). Babel reads them when first asked, so no
compiled file is kept beside them. English is the source language: a message without a
translation shows as written.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("pt_BR", "en")
DEFAULT = "pt_BR"
NAMES = {"pt_BR": "Português (Brasil)", "en": "English"}


def language_of(code: str | None) -> str | None:
    """One of ``LANGUAGES`` for a tag such as ``pt-BR``, ``pt``, ``en-US``; ``None`` else."""
    if not code:
        return None
    try:
        locale = Locale.parse(code.strip().replace("-", "_")[:20])
    except (ValueError, UnknownLocaleError):
        return None
    if locale.language == "pt":
        return "pt_BR"
    if locale.language == "en":
        return "en"
    return None


def negotiate(accept_language: str | None) -> str:
    """The language an ``Accept-Language`` header prefers most, of ours (default pt-BR)."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "")[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        lang = language_of(tag)
        if lang is not None and q > 0:
            ranked.append((-q, i, lang))
    return sorted(ranked)[0][2] if ranked else DEFAULT


@cache
def translations(language: str, domain: str = "portal") -> NullTranslations:
    """The catalog of ``domain`` in ``language`` (English: none, the source text)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"
    if language == "en" or not path.exists():
        return NullTranslations()
    import io

    with path.open("rb") as f:
        catalog = read_po(f, locale=language, domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=domain)


def gettext(language: str, message: str, domain: str = "portal") -> str:
    return translations(language, domain).gettext(message)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog where it is written; it is translated where shown."""
    return message


class Problem(Exception):
    """A refusal a customer reads: ``message`` (a catalog entry) with ``params``."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


def explain(language: str, error: BaseException) -> str:
    """``error`` in ``language``: a ``Problem``'s message translated, else the error's text
    as the catalog has it (or as written)."""
    message = getattr(error, "message", None)
    params = getattr(error, "params", None)
    if isinstance(message, str) and isinstance(params, dict):
        translated = gettext(language, message)
        return translated % params if params else translated
    return gettext(language, str(error))
