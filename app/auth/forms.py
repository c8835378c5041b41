from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from app.validators import DisplayName, PlainText

_email = [
    DataRequired("Indiquez votre adresse de messagerie."),
    Email("Cette adresse de messagerie n’est pas valide (exemple : nom@exemple.fr)."),
    Length(max=254, message="L’adresse de messagerie est trop longue."),
]


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class RegisterForm(FlaskForm):
    display_name = StringField(
        "Nom affiché",
        filters=[_strip],
        description="Il apparaîtra avec vos commentaires.",
        validators=[
            DataRequired("Choisissez le nom affiché avec vos commentaires."),
            Length(max=80, message="Le nom ne peut dépasser 80 caractères."),
            PlainText(),
            DisplayName(),
        ],
    )
    email = EmailField("Adresse de messagerie", filters=[_strip], validators=_email)
    password = PasswordField(
        "Mot de passe",
        description="Au moins 10 caractères.",
        validators=[
            DataRequired("Choisissez un mot de passe."),
            Length(min=10, max=200, message="Le mot de passe doit compter au moins 10 caractères."),
        ],
    )
    confirm = PasswordField(
        "Confirmez le mot de passe",
        validators=[EqualTo("password", "Les deux mots de passe ne sont pas identiques.")],
    )


class LoginForm(FlaskForm):
    email = EmailField("Adresse de messagerie", filters=[_strip], validators=_email)
    password = PasswordField(
        "Mot de passe", validators=[DataRequired("Indiquez votre mot de passe.")]
    )
    remember = BooleanField("Rester connecté")
