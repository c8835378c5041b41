"""The Digital Services Act's vocabulary: the EU Transparency Database's enums, and our own
choices in its terms. Pure: no Flask, no database.

The values are the keys the Transparency Database's API takes (`POST /api/v1/statements`,
body `{"statements": [...]}`), as its public repository spells them:
digital-services-act/transparency-database, `app/Models/Statement.php` (the constants) and
`app/Http/Requests/StatementsStoreRequest.php` (the validation: which field is an array, which
is required, dates as `Y-m-d`), and the API page transparency.dsa.ec.europa.eu/page/
api-documentation. The articles cited are those of Regulation (EU) 2022/2065.
"""

from __future__ import annotations

import enum

# --- The Transparency Database's enums (only the members we may send) -----------------------

# What was restricted: an array of these (`decision_visibility`), …
DECISION_VISIBILITY_CONTENT_REMOVED = "DECISION_VISIBILITY_CONTENT_REMOVED"
DECISION_VISIBILITY_CONTENT_DISABLED = "DECISION_VISIBILITY_CONTENT_DISABLED"
DECISION_VISIBILITY_CONTENT_DEMOTED = "DECISION_VISIBILITY_CONTENT_DEMOTED"
DECISION_VISIBILITY_OTHER = "DECISION_VISIBILITY_OTHER"  # with `decision_visibility_other`
DECISION_VISIBILITIES = (
    DECISION_VISIBILITY_CONTENT_REMOVED,
    DECISION_VISIBILITY_CONTENT_DISABLED,
    DECISION_VISIBILITY_CONTENT_DEMOTED,
    DECISION_VISIBILITY_OTHER,
)
# … the account (`decision_account`, with `end_date_account_restriction`), …
DECISION_ACCOUNT_SUSPENDED = "DECISION_ACCOUNT_SUSPENDED"
DECISION_ACCOUNT_TERMINATED = "DECISION_ACCOUNT_TERMINATED"
DECISION_ACCOUNTS = (DECISION_ACCOUNT_SUSPENDED, DECISION_ACCOUNT_TERMINATED)
# … or the service (`decision_provision`, with `end_date_service_restriction`).
DECISION_PROVISION_PARTIAL_SUSPENSION = "DECISION_PROVISION_PARTIAL_SUSPENSION"
DECISION_PROVISION_TOTAL_SUSPENSION = "DECISION_PROVISION_TOTAL_SUSPENSION"
DECISION_PROVISION_PARTIAL_TERMINATION = "DECISION_PROVISION_PARTIAL_TERMINATION"
DECISION_PROVISION_TOTAL_TERMINATION = "DECISION_PROVISION_TOTAL_TERMINATION"
DECISION_PROVISIONS = (
    DECISION_PROVISION_PARTIAL_SUSPENSION,
    DECISION_PROVISION_TOTAL_SUSPENSION,
    DECISION_PROVISION_PARTIAL_TERMINATION,
    DECISION_PROVISION_TOTAL_TERMINATION,
)


class DecisionGround(enum.StrEnum):
    """`decision_ground` (DsaStatement.decision_ground, kept to these by a CHECK)."""

    ILLEGAL_CONTENT = "DECISION_GROUND_ILLEGAL_CONTENT"
    INCOMPATIBLE_CONTENT = "DECISION_GROUND_INCOMPATIBLE_CONTENT"


DECISION_GROUND_ILLEGAL_CONTENT = DecisionGround.ILLEGAL_CONTENT
DECISION_GROUND_INCOMPATIBLE_CONTENT = DecisionGround.INCOMPATIBLE_CONTENT
DECISION_GROUNDS = tuple(DecisionGround)

CONTENT_TYPE_TEXT = "CONTENT_TYPE_TEXT"


class SourceType(enum.StrEnum):
    """`source_type`: what the decision followed (DsaStatement.source_type, a CHECK)."""

    ARTICLE_16 = "SOURCE_ARTICLE_16"  # a notice of illegal content
    TRUSTED_FLAGGER = "SOURCE_TRUSTED_FLAGGER"
    VOLUNTARY = "SOURCE_VOLUNTARY"  # our own initiative: the model, readers' reports, staff


SOURCE_ARTICLE_16 = SourceType.ARTICLE_16
SOURCE_TRUSTED_FLAGGER = SourceType.TRUSTED_FLAGGER
SOURCE_VOLUNTARY = SourceType.VOLUNTARY
SOURCE_TYPES = tuple(SourceType)

YES, NO = "Yes", "No"  # automated_detection, incompatible_content_illegal


class AutomatedDecision(enum.StrEnum):
    """`automated_decision` (DsaStatement.automated_decision, a CHECK)."""

    FULLY = "AUTOMATED_DECISION_FULLY"
    PARTIALLY = "AUTOMATED_DECISION_PARTIALLY"
    NOT_AUTOMATED = "AUTOMATED_DECISION_NOT_AUTOMATED"


AUTOMATED_DECISION_FULLY = AutomatedDecision.FULLY
AUTOMATED_DECISION_PARTIALLY = AutomatedDecision.PARTIALLY
AUTOMATED_DECISION_NOT_AUTOMATED = AutomatedDecision.NOT_AUTOMATED
AUTOMATED_DECISIONS = tuple(AutomatedDecision)


# `category`: the database's second schema, in force since 1 July 2025 (the API page, « API and
# Schema », and /page/additional-explanation-for-statement-attributes): it added
# CONSUMER_INFORMATION, CYBER_VIOLENCE, CYBER_VIOLENCE_AGAINST_WOMEN and NOT_SPECIFIED_NOTICE,
# renamed SCOPE_OF_PLATFORM_SERVICE to OTHER_VIOLATION_TC and UNSAFE_AND_ILLEGAL_PRODUCTS to
# UNSAFE_AND_PROHIBITED_PRODUCTS, and deleted NON_CONSENSUAL_BEHAVIOUR and
# PORNOGRAPHY_OR_SEXUALIZED_CONTENT. Labels, in French and English, live in app/labels.py.
class StatementCategory(enum.StrEnum):
    """`category`: the type of illegal or incompatible content (one per statement)."""

    ANIMAL_WELFARE = "STATEMENT_CATEGORY_ANIMAL_WELFARE"
    CONSUMER_INFORMATION = "STATEMENT_CATEGORY_CONSUMER_INFORMATION"
    CYBER_VIOLENCE = "STATEMENT_CATEGORY_CYBER_VIOLENCE"
    CYBER_VIOLENCE_AGAINST_WOMEN = "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN"
    DATA_PROTECTION_AND_PRIVACY_VIOLATIONS = (
        "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS"
    )
    ILLEGAL_OR_HARMFUL_SPEECH = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
    INTELLECTUAL_PROPERTY_INFRINGEMENTS = "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS"
    NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS = (
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS"
    )
    NOT_SPECIFIED_NOTICE = "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"
    OTHER_VIOLATION_TC = "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
    PROTECTION_OF_MINORS = "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    RISK_FOR_PUBLIC_SECURITY = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    SCAMS_AND_FRAUD = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
    SELF_HARM = "STATEMENT_CATEGORY_SELF_HARM"
    UNSAFE_AND_PROHIBITED_PRODUCTS = "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS"
    VIOLENCE = "STATEMENT_CATEGORY_VIOLENCE"


# `category_specification` keywords of « Protection of minors » that name the offences of
# Articles 3 to 7 of Directive 2011/93/EU (sexual abuse and exploitation of children, child
# sexual abuse material, solicitation of children): Art. 16(2)(c) DSA waives the notifier's name
# and address for them.
KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL = "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"
KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS = "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS"

# What a notifier may choose on the form (`category`): the categories of illegal content, the
# child sexual abuse offences as their own choice (they waive the name and address), and « not
# specified ». The terms-and-conditions category is the moderators' ground, never a notice's.
NOTICE_CATEGORIES: tuple[str, ...] = (
    StatementCategory.ILLEGAL_OR_HARMFUL_SPEECH,
    StatementCategory.CYBER_VIOLENCE,
    StatementCategory.CYBER_VIOLENCE_AGAINST_WOMEN,
    StatementCategory.VIOLENCE,
    StatementCategory.RISK_FOR_PUBLIC_SECURITY,
    StatementCategory.NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS,
    StatementCategory.DATA_PROTECTION_AND_PRIVACY_VIOLATIONS,
    StatementCategory.INTELLECTUAL_PROPERTY_INFRINGEMENTS,
    StatementCategory.SCAMS_AND_FRAUD,
    StatementCategory.CONSUMER_INFORMATION,
    StatementCategory.UNSAFE_AND_PROHIBITED_PRODUCTS,
    StatementCategory.PROTECTION_OF_MINORS,
    KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL,
    StatementCategory.SELF_HARM,
    StatementCategory.ANIMAL_WELFARE,
    StatementCategory.NOT_SPECIFIED_NOTICE,
)


def notice_category(choice: str) -> tuple[StatementCategory, bool] | None:
    """A notifier's choice as (the database's category, whether it names a child sexual abuse
    offence); None for a value the form does not offer."""
    if choice not in NOTICE_CATEGORIES:
        return None
    if choice == KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL:
        return StatementCategory.PROTECTION_OF_MINORS, True
    return StatementCategory(choice), False


STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS = (
    StatementCategory.DATA_PROTECTION_AND_PRIVACY_VIOLATIONS
)
STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH = StatementCategory.ILLEGAL_OR_HARMFUL_SPEECH
STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS = (
    StatementCategory.NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS
)
STATEMENT_CATEGORY_OTHER_VIOLATION_TC = StatementCategory.OTHER_VIOLATION_TC
STATEMENT_CATEGORY_SCAMS_AND_FRAUD = StatementCategory.SCAMS_AND_FRAUD
STATEMENT_CATEGORY_VIOLENCE = StatementCategory.VIOLENCE
# Every category the database takes, to check an export.
STATEMENT_CATEGORIES = tuple(StatementCategory)

# A comment removed from the site is removed everywhere: the EEA's countries
# (EuropeanCountriesService::EUROPEAN_COUNTRY_CODES: the 27, Iceland, Liechtenstein, Norway).
TERRITORIAL_SCOPE_EEA = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
)  # fmt: skip
CONTENT_LANGUAGE = "FR"  # ISO 639-1, upper case, as the database lists languages

# --- Our choices, in those terms -------------------------------------------------------------

# The category of a moderator's rejection, by its reason (labels.REJECT_REASONS).
CATEGORY_OF_REJECT_REASON: dict[str, str] = {
    "insultes": STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH,
    "haine": STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH,
    "menaces": STATEMENT_CATEGORY_VIOLENCE,
    "obscenite": STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH,
    "spam": STATEMENT_CATEGORY_SCAMS_AND_FRAUD,
    "hors_sujet": STATEMENT_CATEGORY_OTHER_VIOLATION_TC,
    "desinformation": STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS,
    "vie_privee": STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS,
    "autre": STATEMENT_CATEGORY_OTHER_VIOLATION_TC,
    # Removed as illegal on a notice: the notice's own category is used (services/statements).
    "illicite": STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH,
}
# The category of the model's rejection, by the category that crossed its threshold first.
CATEGORY_OF_MODEL_CATEGORY: dict[str, str] = {
    "threat": STATEMENT_CATEGORY_VIOLENCE,
    # The second schema has no category of its own for sexual content that breaks no law: the
    # house rules' (terms and conditions) one.
    "sexual_explicit": STATEMENT_CATEGORY_OTHER_VIOLATION_TC,
}
DEFAULT_CATEGORY = STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH

# The legal grounds a moderator may name when the content is illegal (French law on what a
# comment says; « autre » lets the note say which). Stored by key; the text is what the
# statement and the export give as `illegal_content_legal_ground`.
LEGAL_GROUNDS: dict[str, str] = {
    "injure": "Injure publique (loi du 29 juillet 1881, art. 29 al. 2 et 33)",
    "diffamation": "Diffamation publique (loi du 29 juillet 1881, art. 29 al. 1 et 32)",
    "haine": (
        "Provocation à la discrimination, à la haine ou à la violence "
        "(loi du 29 juillet 1881, art. 24 al. 7)"
    ),
    "apologie": (
        "Apologie de crimes ou du terrorisme (loi du 29 juillet 1881, art. 24 al. 5 ; "
        "code pénal, art. 421-2-5)"
    ),
    "menaces": "Menaces (code pénal, art. 222-17 et 222-18)",
    "harcelement": "Harcèlement moral en ligne (code pénal, art. 222-33-2-2)",
    "vie_privee": "Atteinte à la vie privée (code civil, art. 9 ; code pénal, art. 226-1)",
    "autre": "Autre disposition légale (précisée par le modérateur)",
}
HOUSE_RULES = "regles"  # the ground choice that means « the house rules » (the default)

# Art. 20(1): a complaint may be lodged « for a period of at least six months following the
# decision ».
COMPLAINT_MONTHS = 6


class NoticeDecision(enum.StrEnum):
    """What the moderators decided on an Art. 16 notice (DsaNotice.decision)."""

    REMOVED_ILLEGAL = "removed_illegal"  # removed as illegal: legal ground + explanation
    REMOVED_TERMS = "removed_terms"  # removed as contrary to the house rules
    NO_ACTION = "no_action"  # kept: the reason why
