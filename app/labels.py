"""Human words for machine codes, in one place: every label the staff pages show, as
`lazy_gettext` (French msgids, rendered in the viewer's language when shown), and the
decision reasons.

Readers' pages are French whatever the request, and so is every text stored in the database
(a comment's `status_reason`, an audit row's `reason`): build those with `french(...)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

from flask_babel import force_locale, gettext, lazy_gettext
from flask_babel.speaklater import LazyString
from markupsafe import Markup, escape

from app import formatting
from app.actions import AuditAction
from app.dsa import KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL, NoticeDecision, StatementCategory
from app.models import CommentStatus, ReportReason, RestrictionKind
from app.policy import (
    CATEGORY_HOLD,
    CATEGORY_REJECT,
    NUDGE,
    NUDGE_IGNORED,
    READER_PREMODERATED,
    SCORING_UNAVAILABLE,
    TRUSTED_READER,
    Outcome,
    Reason,
    Verdict,
)

Label: TypeAlias = LazyString  # a label: shown in the language of the page it is rendered on

# --- The moderators' workspace -------------------------------------------------------------

QUEUES: dict[str, Label] = {
    "a-moderer": lazy_gettext("À modérer"),
    "signales": lazy_gettext("Signalés"),
    "rejetes": lazy_gettext("Rejetés"),
    "approuves": lazy_gettext("Approuvés"),
    "tous": lazy_gettext("Tous"),
}

SORTS: dict[str, Label] = {
    "recents": lazy_gettext("Plus récents"),
    "anciens": lazy_gettext("Plus anciens"),
    "toxiques": lazy_gettext("Plus toxiques"),
    "attente": lazy_gettext("Attente la plus longue"),
}

# Reasons a moderator gives for a rejection; the label is shown to the comment's author
# (in French: `french(REJECT_REASONS[code])`).
REJECT_REASONS: dict[str, Label] = {
    "insultes": lazy_gettext("insultes ou attaques personnelles"),
    "haine": lazy_gettext("propos haineux ou discriminatoires"),
    "menaces": lazy_gettext("menaces"),
    "obscenite": lazy_gettext("propos obscènes"),
    "spam": lazy_gettext("spam ou publicité"),
    "hors_sujet": lazy_gettext("hors sujet"),
    "desinformation": lazy_gettext("fausses informations manifestes"),
    "vie_privee": lazy_gettext("atteinte à la vie privée"),
    # A notice of illegal content decided as such (Art. 16 DSA, services/notices.py).
    "illicite": lazy_gettext("contenu illicite"),
    "autre": lazy_gettext("autre motif"),
}

# What a moderator's decision relies on (statements of reasons, DSA Art. 17): the house rules
# by default, or a provision of the law (app/dsa.LEGAL_GROUNDS, whose texts the statement gives).
GROUND_LABELS: dict[str, Label] = {
    "regles": lazy_gettext("Règles du site (par défaut)"),
    "injure": lazy_gettext("Illicite : injure publique"),
    "diffamation": lazy_gettext("Illicite : diffamation"),
    "haine": lazy_gettext("Illicite : provocation à la haine ou à la discrimination"),
    "apologie": lazy_gettext("Illicite : apologie de crimes ou du terrorisme"),
    "menaces": lazy_gettext("Illicite : menaces"),
    "harcelement": lazy_gettext("Illicite : harcèlement"),
    "vie_privee": lazy_gettext("Illicite : atteinte à la vie privée"),
    "autre": lazy_gettext("Illicite : autre disposition légale"),
}

# The Transparency Database's enum keys (app/dsa.py) in the staff's words (« Transparence »).
DSA_LABELS: dict[str, Label] = {
    "DECISION_GROUND_ILLEGAL_CONTENT": lazy_gettext("Contenu illicite"),
    "DECISION_GROUND_INCOMPATIBLE_CONTENT": lazy_gettext("Contraire aux règles du site"),
    "DECISION_VISIBILITY_CONTENT_REMOVED": lazy_gettext("Commentaire retiré"),
    "DECISION_VISIBILITY_OTHER": lazy_gettext("Pré-modération d’un lecteur"),
    "DECISION_ACCOUNT_SUSPENDED": lazy_gettext("Compte suspendu"),
    "DECISION_ACCOUNT_TERMINATED": lazy_gettext("Compte banni"),
    "DECISION_PROVISION_PARTIAL_SUSPENSION": lazy_gettext("Invité suspendu"),
    "DECISION_PROVISION_PARTIAL_TERMINATION": lazy_gettext("Invité banni"),
    "SOURCE_VOLUNTARY": lazy_gettext("Notre initiative (modèle, lecteurs, modérateurs)"),
    "SOURCE_ARTICLE_16": lazy_gettext("Notification de contenu illicite (article 16)"),
    "SOURCE_TRUSTED_FLAGGER": lazy_gettext("Signaleur de confiance"),
    "open": lazy_gettext("en attente"),
    "upheld": lazy_gettext("décision maintenue"),
    "reversed": lazy_gettext("décision annulée"),
}

# What a reader may report a comment for (the reader's form shows them in French).
REPORT_REASONS: dict[str, Label] = {
    ReportReason.INSULTE: lazy_gettext("Insulte"),
    ReportReason.HAINE: lazy_gettext("Haine"),
    ReportReason.MENACE: lazy_gettext("Menace"),
    ReportReason.SPAM: lazy_gettext("Spam"),
    ReportReason.HORS_SUJET: lazy_gettext("Hors sujet"),
    ReportReason.AUTRE: lazy_gettext("Autre"),
}

STATUS_LABELS: dict[str, Label] = {
    CommentStatus.PENDING: lazy_gettext("en cours de notation"),
    CommentStatus.NUDGED: lazy_gettext("en attente de l’auteur"),
    CommentStatus.PUBLISHED: lazy_gettext("publié"),
    CommentStatus.HELD: lazy_gettext("à modérer"),
    CommentStatus.REJECTED: lazy_gettext("rejeté"),
}

REASON_CODES: dict[str, Label] = {
    CATEGORY_HOLD: lazy_gettext("Seuil de modération dépassé"),
    CATEGORY_REJECT: lazy_gettext("Seuil de rejet dépassé"),
    SCORING_UNAVAILABLE: lazy_gettext("Notation indisponible"),
    NUDGE_IGNORED: lazy_gettext("Envoyé malgré l’invitation à reformuler"),
    NUDGE: lazy_gettext("Invitation à reformuler restée sans réponse"),
    READER_PREMODERATED: lazy_gettext("Lecteur en pré-modération"),
}

JOURNAL_ACTIONS: dict[AuditAction, Label] = {
    AuditAction.SUBMITTED: lazy_gettext("Envoyé"),
    AuditAction.IMPORTED: lazy_gettext("Importé"),
    AuditAction.SCORED: lazy_gettext("Noté par le modèle"),
    AuditAction.SCORING_FAILED: lazy_gettext("Notation indisponible"),
    AuditAction.SCORING_TIMEOUT: lazy_gettext("Notation trop longue"),
    AuditAction.SENT_ANYWAY: lazy_gettext("Envoyé malgré l’invitation"),
    AuditAction.REVISED: lazy_gettext("Reformulé"),
    AuditAction.EDITED: lazy_gettext("Modifié par son auteur"),
    AuditAction.NUDGE_EXPIRED: lazy_gettext("Invitation sans réponse"),
    AuditAction.FLAGGED: lazy_gettext("Signalé par des lecteurs"),
    AuditAction.APPROVED: lazy_gettext("Approuvé"),
    AuditAction.REPORTS_DISMISSED: lazy_gettext("Conservé malgré les signalements"),
    AuditAction.REJECTED: lazy_gettext("Rejeté"),
    AuditAction.REMOVED: lazy_gettext("Retiré à la demande de son auteur"),
    AuditAction.ERASED: lazy_gettext("Lecteur effacé à sa demande (RGPD)"),
    AuditAction.FEATURED: lazy_gettext("Choisi par la rédaction"),
    AuditAction.UNFEATURED: lazy_gettext("Retiré du choix de la rédaction"),
    AuditAction.SURGE_STARTED: lazy_gettext("Afflux : article pré-modéré"),
    AuditAction.SURGE_ENDED: lazy_gettext("Fin de l’afflux"),
    AuditAction.READER_BAN: lazy_gettext("Lecteur banni"),
    AuditAction.READER_SUSPEND: lazy_gettext("Lecteur suspendu"),
    AuditAction.READER_PREMODERATE: lazy_gettext("Lecteur en pré-modération"),
    AuditAction.READER_BAN_LIFTED: lazy_gettext("Bannissement levé"),
    AuditAction.READER_SUSPEND_LIFTED: lazy_gettext("Suspension levée"),
    AuditAction.READER_PREMODERATE_LIFTED: lazy_gettext("Pré-modération levée"),
    AuditAction.READER_WARNED: lazy_gettext("Lecteur averti"),
    AuditAction.COMPLAINT_UPHELD: lazy_gettext("Réclamation : décision maintenue"),
    AuditAction.COMPLAINT_REVERSED: lazy_gettext("Réclamation : décision annulée"),
    AuditAction.SHADOW_STARTED: lazy_gettext("Essai lancé"),
    AuditAction.SHADOW_STOPPED: lazy_gettext("Essai arrêté"),
    AuditAction.SHADOW_PROMOTED: lazy_gettext("Essai promu en réglages actifs"),
    AuditAction.MODEL_RESET: lazy_gettext("Retour au modèle du serveur"),
}

# Our verdict on a comment Coral sent (« Coral » page; services/coral.py).
CORAL_OUTCOMES: dict[str, Label] = {
    Outcome.PUBLISH: lazy_gettext("Rien à redire"),
    Outcome.HOLD: lazy_gettext("Mis en attente"),
    Outcome.REJECT: lazy_gettext("Rejeté"),
}

# A sanction on a reader.
KIND_LABELS: dict[str, Label] = {
    RestrictionKind.BAN: lazy_gettext("banni"),
    RestrictionKind.SUSPEND: lazy_gettext("suspendu"),
    RestrictionKind.PREMODERATE: lazy_gettext("toujours pré-modéré"),
}

CATEGORY_LABELS: dict[str, Label] = {
    "toxicity": lazy_gettext("propos toxiques"),
    "severe_toxicity": lazy_gettext("propos gravement toxiques"),
    "obscene": lazy_gettext("obscénités"),
    "identity_attack": lazy_gettext("attaques contre une identité ou une origine"),
    "insult": lazy_gettext("insultes"),
    "threat": lazy_gettext("menaces"),
    "sexual_explicit": lazy_gettext("propos sexuellement explicites"),
}

# The admin charts' words (app/charts.py is pure: it takes them as plain strings).
CHART_LABELS: dict[str, Label] = {
    # series
    "approved": lazy_gettext("Approuvés par les modérateurs"),
    "rejected": lazy_gettext("Rejetés par les modérateurs"),
    "publish": lazy_gettext("Publiés automatiquement"),
    "hold": lazy_gettext("Mis en attente"),
    "reject": lazy_gettext("Rejetés automatiquement"),
    "nudge": lazy_gettext("En attente de l’auteur"),
    "pending": lazy_gettext("En cours de notation"),
    # threshold lines
    "hold_line": lazy_gettext("Seuil de mise en attente"),
    "reject_line": lazy_gettext("Seuil de rejet"),
    "suggested_line": lazy_gettext("Seuil suggéré"),
    "target_line": lazy_gettext("Objectif d’accord"),
    # curves
    "agreement": lazy_gettext("Accord avec les modérateurs"),
    "workload": lazy_gettext("Part à modérer"),
    "false_publish": lazy_gettext("Publiés à tort"),
    # axes
    "score_axis": lazy_gettext("Score du modèle"),
    "count_axis": lazy_gettext("Nombre de commentaires"),
    "threshold_axis": lazy_gettext("Seuil"),
    "share_axis": lazy_gettext("Part des commentaires décidés"),
    # descriptions ({…} are filled in)
    "desc_histogram": lazy_gettext(
        "Répartition des scores de 0 à 1 en {bins} tranches : {approved} commentaires "
        "approuvés et {rejected} rejetés par les modérateurs."
    ),
    "desc_bin": lazy_gettext("{range} : {approved} approuvés, {rejected} rejetés"),
    "desc_curve": lazy_gettext(
        "Selon le seuil, de 0 à 1 : accord avec les modérateurs, part des commentaires qui "
        "iraient à un modérateur et part publiée à tort."
    ),
    "desc_point": lazy_gettext(
        "au seuil {threshold} : accord {agreement}, à modérer {workload}, "
        "publiés à tort {false_publish}"
    ),
    "no_data": lazy_gettext("Aucune donnée."),
    "list_separator": lazy_gettext("\u00a0; "),
    "colon": lazy_gettext(" : "),  # between a name and its value
    # number formatting (translated like words: « , » is « . » in English)
    "decimal": lazy_gettext(","),
    "thousands": lazy_gettext("\u202f"),
    "percent": lazy_gettext("\u00a0%"),
}

# The site's rules, as the journal and the cards give them (`%(detail)s` is filled in).
RULE_TEXTS: dict[str, Label] = {
    "rule_premoderate_all": lazy_gettext("Règle du site : tous les commentaires sont pré-modérés."),
    "rule_article_premoderated": lazy_gettext("Article en pré-modération."),
    "rule_links": lazy_gettext("Règle du site : les commentaires avec un lien sont pré-modérés."),
    "rule_new_reader": lazy_gettext(
        "Règle du site : commentaire n° %(detail)s d’un nouveau lecteur."
    ),
    "rule_surge": lazy_gettext("Afflux de commentaires : article pré-modéré pour un temps."),
    "rule_reader_history": lazy_gettext(
        "Règle du site : lecteur souvent rejeté ces derniers jours (rejetés sur décidés : "
        "%(detail)s)."
    ),
    "banned_word": lazy_gettext("Mot interdit : « %(detail)s »."),
    "suspect_word": lazy_gettext("Mot suspect : « %(detail)s »."),
}


def french(text: str | Label) -> str:
    """A label as French text: what readers read and what the database stores."""
    with force_locale("fr"):
        return str(text)


def category_label(category: str) -> str:
    """A model category in the page's language (« propos toxiques », "toxic language")."""
    label = CATEGORY_LABELS.get(category)
    return str(label) if label is not None else category.replace("_", " ")


def french_list(items: list[str]) -> str:
    """« a », « a et b », « a, b et c »: a list as a French sentence says it."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} et {items[-1]}"


def reasons_sentence(texts: Iterable[str]) -> str:
    """Several reasons in one line: each without its closing period, joined by « ; »."""
    return " ; ".join(text.rstrip(". ") for text in texts if text.strip())


def reason_text(reason: Reason, *, technical: bool = True) -> str:
    """One reason in plain words for staff, in the page's language, with its numbers
    (« 0,60 » in French, "0.60" in English). `technical=False` leaves out the error text a
    failed model gave (moderators get plain words; admins see the details)."""
    if reason.code == SCORING_UNAVAILABLE:
        if technical and reason.detail:
            return gettext(
                "Score indisponible : le modèle n’a pas pu noter ce commentaire (%(detail)s).",
                detail=reason.detail,
            )
        return gettext("Score indisponible : le modèle n’a pas pu noter ce commentaire.")
    rule_text = RULE_TEXTS.get(reason.code)
    if rule_text is not None:
        return str(rule_text) % {"detail": reason.detail or ""}
    if reason.code == READER_PREMODERATED:
        return gettext("Auteur placé en pré-modération par un modérateur.")
    if reason.code == NUDGE_IGNORED:
        return gettext("L’auteur a été invité à reformuler et a envoyé son commentaire tel quel.")
    numbers = {
        "category": category_label(reason.category or ""),
        "score": formatting.score(reason.score or 0.0),
        "threshold": formatting.score(reason.threshold or 0.0),
    }
    if reason.code == NUDGE and reason.category:
        return gettext(
            "Invitation à reformuler : %(category)s (score %(score)s ≥ %(threshold)s)", **numbers
        )
    if reason.code == CATEGORY_REJECT and reason.category:
        return gettext("%(category)s : score %(score)s ≥ seuil de rejet %(threshold)s", **numbers)
    if reason.code == CATEGORY_HOLD and reason.category:
        return gettext(
            "%(category)s : score %(score)s ≥ seuil de modération %(threshold)s", **numbers
        )
    if reason.code == TRUSTED_READER and reason.category:
        return gettext(
            "Lecteur de confiance (%(published)s commentaires publiés, aucun rejet récent) : "
            "publié malgré %(category)s (score %(score)s ≥ seuil de modération %(threshold)s)",
            published=reason.detail or "",
            **numbers,
        )
    return reason.detail or reason.code


def reasons_text(reasons: Iterable[Mapping[str, Any]], *, technical: bool = True) -> str:
    """Stored reasons (`Reason.as_dict()`) as one line in the page's language."""
    return reasons_sentence(reason_text(Reason(**r), technical=technical) for r in reasons)


# --- The audit trail, rendered for the viewer ----------------------------------------------

SYSTEM = "système"  # the actor of what the site does by itself (stored in French)
MODEL_PREFIX = "modèle "
READER_PREFIX = "lecteur "
CLIENT_PREFIX = "client:"  # an API client with the moderation scope: `client:<its name>`
IMPORT_PREFIX = "import:"  # `flask import`: `import:wordpress`, `import:disqus`, `import:isso`
# The formats `flask import` reads, as the journal names them.
IMPORT_FORMATS = {"wordpress": "WordPress", "disqus": "Disqus", "isso": "Isso"}
# What an imported comment was upstream (importers.Kind), as the journal says it.
IMPORT_STATUSES: dict[str, Label] = {
    "approved": lazy_gettext("approuvé"),
    "pending": lazy_gettext("en attente"),
    "spam": lazy_gettext("indésirable"),
    "trash": lazy_gettext("à la corbeille"),
    "deleted": lazy_gettext("supprimé"),
}


def actor_label(actor: str, actor_id: int | None = None) -> Markup:
    """Who did it, in the viewer's language: a staff member's (or account's) name as stored;
    « lecteur NAME », « modèle NAME », « client:NAME » (an API client) and « système » (stored
    in French) translated."""
    if actor_id is None:
        if actor == SYSTEM:
            return Markup(escape(gettext("système")))
        for prefix, label in (
            (MODEL_PREFIX, gettext("modèle %(name)s")),
            (READER_PREFIX, gettext("lecteur %(name)s")),
            (CLIENT_PREFIX, gettext("client de l’API %(name)s")),
            (IMPORT_PREFIX, gettext("import %(name)s")),
        ):
            if actor.startswith(prefix):
                name = Markup("<bdi>%s</bdi>") % actor[len(prefix) :]
                return Markup(escape(label)) % {"name": name}
    return Markup("<bdi>%s</bdi>") % actor


# Fixed reasons the services store in French: here so that they are extracted and translated,
# and the journal shows them in the viewer's language (`action_reason`).
STORED_REASONS = (
    lazy_gettext("Sous les seuils"),
    lazy_gettext("Approuvé par la modération"),
    lazy_gettext("L’auteur a reformulé son commentaire."),
    lazy_gettext("L’auteur n’a pas répondu à l’invitation à reformuler."),
)


# Messages a reader's page flashes (in French) that a staff page may show next, translated there
# (base.html passes every flash through `carried`): signing in leads a moderator to their queue.
CARRIED_FLASHES = (lazy_gettext("Vous êtes connecté."),)


def _translated(text: str) -> str:
    """A stored French text: its translation when the catalog has it, else as stored."""
    return gettext(text) if text else ""


def action_reason(
    action: str,
    reason: str | None,
    reason_code: str | None = None,
    details: Mapping[str, Any] | None = None,
    *,
    technical: bool = True,
) -> str:
    """An audit row's « Pourquoi » in the viewer's language: rendered from the row's
    structure (`details`, `reason_code`) where it has it, else the stored French text."""
    details = details or {}
    if details.get("reasons"):
        return reasons_text(details["reasons"], technical=technical)
    if action == AuditAction.SCORED and "reasons" in details:
        return gettext("Sous les seuils")
    if action == AuditAction.REJECTED and reason_code in REJECT_REASONS:
        return gettext("Rejeté : %(reason)s", reason=REJECT_REASONS[reason_code])
    if action == AuditAction.FLAGGED and isinstance(details.get("reports"), int):
        text = formatting.ngettext(
            "%(num)s signalement de lecteur",
            "%(num)s signalements de lecteurs",
            details["reports"],
        )
        if details.get("hidden"):
            text += gettext(" : masqué en attendant la modération")
        return text
    if action == AuditAction.REPORTS_DISMISSED and "reports" in details:
        reports: Mapping[str, int] = details["reports"]
        total = sum(reports.values())
        text = formatting.ngettext(
            "Conservé : %(num)s signalement écarté",
            "Conservé : %(num)s signalements écartés",
            total,
        )
        by_reason = ", ".join(
            f"{REPORT_REASONS.get(code, code)} ×{count}" for code, count in sorted(reports.items())
        )
        return f"{text} ({by_reason})" if by_reason else text
    if action == AuditAction.IMPORTED and "format" in details:
        return gettext(
            "Importé de %(system)s (%(source)s, commentaire %(id)s) : %(status)s là-bas",
            system=IMPORT_FORMATS.get(details["format"], details["format"]),
            source=details.get("source", ""),
            id=details.get("source_id", ""),
            status=IMPORT_STATUSES.get(details.get("source_status", ""), ""),
        )
    if action == AuditAction.SURGE_STARTED and "trigger" in details:
        trigger = details["trigger"]
        if trigger.get("kind") == "share":
            why = gettext(
                "%(share)s %% retenus ou rejetés, %(usual)s %% d’habitude",
                share=round(trigger.get("share", 0) * 100),
                usual=round(trigger.get("usual_share", 0) * 100),
            )
        else:
            why = gettext(
                "%(num)s commentaires en peu de temps, %(usual)s d’habitude",
                num=trigger.get("comments", 0),
                usual=formatting.score(trigger.get("usual", 0.0)),
            )
        return gettext(
            "« %(title)s » pré-modéré pour %(minutes)s min (%(why)s)",
            title=details.get("title", ""),
            minutes=details.get("minutes", ""),
            why=why,
        )
    if action == AuditAction.SURGE_ENDED and "by_hand" in details:
        if details["by_hand"]:
            return gettext("« %(title)s » : pré-modération arrêtée à la main", **details)
        return gettext("« %(title)s » : pré-modération terminée d’elle-même", **details)
    if action == AuditAction.READER_WARNED and reason_code in REJECT_REASONS:
        return gettext("Lecteur averti : %(reason)s", reason=REJECT_REASONS[reason_code])
    if action.startswith("reader_") and "kind" in details:
        kind = KIND_LABELS.get(details["kind"], details["kind"])
        if action.endswith("_lifted"):
            return gettext("Sanction levée (%(kind)s)", kind=kind)
        if details.get("days"):
            return formatting.ngettext(
                "Lecteur %(kind)s pour %(num)s jour",
                "Lecteur %(kind)s pour %(num)s jours",
                details["days"],
                kind=kind,
            )
        return gettext("Lecteur %(kind)s", kind=kind)
    return _translated(reason or "")


# --- Readers' messages (always French) -----------------------------------------------------


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
    names = dict.fromkeys(french(category_label(c)) for c in categories)
    kinds = french_list([f"des {name}" for name in names])
    return (
        "Votre commentaire pourrait ne pas respecter nos règles de publication : il semble "
        f"contenir {kinds}. Vous pouvez le reformuler, ou l’envoyer tel quel : "
        + sent_anyway_text(reviewed)
    )


def outcome_message(status: str, status_reason: str | None, duplicate: bool = False) -> str:
    """What the author is told of their comment once sent (the article page's notice, the
    API's `message`): published, being checked, held, nudged or refused with its reason.
    `duplicate`: they had sent it already, and are shown the stored one."""
    prefix = "Vous avez déjà envoyé ce commentaire : le voici. " if duplicate else ""
    if status == CommentStatus.PUBLISHED:
        return prefix + "Merci ! Votre commentaire est publié."
    if status == CommentStatus.REJECTED:
        return prefix + f"Votre commentaire n’a pas été publié. {status_reason or ''}"
    if status == CommentStatus.NUDGED:
        return prefix + "Avant d’envoyer votre commentaire, relisez-le."
    if status == CommentStatus.PENDING:
        return prefix + (
            "Merci ! Votre commentaire est en cours de vérification : cette page vous dira "
            "dès que possible s’il est publié."
        )
    return prefix + (
        "Merci ! Votre commentaire est en attente de modération : vous seul le voyez "
        "jusqu’à ce qu’un modérateur l’ait relu."
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
        kinds = french_list(list(dict.fromkeys(french(category_label(c)) for c in categories)))
        return f"Refusé : il enfreint nos règles de publication ({kinds})."
    return "Refusé : il enfreint nos règles de publication."


# The scoring model's state (`Scorer.state`), as the admin pages say it.
MODEL_STATES: dict[str, Label] = {
    "not_loaded": lazy_gettext("pas encore chargé"),
    "loading": lazy_gettext("en cours de chargement"),
    "ready": lazy_gettext("prêt"),
    "failed": lazy_gettext("en échec"),
}


def model_state(state: str) -> str:
    label = MODEL_STATES.get(state)
    return str(label) if label is not None else state


# --- Settings (admins' « Historique ») -----------------------------------------------------

# A setting as its form names it.
SETTING_LABELS: dict[str, Label] = {
    "nudge_enabled": lazy_gettext(
        "Inviter l’auteur à reformuler un commentaire limite avant son envoi"
    ),
    "premoderate_all": lazy_gettext("Pré-modérer tous les commentaires"),
    "premoderate_links": lazy_gettext("Pré-modérer les commentaires contenant un lien"),
    "premoderate_first_n": lazy_gettext("Premiers commentaires d’un nouveau lecteur pré-modérés"),
    "nudge_sent_anyway": lazy_gettext(
        "Un commentaire envoyé tel quel après l’invitation, au-delà d’un seuil de rejet, est"
    ),
    "guests_allowed": lazy_gettext("Les visiteurs sans compte peuvent commenter"),
    "max_comment_length": lazy_gettext("Longueur maximale d’un commentaire (caractères)"),
    "comment_rate_limit": lazy_gettext("Limite de publication"),
    "reports_threshold": lazy_gettext("Signalements avant « Signalés »"),
    "reports_hide": lazy_gettext(
        "Masquer le commentaire signalé jusqu’à la décision d’un modérateur"
    ),
    "dsa_online_platform": lazy_gettext(
        "Plateforme en ligne (DSA) : les auteurs peuvent contester une décision"
    ),
    "trust_after_published": lazy_gettext(
        "Lecteur de confiance après ce nombre de commentaires publiés (0 : non)"
    ),
    "history_days": lazy_gettext("Historique d’un lecteur lu sur (jours)"),
    "distrust_percent": lazy_gettext(
        "Pré-modérer un lecteur dont les rejets atteignent ce pourcentage (0 : non)"
    ),
    "distrust_min_rejections": lazy_gettext("Rejets au moins, avant de pré-modérer un lecteur"),
    "surge_multiple": lazy_gettext("Afflux : multiple du rythme habituel (0 : non)"),
    "surge_min_comments": lazy_gettext("Afflux : commentaires au moins dans la fenêtre"),
    "surge_window_minutes": lazy_gettext("Afflux : fenêtre (minutes)"),
    "surge_minutes": lazy_gettext("Afflux : durée de la pré-modération (minutes)"),
    "banned_words": lazy_gettext("Mots interdits"),
    "suspect_words": lazy_gettext("Mots suspects"),
    "allowed_words": lazy_gettext("Mots autorisés"),
}

# What becomes of a comment sent as it is after a nudge (the setting « nudge_sent_anyway »).
SENT_ANYWAY_CHOICES: dict[str, Label] = {
    "moderator": lazy_gettext("relu par un modérateur (ce que promet l’invitation)"),
    "thresholds": lazy_gettext("refusé selon les seuils"),
}

# The periods a rate limit counts over (Flask-Limiter's words, as stored).
RATE_PERIODS: dict[str, Label] = {
    "second": lazy_gettext("par seconde"),
    "minute": lazy_gettext("par minute"),
    "hour": lazy_gettext("par heure"),
    "day": lazy_gettext("par jour"),
}

ARTICLE_FIELDS: dict[str, Label] = {
    "comments_open": lazy_gettext("commentaires ouverts"),
    "premoderated": lazy_gettext("pré-modération"),
    "close_after_days": lazy_gettext("fermeture après (jours)"),
}


def setting_label(key: str) -> str:
    """« Seuils : propos toxiques », « Article « slug » », or the setting's form label."""
    kind, _sep, name = key.partition(":")
    if kind == "threshold" and name:
        return gettext("Seuils : %(category)s", category=category_label(name))
    if kind == "article" and name:
        return gettext("Article « %(slug)s »", slug=name)
    if kind == "client" and name:
        return gettext("Client d’API « %(name)s »", name=name)
    if kind == "site" and name:
        return gettext("Site « %(name)s »", name=name)
    label = SETTING_LABELS.get(key)
    return str(label) if label is not None else key


def rate_text(value: str) -> str:
    """A stored rate limit (« 5 per minute ») as the page's language says it (« 5 par minute »)."""
    from limits import parse_many

    try:
        items = parse_many(value)
    except ValueError:
        return value
    parts = []
    for item in items:
        period = RATE_PERIODS.get(item.GRANULARITY.name)
        if period is None or item.multiples != 1:
            parts.append(str(item))
        else:
            parts.append(f"{formatting.count(item.amount)} {period}")
    return ", ".join(parts)


def site_state(value: Mapping[str, Any]) -> str:
    """A site as the settings history keeps it: origins, SSO, its own settings."""
    origins = ", ".join(value.get("origins") or []) or gettext("aucune")
    parts = [
        gettext("origines : %(origins)s", origins=origins),
        gettext("SSO : %(sso)s", sso=_yes_no(bool(value.get("sso")))),
    ]
    for key, own in (value.get("overrides") or {}).items():
        shown = _yes_no(own) if isinstance(own, bool) else formatting.count(own)
        parts.append(gettext("%(name)s : %(value)s", name=setting_label(key), value=shown))
    if value.get("sso_rotated"):
        parts.append(gettext("nouveau secret SSO"))
    return " · ".join(parts)


def _yes_no(value: bool) -> str:
    return gettext("oui") if value else gettext("non")


def setting_value(key: str, value: Any) -> str:
    """A setting's stored value in words: « oui »/« non », thresholds as « modération 0,50 ·
    rejet 0,80 · invitation 0,40 », a word list as its number of entries."""
    if value is None:
        return gettext("valeur par défaut") if not key.startswith("threshold:") else "—"
    if key.startswith("threshold:") and isinstance(value, Mapping):
        parts = [
            gettext("%(name)s %(value)s", name=name, value=formatting.score(value[field]))
            for field, name in (
                ("hold", gettext("modération")),
                ("reject", gettext("rejet")),
                ("nudge", gettext("invitation")),
            )
            if value.get(field) is not None
        ]
        if "enabled" in value:
            parts.append(gettext("activés") if value["enabled"] else gettext("désactivés"))
        return " · ".join(parts)
    if key.startswith("article:") and isinstance(value, Mapping):
        parts = []
        for field, name in ARTICLE_FIELDS.items():
            if field not in value:
                continue
            shown = value[field]
            if isinstance(shown, bool):
                text = _yes_no(shown)
            elif shown is None:
                text = gettext("jamais")
            else:
                text = formatting.count(shown)
            parts.append(gettext("%(name)s : %(value)s", name=name, value=text))
        return " · ".join(parts)
    if key.startswith("client:") and isinstance(value, Mapping):
        state = gettext("révoqué") if value.get("revoked") else gettext("actif")
        text = gettext(
            "%(state)s · quota %(quota)s", state=state, quota=rate_text(value.get("quota") or "")
        )
        if value.get("coral_secret_changed"):
            return text + " · " + gettext("nouveau secret Coral")
        if value.get("coral"):
            return text + " · " + gettext("secret Coral défini")
        return text
    if key.startswith("site:") and isinstance(value, Mapping):
        return site_state(value)
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, list):
        return formatting.ngettext("%(num)s entrée", "%(num)s entrées", len(value))
    if key == "comment_rate_limit" and isinstance(value, str):
        return rate_text(value)
    if key == "nudge_sent_anyway" and value in SENT_ANYWAY_CHOICES:
        return str(SENT_ANYWAY_CHOICES[value])
    if isinstance(value, int):
        return formatting.count(value)
    return str(value)


# --- Notices of illegal content (Art. 16 DSA) -----------------------------------------------

# The Transparency Database's categories (app/dsa.py), and the child sexual abuse offences as a
# notifier chooses them. The readers' form shows them in French (`french(...)`).
STATEMENT_CATEGORIES: dict[str, Label] = {
    StatementCategory.ILLEGAL_OR_HARMFUL_SPEECH: lazy_gettext(
        "Discours illicite ou préjudiciable (haine, diffamation, injure…)"
    ),
    StatementCategory.CYBER_VIOLENCE: lazy_gettext(
        "Cyberviolence (harcèlement, menaces, divulgation de données personnelles…)"
    ),
    StatementCategory.CYBER_VIOLENCE_AGAINST_WOMEN: lazy_gettext("Cyberviolence envers les femmes"),
    StatementCategory.VIOLENCE: lazy_gettext("Violence (incitation, apologie…)"),
    StatementCategory.RISK_FOR_PUBLIC_SECURITY: lazy_gettext(
        "Risque pour la sécurité publique (terrorisme…)"
    ),
    StatementCategory.NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS: lazy_gettext(
        "Atteinte au débat public ou aux élections"
    ),
    StatementCategory.DATA_PROTECTION_AND_PRIVACY_VIOLATIONS: lazy_gettext(
        "Atteinte à la vie privée ou aux données personnelles"
    ),
    StatementCategory.INTELLECTUAL_PROPERTY_INFRINGEMENTS: lazy_gettext(
        "Atteinte à la propriété intellectuelle (droit d’auteur, marque…)"
    ),
    StatementCategory.SCAMS_AND_FRAUD: lazy_gettext("Escroquerie ou fraude"),
    StatementCategory.CONSUMER_INFORMATION: lazy_gettext(
        "Manquement à l’information des consommateurs"
    ),
    StatementCategory.UNSAFE_AND_PROHIBITED_PRODUCTS: lazy_gettext(
        "Produits dangereux, non conformes ou interdits"
    ),
    StatementCategory.PROTECTION_OF_MINORS: lazy_gettext("Protection des mineurs"),
    KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL: lazy_gettext(
        "Abus sexuels sur mineurs, pédopornographie ou sollicitation d’enfants à des fins sexuelles"
    ),
    StatementCategory.SELF_HARM: lazy_gettext("Incitation à l’automutilation ou au suicide"),
    StatementCategory.ANIMAL_WELFARE: lazy_gettext("Maltraitance animale"),
    StatementCategory.NOT_SPECIFIED_NOTICE: lazy_gettext("Je ne sais pas / autre"),
    StatementCategory.OTHER_VIOLATION_TC: lazy_gettext(
        "Autre manquement aux règles de publication"
    ),
}

NOTICE_DECISIONS: dict[str, Label] = {
    NoticeDecision.REMOVED_ILLEGAL: lazy_gettext("Retiré : contenu illicite"),
    NoticeDecision.REMOVED_TERMS: lazy_gettext("Retiré : contraire aux règles de publication"),
    NoticeDecision.NO_ACTION: lazy_gettext("Aucune mesure"),
}

# The notices list's filters (« Signalements (DSA) »).
NOTICE_FILTERS: dict[str, Label] = {
    "a-traiter": lazy_gettext("À traiter"),
    "traites": lazy_gettext("Traités"),
    "tous": lazy_gettext("Tous"),
}


def notice_category_label(
    category: str, child_sexual_abuse: bool = False, *, reader: bool = False
) -> str:
    """A notice's category in the page's language, or in French for readers (`reader`); the
    offence itself when the notifier named a child sexual abuse offence."""
    key = KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL if child_sexual_abuse else category
    label = STATEMENT_CATEGORIES.get(key)
    if label is None:
        return category
    return french(label) if reader else str(label)
