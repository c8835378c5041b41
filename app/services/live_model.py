"""The model the scoring processes run: the server's (DETOXIFY_*), or the candidate model an
admin promoted in « Essai » (services/shadow), until an admin goes back to the server's.

The choice is one row of `site_settings` (key ``live_model``). Every scoring process (the
thread worker of a web process, each Celery worker, the CLI's `rescore`) reads it between two
batches, at most every MODEL_FOLLOW_SECONDS (:meth:`app.worker.BatchScorer.follow`), loads the
model it names through the production loader, and only then scores with it: no restart, no
batch scored half with one model and half with the other, and each decision records the
model that scored it. A process whose load fails keeps the model it has and says why
(« Essai », /healthz); a restart keeps the promoted model. Nothing here ever invents a score:
a process with no model at all fails closed as always.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select

from app.actions import AuditAction
from app.extensions import db, rowcount
from app.models import ShadowCandidate, SiteSetting, User, utcnow
from app.scoring import Scorer, get_scorer
from app.services import audit
from app.services.errors import ServiceError

KEY = "live_model"


class LiveModelError(ServiceError):
    """Nothing to do (no promoted model); the message is French."""


@dataclass(frozen=True)
class Promoted:
    """A candidate model promoted by an admin: what every scoring process loads."""

    model_path: str
    hf_config: str | None
    candidate: int | None
    promoted_at: datetime
    promoted_by: str

    @property
    def key(self) -> tuple[str, str | None]:
        """What identifies the model to load (compared by the processes between batches)."""
        return (self.model_path, self.hf_config)


def promoted() -> Promoted | None:
    """The promoted model, or None when the server's DETOXIFY_* model is the live one."""
    value = db.session.scalar(select(SiteSetting.value).where(SiteSetting.key == KEY))
    if not value:
        return None
    return Promoted(
        model_path=value["model_path"],
        hf_config=value.get("hf_config"),
        candidate=value.get("candidate"),
        promoted_at=datetime.fromisoformat(value["promoted_at"]),
        promoted_by=value.get("promoted_by") or "",
    )


def promote(candidate: ShadowCandidate, actor: User) -> None:
    """Make `candidate`'s model the live one, in the caller's transaction (shadow.promote
    commits it with its audit row)."""
    assert candidate.model_path is not None
    value = {
        "model_path": candidate.model_path,
        "hf_config": candidate.hf_config,
        "candidate": candidate.id,
        "promoted_at": utcnow().isoformat(),
        "promoted_by": actor.display_name,
    }
    db.session.merge(SiteSetting(key=KEY, value=value))


def reset(actor: User) -> Promoted:
    """Go back to the server's DETOXIFY_* model (each process switches between two batches).
    Audited; LiveModelError when no model was promoted (or another admin just went back)."""
    current = promoted()
    if current is None:
        db.session.rollback()
        raise LiveModelError("model", _("Le modèle en service est déjà celui du serveur."))
    removed = db.session.execute(delete(SiteSetting).where(SiteSetting.key == KEY))
    if not rowcount(removed):  # another admin went back first
        db.session.rollback()
        raise LiveModelError("model", _("Le modèle en service est déjà celui du serveur."))
    audit.record(
        AuditAction.MODEL_RESET,
        actor=actor,
        details={"model_path": current.model_path, "hf_config": current.hf_config},
    )
    db.session.commit()
    return current


def build_scorer(model_path: str, hf_config: str | None) -> Scorer:
    """A scorer of this model through the production loading code: a folder is an ONNX export
    (`flask model export`), a file a Detoxify checkpoint; the other DETOXIFY_* settings
    (device, threads, windows, batches) are the server's. Not loaded yet."""
    from app import scorer_settings  # the factory's own reading of DETOXIFY_*

    base = scorer_settings(current_app.config)
    if Path(model_path).is_dir():
        return get_scorer(replace(base, onnx_dir=model_path), runtime="onnx")
    return get_scorer(replace(base, checkpoint=model_path, hf_config=hf_config), runtime="torch")


def server_settings(model_path: str | None, hf_config: str | None) -> dict[str, str]:
    """The DETOXIFY_* lines that would make this model the server's own configuration."""
    if model_path is None:
        return {}
    if Path(model_path).is_dir():
        return {"DETOXIFY_RUNTIME": "onnx", "DETOXIFY_ONNX_DIR": model_path}
    found = {"DETOXIFY_RUNTIME": "torch", "DETOXIFY_CHECKPOINT": model_path}
    if hf_config:
        found["DETOXIFY_HF_CONFIG"] = hf_config
    return found


def processes() -> list[dict[str, Any]]:
    """What each scoring process runs, as they report it (this process's thread worker, or
    the Celery workers' heartbeats): its model, whether it follows the promoted one, and why
    it could not switch, if so."""
    from app.scoring import backend

    status = backend().status()
    if status.get("backend") == "celery":
        return [
            {"worker": w["worker"], **w.get("live", {}), "model": w.get("model_name")}
            for w in status["workers"]
        ]
    return [{"worker": _("ce serveur"), **status.get("live", {}), "model": status["model"]["name"]}]
