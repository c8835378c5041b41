"""Staff fixtures: signed-in moderators and admins, and held comments to work on."""

from __future__ import annotations

import re

import pytest

from app.models import Comment, CommentScore, CommentStatus, Role
from tests.conftest import add_comment, csrf_token, login, make_user

PASSWORD = "motdepasse-solide"


@pytest.fixture
def moderator(app):
    return make_user(email="mod@example.fr", display_name="Modo Marie", role=Role.MODERATOR)


@pytest.fixture
def admin(app):
    return make_user(email="admin@example.fr", display_name="Admin Alex", role=Role.ADMIN)


@pytest.fixture
def mod_client(app, moderator):
    client = app.test_client()
    login(client, moderator.email)
    return client


def held(article, body="Quel idiot", score=0.7, **fields) -> Comment:
    from app.extensions import db

    comment = add_comment(
        article,
        body,
        status=CommentStatus.HELD,
        reasons=[{"code": "category_hold", "category": "insult", "score": score,
                  "threshold": 0.5}],
        **fields,
    )  # fmt: skip
    db.session.add(
        CommentScore(
            comment_id=comment.id, scores={"toxicity": 0.2, "insult": score}, max_score=score,
            model_name="detoxify-test", model_version="t",
        )
    )  # fmt: skip
    db.session.commit()
    return comment


def token(client, url="/moderation/file/a-moderer") -> str:
    return csrf_token(client, url)


def decide(client, comment, action="approve", reason=None, version=None, **extra):
    data = {
        "csrf_token": token(client),
        "action": action,
        "version": comment.version if version is None else version,
        **({"reason": reason} if reason else {}),
        **extra,
    }
    return client.post(f"/moderation/commentaires/{comment.id}/decision", data=data)


def card_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-comment="(\d+)"', page)]
