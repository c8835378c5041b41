"""The comment form, as French news readers know it."""

from __future__ import annotations

import secrets
from typing import Any

from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, ValidationError

from app.converters import parse_id
from app.dsa import NOTICE_CATEGORIES
from app.labels import REPORT_REASONS, STATEMENT_CATEGORIES, french
from app.models import Site
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
        validators=[_body_rule],
    )


def _body_rule(form: Any, field: Any) -> None:
    """The comment's text, at most the maximum length of the form's site (its article's)."""
    limit = settings.max_comment_length(getattr(form, "site", None))
    problem = body_problem(field.data, limit)
    if problem:
        raise ValidationError(problem.message)


_body_rule.field_flags = {"required": True}  # type: ignore[attr-defined]  # renders `required`


class RevisionForm(FlaskForm):
    """A nudged author's rewrite of their comment."""

    body = _body_field("Votre commentaire, reformulé")

    def __init__(self, *args: Any, site: Site | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.site = site  # whose limits apply: the article's site


class EditForm(RevisionForm):
    """The author's edit of their comment, within EDIT_WINDOW_MINUTES."""

    body = _body_field("Votre commentaire")


class ConfirmForm(FlaskForm):
    """A confirmation button: only its CSRF token is checked."""


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
    notify_replies = BooleanField(
        "Me prévenir par courriel des réponses",
        description="Une seule fois, nous vous demanderons de confirmer votre adresse.",
    )

    def __init__(self, *args: Any, site: Site | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.site = site  # whose limits apply: the article's site
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


class ReplyMailsForm(FlaskForm):
    """« Mon compte »: the account's reply notifications, on or off."""

    reply_mails = BooleanField("Me prévenir par courriel des réponses à mes commentaires")


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


class NoticeForm(FlaskForm):
    """« Signaler un contenu illicite » (Art. 16 DSA). The fields carry no rule of their own:
    services/notices.check applies them all (the API's too), name and address being optional
    for the child sexual abuse offences."""

    location = StringField(
        "Lien du commentaire",
        filters=[_strip],
        description="L’adresse exacte du commentaire, qui se termine par #c suivi de son numéro.",
    )
    explanation = TextAreaField(
        "Pourquoi ce contenu est-il illicite ?",
        filters=[clean_text],
        description="Expliquez en quoi il enfreint la loi (quelle loi, si vous la connaissez).",
    )
    category = SelectField(
        "Catégorie",
        choices=[SelectChoice("", "Choisissez…")]
        + [SelectChoice(code, french(STATEMENT_CATEGORIES[code])) for code in NOTICE_CATEGORIES],
        validate_choice=False,  # the service names a bad choice in French
    )
    name = StringField("Votre nom", filters=[_strip])
    email = EmailField(
        "Votre adresse de messagerie",
        filters=[_strip],
        description="Pour l’accusé de réception et notre décision ; jamais montrée à l’auteur "
        "du commentaire.",
    )
    good_faith = BooleanField(
        "Je déclare de bonne foi que les informations et les allégations de cette notification "
        "sont exactes et complètes."
    )


class DataRequestForm(FlaskForm):
    """« Vos données personnelles »: a guest asks, by their address, for the link to their data."""

    email = EmailField(
        "Votre adresse de messagerie",
        filters=[_strip],
        validators=[Checked(lambda value: email_problem(value, guest=True), required=True)],
        description="Celle que vous avez donnée en commentant ou en signalant un contenu.",
    )


class EraseForm(FlaskForm):
    """The confirmation an erasure asks for: a box, and an account's password where it has one."""

    confirm = BooleanField(
        "Je comprends que mes commentaires seront retirés et que cela ne peut pas être annulé.",
    )
    password = StringField("Votre mot de passe")

    def validate_confirm(self, field: Any) -> None:
        if not field.data:
            raise ValidationError("Cochez la case pour confirmer l’effacement.")
