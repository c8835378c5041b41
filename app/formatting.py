"""Dates, times, numbers and plurals as a person reads them, through Flask-Babel.

One site time zone (`SITE_TIMEZONE`, given to Flask-Babel as `BABEL_DEFAULT_TIMEZONE`) and one
format per locale: « 4 décembre 2026 à 20:22 » on French pages, « 4 December 2026 at 20:22 » on
English staff pages. Readers' messages are French whatever the request (`reader=True`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import flask_babel
from flask_babel import force_locale, get_locale

from app.models import as_utc, utcnow

# One pattern per locale (CLDR syntax) for a date with its time, and for a time alone.
DATETIME_PATTERNS = {"fr": "d MMMM y 'à' HH:mm", "en": "d MMMM y 'at' HH:mm"}
TIME_PATTERN = "HH:mm:ss"
SCORE_PATTERN = "0.00"


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "fr"


@contextmanager
def _french(reader: bool) -> Iterator[None]:
    if reader:
        with force_locale("fr"):
            yield
    else:
        yield


def when(value: datetime, *, reader: bool = False) -> str:
    """A stored (UTC) timestamp as a date with its time, in the site's zone."""
    with _french(reader):
        pattern = DATETIME_PATTERNS.get(_language(), DATETIME_PATTERNS["en"])
        return flask_babel.format_datetime(as_utc(value), pattern)


def age(value: datetime) -> str:
    """How long ago a stored timestamp was, in the page's language (« il y a 3 heures »)."""
    return flask_babel.format_timedelta(utcnow() - as_utc(value), add_direction=True)


def machine(value: datetime) -> str:
    """A stored timestamp for `<time datetime>`: ISO 8601 with its offset (UTC)."""
    return as_utc(value).isoformat(timespec="seconds")


def clock(value: datetime, *, reader: bool = False) -> str:
    """A stored (UTC) timestamp as a time of day (« 20:18:38 »), in the site's zone."""
    with _french(reader):
        return flask_babel.format_time(as_utc(value), TIME_PATTERN)


def count(value: int, *, reader: bool = False) -> str:
    """A whole number as the page's language writes it (« 2 000 », « 2,000 »)."""
    with _french(reader):
        return flask_babel.format_number(value)


def score(value: float) -> str:
    """A score or threshold with two decimals (« 0,60 », « 0.60 »)."""
    return flask_babel.format_decimal(value, SCORE_PATTERN)


def plural_num(num: int) -> int:
    """The number gettext chooses a form by. Untranslated (French) text falls back on
    « singular only for 1 »; French also makes 0 singular (« 0 nouveau commentaire »)."""
    return 1 if num == 0 and _language() == "fr" else num


def percent(share: float) -> str:
    """A share (0-1) as a percentage with one decimal, without its sign (« 87,5 »)."""
    return flask_babel.format_decimal(share * 100, "0.0")


def ngettext(singular: str, plural: str, num: int, **variables: object) -> str:
    """Flask-Babel's ngettext (`%(num)s` is the number), with the page's plural rule."""
    variables.setdefault("num", num)
    text = flask_babel.get_translations().ungettext(singular, plural, plural_num(num))
    return str(text % variables)
