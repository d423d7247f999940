"""Language and formats of the screens: Flask-Babel, the catalogue build, money and time filters.

Message ids are English; the Chinese catalogue is kept as one ``.po`` fragment per screen area
under ``app/i18n/zh/`` (so that areas can be written side by side without merge conflicts) and
merged and compiled into ``app/translations/zh/LC_MESSAGES/messages.mo`` by ``build_catalogs``
(``flask i18n compile``; the run and test commands call it).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request, session
from flask_babel import Babel, format_datetime
from flask_login import current_user

from .domain.timeutil import SHANGHAI

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
TIMEZONE = "Asia/Shanghai"

APP_DIR = Path(__file__).resolve().parent
FRAGMENT_DIR = APP_DIR / "i18n"
TRANSLATIONS_DIR = APP_DIR / "translations"

babel = Babel()


def select_locale() -> str:
    """``?lang=`` (remembered in the session), then the user's setting, then Chinese."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
        return asked
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    if current_user and current_user.is_authenticated and getattr(current_user, "locale", None) in LANGUAGES:
        return current_user.locale
    return DEFAULT_LANGUAGE


def merged_catalog(language: str) -> Catalog:
    """Every fragment of one language in one catalogue (a message id defined twice: the first wins)."""
    catalog = Catalog(locale=language, domain="messages")
    for path in sorted((FRAGMENT_DIR / language).glob("*.po")):
        with path.open("rb") as f:
            fragment = read_po(f, locale=language)
        for message in fragment:
            if message.id and message.id not in catalog:
                catalog[message.id] = message
    return catalog


def build_catalogs() -> list[Path]:
    """Merge and compile the fragments; written to a temporary name and renamed, so that processes
    starting together never read half a file."""
    written = []
    for language in LANGUAGES:
        if not (FRAGMENT_DIR / language).is_dir():
            continue
        target = TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.mo"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".messages.{os.getpid()}.mo")
        with tmp.open("wb") as f:
            write_mo(f, merged_catalog(language))
        os.replace(tmp, target)
        written.append(target)
    return written


def _catalogs_stale() -> bool:
    for language in LANGUAGES:
        fragments = list((FRAGMENT_DIR / language).glob("*.po"))
        if not fragments:
            continue
        target = TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.mo"
        if not target.exists() or target.stat().st_mtime < max(p.stat().st_mtime for p in fragments):
            return True
    return False


def money(value, currency: str = "¥") -> str:
    """``¥1,250,000.00``; negative amounts as ``-¥100.00``."""
    if value is None or value == "":
        return ""
    amount = Decimal(value)
    text = f"{abs(amount):,.2f}"  # = babel's "#,##0.00" in locale en (half-even), ~100x cheaper
    return f"-{currency}{text}" if amount < 0 else f"{currency}{text}"


def datetime_short(value) -> str:
    """Minutes, in Asia/Shanghai."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    # = format_datetime(value, "yyyy-MM-dd HH:mm") (the zone is fixed), without its per-call cost
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def datetime_full(value) -> str:
    if value is None:
        return ""
    return format_datetime(value, "yyyy-MM-dd HH:mm:ss")


def init_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", TIMEZONE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    if _catalogs_stale():  # the build compiles them; this only covers a checkout run without it
        build_catalogs()
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: TIMEZONE)
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["dt"] = datetime_short
    app.jinja_env.filters["dt_full"] = datetime_full


KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2),
            "lazy_ngettext": (1, 2)}
METHOD_MAP = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]


def extracted_message_ids() -> dict[str, str]:
    """Every message id the code and templates ask for, with the first place that asks."""
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(APP_DIR), METHOD_MAP, keywords=KEYWORDS,
        options_map={"templates/**.html": {"trimmed": "true", "silent": "false"}},
    ):
        mid = message[0] if isinstance(message, tuple) else message  # a plural is keyed by its singular
        if mid:
            found.setdefault(mid, f"app/{filename}:{lineno}")
    return found


def untranslated(language: str = "zh") -> dict[str, str]:
    """Message ids with no translation in ``app/i18n/<language>/*.po``."""
    catalog = merged_catalog(language)
    missing = {}
    for mid, where in extracted_message_ids().items():
        message = catalog.get(mid)
        text = message.string if message is not None else None
        if not text or (isinstance(text, tuple) and not all(text)):
            missing[mid] = where
    return missing
