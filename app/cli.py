"""Command-line tools: `flask --app wsgi <command>`."""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfoNotFoundError

import click
from flask import Flask, current_app
from sqlalchemy import select

from app.extensions import db
from app.importers import Importer, ImportFileError, get_importer
from app.models import ApiScope, Article, Comment, CommentStatus, Role, Site, as_utc
from app.scoring import ScoringUnavailable, get_scorer
from app.scoring.download import ModelDownloadError, download, local_model
from app.scoring.probe import PROBE
from app.services import (
    accounts,
    articles,
    audit,
    clients,
    exports,
    imports,
    retention,
    rights,
    scoring,
    settings,
    shadow,
    sites,
    transparency,
)


def register(app: Flask) -> None:
    @app.cli.command("seed")
    def seed_command() -> None:
        """Load the bundled article(s) and the default thresholds. Safe to run twice."""
        created, present = articles.seed()
        settings.ensure_defaults()
        click.echo(f"Articles: {created} created, {present} already present.")

    model = click.Group("model", help="The Detoxify model: check it, download it, export it.")
    app.cli.add_command(model)

    @model.command("check")
    @click.option("--text", default=PROBE, show_default=True, help="Sentence to score.")
    def model_check(text: str) -> None:
        """Load the live model (the server's, or the one promoted in « Essai »), score a probe
        sentence, print each category."""
        runner = current_app.extensions["scoring_runner"]
        scorer = runner.live_scorer()
        if runner.switch_error:
            click.echo(f"The promoted model does not load: {runner.switch_error}", err=True)
            sys.exit(1)
        started = time.perf_counter()
        try:
            scorer.load()
            loaded = time.perf_counter()
            [result] = scorer.score([text])
        except ScoringUnavailable as error:
            click.echo(f"Model unavailable: {error}", err=True)
            sys.exit(1)
        scored = time.perf_counter()
        click.echo(f"model    {scorer.name}  ({scorer.version})")
        click.echo(f"load     {loaded - started:.2f} s")
        click.echo(f"score    {(scored - loaded) * 1000:.1f} ms")
        for category, value in result.scores.items():
            click.echo(f"  {category:<18} {value:.4f}")

    @model.command("download")
    @click.option("--if-missing", is_flag=True, help="Do nothing when a copy is already there.")
    def model_download(if_missing: bool) -> None:
        """Fetch the configured model into MODEL_DIR so that the site runs offline."""
        name, model_dir = current_app.config["DETOXIFY_MODEL"], current_app.config["MODEL_DIR"]
        if current_app.config["DETOXIFY_CHECKPOINT"]:
            click.echo("DETOXIFY_CHECKPOINT is set: that local model is used; nothing to fetch.")
            return
        existing = local_model(model_dir, name)
        if existing is not None and if_missing:
            click.echo(f"Model {name!r} already in {existing.checkpoint.parent}.")
            return
        click.echo(f"Fetching Detoxify {name!r} into {model_dir}/{name} …")
        try:
            local = download(name, model_dir)
        except ModelDownloadError as error:
            click.echo(f"Download failed: {error}", err=True)
            click.echo(
                "The site still starts: comments are kept and held for moderators until a "
                "model is available (set DETOXIFY_CHECKPOINT and DETOXIFY_HF_CONFIG to local "
                "files, or run this command where the internet is reachable).",
                err=True,
            )
            sys.exit(1)
        click.echo(f"Checkpoint  {local.checkpoint}")
        click.echo(f"Config      {local.hf_config}")

    @model.command("export")
    @click.option(
        "--output",
        type=click.Path(file_okay=False, path_type=Path),
        help="Folder to write  [default: DETOXIFY_ONNX_DIR]",
    )
    @click.option(
        "--max-diff",
        type=click.FloatRange(min=0),
        help="Largest score difference from torch allowed in any category  "
        "[default: ONNX_MAX_SCORE_DIFF]",
    )
    @click.option(
        "--runtime",
        type=click.Choice(["onnx", "auto"]),
        default="onnx",
        show_default=True,
        help="auto: also time every runtime on this machine's cores and record the fastest "
        "accurate one in the folder (DETOXIFY_RUNTIME=auto, the default, then uses it)",
    )
    def model_export(output: Path | None, max_diff: float | None, runtime: str) -> None:
        """Export the configured model to ONNX with int8 weights (DETOXIFY_RUNTIME=onnx).

        Scores French probe comments with both, prints the largest difference per category,
        and saves nothing when one exceeds --max-diff. With --runtime auto, then times torch,
        the export (and torch on CUDA when torch sees a GPU) on the probes, and writes the
        fastest within --max-diff of torch into the folder (runtime.json)."""
        from app import scorer_settings
        from app.scoring.detoxify import DetoxifyScorer
        from app.scoring.export import OPSET, ExportError, export_onnx

        config = current_app.config
        target = output or Path(config["DETOXIFY_ONNX_DIR"])
        bound = config["ONNX_MAX_SCORE_DIFF"] if max_diff is None else max_diff
        # The ONNX model runs on the CPU: export and compare there, whatever DETOXIFY_DEVICE.
        torch_scorer = get_scorer(replace(scorer_settings(config), device="cpu"), runtime="torch")
        assert isinstance(torch_scorer, DetoxifyScorer)
        click.echo(f"model    {torch_scorer.name}  ({torch_scorer.version})")
        try:
            torch_scorer.load()
            click.echo(f"export   ONNX opset {OPSET}, int8 dynamic quantization …")
            report = export_onnx(torch_scorer, target, max_diff=bound)
        except ScoringUnavailable as error:
            click.echo(f"Model unavailable: {error}", err=True)
            sys.exit(1)
        except ExportError as error:
            click.echo(f"Export failed: {error}", err=True)
            sys.exit(1)
        click.echo(
            f"probe    {len(report.probes)} French comments, {report.windowed_probes} of them "
            "longer than one window: |torch fp32 - onnx int8| per category"
        )
        click.echo(f"  {'category':<18} {'max diff':>8}  probe")
        for row in report.differences:
            click.echo(
                f"  {row.category:<18} {row.difference:>8.4f}  "
                f"#{row.probe:<2} « {_preview(report.probes[row.probe])} »"
            )
        largest = report.largest
        click.echo(f"largest  {largest.difference:.4f} ({largest.category}), bound {bound:g}")
        if not report.saved:
            over = ", ".join(f"{d.category} {d.difference:.4f}" for d in report.over_bound)
            click.echo(
                f"Refused: the ONNX scores differ from torch's by more than {bound:g} ({over}); "
                f"nothing was saved to {target}.",
                err=True,
            )
            sys.exit(1)
        click.echo(
            f"saved    {target} ({report.model_bytes / 2**20:.1f} MiB model, "
            f"{report.seconds:.1f} s); use it with DETOXIFY_RUNTIME=onnx"
        )
        if runtime == "auto":
            _choose_runtime(torch_scorer, target, bound)

    comments = click.Group("comments", help="Comments in bulk.")
    app.cli.add_command(comments)

    @comments.command("rescore")
    @click.option("--article", "slug", help="Only this article's comments (slug).")
    @click.option(
        "--status",
        type=click.Choice([s.value for s in CommentStatus]),
        multiple=True,
        help="Only comments in this status (repeatable).",
    )
    @click.option("--since", type=click.DateTime(), help="Only comments posted since this date.")
    @click.option("--ids", help="Only these comment ids, comma-separated.")
    @click.option("--batch-size", default=32, show_default=True)
    def comments_rescore(
        slug: str | None,
        status: tuple[str, ...],
        since: datetime | None,
        ids: str | None,
        batch_size: int,
    ) -> None:
        """Score a chosen set of comments again with the configured model.

        Comments still undecided by a human are decided anew by the policy; the others only
        get their new scores."""
        query = select(Comment.id).order_by(Comment.id)
        if slug:
            query = query.join(Article).where(Article.slug == slug)
        if status:
            query = query.where(Comment.status.in_(status))
        if since:
            query = query.where(Comment.created_at >= since)
        if ids:
            try:
                wanted = [int(i) for i in ids.split(",") if i.strip()]
            except ValueError:
                raise click.BadParameter("comma-separated numbers", param_hint="--ids") from None
            query = query.where(Comment.id.in_(wanted))
        chosen = list(db.session.scalars(query))
        if not chosen:
            click.echo("No comment matches.")
            return
        runner = current_app.extensions["scoring_runner"]
        scorer = runner.live_scorer()
        if runner.switch_error:
            click.echo(f"The promoted model does not load: {runner.switch_error}", err=True)
            sys.exit(1)
        try:
            scorer.load()
        except ScoringUnavailable as error:
            click.echo(f"Model unavailable: {error}", err=True)
            sys.exit(1)
        decided = rescored = 0
        with click.progressbar(length=len(chosen), label="Rescoring") as bar:
            for start in range(0, len(chosen), batch_size):
                part = chosen[start : start + batch_size]
                outcome = scoring.rescore(part, scorer)
                decided += outcome.decided
                rescored += outcome.rescored
                bar.update(len(part))
        click.echo(f"{rescored} comments rescored, {decided} of them decided by the policy.")

    site = click.Group("settings", help="Site settings stored in the database.")
    app.cli.add_command(site)

    @site.command("show")
    def settings_show() -> None:
        """Print the site settings and the thresholds."""
        for key in settings.DEFAULT_SETTINGS:
            click.echo(f"{key} = {settings.get(key)!r}")
        click.echo(f"{'category':<18} {'hold':>5} {'reject':>6} {'nudge':>5}  enabled")
        for category, row in settings.category_thresholds().items():
            click.echo(
                f"{category:<18} {row.hold:>5.2f} {row.reject:>6.2f} {row.nudge:>5.2f}  "
                f"{'yes' if row.enabled else 'no'}"
            )

    @site.command("set")
    @click.argument("key", type=click.Choice(sorted(settings.DEFAULT_SETTINGS)))
    @click.argument("value")
    def settings_set(key: str, value: str) -> None:
        """Change a site setting, e.g. `settings set nudge_enabled false`."""
        kind = type(settings.DEFAULT_SETTINGS[key])
        param: click.ParamType[bool | int | str] = (
            click.Choice(settings.CHOICES[key])
            if key in settings.CHOICES
            else click.BOOL
            if kind is bool
            else click.IntRange(min=1)
        )
        parsed = param.convert(value, None, click.get_current_context())
        settings.set_value(key, parsed)
        click.echo(f"{key} = {parsed!r}")

    users = click.Group("users", help="Staff and reader accounts.")
    app.cli.add_command(users)

    @users.command("create")
    @click.argument("email")
    @click.option("--role", type=click.Choice([r.value for r in Role]), default="moderator",
                  show_default=True)  # fmt: skip
    @click.option("--name", help="Display name (default: the part of the address before @).")
    @click.option("--password", help="For scripts; asked (hidden, twice) when absent.")
    def users_create(email: str, role: str, name: str | None, password: str | None) -> None:
        """Create an account, e.g. `users create chef@journal.fr --role admin`."""
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        if len(password) < 10:
            raise click.BadParameter("at least 10 characters", param_hint="password")
        try:
            user = accounts.register(name or email.split("@")[0], email, password, Role(role))
        except accounts.AccountError as error:
            raise click.ClickException(error.message) from None
        click.echo(f"Created {user.email} ({user.role}).")

    @users.command("list")
    def users_list() -> None:
        """Every account with its role and whether it is active."""
        for user in accounts.all_users():
            state = "active" if user.active else "deactivated"
            click.echo(f"{user.email:<40} {user.role:<10} {state:<12} {user.display_name}")

    @users.command("set-role")
    @click.argument("email")
    @click.argument("role", type=click.Choice([r.value for r in Role]))
    def users_set_role(email: str, role: str) -> None:
        """Change an account's role."""
        try:
            accounts.set_role(email, Role(role))
        except accounts.AccountError as error:
            raise click.ClickException(error.message) from None
        click.echo(f"{email} is now {role}.")

    @users.command("deactivate")
    @click.argument("email")
    def users_deactivate(email: str) -> None:
        """Close an account: it can no longer sign in (its history stays)."""
        try:
            accounts.deactivate(email)
        except accounts.AccountError as error:
            raise click.ClickException(error.message) from None
        click.echo(f"{email} is deactivated.")

    @users.command("set-password")
    @click.argument("email")
    @click.option("--password", help="For scripts; asked (hidden, twice) when absent.")
    def users_set_password(email: str, password: str | None) -> None:
        """Give an account a new password; its sessions everywhere end."""
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        if len(password) < 10:
            raise click.BadParameter("at least 10 characters", param_hint="password")
        try:
            accounts.set_password(email, password)
        except accounts.AccountError as error:
            raise click.ClickException(error.message) from None
        click.echo(f"{email} has a new password; its sessions are ended.")

    @users.command("token")
    @click.argument("email")
    @click.option("--name", default=accounts.DEFAULT_TOKEN_NAME, show_default=True,
                  help="What the token is for (lowercase, digits, hyphens).")  # fmt: skip
    def users_token(email: str, name: str) -> None:
        """Create an API token for a moderator's or admin's account (the moderation API) and
        print it, once, on a line of its own."""
        try:
            new = accounts.create_token(email, name)
        except accounts.AccountError as error:
            raise Refused(error.message) from None
        click.echo(
            f"Created token {new.token.name} ({new.token.key_prefix}…) for {email}. It acts as "
            "this account while it is a moderator or admin; it is stored hashed and will not "
            "be shown again:"
        )
        click.echo(new.secret)

    @users.command("revoke-token")
    @click.argument("email")
    @click.option("--name", help="Only this token (default: every active token of the account).")
    def users_revoke_token(email: str, name: str | None) -> None:
        """Refuse an account's API token(s) from now on, in every process."""
        try:
            revoked = accounts.revoke_tokens(email, name)
        except accounts.AccountError as error:
            raise Refused(error.message) from None
        names = ", ".join(f"{t.name} ({t.key_prefix}…)" for t in revoked)
        click.echo(f"Revoked for {email}: {names}.")

    @users.command("tokens")
    @click.argument("email", required=False)
    def users_tokens(email: str | None) -> None:
        """Every staff API token (of one account): name, prefix, created, last used, revoked."""
        try:
            rows = accounts.tokens(email)
        except accounts.AccountError as error:
            raise Refused(error.message) from None
        if not rows:
            click.echo("No token.")
            return
        click.echo(
            f"{'account':<32} {'name':<16} {'prefix':<12} {'created':<16} {'last used':<16} revoked"
        )
        for t in rows:
            click.echo(
                f"{t.user.email:<32} {t.name:<16} {t.key_prefix:<12} {_when(t.created_at):<16} "
                f"{_when(t.last_used_at):<16} {_when(t.revoked_at)}"
            )

    _register_clients(app)
    _register_sites(app)
    _register_imports(app)
    _register_exports(app)
    _register_retention(app)
    _register_readers(app)
    _register_dsa(app)
    _register_shadow(app)


class Refused(click.ClickException):
    """A command refused for what it was asked (a taken name, a bad quota): exit status 2."""

    exit_code = 2


def _register_dsa(app: Flask) -> None:
    group = click.Group("dsa", help="Digital Services Act: statements of reasons, transparency.")
    app.cli.add_command(group)

    @group.command("export")
    @click.option(
        "--from",
        "since",
        required=True,
        type=click.DateTime(["%Y-%m-%d"]),
        help="First day (YYYY-MM-DD, UTC), included.",
    )
    @click.option(
        "--to",
        "until",
        required=True,
        type=click.DateTime(["%Y-%m-%d"]),
        help="Last day (YYYY-MM-DD, UTC), included.",
    )
    @click.option("--output", type=click.Path(dir_okay=False, writable=True),
                  help="Write to this file instead of the standard output.")  # fmt: skip
    def dsa_export(since: datetime, until: datetime, output: str | None) -> None:
        """Write the statements of reasons issued between two days in the EU DSA Transparency
        Database's format: the JSON body of its `POST /api/v1/statements`."""
        if until < since:
            raise click.BadParameter("--to is before --from", param_hint="--to")
        body = transparency.export(since.date(), until.date())
        text = json.dumps(body, ensure_ascii=False, indent=2) + "\n"
        if output:
            Path(output).write_text(text, encoding="utf-8")
            click.echo(f"{len(body['statements'])} statements written to {output}.", err=True)
        else:
            click.echo(text, nl=False)


def _register_clients(app: Flask) -> None:
    group = click.Group("clients", help="API clients (Coral, a CMS) and their keys.")
    app.cli.add_command(group)

    @group.command("create")
    @click.argument("name")
    @click.option("--quota", default=clients.DEFAULT_QUOTA, show_default=True,
                  help="Calls allowed, in Flask-Limiter notation.")  # fmt: skip
    @click.option("--coral-secret", help="The signing secret of Coral's external moderation.")
    @click.option(
        "--scope",
        "scopes",
        multiple=True,
        type=click.Choice([s.value for s in ApiScope]),
        help="More than scoring: `moderation` (the moderators' queues and decisions).",
    )
    def clients_create(
        name: str, quota: str, coral_secret: str | None, scopes: tuple[str, ...]
    ) -> None:
        """Create a client and print its key, once."""
        try:
            new = clients.create(name, quota=quota, coral_secret=coral_secret, scopes=list(scopes))
        except clients.ClientError as error:
            raise Refused(error.message) from None
        granted = f", scopes: {', '.join(new.client.scopes)}" if new.client.scopes else ""
        click.echo(
            f"Created client {new.client.name} ({new.client.quota}{granted}). Its API key "
            "follows; it is stored hashed and will not be shown again:"
        )
        click.echo(new.key)

    @group.command("list")
    def clients_list() -> None:
        """Every client: name, key prefix, quota, created, last used, revoked."""
        rows = clients.all_clients()
        if not rows:
            click.echo("No client.")
            return
        click.echo(
            f"{'name':<24} {'prefix':<12} {'quota':<20} {'scopes':<12} {'created':<16} "
            f"{'last used':<16} revoked"
        )
        for c in rows:
            click.echo(
                f"{c.name:<24} {c.key_prefix:<12} {c.quota:<20} {','.join(c.scopes) or '-':<12} "
                f"{_when(c.created_at):<16} {_when(c.last_used_at):<16} {_when(c.revoked_at)}"
            )

    @group.command("revoke")
    @click.argument("name")
    def clients_revoke(name: str) -> None:
        """Refuse a client's key from now on, in every process."""
        try:
            client = clients.revoke(name)
        except clients.ClientError as error:
            raise Refused(error.message) from None
        click.echo(f"Client {client.name} is revoked: its key is refused from now on.")

    @group.command("coral-secret")
    @click.argument("name")
    @click.option("--secret", prompt="Coral's signing secret", hide_input=True,
                  help="The phase's new secret, as Coral shows it (asked if absent).")  # fmt: skip
    def clients_coral_secret(name: str, secret: str) -> None:
        """Give a client Coral's (new) signing secret: after rotating it in Coral's admin,
        while Coral still signs with both secrets."""
        try:
            client = clients.set_coral_secret(name, secret)
        except clients.ClientError as error:
            raise Refused(error.message) from None
        click.echo(f"Client {client.name}: Coral's requests are now checked with the new secret.")


def _register_sites(app: Flask) -> None:
    group = click.Group("sites", help="Newsroom sites that embed the comments (origins, SSO).")
    app.cli.add_command(group)

    @group.command("create")
    @click.argument("name")
    @click.option("--origin", "origins", multiple=True, required=True,
                  help="An origin allowed to embed (https://www.journal.fr).")  # fmt: skip
    def sites_create(name: str, origins: tuple[str, ...]) -> None:
        """Create a site and print its SSO secret, once, on a line of its own."""
        try:
            new = sites.create(name, list(origins))
        except sites.SiteError as error:
            raise Refused(error.message) from None
        click.echo(
            f"Created site {new.site.name} ({', '.join(new.site.origins)}). Its SSO secret "
            "follows; give it to the CMS that signs its readers' tokens:"
        )
        click.echo(new.sso_secret)

    @group.command("list")
    def sites_list() -> None:
        """Every site: name, origins, stories."""
        for site in sites.all_sites():
            origins = ", ".join(site.origins or []) or "-"
            mark = " (default)" if site.is_default else ""
            click.echo(f"{site.name}{mark}: {origins}")

    @group.command("rotate-secret")
    @click.argument("name")
    def sites_rotate_secret(name: str) -> None:
        """A new SSO secret for a site (the old one is refused at once), printed once."""
        site = sites.get(name)
        if site is None:
            raise Refused(f"No site is called {name!r}.")
        click.echo(sites.rotate_secret(site))


def _register_imports(app: Flask) -> None:
    group = click.Group(
        "import", help="Bring comments from WordPress, Disqus or Isso (stories included)."
    )
    app.cli.add_command(group)

    def common(command: Callable[..., None]) -> Callable[..., None]:
        for option in reversed(
            (
                click.option("--site", "site_name", help="The site to import into  "
                             "[default: the default site]"),
                click.option("--dry-run", is_flag=True,
                             help="Read and report what would be imported; write nothing."),
                click.option("--rescore-decide", is_flag=True,
                             help="Pending comments come in pending and the policy decides "
                             "them once scored (default: held for a moderator)."),
            )
        ):  # fmt: skip
            command = option(command)
        return command

    @group.command("wordpress")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @common
    @click.option("--timezone", default="Europe/Paris", show_default=True,
                  help="The blog's time zone, for comments without a GMT date.")  # fmt: skip
    def import_wordpress(
        file: Path, site_name: str | None, dry_run: bool, rescore_decide: bool, timezone: str
    ) -> None:
        """A WordPress export (WXR 1.0, 1.1 or 1.2: Tools › Export, or WordPress.com)."""
        try:
            importer = get_importer("wordpress", timezone=timezone)
        except ZoneInfoNotFoundError:
            raise click.BadParameter(
                f"unknown time zone {timezone!r}", param_hint="--timezone"
            ) from None
        _run_import(importer, file, site_name, dry_run, rescore_decide)

    @group.command("disqus")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @common
    def import_disqus(
        file: Path, site_name: str | None, dry_run: bool, rescore_decide: bool
    ) -> None:
        """A Disqus export (Admin › Community › Export, the XML file unzipped)."""
        _run_import(get_importer("disqus"), file, site_name, dry_run, rescore_decide)

    @group.command("isso")
    @click.argument("database", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @common
    @click.option("--base-url", help="Where Isso's pages are (https://www.journal.fr)  "
                  "[default: the site's first origin]")  # fmt: skip
    def import_isso(
        database: Path,
        site_name: str | None,
        dry_run: bool,
        rescore_decide: bool,
        base_url: str | None,
    ) -> None:
        """Isso's SQLite database (opened read-only; Isso may keep running)."""
        site = _import_site(site_name)
        if base_url is None:
            if not site.origins:
                raise Refused(
                    f"Site {site.name!r} has no origin: say where Isso's pages are with "
                    "--base-url https://www.journal.fr"
                )
            base_url = site.origins[0]
        try:
            base = sites.normalize_origin(base_url)
        except sites.SiteError as error:
            raise click.BadParameter(error.message, param_hint="--base-url") from None
        _run_import(get_importer("isso", base_url=base), database, site.name, dry_run,
                    rescore_decide)  # fmt: skip


def _import_site(name: str | None) -> Site:
    if name is None:
        return sites.default_site()
    site = sites.get(name)
    if site is None:
        raise Refused(f"No site is called {name!r} (see `flask sites list`).")
    return site


@contextmanager
def _progress(label: str, length: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr, only on a terminal."""
    if not sys.stderr.isatty():
        yield lambda _n: None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar.update


def _run_import(
    importer: Importer, path: Path, site_name: str | None, dry_run: bool, rescore_decide: bool
) -> None:
    site = _import_site(site_name)
    started = time.perf_counter()
    try:
        summary = imports.run(
            importer, path, site, dry_run=dry_run, rescore_decide=rescore_decide,
            progress=_progress,
        )  # fmt: skip
    except ImportFileError as error:
        raise click.ClickException(f"{path}: {error} (nothing was imported)") from None
    seconds = time.perf_counter() - started
    for line in summary_lines(summary, site.name, seconds):
        click.echo(line)


def summary_lines(summary: imports.Summary, site: str, seconds: float) -> list[str]:
    """The end of `flask import`: what was (or, dry, would be) written, and what was not."""
    verb = "would be imported" if summary.dry_run else "imported"
    lines = [
        f"{summary.format} {summary.source} → site {site}"
        + (" (dry run: nothing written)" if summary.dry_run else ""),
        f"Stories: {summary.stories_new} new, {summary.stories_existing} existing",
        f"Comments {verb}: {summary.written}"
        + "".join(f", {n} {status}" for status, n in sorted(summary.statuses.items()))
        + f", {summary.placeholders} placeholders (deleted, holding replies)",
        f"Orphans (parent missing) attached at the top of their story: {summary.orphans}",
        f"Already imported (left as they are): {summary.already}",
    ]
    if summary.skipped:
        lines.append(f"Skipped: {sum(summary.skipped.values())}")
        lines += [f"  {n} {why}" for why, n in sorted(summary.skipped.items())]
    else:
        lines.append("Skipped: 0")
    if summary.stories_elsewhere:
        lines.append(
            f"Note: {summary.stories_elsewhere} stories are not on the site's origins; the "
            "comment block loads there once `flask sites` allows them."
        )
    if summary.written and not summary.dry_run:
        lines.append(
            "Their scores are computed in the background by the scoring worker(s), after "
            "every live comment; statuses stay as imported"
            + (" (pending ones are decided by the policy once scored)." if summary.statuses.get(
                CommentStatus.PENDING) else ".")
        )  # fmt: skip
    lines.append(f"Time: {seconds:.1f} s")
    return lines


def _register_exports(app: Flask) -> None:
    group = click.Group("export", help="Export stories and comments (WordPress WXR, JSON).")
    app.cli.add_command(group)

    output = click.option(
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        help="File to write  [default: standard output]",
    )

    def _site(name: str) -> Site:
        found = sites.get(name)
        if found is None:
            raise Refused(f"No site is called {name!r} (flask --app wsgi sites list).")
        return found

    def _write(target: Path | None, write: Callable[[IO[str]], exports.Counts]) -> None:
        if target is None:
            # UTF-8 whatever the terminal's locale says (the XML declaration says UTF-8).
            sys.stdout.flush()
            out = io.TextIOWrapper(sys.stdout.buffer, "utf-8", newline="\n")
            try:
                counts = write(out)
            finally:
                out.flush()
                out.detach()
        else:
            # Written beside the target, then moved into place: never a half-written file.
            partial = target.with_name(f".{target.name}.partial")
            with partial.open("w", encoding="utf-8", newline="\n") as file:
                counts = write(file)
            partial.replace(target)
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(counts.by_status.items())) or "-"
        left_out = (
            f"; {counts.placeholders_left_out} placeholders left out (their replies moved up)"
            if counts.placeholders_left_out
            else ""
        )
        click.echo(
            f"Exported {counts.stories} stories, {counts.comments} comments ({statuses})"
            f"{left_out}{f' to {target}' if target else ''}.",
            err=True,
        )

    @group.command("wxr")
    @click.option("--site", "site_name", required=True, help="The site whose stories to export.")
    @output
    def export_wxr(site_name: str, output: Path | None) -> None:
        """A site's stories and comments as a WordPress WXR 1.2 file (WordPress's importer:
        Tools > Import > WordPress). Rejected comments go as spam; the file holds readers'
        addresses."""
        site = _site(site_name)
        _write(output, lambda out: exports.write_wxr(site, out))

    @group.command("json")
    @click.option("--site", "site_name", help="Only this site's stories  [default: every site]")
    @output
    def export_json(site_name: str | None, output: Path | None) -> None:
        """Every story, comment, status, score and decision as JSON (docs/export-schema.json):
        an admin's backup, readers' addresses included."""
        site = _site(site_name) if site_name is not None else None
        _write(output, lambda out: exports.write_json(out, site))


def _register_shadow(app: Flask) -> None:
    group = click.Group("shadow", help="« Essai » (shadow mode): the admins' candidate.")
    app.cli.add_command(group)

    @group.command("run")
    @click.option("--limit", type=click.IntRange(min=1), help="At most this many comments.")
    def shadow_run(limit: int | None) -> None:
        """Score and decide, with the running candidate, the comments decided since it started
        that it has not seen yet (what the scoring worker does in the background)."""
        candidate = shadow.active()
        if candidate is None:
            click.echo("No candidate is running (« Réglages › Essai »).", err=True)
            sys.exit(1)
        done = shadow.run(batch=current_app.config["SCORING_BATCH_SIZE"], limit=limit)
        db.session.refresh(candidate)
        if candidate.error:
            click.echo(f"The candidate's model does not load: {candidate.error}", err=True)
            sys.exit(1)
        click.echo(f"{done} comments scored and decided by candidate {candidate.id}.")


def _register_retention(app: Flask) -> None:
    group = click.Group("retention", help="Personal data and texts erased after their period.")
    app.cli.add_command(group)

    @group.command("run")
    @click.option("--dry-run", is_flag=True, help="Count what would be erased; change nothing.")
    def retention_run(dry_run: bool) -> None:
        """Erase what is past its retention period now (the sweep does it once a day)."""
        summary = retention.run(dry_run=dry_run)
        if not summary.ran:
            click.echo("Another retention run is in progress; nothing was done.", err=True)
            sys.exit(1)
        verb = "would be erased" if dry_run else "erased"
        click.echo(f"{'kind':<28} {'days':>5}  {verb}")
        for kind, count in summary.counts.items():
            days = current_app.config[retention.PERIODS[kind]]
            click.echo(f"{kind:<28} {days or 'keep':>5}  {count}")
        click.echo(f"{'total':<28} {'':>5}  {summary.total}")
        click.echo("IP addresses: none in the database; rate-limit counters expire by themselves.")


def _register_readers(app: Flask) -> None:
    group = click.Group("readers", help="Readers' data rights (GDPR): export, erase.")
    app.cli.add_command(group)

    @group.command("export")
    @click.argument("address")
    @click.option(
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        help="File to write  [default: standard output]",
    )
    def readers_export(address: str, output: Path | None) -> None:
        """Everything held about ADDRESS (its accounts, and what was written or sent under it
        without one), as the JSON a reader downloads from « Mon compte »."""
        person = rights.of_address(address)
        if not rights.holds_anything(person):
            click.echo("Nothing is held under this address.", err=True)
        text = json.dumps(rights.export(person), ensure_ascii=False, indent=2) + "\n"
        if output is None:
            sys.stdout.buffer.write(text.encode())
        else:
            output.write_text(text, encoding="utf-8")
            click.echo(f"Written to {output}.", err=True)

    @group.command("erase")
    @click.argument("address")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def readers_erase(address: str, yes: bool) -> None:
        """Erase the reader ADDRESS at their request: accounts, comments (ERASED_COMMENTS),
        reports, notices, sanctions, statements; the journal keeps a pseudonym."""
        person = rights.of_address(address)
        if not rights.holds_anything(person):
            raise Refused("Nothing is held under this address.")
        if not yes:
            click.confirm(
                f"Erase {len(person.users)} account(s) and everything under this address?",
                abort=True,
            )
        try:
            done = rights.erase(person, audit.SYSTEM)
        except rights.RightsError as error:
            raise Refused(error.message) from error
        for kind, count in sorted(done.counts.items()):
            click.echo(f"{kind:<32} {count}")
        click.echo(f"{'total':<32} {done.total}")


def _when(value: datetime | None) -> str:
    return as_utc(value).strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _choose_runtime(torch_scorer: Any, folder: Path, bound: float) -> None:
    """`model export --runtime auto`: time torch, the export just written (and torch on CUDA
    when torch sees a GPU) on the probes, on this machine; record the fastest accurate one."""
    import torch

    from app.scoring import choice
    from app.scoring.probe import PROBES

    settings = replace(torch_scorer.settings, onnx_dir=str(folder))
    reference = [r.scores for r in torch_scorer.score(list(PROBES))]
    candidates: list[tuple[str, str, Any]] = [("torch", "cpu", torch_scorer)]
    candidates.append(("onnx", "cpu", get_scorer(settings, runtime="onnx")))
    if torch.cuda.is_available():
        candidates.append(("torch", "cuda", get_scorer(replace(settings, device="cuda"), "torch")))
    click.echo(f"timing   {len(PROBES)} probes, one at a time, on this machine's cores")
    click.echo(f"  {'runtime':<14} {'comments/s':>10} {'p50 ms':>8} {'max diff':>9}")
    measured = []
    for name, device, scorer in candidates:
        try:
            scorer.load()
        except ScoringUnavailable as error:
            click.echo(f"  {name} ({device}) does not load, left out: {error}")
            continue
        found = choice.measure(name, device, scorer, reference, PROBES)
        measured.append(found)
        click.echo(
            f"  {found.label:<14} {found.per_second:>10.2f} {found.p50_ms:>8.1f} "
            f"{found.max_difference:>9.4f}{'' if found.max_difference <= bound else ' over'}"
        )
    chosen = choice.best(measured, bound)
    path = choice.write(folder, chosen, measured, torch_scorer.version)
    click.echo(
        f"chosen   {chosen.label}: the fastest within {bound:g} of torch; written to {path} "
        "(DETOXIFY_RUNTIME=auto, the default, uses it)"
    )


def _preview(text: str, width: int = 48) -> str:
    """The start of a comment on one line."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
