"""Readers' text: decoded strictly, checked the same way by every form that takes it."""

from __future__ import annotations

import unicodedata
from typing import IO, Any, cast
from urllib.parse import parse_qsl

import flask
from werkzeug.exceptions import RequestEntityTooLarge, UnprocessableEntity
from werkzeug.formparser import FormDataParser
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_input_stream
from wtforms import Field, Form
from wtforms.validators import ValidationError

_ALLOWED_CONTROLS = {"\n", "\t"}


def clean_text(value: str | None) -> str:
    """Unify line breaks and trim; the text is otherwise kept exactly as typed."""
    if value is None:
        return ""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def text_problem(value: str | None) -> str | None:
    """Why a text cannot be taken as typed (a French sentence), or None: it was not valid
    UTF-8, or it holds control characters (a NUL byte, say, which PostgreSQL refuses)."""
    value = value or ""
    # Werkzeug decodes form data with errors="replace": invalid UTF-8 arrives as U+FFFD.
    if "\ufffd" in value:
        return (
            "Le texte contient des caractères illisibles (encodage invalide) : "
            "retapez-le ou recopiez-le depuis une autre source."
        )
    for char in value:
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) == "Cc":
            return (
                "Le texte contient des caractères de contrôle invisibles : "
                "retirez-les avant d’envoyer."
            )
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
