"""`trendbot feeds list|add|remove|import|export`, and the operator's view of a poll.

Like the bot's admin commands, each command calls `TrendService`; the CLI is run by the
operator, so TRENDBOT_ALLOW_PRIVATE_FEEDS applies here just as in Telegram.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from config.settings import load_settings
from jobs.runtime import open_service
from trends.errors import TrendbotError
from trends.ingest.report import FeedReport, PollReport
from trends.service import TrendService

__all__ = ["feeds_app", "poll_table", "poll_with_progress"]

T = TypeVar("T")

feeds_app = typer.Typer(help="Manage the feeds: list, add, remove, import and export OPML.")


def _with_service(action: Callable[[TrendService], Awaitable[T]]) -> T:
    settings = load_settings()

    async def go() -> T:
        service = await open_service(settings)
        try:
            return await action(service)
        finally:
            await service.close()

    return asyncio.run(go())


def _allow_private() -> bool:
    return load_settings().allow_private_feeds


@feeds_app.command("list")
def list_feeds() -> None:
    """Each feed with its health: last success, last error, failures, next check, posts."""
    health = _with_service(lambda service: service.feeds.health())
    table = Table("Id", "Feed", "Last success", "Failures", "Last error", "Next check", "7 days")
    for feed in health:
        table.add_row(
            str(feed.id),
            f"{feed.name}\n{feed.url}"
            + ("" if feed.enabled else f"\ndisabled: {feed.disabled_reason}"),
            _when(feed.last_success_at),
            str(feed.consecutive_failures),
            feed.last_error or "",
            (_when(feed.next_check_at) if feed.next_check_at else "now") if feed.enabled else "—",
            str(feed.posts_7d),
        )
    Console(width=160).print(table)


@feeds_app.command("add")
def add_feed(
    url: str, name: Annotated[str | None, typer.Option(help="Name shown in digests")] = None
) -> None:
    """Fetch URL once and add it, or say why it can't be used."""
    allow = _allow_private()
    try:
        added = _with_service(lambda s: s.feeds.add(url, allow_private=allow, name=name))
    except TrendbotError as exc:
        typer.echo(f"trendbot: can't add {url}: {exc}", err=True)
        raise typer.Exit(1) from None
    if added.already_listed:
        typer.echo(f"Already listed as feed {added.id}, {added.title}: {added.url}")
        return
    typer.echo(f"Added {added.title} ({added.items} items) as feed {added.id}: {added.url}")


@feeds_app.command("remove")
def remove_feed(
    feed: Annotated[str, typer.Argument(help="The URL, or the id in `list`")],
) -> None:
    """Stop polling a feed; its posts stay in the archive."""
    removed = _with_service(lambda service: service.feeds.remove(feed))
    if removed is None:
        typer.echo(f"trendbot: no feed {feed!r}; `trendbot feeds list` shows them", err=True)
        raise typer.Exit(1)
    if removed.already:
        typer.echo(f"trendbot: {removed.url} is already gone: it was removed before", err=True)
        raise typer.Exit(1)
    typer.echo(f"Removed {removed.url}")


@feeds_app.command("import")
def import_feeds(path: Annotated[Path, typer.Argument(help="An OPML file")]) -> None:
    """Add every feed an OPML file lists (unsafe and known ones are skipped, with reasons)."""
    content, allow = path.read_bytes(), _allow_private()
    try:
        report = _with_service(lambda s: s.feeds.import_opml(content, allow_private=allow))
    except TrendbotError as exc:
        typer.echo(f"trendbot: can't import {path}: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Imported {len(report.added)} feeds, skipped {len(report.skipped)}")
    for url, reason in report.skipped:
        typer.echo(f"  skipped {url}: {reason}")


@feeds_app.command("export")
def export_feeds(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File (default: stdout)")
    ] = None,
) -> None:
    """Write the polled feeds as OPML."""
    document = _with_service(lambda service: service.feeds.export_opml())
    if output is None:
        sys.stdout.write(document.decode("utf-8"))
    else:
        output.write_bytes(document)


async def poll_with_progress(service: TrendService, *, show: bool) -> PollReport:
    """Poll every enabled feed; on a terminal, with a progress bar on stderr."""
    if not show:
        return await service.feeds.poll(only_due=False)
    columns = (TextColumn("Polling"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("poll", total=None)

        def started(count: int) -> None:
            progress.update(task, total=count)

        def done(report: FeedReport) -> None:
            progress.advance(task)

        return await service.feeds.poll(only_due=False, on_start=started, progress=done)


def poll_table(report: PollReport) -> Table:
    """The end-of-poll table: fetched, not modified, failed (with reasons), posts."""
    table = Table("", "Count", title="Poll", show_header=False)
    table.add_row("Fetched", str(report.count("fetched")))
    table.add_row("Not modified", str(report.count("not_modified")))
    table.add_row("Failed", str(report.count("failed")))
    table.add_row("New posts", str(report.new_posts))
    table.add_row("Duplicates", str(report.duplicates))
    for feed in report.feeds:
        if feed.status == "failed":
            table.add_row(f"  ✗ {feed.name}", f"{feed.error} ({feed.url})")
    return table


def _when(moment: object) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "never"  # type: ignore[attr-defined]
