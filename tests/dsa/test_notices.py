"""Notice and action (Art. 16 DSA, issue 14), through HTTP, with real mail on loopback: the
form and its French errors per field, the receipt, the moderators' « Signalements (DSA) »,
each decision, the notifier's decision mail, the API, the rate limit."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import (
    Article,
    Comment,
    CommentScore,
    CommentStatus,
    DsaNotice,
    DsaStatement,
    ModerationAction,
    Role,
)
from tests.conftest import ARTICLE_URL, add_comment, csrf_token, login, make_user
from tests.mailbox import Mailbox

FORM = "/contenus-illicites/signaler"
SPEECH = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
CSAM = "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"
EXPLANATION = "Ce commentaire diffame nommément un élu : loi du 29 juillet 1881, article 32."


@pytest.fixture
def comment(article: Article) -> Comment:
    published = add_comment(article, "Le maire Untel détourne l’argent public, c’est sûr.")
    db.session.add(
        CommentScore(
            comment_id=published.id,
            scores={"toxicity": 0.41, "insult": 0.12},
            max_score=0.41,
            model_name="detoxify-test",
            model_version="t",
        )
    )
    db.session.commit()
    return published


def link(comment: Comment) -> str:
    return f"http://localhost{ARTICLE_URL}#c{comment.id}"


def send(client: FlaskClient, **fields: Any) -> Any:
    """The form as a notifier fills it in (every field valid unless given)."""
    data = {
        "csrf_token": csrf_token(client, FORM),
        "location": "",
        "explanation": EXPLANATION,
        "category": SPEECH,
        "name": "Claude Martin",
        "email": "claude@example.org",
        "good_faith": "y",
        **fields,
    }
    return client.post(FORM, data={k: v for k, v in data.items() if v is not None})


def notices_in_db() -> list[DsaNotice]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(DsaNotice).order_by(DsaNotice.id)))


def field_error(page: str, field: str) -> str:
    found = re.search(rf'id="{field}-erreur">(.*?)</p>', page, re.S)
    assert found, f"no error shown for {field}"
    return found.group(1)


# --- The notifier ----------------------------------------------------------------------------


def test_every_published_comment_and_the_footer_link_to_the_form(
    client: FlaskClient, comment: Comment
) -> None:
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert f'href="{FORM}?commentaire={comment.id}"' in page
    assert "Signaler un contenu illicite</a>" in page
    assert f'<a href="{FORM}">Signaler un contenu illicite</a>' in page  # the footer


def test_opened_from_a_comment_the_form_has_its_link_and_shows_it(
    client: FlaskClient, comment: Comment
) -> None:
    page = client.get(f"{FORM}?commentaire={comment.id}").get_data(as_text=True)
    assert f'value="{link(comment)}"' in page
    assert "Le maire Untel détourne" in page
    assert "STATEMENT_CATEGORY_VIOLENCE" in page and "Cyberviolence envers les femmes" in page


def test_a_notice_is_kept_answered_with_its_reference_and_a_receipt_mail(
    client: FlaskClient, comment: Comment, mailbox: Mailbox
) -> None:
    response = send(client, location=link(comment))
    assert response.status_code == 303
    [notice] = notices_in_db()
    assert response.headers["Location"].endswith(f"/contenus-illicites/{notice.reference}")
    assert re.fullmatch(r"DSA-[A-Z2-9]{4}-[A-Z2-9]{4}", notice.reference)
    assert (notice.comment_id, notice.category, notice.good_faith) == (comment.id, SPEECH, True)
    assert (notice.notifier_name, notice.notifier_email) == ("Claude Martin", "claude@example.org")
    assert notice.explanation == EXPLANATION and notice.decision is None
    assert notice.receipt_sent_at is not None

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Notification reçue" in page and notice.reference in page
    assert "Un accusé de réception vous a été envoyé" in page
    assert "claude@example.org" not in page and "Claude Martin" not in page

    [receipt] = mailbox.to("claude@example.org")
    assert receipt.subject == f"Accusé de réception {notice.reference}"
    assert "Bonjour Claude Martin," in receipt.body
    assert link(comment) in receipt.body
    assert "Discours illicite ou préjudiciable" in receipt.body


def test_a_notice_never_counts_as_a_readers_report(client: FlaskClient, comment: Comment) -> None:
    send(client, location=link(comment))
    db.session.refresh(comment)
    assert (comment.report_count, comment.flagged_at, comment.hidden) == (0, None, False)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"location": ""}, "location", "Indiquez le lien du commentaire"),
        ({"location": "https://ailleurs.example/page#c1"}, "location", "ne mène à aucun"),
        ({"explanation": "  "}, "explanation", "Expliquez pourquoi"),
        ({"explanation": "x" * 5001}, "explanation", "le maximum est de 5"),
        ({"explanation": "Voici\x00un texte"}, "explanation", "caractères de contrôle"),
        ({"category": ""}, "category", "Choisissez la catégorie"),
        ({"category": "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"}, "category", "Choisissez"),
        ({"name": ""}, "name", "Indiquez votre nom"),
        ({"email": ""}, "email", "Indiquez votre adresse de messagerie"),
        ({"email": "pas-une-adresse"}, "email", "n’est pas valide"),
        ({"good_faith": None}, "good_faith", "déclaration de bonne foi"),
    ],
)
def test_each_refused_field_is_named_in_french_and_nothing_is_kept(
    client: FlaskClient,
    comment: Comment,
    mailbox: Mailbox,
    fields: dict[str, Any],
    field: str,
    message: str,
) -> None:
    response = send(client, **{"location": link(comment), **fields})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in field_error(page, field)
    assert notices_in_db() == [] and mailbox.messages == []
    if field != "explanation":  # what was typed comes back
        assert "diffame nommément" in page


def test_a_comment_not_published_cannot_be_named(client: FlaskClient, article: Article) -> None:
    held = add_comment(article, "En attente", status=CommentStatus.HELD)
    response = send(client, location=f"{ARTICLE_URL}#c{held.id}")
    assert "ne mène à aucun" in field_error(response.get_data(as_text=True), "location")


def test_child_sexual_abuse_needs_neither_name_nor_address(
    client: FlaskClient, comment: Comment, mailbox: Mailbox
) -> None:
    response = send(client, location=link(comment), category=CSAM, name="", email="")
    assert response.status_code == 303
    [notice] = notices_in_db()
    assert notice.category == "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    assert notice.child_sexual_abuse is True
    assert (notice.notifier_name, notice.notifier_email, notice.receipt_sent_at) == (
        None,
        None,
        None,
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Vous n’avez pas laissé d’adresse" in page and notice.reference in page
    assert mailbox.messages == []


def test_the_embeds_host_page_with_the_comments_anchor_is_accepted(
    client: FlaskClient, app: Flask
) -> None:
    from app.services import sites

    site = sites.create("journal", ["https://www.journal.fr"]).site
    story, _ = sites.ensure_story(site, "https://www.journal.fr/politique/article-42", "Article")
    published = add_comment(story, "Un avis publié sur le site du journal.")
    response = send(client, location=f"https://www.journal.fr/politique/article-42#c{published.id}")
    assert response.status_code == 303
    assert notices_in_db()[0].comment_id == published.id
    elsewhere = send(client, location=f"https://www.journal.fr/autre-article#c{published.id}")
    assert elsewhere.status_code == 422


@pytest.mark.parametrize("config_overrides", [{"NOTICE_RATE_LIMIT": "2 per hour"}])
def test_notices_are_rate_limited_per_network_address(
    client: FlaskClient, comment: Comment
) -> None:
    assert [send(client, location=link(comment)).status_code for _ in range(2)] == [303, 303]
    refused = send(client, location=link(comment))
    assert refused.status_code == 429
    assert "trop de notifications" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 0
    assert len(notices_in_db()) == 2


def test_the_form_refuses_a_missing_csrf_token(client: FlaskClient, comment: Comment) -> None:
    response = client.post(FORM, data={"location": link(comment), "explanation": EXPLANATION})
    assert response.status_code == 400
    assert notices_in_db() == []


@pytest.mark.parametrize("config_overrides", [{"MAIL_ENABLED": False, "MAIL_BACKEND": "dummy"}])
def test_without_mail_the_notice_is_kept_and_the_notifier_is_told(
    client: FlaskClient, comment: Comment, mailbox: Mailbox
) -> None:
    response = send(client, location=link(comment))
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "l’accusé de réception n’a pas pu partir" in page
    assert notices_in_db()[0].receipt_sent_at is None


def test_no_notifier_data_reaches_the_logs(
    client: FlaskClient, comment: Comment, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    with caplog.at_level(logging.DEBUG):
        send(client, location=link(comment))
    # The app's own log lines (the test's SMTP server logs what it receives: not ours).
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("app"))
    assert "dsa notice" in ours
    assert "claude@example.org" not in ours and "Claude Martin" not in ours


# --- The moderators --------------------------------------------------------------------------


@pytest.fixture
def moderator_client(app: Flask) -> FlaskClient:
    make_user(email="modo@example.fr", display_name="Modo Marie", role=Role.MODERATOR)
    client = app.test_client()
    login(client, "modo@example.fr")
    return client


@pytest.fixture
def notice(client: FlaskClient, comment: Comment, mailbox: Mailbox) -> DsaNotice:
    assert send(client, location=link(comment)).status_code == 303
    mailbox.clear()
    return notices_in_db()[0]


def decide(client: FlaskClient, notice: DsaNotice, **fields: Any) -> Any:
    url = f"/moderation/dsa/{notice.id}"
    page = client.get(url).get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page)
    data = {
        "csrf_token": csrf_token(client, url),
        **({"version": version.group(1)} if version else {}),
        **fields,
    }
    return client.post(f"{url}/decision", data=data)


def test_the_queue_lists_the_notice_apart_from_the_readers_reports(
    moderator_client: FlaskClient, notice: DsaNotice
) -> None:
    page = moderator_client.get("/moderation/dsa").get_data(as_text=True)
    assert notice.reference in page
    assert "Discours illicite ou préjudiciable" in page
    assert "diffame nommément" in page and "Le maire Untel" in page
    assert "À traiter" in page
    assert re.search(r'data-count="dsa">1<', page)  # the nav's count
    flagged = moderator_client.get("/moderation/file/signales").get_data(as_text=True)
    assert "Le maire Untel" not in flagged
    assert re.search(r'data-count="dsa">1<', flagged)


def test_the_notice_page_shows_the_details_and_the_models_scores(
    moderator_client: FlaskClient, notice: DsaNotice
) -> None:
    page = moderator_client.get(f"/moderation/dsa/{notice.id}").get_data(as_text=True)
    assert notice.reference in page and "Claude Martin" in page
    assert "Scores du modèle" in page and "0,41" in page
    assert 'name="decision" value="removed_illegal"' in page


@pytest.mark.parametrize("role", ["anonymous", Role.READER])
def test_only_staff_see_notices(app: Flask, notice: DsaNotice, role: Any) -> None:
    client = app.test_client()
    if role != "anonymous":
        make_user(email="lecteur2@example.fr", role=role)
        login(client, "lecteur2@example.fr")
    for url in ("/moderation/dsa", f"/moderation/dsa/{notice.id}"):
        response = client.get(url)
        assert response.status_code == (302 if role == "anonymous" else 403)


def test_removed_as_illegal_the_comment_goes_and_the_notifier_is_told(
    app: Flask,
    moderator_client: FlaskClient,
    notice: DsaNotice,
    comment: Comment,
    mailbox: Mailbox,
) -> None:
    response = decide(
        moderator_client,
        notice,
        decision="removed_illegal",
        ground="diffamation",
        explanation="Accusation de détournement sans élément : diffamation d’un élu.",
    )
    assert response.status_code == 303
    [decided] = notices_in_db()
    assert decided.decision == "removed_illegal"
    assert decided.decided_by == "Modo Marie" and decided.decided_at is not None
    assert decided.automated_processing is True and decided.automated_decision is False
    assert decided.notified_at is not None
    db.session.refresh(comment)
    assert comment.status == CommentStatus.REJECTED
    assert comment.status_reason == "Refusé par la modération : contenu illicite."
    audit = db.session.scalars(
        sa.select(ModerationAction).where(ModerationAction.comment_id == comment.id)
    ).all()
    assert [a.action for a in audit] == ["rejected"]
    assert notice.reference in (audit[0].note or "")
    assert "Claude" not in (audit[0].note or "")

    reader_page = app.test_client().get(ARTICLE_URL).get_data(as_text=True)
    assert "Le maire Untel" not in reader_page

    [sent] = mailbox.to("claude@example.org")
    assert sent.subject == f"Notre décision : {notice.reference}"
    assert "Retiré : contenu illicite" in sent.body
    assert "Fondement juridique : Diffamation publique (loi du 29 juillet 1881" in sent.body
    assert "Accusation de détournement" in sent.body
    assert "Décision automatisée : non" in sent.body
    assert "Traitement automatisé : oui" in sent.body
    assert "règlement extrajudiciaire des litiges" in sent.body
    # The Art. 17 statement answers this notice, in its category, and the notifier gets its link.
    [statement] = db.session.scalars(sa.select(DsaStatement)).all()
    assert (statement.notice_id, statement.source_type) == (notice.id, "SOURCE_ARTICLE_16")
    assert statement.category == notice.category
    assert (statement.decision_ground, statement.legal_ground) == (
        "DECISION_GROUND_ILLEGAL_CONTENT",
        "diffamation",
    )
    link = re.search(r"http://\S+/motifs/" + statement.puid + r"\S*", sent.body)
    assert link is not None
    shown = app.test_client().get(link.group(0).removeprefix("http://localhost"))
    assert shown.status_code == 200 and "Claude" not in shown.get_data(as_text=True)

    page = moderator_client.get("/moderation/dsa?etat=traites").get_data(as_text=True)
    assert notice.reference in page and "Retiré : contenu illicite" in page
    assert re.search(r'data-count="dsa">0<', page)


def test_removed_as_contrary_to_the_house_rules(
    moderator_client: FlaskClient, notice: DsaNotice, comment: Comment, mailbox: Mailbox
) -> None:
    response = decide(
        moderator_client,
        notice,
        decision="removed_terms",
        rule="insultes",
        explanation="Pas illicite, mais une attaque personnelle.",
    )
    assert response.status_code == 303
    db.session.refresh(comment)
    assert comment.status == CommentStatus.REJECTED
    assert "insultes ou attaques personnelles" in (comment.status_reason or "")
    [sent] = mailbox.to("claude@example.org")
    assert "Règle enfreinte : insultes ou attaques personnelles" in sent.body
    assert "Décision automatisée : non" in sent.body


def test_no_action_keeps_the_comment_and_tells_why(
    app: Flask,
    moderator_client: FlaskClient,
    notice: DsaNotice,
    comment: Comment,
    mailbox: Mailbox,
) -> None:
    response = decide(
        moderator_client,
        notice,
        decision="no_action",
        explanation="Une opinion sur un élu, sans accusation de fait précis.",
    )
    assert response.status_code == 303
    db.session.refresh(comment)
    assert comment.status == CommentStatus.PUBLISHED and comment.version == 1
    assert notices_in_db()[0].decision == "no_action"
    assert "Le maire Untel" in app.test_client().get(ARTICLE_URL).get_data(as_text=True)
    [sent] = mailbox.to("claude@example.org")
    assert "Aucune mesure" in sent.body and "Le commentaire reste publié." in sent.body
    assert "Une opinion sur un élu" in sent.body
    assert "Décision automatisée : non" in sent.body


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"decision": "removed_illegal", "explanation": "x"}, "fondement juridique"),
        ({"decision": "removed_terms", "explanation": "x"}, "règle de publication"),
        ({"decision": "no_action", "explanation": " "}, "Expliquez la décision"),
        ({"decision": "autre", "explanation": "x"}, "Choisissez une décision"),
    ],
)
def test_an_incomplete_decision_is_refused_and_nothing_changes(
    moderator_client: FlaskClient,
    notice: DsaNotice,
    comment: Comment,
    mailbox: Mailbox,
    fields: dict[str, str],
    message: str,
) -> None:
    response = decide(moderator_client, notice, **fields)
    assert response.status_code == 303
    page = moderator_client.get(response.headers["Location"]).get_data(as_text=True)
    assert message in page
    assert notices_in_db()[0].decision is None
    db.session.refresh(comment)
    assert comment.status == CommentStatus.PUBLISHED and mailbox.messages == []


def test_a_notice_is_decided_once(
    moderator_client: FlaskClient, notice: DsaNotice, mailbox: Mailbox
) -> None:
    decide(moderator_client, notice, decision="no_action", explanation="Rien d’illicite.")
    again = decide(moderator_client, notice, decision="no_action", explanation="Encore.")
    assert again.status_code == 303
    page = moderator_client.get(f"/moderation/dsa/{notice.id}").get_data(as_text=True)
    assert "déjà été traitée par Modo Marie" in page
    assert notices_in_db()[0].decision_explanation == "Rien d’illicite."
    assert len(mailbox.to("claude@example.org")) == 1


def test_a_comment_changed_since_the_page_was_read_is_a_conflict(
    moderator_client: FlaskClient, notice: DsaNotice, comment: Comment
) -> None:
    url = f"/moderation/dsa/{notice.id}"
    data = {
        "csrf_token": csrf_token(moderator_client, url),
        "version": str(comment.version),
        "decision": "removed_illegal",
        "ground": "diffamation",
        "explanation": "Diffamation.",
    }
    from app.services import moderation

    db.session.execute(sa.update(Comment).where(Comment.id == comment.id).values(version=5))
    db.session.commit()
    response = moderator_client.post(f"{url}/decision", data=data)
    assert response.status_code == 303
    page = moderator_client.get(url).get_data(as_text=True)
    assert "a déjà été traité" in page
    assert notices_in_db()[0].decision is None  # the removal and the decision: neither
    assert moderation.history(comment.id) == []


# --- The API ---------------------------------------------------------------------------------


def api_notice(client: FlaskClient, comment_id: int, **fields: Any) -> Any:
    body = {
        "explanation": EXPLANATION,
        "category": SPEECH,
        "name": "Claude Martin",
        "email": "claude@example.org",
        "good_faith": True,
        **fields,
    }
    return client.post(f"/api/v1/comments/{comment_id}/notices", json=body)


def test_the_api_keeps_a_notice_and_sends_the_receipt(
    client: FlaskClient, comment: Comment, mailbox: Mailbox
) -> None:
    response = api_notice(client, comment.id)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    [notice] = notices_in_db()
    assert answer["reference"] == notice.reference and answer["receipt_sent"] is True
    assert answer["url"].endswith(f"/contenus-illicites/{notice.reference}")
    assert notice.location.endswith(f"{ARTICLE_URL}#c{comment.id}")
    assert len(mailbox.to("claude@example.org")) == 1


@pytest.mark.parametrize(
    ("fields", "status", "code", "field"),
    [
        ({"good_faith": False}, 422, "required", "good_faith"),
        ({"email": None}, 422, "required", "email"),
        ({"category": "x"}, 422, "invalid_field", "category"),
        ({"explanation": "court"}, 422, "required", "explanation"),
        ({"location": "https://ailleurs.example/#c1"}, 422, "comment_not_found", "location"),
        ({"good_faith": "oui"}, 422, None, None),
    ],
)
def test_the_api_names_the_refused_field(
    client: FlaskClient,
    comment: Comment,
    fields: dict[str, Any],
    status: int,
    code: str | None,
    field: str | None,
) -> None:
    response = api_notice(client, comment.id, **fields)
    assert response.status_code == status
    error = response.get_json()["error"]
    if code:
        assert (error["code"], error["field"]) == (code, field)
    assert notices_in_db() == []


def test_the_api_accepts_child_sexual_abuse_without_identity(
    client: FlaskClient, comment: Comment
) -> None:
    response = api_notice(client, comment.id, category=CSAM, name=None, email=None)
    assert response.status_code == 201
    assert response.get_json()["receipt_sent"] is False


def test_the_api_refuses_an_unpublished_comment(client: FlaskClient, article: Article) -> None:
    held = add_comment(article, "En attente", status=CommentStatus.HELD)
    response = api_notice(client, held.id)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "comment_not_found"


@pytest.mark.parametrize("config_overrides", [{"NOTICE_RATE_LIMIT": "1 per hour"}])
def test_the_api_and_the_form_share_the_rate_limit(client: FlaskClient, comment: Comment) -> None:
    assert api_notice(client, comment.id).status_code == 201
    refused = api_notice(client, comment.id)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_notices"
    assert send(client, location=link(comment)).status_code == 429


def test_the_staff_pages_are_english_for_an_english_moderator(
    moderator_client: FlaskClient, notice: DsaNotice, article: Article
) -> None:
    from tests.test_translations import french_on

    stored = [EXPLANATION, "Le maire Untel détourne l’argent public, c’est sûr."]
    stored += [notice.location, "Claude Martin", article.title]
    moderator_client.get("/moderation/dsa?lang=en")
    for url in ("/moderation/dsa", f"/moderation/dsa/{notice.id}", "/moderation/dsa?etat=tous"):
        page = moderator_client.get(url).get_data(as_text=True)
        assert '<html lang="en">' in page
        assert french_on(page, stored) == [], url
    decide(moderator_client, notice, decision="no_action", explanation="Nothing illegal here.")
    page = moderator_client.get(f"/moderation/dsa/{notice.id}").get_data(as_text=True)
    assert "Notice " in page and "No action" in page and "Automated decision: no" in page
    assert french_on(page, stored) == []


def test_a_removal_without_the_comments_version_is_refused(
    moderator_client: FlaskClient, notice: DsaNotice, comment: Comment
) -> None:
    url = f"/moderation/dsa/{notice.id}"
    data = {"csrf_token": csrf_token(moderator_client, url), "decision": "removed_illegal",
            "ground": "diffamation", "explanation": "Diffamation."}  # fmt: skip
    response = moderator_client.post(f"{url}/decision", data=data)
    assert response.status_code == 303
    assert "rechargez la page" in moderator_client.get(url).get_data(as_text=True)
    db.session.refresh(comment)
    assert comment.status == CommentStatus.PUBLISHED and notices_in_db()[0].decision is None


def test_a_deleted_comment_leaves_the_notice_with_its_link(
    moderator_client: FlaskClient, notice: DsaNotice, comment: Comment, mailbox: Mailbox
) -> None:
    comment_id = comment.id
    db.session.execute(sa.delete(Comment).where(Comment.id == comment_id))  # as the database does
    db.session.commit()
    [kept] = notices_in_db()
    assert kept.comment_id is None and kept.location.endswith(f"#c{comment_id}")
    page = moderator_client.get("/moderation/dsa").get_data(as_text=True)
    assert "Commentaire supprimé" in page and notice.reference in page
    refused = decide(moderator_client, notice, decision="removed_illegal", ground="diffamation",
                     explanation="Diffamation.")  # fmt: skip
    assert "Le commentaire n’existe plus" in moderator_client.get(
        refused.headers["Location"]
    ).get_data(as_text=True)
    decide(moderator_client, notice, decision="no_action", explanation="Déjà supprimé.")
    assert notices_in_db()[0].decision == "no_action"
    [sent] = mailbox.to("claude@example.org")
    assert "Traitement automatisé : non." in sent.body
