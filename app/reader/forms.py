"""The comment form, as French news readers know it."""

from __future__ import annotations

import secrets
from typing import Any

from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, ValidationError

from app.converters import parse_id
from app.labels import REPORT_REASONS, french
from app.services import settings
from app.validators import (
    Checked,
    body_problem,
    clean_text,
    display_name_problem,
    email_problem,
    note_problem,
    parent_problem,
)


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _body_field(label: str = "Commentaire") -> TextAreaField:
    return TextAreaField(
        label,
        filters=[clean_text],
        validators=[
            Checked(lambda text: body_problem(text, settings.max_comment_length()), required=True)
        ],
    )


class RevisionForm(FlaskForm):
    """A nudged author's rewrite of their comment."""

    body = _body_field("Votre commentaire, reformulé")


class CommentForm(FlaskForm):
    """The comment form; each field's rule is app/validators.py's, which `/api/v1` applies
    too."""

    body = _body_field()
    name = StringField("Nom", filters=[_strip])
    email = EmailField(
        "Adresse de messagerie", filters=[_strip], description="Elle ne sera jamais publiée."
    )
    parent_id = HiddenField(validators=[Checked(parent_problem)])
    form_token = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.form_token.data:
            self.form_token.data = secrets.token_urlsafe(16)

    @property
    def guest(self) -> bool:
        return not current_user.is_authenticated

    def validate_name(self, field: Any) -> None:
        problem = display_name_problem(field.data, guest=self.guest)
        if problem:
            raise ValidationError(problem.message)

    def validate_email(self, field: Any) -> None:
        problem = email_problem(field.data, guest=self.guest)
        if problem:
            raise ValidationError(problem.message)

    @property
    def parent(self) -> int | None:
        return parse_id(self.parent_id.data)


class ReportForm(FlaskForm):
    reason = RadioField(
        "Raison du signalement",
        choices=[SelectChoice(code, french(label)) for code, label in REPORT_REASONS.items()],
        validators=[DataRequired("Choisissez la raison du signalement.")],
    )
    note = TextAreaField(
        "Précisions (facultatif)",
        filters=[clean_text],
        validators=[Checked(note_problem)],
    )
