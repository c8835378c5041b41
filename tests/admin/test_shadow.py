"""« Essai » (shadow mode): a candidate model or thresholds beside the live ones, compared in the
background on comments at known scores, agreement with moderators, promotion, refusals."""

from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa

from app.actions import AuditAction
from app.extensions import db
from app.labels import REJECT_REASONS
from app.models import (
    CategoryThreshold,
    Comment,
    CommentScore,
    CommentStatus,
    ModerationAction,
    Role,
    SettingChange,
    ShadowCandidate,
    ShadowResult,
)
from app.services import moderation, settings
from bench.tiny_checkpoints import MULTILINGUAL_CLASSES, build_constant_checkpoint
from tests.admin.conftest import post_form, threshold_form
from tests.conftest import (
    add_comment,
    comments_in_db,
    csrf_token,
    login,
    make_user,
    simultaneously,
)

PAGE = "/admin/essai"


@pytest.fixture
def config_overrides():
    # The worker leaves the candidate to `flask shadow run`: each test says when it runs.
    # A promoted model is looked for before every batch (5 s in production).
    return {"SHADOW_BACKGROUND": False, "MODEL_FOLLOW_SECONDS": 0}


@pytest.fixture(scope="module")
def insulting_model(tmp_path_factory):
    """A real checkpoint whose every text scores insult 0.95 (rejected by the defaults)."""
    scores = dict.fromkeys(MULTILINGUAL_CLASSES, 0.01) | {"insult": 0.95}
    with pytest.MonkeyPatch.context() as patch:
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
            patch.setenv(name, "1")
        yield build_constant_checkpoint(tmp_path_factory.mktemp("candidate"), probabilities=scores)


def _scored(article, insult, status=CommentStatus.PUBLISHED, body=None):
    """A comment decided live, with its live scores (scored now: after the candidate's start)."""
    comment = add_comment(article, body or f"insulte {insult}", status=status)
    db.session.add(CommentScore(comment_id=comment.id, scores={"toxicity": 0.01, "insult": insult},
                                max_score=insult, model_name="m", model_version="v"))  # fmt: skip
    db.session.commit()
    return comment


def _known_set(article):
    P, H, R = CommentStatus.PUBLISHED, CommentStatus.HELD, CommentStatus.REJECTED
    rows = [(0.1, P)] * 4 + [(0.7, H)] * 3 + [(0.85, H)] + [(0.95, R)] * 2
    return [_scored(article, score, status) for score, status in rows]


def _start(client, **fields):
    return post_form(client, PAGE, fields)


def _start_thresholds(client, overrides):
    return _start(client, try_thresholds="on", **threshold_form(overrides, action=None))


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["shadow", "run", *args])


def _matrix(page):
    cells = re.findall(r"<td(?: class=\"[^\"]*\")?>(\d+)</td>", page.split("simulation__table")[1])
    return [int(c) for c in cells]


def _results():
    db.session.expire_all()
    return list(db.session.scalars(sa.select(ShadowResult).order_by(ShadowResult.comment_id)))


def test_a_thresholds_candidate_shows_its_moves_once_run(app, admin_client, article):
    before = _scored(article, 0.7, CommentStatus.HELD)  # decided before the start: not compared
    response = _start_thresholds(admin_client, {"insult-hold": "0.8", "insult-reject": "0.9"})
    assert response.status_code == 303
    known = _known_set(article)
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "Essai en cours" in page
    assert "0 commentaire comparé" in page and "sur 10 décidés depuis le lancement" in page

    result = _run(app)
    assert result.exit_code == 0, result.output
    assert "10 comments scored and decided" in result.output

    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "10 commentaires comparés" in page
    assert "Ce que le candidat aurait décidé" in page
    assert "3 commentaires changeraient de sort" in page
    # rows: live publish / hold / reject; columns: candidate publish / hold / reject, total
    assert _matrix(page)[:12] == [4, 0, 0, 4,  3, 1, 0, 4,  0, 0, 2, 2]  # fmt: skip
    assert "3 : à modérer → publié" in page
    assert f"n° {known[6].id}" in page  # the newest examples first
    assert f"n° {before.id}<" not in page
    # The live settings and decisions are untouched; a second run finds nothing new.
    assert db.session.get(CategoryThreshold, "insult").hold == 0.5
    assert [c.status for c in comments_in_db()][1:] == [k.status for k in known]
    assert "0 comments" in _run(app).output
    assert len(_results()) == 10


def test_a_candidate_model_scores_in_the_background_only(
    app, admin_client, reader, article, insulting_model
):
    settings.set_value("nudge_enabled", False)
    response = _start(admin_client, model_path=str(insulting_model.checkpoint),
                      hf_config=str(insulting_model.hf_config))  # fmt: skip
    assert response.status_code == 303, response.get_data(as_text=True)
    candidate = db.session.scalar(sa.select(ShadowCandidate))
    assert candidate.model_name and candidate.error is None

    reader.post("Un commentaire argumenté et courtois.")
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.PUBLISHED  # the live model and thresholds decided
    assert _results() == []  # nothing was scored by the candidate on the reader's path

    assert _run(app).exit_code == 0
    [result] = _results()
    assert (result.comment_id, result.live_outcome, result.outcome) == (comment.id, "publish",
                                                                       "reject")  # fmt: skip
    assert result.scores["insult"] == pytest.approx(0.95, abs=1e-4)
    assert comments_in_db()[0].status == CommentStatus.PUBLISHED
    assert db.session.get(CommentScore, comment.id).scores["insult"] < 0.1  # live scores kept

    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "1 : publié → rejeté" in page
    assert str(insulting_model.checkpoint) in page
    assert "l’utilise à partir du lot suivant, sans redémarrage" in page


@pytest.mark.parametrize("config_overrides", [{"SHADOW_BACKGROUND": "1"}])
def test_the_worker_runs_the_candidate_when_idle(app, admin_client, reader, insulting_model):
    settings.set_value("nudge_enabled", False)
    _start(admin_client, model_path=str(insulting_model.checkpoint),
           hf_config=str(insulting_model.hf_config))  # fmt: skip
    reader.post("Un commentaire argumenté et courtois.")
    deadline = time.monotonic() + 15
    while not _results() and time.monotonic() < deadline:
        time.sleep(0.1)
    [result] = _results()
    assert result.outcome == "reject"
    assert comments_in_db()[0].status == CommentStatus.PUBLISHED


def test_agreement_with_the_moderators_later_decisions(app, admin_client, article):
    _start_thresholds(admin_client, {"insult-hold": "0.8", "insult-reject": "0.9"})
    known = _known_set(article)
    assert _run(app).exit_code == 0
    mod = make_user(email="mod@example.fr", display_name="Modo Marie", role=Role.MODERATOR)
    reason = next(iter(REJECT_REASONS))
    for comment, action in ((known[4], "approve"), (known[5], "approve"),
                            (known[7], "reject"), (known[0], "reject")):  # fmt: skip
        db.session.refresh(comment)
        moderation.decide(comment.id, comment.version, action, mod, reason=reason)
    # Of the four: the two approved at 0.7 (live: hold, candidate: publish), one rejected at
    # 0.85 (both hold), one rejected although published at 0.1 (both publish).
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "4 ont été approuvés ou rejetés ensuite par un modérateur" in page
    agreement = page.split('id="titre-accord"')[1]
    rows = re.findall(r"<td>(\d+)(?: \(([\d,]+) %\))?</td>", agreement)
    assert rows == [("1", "25,0"), ("3", "75,0"), ("1", ""), ("1", "")]


def test_promote_saves_the_thresholds_with_their_history_and_an_audit_row(
    app, admin_client, admin_user, article
):
    _start_thresholds(admin_client, {"insult-hold": "0.8", "insult-reject": "0.9"})
    refused = post_form(admin_client, PAGE + "/promouvoir", {})
    assert refused.status_code == 422
    assert "Cochez « Je confirme »" in refused.get_data(as_text=True)
    assert db.session.get(CategoryThreshold, "insult").hold == 0.5

    response = post_form(admin_client, PAGE + "/promouvoir", {"confirm": "on"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(CategoryThreshold, "insult").hold == 0.8
    [change] = db.session.scalars(sa.select(SettingChange)).all()
    assert (change.key, change.old_value["hold"], change.new_value["hold"]) == (
        "threshold:insult", 0.5, 0.8)  # fmt: skip
    assert change.actor == admin_user.display_name
    actions = [a.action for a in db.session.scalars(sa.select(ModerationAction))]
    assert actions == [AuditAction.SHADOW_STARTED, AuditAction.SHADOW_PROMOTED]
    candidate = db.session.scalar(sa.select(ShadowCandidate))
    assert candidate.active is None and candidate.promoted_at is not None
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "Dernier essai : promu" in page and "Lancer un essai" in page
    again = post_form(admin_client, PAGE + "/promouvoir", {"confirm": "on"})
    assert again.status_code == 422 and "Aucun essai en cours" in again.get_data(as_text=True)


def _posted(reader, body):
    """Post as a reader; the comment as decided, and the model that scored it."""
    assert reader.post(body).status_code in (200, 303)
    db.session.expire_all()
    comment = db.session.scalar(sa.select(Comment).where(Comment.body == body))
    score = db.session.get(CommentScore, comment.id)
    return comment.status, score.model_name if score else None


def test_a_promoted_model_scores_the_next_comments_without_a_restart(
    app, admin_client, reader, insulting_model
):
    live_name = app.extensions["scoring_runner"].scorer.name
    assert _posted(reader, "Merci pour cet article très clair.") == (
        CommentStatus.PUBLISHED, live_name)  # fmt: skip
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "Modèle en service" in page and "utilise le modèle du serveur" in page
    assert "Revenir au modèle du serveur" not in page

    _start(admin_client, model_path=str(insulting_model.checkpoint),
           hf_config=str(insulting_model.hf_config))  # fmt: skip
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "charge son modèle, puis l’utilise à partir du lot suivant, sans redémarrage" in page
    response = post_form(admin_client, PAGE + "/promouvoir", {"confirm": "on"})
    assert response.status_code == 303
    candidate = db.session.scalar(sa.select(ShadowCandidate))
    assert candidate.model_name and candidate.model_name != live_name

    # The next comment is scored by the promoted model (insult 0.95 everywhere: its author is
    # asked to reconsider), and its scores say which model gave them.
    assert _posted(reader, "Merci pour ce second article.") == (
        CommentStatus.NUDGED, candidate.model_name)  # fmt: skip
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert f"<code>{insulting_model.checkpoint}</code>" in page
    assert "utilise le modèle promu" in page and "Chef Claire" in page
    assert f"DETOXIFY_CHECKPOINT={insulting_model.checkpoint}" in page  # to write it down

    # A restart keeps it: a new process's runner, on the same database, loads the promoted one.
    from app.worker import BatchScorer

    runner = app.extensions["scoring_runner"]
    assert BatchScorer(app, runner.configured(), runner.configured).live_scorer().name == (
        candidate.model_name)  # fmt: skip

    # Back to the server's model: audited, the next comment is the live model's again.
    assert post_form(admin_client, PAGE + "/modele-serveur", {}).status_code == 303
    assert _posted(reader, "Merci pour ce troisième article.") == (
        CommentStatus.PUBLISHED, live_name)  # fmt: skip
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "utilise le modèle du serveur" in page
    again = post_form(admin_client, PAGE + "/modele-serveur", {})
    assert again.status_code == 422
    assert "déjà celui du serveur" in again.get_data(as_text=True)
    actions = list(db.session.scalars(
        sa.select(ModerationAction.action).where(ModerationAction.comment_id.is_(None))
        .order_by(ModerationAction.id)
    ))  # fmt: skip
    assert actions == [AuditAction.SHADOW_STARTED, AuditAction.SHADOW_PROMOTED,
                       AuditAction.MODEL_RESET]  # fmt: skip
    journal = admin_client.get("/moderation/journal").get_data(as_text=True)
    assert "Retour au modèle du serveur" in journal


def test_a_promoted_model_that_no_longer_loads_leaves_the_live_one_scoring(
    app, admin_client, reader, insulting_model, tmp_path
):
    import shutil

    copy = tmp_path / "candidat.ckpt"
    shutil.copy(insulting_model.checkpoint, copy)
    _start(admin_client, model_path=str(copy), hf_config=str(insulting_model.hf_config))
    copy.unlink()  # gone between the trial and the switch
    assert post_form(admin_client, PAGE + "/promouvoir", {"confirm": "on"}).status_code == 303
    live_name = app.extensions["scoring_runner"].configured().name
    # No score is made up, and readers are not held for it: the model in service goes on.
    assert _posted(reader, "Merci pour cet article très clair.") == (
        CommentStatus.PUBLISHED, live_name)  # fmt: skip
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "ne charge pas le modèle choisi, garde celui qu’il a" in page
    result = app.test_cli_runner().invoke(args=["model", "check"])
    assert result.exit_code == 1 and "The promoted model does not load" in result.output


def test_admins_going_back_at_once_write_one_journal_row(app, insulting_model):
    from app.services import live_model

    admin = make_user(email="chef@example.fr", display_name="Chef", role=Role.ADMIN)
    candidate = ShadowCandidate(active=None, model_path=str(insulting_model.checkpoint),
                                hf_config=str(insulting_model.hf_config),
                                started_by="Chef")  # fmt: skip
    db.session.add(candidate)
    db.session.flush()
    live_model.promote(candidate, admin)
    db.session.commit()
    admins = _admins(app, 4)
    answers = simultaneously([
        lambda c=c, t=t: c.post(PAGE + "/modele-serveur", data={"csrf_token": t})
        for c, t in admins
    ])  # fmt: skip
    assert sorted(a.status_code for a in answers) == [303, 422, 422, 422]
    resets = sa.select(sa.func.count()).where(ModerationAction.action == AuditAction.MODEL_RESET)
    assert db.session.scalar(resets) == 1


def test_a_model_that_does_not_load_is_refused_and_nothing_is_scored(
    app, admin_client, article, tmp_path
):
    garbage = tmp_path / "pas-un-modele.ckpt"
    garbage.write_text("pas un modèle")
    response = _start(admin_client, model_path=str(garbage))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Ce modèle ne se charge pas" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ShadowCandidate)) == 0

    missing = _start(admin_client, model_path=str(tmp_path / "absent.ckpt"))
    assert missing.status_code == 422
    assert "Aucun fichier ni dossier à ce chemin" in missing.get_data(as_text=True)

    # A candidate whose model stops loading (another process, a file removed): it says why,
    # and scores nothing: no score is ever made up.
    db.session.add(ShadowCandidate(active=1, model_path=str(garbage), started_by="Chef"))
    db.session.commit()
    _scored(article, 0.1)
    result = _run(app)
    assert result.exit_code == 1 and "does not load" in result.output
    assert _results() == []
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "aucun commentaire n’est noté par lui" in page
    refused = post_form(admin_client, PAGE + "/promouvoir", {"confirm": "on"})
    assert refused.status_code == 422


def test_stop_keeps_the_results_and_ends_the_work(app, admin_client, article):
    _start_thresholds(admin_client, {"insult-hold": "0.8", "insult-reject": "0.9"})
    _known_set(article)
    _run(app)
    assert post_form(admin_client, PAGE + "/arreter", {}).status_code == 303
    _scored(article, 0.7)
    assert _run(app).exit_code == 1  # no candidate running
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "Dernier essai : arrêté" in page and "10 commentaires comparés" in page
    assert len(_results()) == 10
    assert post_form(admin_client, PAGE + "/arreter", {}).status_code == 422


def test_one_candidate_at_a_time(app, admin_client):
    assert _start_thresholds(admin_client, {"insult-hold": "0.8"}).status_code == 303
    again = _start_thresholds(admin_client, {"insult-hold": "0.6"})
    assert again.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ShadowCandidate)) == 1


def test_moderators_are_refused(app, admin_client):
    make_user(email="mod@example.fr", role=Role.MODERATOR)
    client = app.test_client()
    login(client, "mod@example.fr")
    assert client.get(PAGE).status_code == 403
    token = csrf_token(client, "/moderation/journal")
    for url in (PAGE, PAGE + "/arreter", PAGE + "/promouvoir"):
        assert client.post(url, data={"csrf_token": token, "confirm": "on"}).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ShadowCandidate)) == 0


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({}, "model_path", "Indiquez un modèle à essayer"),
        ({"model_path": "/tmp/\x00x"}, "model_path", "caractères au plus"),
        ({"model_path": "x" * 5000}, "model_path", "caractères au plus"),
        ({"model_path": "../../etc/absent"}, "model_path", "Aucun fichier ni dossier"),
        ({"hf_config": "/tmp"}, "hf_config", "Ce dossier accompagne un fichier de modèle"),
        ({"try_thresholds": "on", **threshold_form({"insult-hold": "abc"}, action=None)},
         "insult-hold", "Indiquez un nombre entre 0 et 1"),
        ({"try_thresholds": "on", **threshold_form({"insult-reject": "0.1"}, action=None)},
         "insult-reject", "supérieur ou égal"),
        ({"try_rules": "on", "premoderate_first_n": "-5"}, "premoderate_first_n",
         "nombre entier entre 0 et 1000"),
        ({"try_rules": "on", "premoderate_first_n": "0", "nudge_sent_anyway": "<script>"},
         "nudge_sent_anyway", "l’une des valeurs proposées"),
    ],
)  # fmt: skip
def test_hostile_input_is_refused_naming_the_field(app, admin_client, fields, field, message):
    response = _start(admin_client, **fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-erreur"' in page and message in page
    assert "<script>" not in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ShadowCandidate)) == 0


def test_a_rules_candidate_and_the_english_page(app, admin_client, article):
    response = _start(admin_client, try_rules="on", premoderate_all="on",
                      premoderate_first_n="0")  # fmt: skip
    assert response.status_code == 303
    _known_set(article)
    _run(app)
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "4 : publié → à modérer" in page  # every comment would be held
    english = admin_client.get(PAGE + "?lang=en").get_data(as_text=True)
    assert "Trial in progress" in english and "What the candidate would have decided" in english
    assert "Essai en cours" not in english and "Accord avec les modérateurs" not in english
    assert settings.get("premoderate_all") is False
    assert [c.id for c in comments_in_db()]  # the comments are still all there
    assert all(isinstance(c, Comment) for c in comments_in_db())


def _admins(app, count):
    clients = []
    for i in range(count):
        make_user(email=f"chef{i}@example.fr", display_name=f"Chef {i}", role=Role.ADMIN)
        client = app.test_client()
        login(client, f"chef{i}@example.fr")
        clients.append((client, csrf_token(client, PAGE)))
    return clients


def test_admins_starting_or_promoting_at_once_make_one_candidate_and_one_promotion(app):
    admins = _admins(app, 4)
    form = {"try_thresholds": "on", **threshold_form({"insult-hold": "0.8"}, action=None)}
    answers = simultaneously([
        lambda c=c, t=t: c.post(PAGE, data={"csrf_token": t, **form}) for c, t in admins
    ])  # fmt: skip
    assert sorted(a.status_code for a in answers) == [303, 422, 422, 422]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ShadowCandidate)) == 1

    answers = simultaneously([
        lambda c=c, t=t: c.post(PAGE + "/promouvoir", data={"csrf_token": t, "confirm": "on"})
        for c, t in admins
    ])  # fmt: skip
    assert sorted(a.status_code for a in answers) == [303, 422, 422, 422]
    db.session.expire_all()
    assert [c.key for c in db.session.scalars(sa.select(SettingChange))] == ["threshold:insult"]
    promoted = sa.select(sa.func.count()).where(
        ModerationAction.action == AuditAction.SHADOW_PROMOTED
    )
    assert db.session.scalar(promoted) == 1


def test_the_journal_names_the_trial(app, admin_client):
    _start_thresholds(admin_client, {"insult-hold": "0.8"})
    post_form(admin_client, PAGE + "/arreter", {})
    page = admin_client.get("/moderation/journal").get_data(as_text=True)
    assert "Essai lancé" in page and "Essai arrêté" in page
