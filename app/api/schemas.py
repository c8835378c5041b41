"""The requests and answers of `/api/v1`, as pydantic models: one definition validates a
request and is the OpenAPI 3.1 document's schema (app/api/spec.py), never a hand-kept spec
beside the code. Strict: a number is not a string, "true" is not true,
an unknown field is refused (a typo never passes silently).

The models' docstrings, and the docstring under each field, are the document's descriptions
(`ApiModel`: pydantic's `use_attribute_docstrings`): they are written in French, for the
newsroom developer who reads them on /api/v1/docs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ApiModel(BaseModel):
    """A model of the API whose field docstrings describe its fields in the document."""

    model_config = ConfigDict(use_attribute_docstrings=True)


class ErrorDetail(ApiModel):
    """Ce qui est refusé, et pourquoi."""

    code: str
    """Stable : un client peut s’y fier (`invalid_field`, `quota_exceeded`…)."""
    message: str
    """Pour une personne, en français ; peut changer."""
    field: str | None
    """Le champ de la requête refusé (`texts.2`, `body`), ou null."""


class ErrorBody(ApiModel):
    """Tout refus de `/api/v1`, quel que soit son code HTTP."""

    error: ErrorDetail


class ScoreRequest(ApiModel):
    """`POST /api/v1/score` : un texte (`text`) ou plusieurs (`texts`), pas les deux."""

    model_config = ConfigDict(extra="forbid", strict=True)

    text: str | None = None
    """Un seul texte."""
    texts: list[str] | None = Field(default=None, min_length=1)
    """Plusieurs textes, notés ensemble ; les résultats suivent leur ordre."""
    format: Literal["text", "html"] = "text"
    """`html` : c’est le texte que voit le lecteur qui est noté (balises ôtées, entités
    décodées)."""
    nudge: bool = True
    """Si l’appelant peut proposer à l’auteur de reformuler avant de publier."""


class ModelInfo(ApiModel):
    """Le modèle qui a noté les textes."""

    name: str
    version: str


class ReasonOut(ApiModel):
    """Une raison du verdict."""

    code: str
    """Stable (`category_hold`, `category_reject`, `nudge`, `banned_word`…)."""
    category: str | None
    """La catégorie du modèle en cause (`toxicity`, `insult`…), ou null."""
    score: float | None
    """Le score de cette catégorie, entre 0 et 1, ou null."""
    threshold: float | None
    """Le seuil franchi, ou null."""
    detail: str | None
    """Le détail (le mot interdit, par exemple), ou null."""
    message: str
    """La raison en mots, comme la disent « Réglages » et le journal."""


class WordOut(ApiModel):
    """Un mot des listes de l’administrateur trouvé dans le texte."""

    list: Literal["banned", "suspect"]
    """La liste : mots interdits (`banned`) ou à surveiller (`suspect`)."""
    entry: str
    """L’entrée de la liste, telle que l’administrateur l’a écrite."""
    text: str
    """Ce qui a été trouvé dans le texte."""
    start: int
    """Début de `text` dans le texte noté, en points de code."""
    end: int
    """Fin (exclue) de `text` dans le texte noté, en points de code."""


class TextResult(ApiModel):
    """Le résultat d’un texte."""

    scores: dict[str, float]
    """Le score de chaque catégorie du modèle, entre 0 et 1."""
    verdict: Literal["publish", "hold", "reject", "nudge"]
    """Ce que le site déciderait : publier, retenir, refuser, inviter à reformuler."""
    reasons: list[ReasonOut]
    """Pourquoi (vide quand le texte serait publié)."""
    words: list[WordOut]
    """Les mots des listes trouvés."""
    author_message: str | None
    """Ce que le site dirait à l’auteur, ou null quand le texte serait publié."""
    windowed: bool
    """Si le texte, plus long qu’une fenêtre du modèle, a été noté par fenêtres (chaque score
    est alors le plus haut de ses fenêtres)."""


class ScoreResponse(ApiModel):
    """La réponse de `POST /api/v1/score`."""

    model: ModelInfo
    results: list[TextResult]
    """Un résultat par texte, dans l’ordre d’envoi."""
