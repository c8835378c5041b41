"""Command-line tools: `flask --app wsgi <command>`."""

from __future__ import annotations

import click
from flask import Flask

from app.services import articles


def register(app: Flask) -> None:
    @app.cli.command("seed")
    def seed_command() -> None:
        """Load the bundled article(s). Safe to run twice."""
        created, present = articles.seed()
        click.echo(f"Articles: {created} created, {present} already present.")
