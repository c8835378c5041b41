"""Jinja filters: readers' text stays text; dates, numbers and plurals through app.formatting."""

from __future__ import annotations

import re

from flask import Flask
from flask_babel import force_locale, get_locale, get_translations
from markupsafe import Markup, escape

from app import formatting, scoring
from app.services import comments


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


# What a scoring problem says, by kind (the text is a model's error, or the Celery backend's
# French words): « missing » — no model on this machine (never downloaded, no network);
# « queue » — the broker does not answer; « workers » — no scoring worker; else « failed ».
_MISSING = re.compile(
    r"download|urlopen|URLError|Errno -[23]|Name or service|is not a file|No such file|"
    r"not found|does not exist",
    re.IGNORECASE,
)


def problem_kind(problem: str) -> str:
    """The kind of a scoring problem, for the staff banner's plain words."""
    if "Redis" in problem or "file de scoring" in problem:
        return "queue"
    if "aucun worker" in problem:
        return "workers"
    return "missing" if _MISSING.search(problem) else "failed"


def register(app: Flask) -> None:
    # Templates' ngettext follows the page's plural rule too (French: 0 is singular).
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: get_translations().ugettext(s),
        ngettext=lambda s, p, n: get_translations().ungettext(s, p, formatting.plural_num(n)),
        newstyle=True,
        pgettext=lambda c, s: get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: get_translations().unpgettext(
            c, s, p, formatting.plural_num(n)
        ),
    )

    @app.context_processor
    def scoring_banner() -> dict[str, object]:
        """Staff see why scoring is down, on every page, while it is: in plain words, with what
        to do; admins also get the error itself."""
        from flask_login import current_user

        from app.models import Role

        staff = (Role.MODERATOR, Role.ADMIN)
        if not (current_user.is_authenticated and current_user.role in staff):
            return {}
        with force_locale("fr"):  # one spelling to recognise, whatever the staff's language
            problem = scoring.backend().problem()
        if not problem:
            return {}
        return {
            "scoring_down": problem_kind(problem),
            "scoring_error": problem if current_user.role == Role.ADMIN else None,
        }

    @app.context_processor
    def locale() -> dict[str, object]:
        return {"current_locale": str(get_locale() or "fr")}

    # A flashed message in the page's language when the catalog has it (one flashed by a
    # French-only page); never %-formatted, unlike the templates' `_()`.
    app.jinja_env.globals["carried"] = lambda text: get_translations().ugettext(text)
    app.jinja_env.filters["paragraphs"] = paragraphs
    app.jinja_env.filters["placeholder_text"] = comments.placeholder_text
    app.jinja_env.filters["bdi"] = bdi
    app.jinja_env.filters["date_fr"] = formatting.when  # the name predates English dates
    app.jinja_env.filters["iso"] = formatting.machine
    app.jinja_env.filters["number"] = formatting.count
    app.jinja_env.filters["score"] = formatting.score
    app.jinja_env.filters["percent"] = formatting.percent
