"""The audit trail's vocabulary: every action a row of the journal can name. Pure.

Its members are the only spellings of an action (`ModerationAction.action`); the journal, the
dashboard, the calibration and the transitions all name actions through it. It lives here
rather than beside the models so that the pure calibration (`app/simulation.py`) may use it
too, without importing Flask or the database.
"""

from __future__ import annotations

import enum


class AuditAction(enum.StrEnum):
    # A comment's way in (services/comments, services/scoring)
    SUBMITTED = "submitted"
    SCORED = "scored"
    SCORING_FAILED = "scoring_failed"
    SCORING_TIMEOUT = "scoring_timeout"
    # Brought by `flask import` from another system, in the status it had there
    # (services/imports): not a decision of ours, and not a transition.
    IMPORTED = "imported"
    # The author's answer to a nudge, and no answer
    SENT_ANYWAY = "sent_anyway"
    REVISED = "revised"
    # The author edited their published or held comment (within EDIT_WINDOW_MINUTES): it is
    # scored and decided again
    EDITED = "edited"
    NUDGE_EXPIRED = "nudge_expired"
    # Readers' reports, and the moderators' decisions
    FLAGGED = "flagged"
    APPROVED = "approved"
    REPORTS_DISMISSED = "reports_dismissed"
    REJECTED = "rejected"
    # A comment's text and author removed at its author's request (a placeholder or deleted)
    REMOVED = "removed"
    # « Choix de la rédaction »: staff feature a published comment, or take it back
    # (services/featured): not a transition, the status stays
    FEATURED = "featured"
    UNFEATURED = "unfeatured"
    # A reader erased at their request (services/rights): the row names their pseudonym only
    ERASED = "reader_erased"
    # Sanctions on a reader (services/readers): reader_<kind>, reader_<kind>_lifted
    READER_BAN = "reader_ban"
    READER_SUSPEND = "reader_suspend"
    READER_PREMODERATE = "reader_premoderate"
    READER_BAN_LIFTED = "reader_ban_lifted"
    READER_SUSPEND_LIFTED = "reader_suspend_lifted"
    READER_PREMODERATE_LIFTED = "reader_premoderate_lifted"
    # A story's surge (services/surges): pre-moderated by the surge rule, and the end of it
    # (by itself, or by a moderator's hand). On no comment: `details` names the story.
    SURGE_STARTED = "surge_started"
    SURGE_ENDED = "surge_ended"
    # « Avertir »: a moderator's message to a reader, the step before a sanction
    # (services/warnings): not a transition, and not a restriction
    READER_WARNED = "reader_warned"
    # A complaint against a decision (DSA Art. 20, services/complaints), answered
    COMPLAINT_UPHELD = "complaint_upheld"
    COMPLAINT_REVERSED = "complaint_reversed"
    # « Essai » (shadow mode, services/shadow): a candidate started, stopped, or promoted to
    # the live settings by an admin: not about a comment, not a transition
    SHADOW_STARTED = "shadow_started"
    SHADOW_STOPPED = "shadow_stopped"
    SHADOW_PROMOTED = "shadow_promoted"
    # An admin went back from a promoted model to the server's own (services/live_model)
    MODEL_RESET = "model_reset"

    @classmethod
    def sanction(cls, kind: str, *, lifted: bool = False) -> AuditAction:
        """The action of a sanction of `kind` (ban, suspend, premoderate), or of its lifting."""
        return cls(f"reader_{kind}_lifted" if lifted else f"reader_{kind}")
