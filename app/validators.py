"""Readers' text: decoded strictly, checked the same way by every form that takes it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, cast
from urllib.parse import parse_qsl

import email_validator
import flask
from werkzeug.exceptions import RequestEntityTooLarge, UnprocessableEntity
from werkzeug.formparser import FormDataParser
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_input_stream
from wtforms import Field, Form
from wtforms.validators import ValidationError

from app.converters import parse_id
from app.formatting import count

_ALLOWED_CONTROLS = {"\n", "\t"}
# Unicode's control characters (category Cc: U+0000-U+001F, U+007F-U+009F) but for those
# allowed; one regular expression rather than a category lookup per character.
_CONTROLS = re.compile(
    "["
    + "".join(
        re.escape(chr(c))
        for c in (*range(0x20), *range(0x7F, 0xA0))
        if chr(c) not in _ALLOWED_CONTROLS
    )
    + "]"
)


def clean_text(value: str | None) -> str:
    """Unify line breaks and trim; the text is otherwise kept exactly as typed."""
    if value is None:
        return ""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


INVALID_UTF8 = (
    "Le texte contient des caractères illisibles (encodage invalide) : "
    "retapez-le ou recopiez-le depuis une autre source."
)
CONTROL_CHARACTERS = (
    "Le texte contient des caractères de contrôle invisibles : retirez-les avant d’envoyer."
)


def text_problem(value: str | None) -> str | None:
    """Why a reader's text is refused as not plain text (a French sentence), or None."""
    value = value or ""
    # Werkzeug decodes form data with errors="replace": invalid UTF-8 arrives as U+FFFD.
    if "\ufffd" in value:
        return INVALID_UTF8
    if _CONTROLS.search(value):
        return CONTROL_CHARACTERS
    return None


class PlainText:
    """Refuse text that was not valid UTF-8 or that holds control characters."""

    def __call__(self, form: Form, field: Field) -> None:
        problem = text_problem(field.data)
        if problem:
            raise ValidationError(problem)


# Bidirectional embeddings, overrides, isolates and marks: they reorder the text around a name.
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
MAX_COMBINING_RUN = 3  # « ệ » written with two marks is fine; a Zalgo pile is not


def name_problem(value: str | None) -> str | None:
    """Why a display name cannot be shown as typed (a French sentence), or None."""
    run = 0
    for char in value or "":
        if char in BIDI_CONTROLS:
            return (
                "Le nom contient des caractères invisibles qui inversent le sens du texte : "
                "retirez-les."
            )
        run = run + 1 if unicodedata.category(char) in ("Mn", "Me") else 0
        if run > MAX_COMBINING_RUN:
            return (
                "Le nom empile trop de signes diacritiques sur une même lettre : "
                "écrivez-le sans ces accents superposés."
            )
    return None


class DisplayName:
    """Refuse a name that could pass for another on the page (see `name_problem`)."""

    def __call__(self, form: Form, field: Field) -> None:
        problem = name_problem(field.data)
        if problem:
            raise ValidationError(problem)


@dataclass(frozen=True)
class Problem:
    """A reader's field refused: the stable code the API answers with (docs/embed-api.md), and
    the French sentence that the page and the API both show beside the field."""

    code: str
    message: str


# The reader's comment form, as the article page and `/api/v1` check it: one rule per field,
# which the form runs through `Checked` and the API calls directly.
NAME_MAX = 80
EMAIL_MAX = 254
NOTE_MAX = 1000
BODY_REQUIRED = "Écrivez votre commentaire avant de l’envoyer."
NAME_REQUIRED = "Indiquez votre nom : il sera affiché avec votre commentaire."
EMAIL_REQUIRED = "Indiquez votre adresse de messagerie (elle reste privée)."
EMAIL_INVALID = "Cette adresse de messagerie n’est pas valide (exemple : nom@exemple.fr)."
PARENT_INVALID = "Le commentaire auquel vous répondez n’existe pas."


def body_problem(value: str | None, limit: int) -> Problem | None:
    """A comment's text (already through `clean_text`): written, plain, at most `limit`
    characters (the site's maximum, services/settings.max_comment_length)."""
    value = value or ""
    if not value.strip():
        return Problem("required", BODY_REQUIRED)
    problem = text_problem(value)
    if problem:
        return Problem("invalid_text", problem)
    if len(value) > limit:
        return Problem(
            "too_long",
            f"Votre commentaire compte {count(len(value), reader=True)} caractères ; "
            f"le maximum est de {count(limit, reader=True)}.",
        )
    return None


def display_name_problem(value: str | None, *, guest: bool) -> Problem | None:
    """The name a guest signs with (trimmed): given, short, plain, not passing for another.
    A signed-in reader posts under their account's name: theirs may be left empty."""
    value = value or ""
    if not value:
        return Problem("required", NAME_REQUIRED) if guest else None
    if len(value) > NAME_MAX:
        return Problem("too_long", f"Le nom ne peut dépasser {NAME_MAX} caractères.")
    problem = text_problem(value)
    if problem:
        return Problem("invalid_text", problem)
    problem = name_problem(value)
    return Problem("invalid_name", problem) if problem else None


def email_problem(value: str | None, *, guest: bool) -> Problem | None:
    """A guest's address (trimmed): given and valid (never published). A signed-in reader
    posts with their account's address: only its length is checked."""
    value = value or ""
    if len(value) > EMAIL_MAX:
        return Problem("too_long", "L’adresse de messagerie est trop longue.")
    if not guest:
        return None
    if not value:
        return Problem("required", EMAIL_REQUIRED)
    try:  # as WTForms' Email validator does, without a DNS lookup
        email_validator.validate_email(
            value, check_deliverability=False, allow_smtputf8=True, allow_empty_local=False
        )
    except email_validator.EmailNotValidError:
        return Problem("invalid_email", EMAIL_INVALID)
    return None


def parent_problem(value: object) -> Problem | None:
    """The id of the comment a reply answers, when given: a row id (services/comments.py then
    checks that it is a published comment of the same story)."""
    if value in (None, ""):
        return None
    return None if parse_id(value) is not None else Problem("invalid_parent", PARENT_INVALID)


def note_problem(value: str | None) -> Problem | None:
    """A report's optional note (already through `clean_text`)."""
    value = value or ""
    if len(value) > NOTE_MAX:
        return Problem("too_long", f"Au plus {count(NOTE_MAX, reader=True)} caractères.")
    problem = text_problem(value)
    return Problem("invalid_text", problem) if problem else None


# A notice of illegal content (Art. 16(2) DSA; services/notices.py applies the rules below,
# for the form and for `/api/v1` alike, and decides which of name and address are required).
NOTICE_EXPLANATION_MIN = 10
NOTICE_EXPLANATION_MAX = 5000
NOTICE_LOCATION_MAX = 2000
NOTIFIER_NAME_MAX = 200
NOTICE_EXPLANATION_REQUIRED = (
    "Expliquez pourquoi vous estimez ce contenu illicite (au moins quelques mots)."
)
NOTICE_LOCATION_REQUIRED = (
    "Indiquez le lien du commentaire (le lien « Signaler un contenu illicite » sous le "
    "commentaire le remplit pour vous)."
)
NOTIFIER_NAME_REQUIRED = "Indiquez votre nom (ou celui de l’organisme que vous représentez)."
NOTIFIER_EMAIL_REQUIRED = (
    "Indiquez votre adresse de messagerie : nous y envoyons l’accusé de réception et notre "
    "décision."
)
NOTICE_CATEGORY_REQUIRED = "Choisissez la catégorie du contenu signalé."
GOOD_FAITH_REQUIRED = (
    "Cochez la déclaration de bonne foi : elle est requise pour toute notification."
)


def notice_explanation_problem(value: str | None) -> Problem | None:
    """Why the notifier holds the content illegal (already through `clean_text`)."""
    value = value or ""
    if len(value.strip()) < NOTICE_EXPLANATION_MIN:
        return Problem("required", NOTICE_EXPLANATION_REQUIRED)
    if len(value) > NOTICE_EXPLANATION_MAX:
        return Problem(
            "too_long",
            f"Votre explication compte {count(len(value), reader=True)} caractères ; le "
            f"maximum est de {count(NOTICE_EXPLANATION_MAX, reader=True)}.",
        )
    problem = text_problem(value)
    return Problem("invalid_text", problem) if problem else None


def notice_location_problem(value: str | None) -> Problem | None:
    """The comment's link as typed (trimmed): given, plain, not absurdly long. Whether it leads
    to a comment is the service's to say."""
    value = value or ""
    if not value:
        return Problem("required", NOTICE_LOCATION_REQUIRED)
    if len(value) > NOTICE_LOCATION_MAX:
        return Problem("too_long", "Ce lien est trop long pour être celui d’un commentaire.")
    problem = text_problem(value)
    return Problem("invalid_text", problem) if problem else None


def notifier_name_problem(value: str | None, *, required: bool) -> Problem | None:
    """The notifier's name (trimmed): required unless the notice names a child sexual abuse
    offence (Art. 16(2)(c) DSA)."""
    value = value or ""
    if not value:
        return Problem("required", NOTIFIER_NAME_REQUIRED) if required else None
    if len(value) > NOTIFIER_NAME_MAX:
        return Problem("too_long", f"Le nom ne peut dépasser {NOTIFIER_NAME_MAX} caractères.")
    problem = text_problem(value) or name_problem(value)
    return Problem("invalid_text", problem) if problem else None


def notifier_email_problem(value: str | None, *, required: bool) -> Problem | None:
    """The notifier's address (trimmed): required as the name is; valid whenever given."""
    value = value or ""
    if not value:
        return Problem("required", NOTIFIER_EMAIL_REQUIRED) if required else None
    return email_problem(value, guest=True)


class Checked:
    """A WTForms validator running one of the rules above, so that the page and the API
    refuse the same input with the same sentence. `flags`: WTForms field flags (`required`
    renders the attribute)."""

    def __init__(self, rule: Callable[[Any], Problem | None], **flags: Any) -> None:
        self.rule = rule
        self.field_flags = flags

    def __call__(self, form: Form, field: Field) -> None:
        problem = self.rule(field.data)
        if problem:
            raise ValidationError(problem.message)


class _FormDataParser(FormDataParser):
    """Decode URL-encoded forms with U+FFFD for invalid UTF-8, as multipart forms already do.

    Werkzeug keeps such bytes as literal '%E9' text, which `PlainText` could not tell apart
    from what a reader typed; with U+FFFD it can name the field."""

    def _parse_urlencoded(
        self, stream: IO[bytes], mimetype: str, content_length: int | None, options: dict[str, str]
    ) -> Any:
        items = parse_qsl(
            stream.read().decode("utf-8", "replace"), keep_blank_values=True, errors="replace"
        )
        return stream, self.cls(items), self.cls()


class _MaxStream(LimitedStream):
    """A body of unknown length (chunked) read up to `maximum` bytes: one byte more is a 413.

    Werkzeug's own maximum stops reading there and keeps what it read, so a form cut short
    would pass for a whole one."""

    def __init__(self, stream: IO[bytes], maximum: int) -> None:
        super().__init__(stream, maximum + 1, is_max=True)

    def readinto(self, b: Any) -> int | None:
        size = super().readinto(b)
        if self._pos >= self.limit:
            raise RequestEntityTooLarge()
        return size


FILE_REFUSED = (
    "Ce formulaire n’accepte pas de fichier : envoyez votre texte dans les champs prévus."
)


class Request(flask.Request):
    form_data_parser_class = _FormDataParser

    @cached_property
    def stream(self) -> IO[bytes]:
        terminated = "wsgi.input_terminated" in self.environ
        maximum = self.max_content_length
        if terminated and maximum is not None and self.content_length is None and not self.shallow:
            return cast(IO[bytes], _MaxStream(self.environ["wsgi.input"], maximum))
        return get_input_stream(self.environ, max_content_length=maximum)

    def _load_form_data(self) -> None:
        """No form of this site takes a file: a file part (even one named like a text field)
        is refused with a 422 rather than read as text."""
        loaded = "form" in self.__dict__
        super()._load_form_data()
        if not loaded and self.files:
            raise UnprocessableEntity(FILE_REFUSED)
