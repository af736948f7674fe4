"""The portal's gettext catalogs: every message of its pages has a Brazilian Portuguese
translation with the same placeholders, and Accept-Language picks a language of ours."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

import hub
from hub.portal import i18n

HUB = Path(hub.__file__).parent
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _extracted() -> set[str]:
    with (HUB / "portal" / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    return {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(
            HUB, method_map, options_map, keywords={"N_": None, "_": None}
        )
    }


def _catalog(domain: str) -> dict[str, str]:
    path = i18n.LOCALE_DIR / "pt_BR" / "LC_MESSAGES" / f"{domain}.po"
    with path.open("rb") as f:
        return {m.id: m.string for m in read_po(f) if m.id and isinstance(m.id, str)}


def test_every_message_of_the_pages_is_translated_with_its_placeholders() -> None:
    messages = _extracted()
    assert len(messages) > 50  # the pages and their refusals were found
    catalog = _catalog("portal")
    missing = sorted(m for m in messages if not catalog.get(m))
    assert not missing, f"no pt_BR translation for: {missing}"
    for message in messages:
        assert set(_PLACEHOLDER.findall(catalog[message])) == set(_PLACEHOLDER.findall(message)), (
            message
        )


def test_a_message_without_a_translation_shows_as_written() -> None:
    assert i18n.gettext("pt_BR", "Sign in") == "Entrar"
    assert i18n.gettext("en", "Sign in") == "Sign in"
    assert i18n.gettext("pt_BR", "no such message") == "no such message"


@pytest.mark.parametrize(
    "header,expected",
    [
        ("en-US,en;q=0.9", "en"),
        ("pt-BR,pt;q=0.9,en;q=0.8", "pt_BR"),
        ("pt-PT", "pt_BR"),
        ("fr-FR,en;q=0.5", "en"),
        ("fr-FR", "pt_BR"),
        ("en;q=0.2,pt;q=0.8", "pt_BR"),
        ("", "pt_BR"),
        (None, "pt_BR"),
        ("x" * 10_000, "pt_BR"),
        ("en;q=abc", "pt_BR"),
    ],
)
def test_accept_language_picks_one_of_ours(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


def test_a_problems_message_is_translated_with_its_values() -> None:
    problem = i18n.Problem("Please fill in: %(fields)s.", fields="Disciplina")
    assert str(problem) == "Please fill in: Disciplina."
    assert i18n.explain("pt_BR", problem) == "Preencha: Disciplina."


def test_every_message_of_the_customers_mails_is_translated() -> None:
    from babel.messages.extract import extract_from_file

    sources = [HUB / "portal" / "accounts.py", HUB / "portal" / "notify.py"]
    messages = {
        m[1] if isinstance(m[1], str) else m[1][0]
        for path in sources
        for m in extract_from_file("python", str(path), keywords={"_": None})
    }
    assert len(messages) >= 12
    catalog = _catalog("mail")
    missing = sorted(m for m in messages if not catalog.get(m))
    assert not missing, f"no pt_BR translation for: {missing}"
