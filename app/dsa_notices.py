"""The vocabulary of notices of illegal content (Art. 16 of Regulation (EU) 2022/2065), in the
EU DSA Transparency Database's own terms. Pure.

The categories are the database's `category` values of its second schema, in force since
1 July 2025 (transparency.dsa.ec.europa.eu/page/api-documentation, « API and Schema », and
/page/additional-explanation-for-statement-attributes): it added CONSUMER_INFORMATION,
CYBER_VIOLENCE, CYBER_VIOLENCE_AGAINST_WOMEN and NOT_SPECIFIED_NOTICE, renamed
SCOPE_OF_PLATFORM_SERVICE to OTHER_VIOLATION_TC and UNSAFE_AND_ILLEGAL_PRODUCTS to
UNSAFE_AND_PROHIBITED_PRODUCTS, and deleted NON_CONSENSUAL_BEHAVIOUR and
PORNOGRAPHY_OR_SEXUALIZED_CONTENT (the first schema's constants are those of the public
repository digital-services-act/transparency-database, `app/Models/Statement.php`). Labels, in
French and English, live in app/labels.py.
"""

from __future__ import annotations

import enum


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


class NoticeDecision(enum.StrEnum):
    """What the moderators decided on an Art. 16 notice (DsaNotice.decision)."""

    REMOVED_ILLEGAL = "removed_illegal"  # removed as illegal: legal ground + explanation
    REMOVED_TERMS = "removed_terms"  # removed as contrary to the house rules
    NO_ACTION = "no_action"  # kept: the reason why
