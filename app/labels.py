"""Human words for machine codes: category names and decision reasons, in French."""

from __future__ import annotations

from app.policy import (
    CATEGORY_HOLD,
    CATEGORY_REJECT,
    NUDGE,
    NUDGE_IGNORED,
    READER_PREMODERATED,
    SCORING_UNAVAILABLE,
    Outcome,
    Reason,
    Verdict,
)

CATEGORY_LABELS = {
    "toxicity": "propos toxiques",
    "severe_toxicity": "propos gravement toxiques",
    "obscene": "obscénités",
    "identity_attack": "attaques contre une identité ou une origine",
    "insult": "insultes",
    "threat": "menaces",
    "sexual_explicit": "propos sexuellement explicites",
}


RULE_TEXTS = {
    "rule_premoderate_all": "Règle du site : tous les commentaires sont pré-modérés.",
    "rule_article_premoderated": "Article en pré-modération.",
    "rule_links": "Règle du site : les commentaires avec un lien sont pré-modérés.",
    "rule_new_reader": "Règle du site : commentaire n° {detail} d’un nouveau lecteur.",
    "banned_word": "Mot interdit : « {detail} ».",
    "suspect_word": "Mot suspect : « {detail} ».",
}


def category_label(category: str) -> str:
    return CATEGORY_LABELS.get(category, category.replace("_", " "))


def french_list(items: list[str]) -> str:
    """« a », « a et b », « a, b et c »: a list as a French sentence says it."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} et {items[-1]}"


def reasons_sentence(texts: list[str]) -> str:
    """Several reasons in one line: each without its closing period, joined by « ; »."""
    return " ; ".join(text.rstrip(". ") for text in texts if text.strip())


def reason_text(reason: Reason) -> str:
    """One reason, in plain French, for staff (with the numbers)."""
    if reason.code == SCORING_UNAVAILABLE:
        detail = f" ({reason.detail})" if reason.detail else ""
        return f"Score indisponible : le modèle n’a pas pu noter ce commentaire{detail}."
    rule_text = RULE_TEXTS.get(reason.code)
    if rule_text:
        return rule_text.format(detail=reason.detail or "")
    if reason.code == READER_PREMODERATED:
        return "Auteur placé en pré-modération par un modérateur."
    if reason.code == NUDGE_IGNORED:
        return "L’auteur a été invité à reformuler et a envoyé son commentaire tel quel."
    if reason.code == NUDGE and reason.category:
        return (
            f"Invitation à reformuler : {category_label(reason.category)} "
            f"(score {reason.score:.2f} ≥ {reason.threshold:.2f})"
        )
    if reason.code in (CATEGORY_HOLD, CATEGORY_REJECT) and reason.category:
        verb = "rejet" if reason.code == CATEGORY_REJECT else "modération"
        return (
            f"{category_label(reason.category)} : score {reason.score:.2f} ≥ seuil de {verb} "
            f"{reason.threshold:.2f}"
        )
    return reason.detail or reason.code


def sent_anyway_text(reviewed: bool = True) -> str:
    """What becomes of a comment its author sends as it is after a nudge, as the site's
    setting « nudge_sent_anyway » makes it (`reviewed`: « relu par un modérateur »). A banned
    word rejects it in both cases."""
    if reviewed:
        return (
            "il sera relu par un modérateur avant toute publication (seul un terme interdit "
            "par nos règles le ferait refuser d’emblée)."
        )
    return (
        "il sera relu par un modérateur avant toute publication, sauf s’il enfreint nettement "
        "nos règles (un terme interdit, des propos très au-delà de nos seuils) : il sera alors "
        "refusé d’emblée."
    )


def nudge_message(categories: list[str], reviewed: bool = True) -> str:
    """The kind word to an author whose comment may break the house rules, and what sending
    it anyway does (`sent_anyway_text`)."""
    labels = dict.fromkeys(category_label(c) for c in categories)
    kinds = french_list([f"des {label}" for label in labels])
    return (
        "Votre commentaire pourrait ne pas respecter nos règles de publication : il semble "
        f"contenir {kinds}. Vous pouvez le reformuler, ou l’envoyer tel quel : "
        + sent_anyway_text(reviewed)
    )


def reader_message(verdict: Verdict) -> str | None:
    """What the author is told about their comment's status (None when published)."""
    if verdict.outcome == Outcome.PUBLISH:
        return None
    if verdict.outcome == Outcome.NUDGE:
        return nudge_message([r.category for r in verdict.reasons if r.category])
    if verdict.outcome == Outcome.HOLD:
        return "En attente de modération : un modérateur va le relire avant sa publication."
    categories = [r.category for r in verdict.reasons if r.code == CATEGORY_REJECT and r.category]
    if any(r.code == "banned_word" for r in verdict.reasons):
        return "Refusé : il contient un terme interdit par nos règles de publication."
    if categories:
        kinds = french_list(list(dict.fromkeys(category_label(c) for c in categories)))
        return f"Refusé : il enfreint nos règles de publication ({kinds})."
    return "Refusé : il enfreint nos règles de publication."
