"""Readers' pages: the article and its « Votre commentaire » section; `/embed.js`, the same
section for any newsroom page."""

from flask import Blueprint

bp = Blueprint("reader", __name__)

from app.reader import embed, notifications, own, rights, routes, statements  # noqa: E402,F401
