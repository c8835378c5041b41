"""Numbers, dates and paths from the outside world: one rule each, for URLs, queries and forms.

An id or a count is ASCII digits only (not '²', not '-1', not 5,000 digits) and fits the
databases' 32-bit integer columns; a date is ISO (AAAA-MM-JJ) with a year in 2000..2100. Values
that break the rule are refused where they are read: 404 for a path, absent for a query
parameter, a French field error for a form.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date, datetime

from werkzeug.routing import BaseConverter, ValidationError

ID_MAX = 2**31 - 1  # INTEGER in SQLite's affinity and in PostgreSQL
YEARS = (2000, 2100)

_DIGITS = re.compile(r"[0-9]{1,10}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_count(value: object, low: int = 0, high: int = ID_MAX) -> int | None:
    """The number written in `value` if it is ASCII digits within low..high, else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if low <= value <= high else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if low <= number <= high else None


def rate_from_fields(
    count: object, period: object, periods: Collection[str], high: int
) -> str | None:
    """A rate as Flask-Limiter reads it (« 10 per minute ») from a form's two fields: a number
    within 1..high and one of `periods`; None for anything else."""
    number = parse_count(count, 1, high)
    if number is None or not isinstance(period, str) or period not in periods:
        return None
    return f"{number} per {period}"


def parse_id(value: object) -> int | None:
    """A row id (1..2**31-1) or None."""
    return parse_count(value, 1, ID_MAX)


def as_id(value: str) -> int:
    """`type=` for `request.args.get` / `request.form.get`: a bad id reads as absent."""
    number = parse_id(value)
    if number is None:
        raise ValueError("not an id")
    return number


def as_count(value: str) -> int:
    """`type=` for a count or an offset (0..2**31-1): a bad one reads as absent."""
    number = parse_count(value)
    if number is None:
        raise ValueError("not a count")
    return number


def parse_date(value: str | None) -> datetime | None:
    """An ISO date (AAAA-MM-JJ, year 2000..2100) at midnight, or None."""
    text = (value or "").strip()
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    if not YEARS[0] <= day.year <= YEARS[1]:
        return None
    return datetime(day.year, day.month, day.day)


_UNSAFE_IN_PATH = re.compile(r"[\x00-\x20\x7f-\x9f\\]")


def safe_path(value: str | None, prefix: str = "/") -> str | None:
    """`value` if it is a same-site path under `prefix` that can go in a Location header
    (no scheme or host, no `//` or `\\`, no space or control character), else None.
    Other non-ASCII characters are percent-encoded by Werkzeug in the Location header."""
    if not value or not value.startswith(prefix) or len(value) > 2000:
        return None
    if value.startswith(("//", "/\\")) or _UNSAFE_IN_PATH.search(value):
        return None
    return value


def _id_regex() -> str:
    """The regular expression of `parse_id`'s numbers: 1..ID_MAX in at most ten ASCII digits
    (leading zeros allowed), not all zeros."""
    top = str(ID_MAX)  # ten digits: shorter numbers are all below it
    same_length = [
        f"{top[:i]}[0-{int(digit) - 1}][0-9]{{{len(top) - i - 1}}}"
        for i, digit in enumerate(top)
        if digit != "0"
    ]
    return f"(?=[0-9]*[1-9])(?:[0-9]{{1,{len(top) - 1}}}|{'|'.join(same_length)}|{top})"


class IdConverter(BaseConverter):
    """`<id:name>` in a route: 1..2**31-1 in ASCII digits; anything else is a 404.

    The range is in the regular expression, not only in `to_python`: Werkzeug picks a rule by
    its path and method before converting, so a path whose GET and POST are two rules would
    answer a POST with a bad id 405 (the GET rule's path matched) instead of 404."""

    regex = _id_regex()
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value: object) -> str:
        return str(int(value))  # type: ignore[call-overload]
