"""`trendbot db upgrade` and `trendbot db copy --to URL`: the database, for operators."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from config.settings import async_database_url, load_settings
from trends.store.maintenance import DEFAULT_BATCH, CopyError, CopyReport, copy_database
from trends.store.maintenance import upgrade_database as _upgrade

__all__ = ["db_app"]

db_app = typer.Typer(
    help="The database: migrate it, or copy it from SQLite to PostgreSQL.",
    no_args_is_help=True,
)


@db_app.command("upgrade")
def upgrade_command() -> None:
    """Migrate DATABASE_URL to the newest schema (start-up does the same)."""
    url = load_settings().database_url
    before, after = asyncio.run(_upgrade(url))
    where = _safe(url)
    if before == after:
        typer.echo(f"{where}: already at revision {after}")
    else:
        typer.echo(f"{where}: upgraded from revision {before or '(empty)'} to {after}")


@db_app.command("copy")
def copy_command(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="URL",
            help="The target database, e.g. postgresql://user:password@host/trendbot",
        ),
    ],
    batch: Annotated[int, typer.Option(min=1, help="Rows per transaction")] = DEFAULT_BATCH,
) -> None:
    """Copy every table of DATABASE_URL into URL; re-run after an interruption to resume.

    Stop the bot first: rows written during the copy may be left behind.
    """
    source = load_settings().database_url
    try:
        target = async_database_url(to)
    except ValueError:
        typer.echo(
            f"trendbot: --to {_safe(to)}: expected a postgresql:// (or sqlite+aiosqlite://) URL",
            err=True,
        )
        raise typer.Exit(2) from None
    show = sys.stderr.isatty()

    def progress(table: str, done: int, total: int) -> None:
        if show:
            typer.echo(f"\r{table}: {done:,} of {total:,} rows", err=True, nl=False)

    typer.echo(f"Copying {_safe(source)} to {_safe(target)}")
    try:
        report = asyncio.run(copy_database(source, target, batch=batch, progress=progress))
    except CopyError as exc:
        typer.echo(f"trendbot: {exc}", err=True)
        raise typer.Exit(1) from None
    if show:
        typer.echo("", err=True)
    typer.echo(_counts(report))
    if not report.ok:
        typer.echo("trendbot: the counts differ; run the copy again", err=True)
        raise typer.Exit(1)


def _counts(report: CopyReport) -> str:
    width = max(len(table.table) for table in report.tables)
    lines = [f"{'table':<{width}}  {'source':>10}  {'target':>10}  {'copied now':>10}"]
    for table in report.tables:
        mark = "ok" if table.ok else "MISMATCH"
        lines.append(
            f"{table.table:<{width}}  {table.source:>10,}  {table.target:>10,}  "
            f"{table.copied:>10,}  {mark}"
        )
    verdict = "all counts match" if report.ok else "counts differ"
    lines.append(f"{report.copied:,} rows copied; {verdict}")
    return "\n".join(lines)


def _safe(url: str) -> str:
    """The URL with its password hidden, for printing."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: print nothing of it
        return "(the given URL)"
