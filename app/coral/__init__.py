"""Coral's external moderation phase, `POST /coral/moderation/<client>`: HTTP only; the
contract and the decisions are in app/services/coral.py."""

from flask import Blueprint

bp = Blueprint("coral", __name__, url_prefix="/coral")

from app.coral import routes  # noqa: E402,F401
