"""The comment form, as French news readers know it."""

from __future__ import annotations

import secrets
from typing import Any

from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, ValidationError

from app.converters import parse_id
from app.formatting import count
from app.labels import REPORT_REASONS, french
from app.models import Site
from app.services import settings
from app.validators import DisplayName, PlainText, clean_text

_valid_email = Email("Cette adresse de messagerie n’est pas valide (exemple : nom@exemple.fr).")


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _body_field(label: str = "Commentaire") -> TextAreaField:
    return TextAreaField(
        label,
        filters=[clean_text],
        validators=[DataRequired("Écrivez votre commentaire avant de l’envoyer."), PlainText()],
    )


def _check_length(field: Any, site: Site | None) -> None:
    limit = settings.max_comment_length(site)
    if len(field.data or "") > limit:
        raise ValidationError(
            f"Votre commentaire compte {count(len(field.data), reader=True)} caractères ; "
            f"le maximum est de {count(limit, reader=True)}."
        )


class RevisionForm(FlaskForm):
    """A nudged author's rewrite of their comment."""

    body = _body_field("Votre commentaire, reformulé")

    def __init__(self, *args: Any, site: Site | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.site = site  # whose limits apply: the article's site

    def validate_body(self, field: Any) -> None:
        _check_length(field, self.site)


class CommentForm(FlaskForm):
    body = _body_field()
    name = StringField(
        "Nom",
        filters=[_strip],
        validators=[
            Length(max=80, message="Le nom ne peut dépasser 80 caractères."),
            PlainText(),
            DisplayName(),
        ],
    )
    email = EmailField(
        "Adresse de messagerie",
        filters=[_strip],
        description="Elle ne sera jamais publiée.",
        validators=[Length(max=254, message="L’adresse de messagerie est trop longue.")],
    )
    parent_id = HiddenField()
    form_token = HiddenField()

    def __init__(self, *args: Any, site: Site | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.site = site  # whose limits apply: the article's site
        if not self.form_token.data:
            self.form_token.data = secrets.token_urlsafe(16)

    @property
    def guest(self) -> bool:
        return not current_user.is_authenticated

    def validate_body(self, field: Any) -> None:
        _check_length(field, self.site)

    def validate_name(self, field: Any) -> None:
        if self.guest and not field.data:
            raise ValidationError("Indiquez votre nom : il sera affiché avec votre commentaire.")

    def validate_email(self, field: Any) -> None:
        if not self.guest:
            return
        if not field.data:
            raise ValidationError("Indiquez votre adresse de messagerie (elle reste privée).")
        _valid_email(self, field)

    def validate_parent_id(self, field: Any) -> None:
        if field.data and parse_id(field.data) is None:
            raise ValidationError("Le commentaire auquel vous répondez n’existe pas.")

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
        validators=[Length(max=1000, message="Au plus 1\u202f000 caractères."), PlainText()],
    )
