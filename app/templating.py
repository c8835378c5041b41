"""Jinja filters: readers' text stays text; dates read the French way."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import get_locale
from markupsafe import Markup, escape

from app.models import as_utc

MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip


def paragraphs(text: str) -> Markup:
    """Escape everything, then keep the reader's paragraphs and line breaks."""
    blocks = [b for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    return Markup("").join(
        Markup("<p>")
        + Markup("<br>\n").join(escape(line) for line in block.split("\n"))
        + Markup("</p>")
        for block in blocks
    )


def bdi(name: str | None) -> Markup:
    """A person's name, isolated so that its script or direction cannot reorder the text
    around it (for names inside a sentence; elsewhere templates write `<bdi>` themselves)."""
    return Markup("<bdi>%s</bdi>") % (name or "")


def register(app: Flask) -> None:
    zone = ZoneInfo(app.config.get("SITE_TIMEZONE", "Europe/Paris"))

    def date_fr(value: datetime) -> str:
        local = as_utc(value).astimezone(zone)
        if str(get_locale() or "fr") == "en":  # staff pages in English
            return f"{local:%d %b %Y, %H:%M}"
        return f"{local.day} {MONTHS[local.month - 1]} {local.year} à {local:%H:%M}"

    @app.context_processor
    def scoring_banner() -> dict[str, object]:
        """Staff see why scoring is down, on every page, while it is."""
        from flask_login import current_user

        if not (current_user.is_authenticated and current_user.role in ("moderator", "admin")):
            return {}
        problem = app.extensions["scoring"].problem()
        return {"scoring_down": problem} if problem else {}

    @app.context_processor
    def locale() -> dict[str, object]:
        return {"current_locale": str(get_locale() or "fr")}

    app.jinja_env.filters["paragraphs"] = paragraphs
    app.jinja_env.filters["bdi"] = bdi
    app.jinja_env.filters["date_fr"] = date_fr
