"""A card colours each score by where it stands against the thresholds, as `policy.level`
says, so that the colour follows an admin's change of thresholds."""

from __future__ import annotations

import re
from pathlib import Path

from app.models import Role
from tests.admin.conftest import post_form, threshold_form
from tests.conftest import login, make_user
from tests.moderation.conftest import held

QUEUE = "/moderation/file/a-moderer"


def _score_classes(client, comment_id: int) -> dict[str, str]:
    """Per category label on the card, its score's level class ("" when none)."""
    page = client.get(QUEUE).get_data(as_text=True)
    card = page.split(f'data-comment="{comment_id}"', 1)[1].split("</article>", 1)[0]
    return {
        label: (level or "")
        for level, label in re.findall(
            r'<div class="score(?: score--(\w+))?">\s*<dt>([^<]+)</dt>', card
        )
    }


def test_the_cards_colours_follow_the_thresholds_an_admin_sets(app, mod_client, article):
    comment = held(article, "Quel idiot", score=0.7)  # insult 0.7, toxicity 0.2
    assert _score_classes(mod_client, comment.id) == {"propos toxiques": "", "insultes": "hold"}

    make_user(email="chef@example.fr", role=Role.ADMIN)
    admin = app.test_client()
    login(admin, "chef@example.fr")
    saved = post_form(admin, "/admin/seuils", threshold_form(
        {"insult-hold": "0.3", "insult-reject": "0.65", "toxicity-hold": "0.1",
         "toxicity-reject": "0.9", "toxicity-nudge": "0.1", "insult-nudge": "0.3"}))  # fmt: skip
    assert saved.status_code == 303
    assert _score_classes(mod_client, comment.id) == {
        "propos toxiques": "hold",
        "insultes": "reject",
    }

    post_form(admin, "/admin/seuils", threshold_form({"insult-enabled": None}))
    assert _score_classes(mod_client, comment.id) == {"propos toxiques": "", "insultes": ""}


def test_no_template_compares_a_score_with_a_threshold():
    """The comparison lives in `policy.level` only (one concept, one place)."""
    templates = Path(__file__).resolve().parents[2] / "app" / "templates"
    comparison = re.compile(
        r"(>=|<=|>|<)\s*[\w.]*\b(hold|reject|nudge)\b|\b(hold|reject|nudge)\s*(>=|<=|>|<)"
    )
    found = [
        f"{path.relative_to(templates)}: {match.group(0)}"
        for path in templates.rglob("*.html")
        for block in re.findall(r"{%.*?%}|{{.*?}}", path.read_text(encoding="utf-8"), re.S)
        for match in comparison.finditer(block)
    ]
    assert found == []
