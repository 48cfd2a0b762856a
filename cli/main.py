"""The `trendbot` command: run the bot, try it offline, poll, preview digests, analyze posts.

Every command calls the same `TrendService` the bot and the jobs use.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import tempfile
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from bot.render import render_digest, render_trend_page, to_terminal
from cli.db import db_app
from cli.errors import EXIT_CODE, check_bot, explain
from cli.feeds import feeds_app, poll_table, poll_with_progress
from cli.worker import worker
from config.settings import Settings, load_settings
from jobs.runtime import open_service
from trends.analyze import analyze_lines, output_line
from trends.delivery.broadcast import BroadcastResult
from trends.errors import ConfigError
from trends.ingest.parse import parse
from trends.ingest.report import PollReport
from trends.service import TrendService
from trends.themes import load_themes

__all__ = ["app", "main"]

app = typer.Typer(
    help="trendbot: the AI press, read for you and filed under ten trends.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(feeds_app, name="feeds")
app.add_typer(db_app, name="db")
app.command()(worker)
T = TypeVar("T")

SAMPLE_FEEDS = Path(str(files("config") / "samples" / "feeds.yaml"))


def main() -> None:
    try:
        app()
    except Exception as exc:
        if (line := explain(exc)) is None:
            raise  # a bug: its traceback is what a developer needs
        typer.echo(f"trendbot: {line}", err=True)
        raise SystemExit(EXIT_CODE) from None


def _settings() -> Settings:
    return load_settings()


def _run(factory: Callable[[], Coroutine[object, object, T]]) -> T:
    return asyncio.run(factory())


@app.command()
def run() -> None:
    """Run the bot and its scheduler (needs TELEGRAM_BOT_TOKEN)."""
    settings = _settings()
    if not settings.telegram_bot_token:
        typer.echo(
            "trendbot: TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather, "
            "or try `trendbot demo`, which needs none",
            err=True,
        )
        raise typer.Exit(2)
    from bot.app import build_application  # imported late: the other commands need no PTB app
    from bot.serve import run_bot

    _run(lambda: _preflight(settings))
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Polling by default; webhook mode and the /healthz server per the settings (bot/serve.py).
    run_bot(build_application(settings), settings)


async def _preflight(settings: Settings) -> None:
    """Ask Telegram who the bot is and open the database, before the bot starts.

    A rejected token, an unreachable Bot API or a database that can't be opened then ends
    `run` in one line (cli/errors.py); inside PTB's start-up the same failure is
    logged with a traceback, and PTB's message for a rejected token quotes the token.
    """
    from bot.app import build_application

    await check_bot(build_application(settings, with_jobs=False).bot)
    service = await open_service(settings)
    await service.close()


@app.command()
def demo(
    database: Annotated[
        Path | None, typer.Option(help="SQLite file to use (default: a fresh temporary one)")
    ] = None,
) -> None:
    """Offline tour: ingest the bundled sample feeds, print the weekly digest and /trend 6."""
    with tempfile.TemporaryDirectory(prefix="trendbot-demo-") as scratch:
        path = database or Path(scratch) / "demo.db"
        _run(lambda: _demo(f"sqlite+aiosqlite:///{path}"))


def samples_as_of() -> datetime:
    """The demo's clock: just after the newest sample post, whatever today's date is.

    The samples are fixed in time, so the demo polls and reads its digest as of their
    newest post; on the real clock they would age out of "this week" within days.
    """
    newest = [
        entry.published
        for path in sorted(SAMPLE_FEEDS.parent.glob("*.xml"))
        for entry in parse(path.read_bytes(), url=path.as_uri()).entries
        if entry.published is not None
    ]
    return max(newest) + timedelta(minutes=1)


async def _demo(database_url: str) -> None:
    as_of = samples_as_of()
    service = await TrendService.open(database_url, feeds_path=SAMPLE_FEEDS)
    try:
        # One feed at a time: the same outlet's copy of a shared story leads on every run.
        report = await service.feeds.poll(only_due=False, now=as_of, concurrency=1)
        typer.echo(_poll_summary(report))
        digest = await service.digests.build(until=as_of)
        typer.echo("\n" + _rule("Weekly digest, as a subscriber receives it"))
        parts = render_digest(digest, "en")
        for number, part in enumerate(parts, start=1):
            if len(parts) > 1:
                typer.echo(f"[message {number} of {len(parts)}]")
            typer.echo(to_terminal(part) + "\n")
        trend = service.themes.get(6)
        assert trend is not None
        page = await service.archive.trend_page(trend, limit=5)
        typer.echo("\n" + _rule("Reply to /trend 6"))
        typer.echo(to_terminal(render_trend_page(page, "en")))
    finally:
        await service.close()


@app.command()
def poll(
    once: Annotated[bool, typer.Option("--once", help="Poll every enabled feed now")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Poll the feeds now and print what happened."""
    if not once:
        typer.echo(
            "trendbot: use `trendbot poll --once` (the bot polls on its own schedule)", err=True
        )
        raise typer.Exit(2)
    settings = _settings()
    show_progress = not as_json and sys.stderr.isatty()  # a bar on a terminal, not on a pipe

    async def go() -> PollReport:
        service = await open_service(settings)
        try:
            return await poll_with_progress(service, show=show_progress)
        finally:
            await service.close()

    report = _run(go)
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        Console(width=120).print(poll_table(report))
    failures = [feed.error for feed in report.feeds if feed.status == "failed"]
    if failures and len(failures) == len(report.feeds):
        # Not one feed answered: more likely this machine's network than every feed at once.
        typer.echo(
            f"trendbot: none of the {len(failures)} feeds could be fetched (first error: "
            f"{' '.join(str(failures[0]).split())[:200]}): check the network (DNS, proxy, "
            "firewall) and try again",
            err=True,
        )
        raise typer.Exit(1)


@app.command()
def digest(
    preview: Annotated[bool, typer.Option("--preview", help="Print the digest due now")] = False,
    send_now: Annotated[
        bool,
        typer.Option(
            "--send-now",
            help="Send every active subscriber this period's digest now (needs the token)",
        ),
    ] = False,
    language: Annotated[str, typer.Option(help="en or zh")] = "en",
) -> None:
    """Print the digest that would go out now, or broadcast it with --send-now."""
    if language not in ("en", "zh"):
        typer.echo(f"trendbot: --language {language}: use en or zh", err=True)
        raise typer.Exit(2)
    if send_now:
        _send_now(_settings())
        return
    if not preview:
        typer.echo("trendbot: use `trendbot digest --preview` or `--send-now`", err=True)
        raise typer.Exit(2)
    settings = _settings()

    async def go() -> list[str]:
        service = await open_service(settings)
        try:
            return render_digest(await service.digests.build(), language)
        finally:
            await service.close()

    for part in _run(go):
        typer.echo(to_terminal(part))


def _send_now(settings: Settings) -> None:
    """Broadcast through the same ledger and pacing as the scheduler; print what happened."""
    if not settings.telegram_bot_token:
        typer.echo("trendbot: --send-now needs TELEGRAM_BOT_TOKEN", err=True)
        raise typer.Exit(2)
    result = _run(lambda: _broadcast_current(settings))
    if not result.key:
        typer.echo("No active subscribers: nothing to send.")
        return
    total = sum(result.counts.values())
    typer.echo(f"Digest {result.key}: {total} subscribers")
    typer.echo(
        f"Sent: {result.count('sent')}, failed: {result.count('failed')}, "
        f"deactivated: {result.count('deactivated')}, skipped: {result.count('skipped')} "
        "(already had it)"
    )
    typer.echo(f"Time taken: {result.seconds:.1f} s")


@app.command()
def analyze(
    themes: Annotated[
        Path | None, typer.Option(help="Themes file (default: the shipped one)")
    ] = None,
) -> None:
    """Read JSON lines of posts on stdin; write trends, scores, summary and duplicate_of."""
    try:
        loaded = load_themes(themes)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    # Lines end at "\n" only: str.splitlines() would also break at U+2028 or U+0085 inside a
    # string. Bytes, so that one line that is not UTF-8 spoils only itself.
    lines = sys.stdin.buffer.read().split(b"\n")
    if lines and not lines[-1]:
        lines.pop()  # the newline that ends the last line starts no line of its own
    for result in analyze_lines(lines, loaded):
        sys.stdout.write(output_line(result) + "\n")


_EVAL_DIR = Path("..") / "shared" / "eval"


@app.command()
def train(
    labels: Annotated[
        list[Path] | None,
        typer.Option(help="Labelled posts {link, guid, feed_file, themes} (repeatable)"),
    ] = None,
    feeds_dir: Annotated[
        Path, typer.Option(help="Folder of the feed files that `labels` name")
    ] = Path("..") / "shared" / "corpus" / "feeds",
    extra_labels: Annotated[
        list[Path] | None, typer.Option(help="More labelled posts: they train, unscored")
    ] = None,
    dev: Annotated[
        Path | None, typer.Option(help="Items {id, title, summary, link, feed_file}")
    ] = None,
    dev_labels: Annotated[Path | None, typer.Option(help="Labels {id, themes} of --dev")] = None,
    own: Annotated[
        Path | None, typer.Option(help="Our own examples {title, text, themes}; not scored")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Where to write the weights (default: the shipped file)")
    ] = None,
    with_feedback: Annotated[
        bool, typer.Option("--with-feedback", help="Learn readers' 'wrong trend' flags too")
    ] = False,
    folds: Annotated[int, typer.Option(help="Cross-validation folds, grouped by feed")] = 5,
) -> None:
    """Retrain the tagger from labelled posts; print held-out figures; write the weights."""
    from trends.ingest import labelled_posts
    from trends.ingest import train as training  # imported late: only this command trains
    from trends.ingest.tagger import WEIGHTS_FILE

    if extra_labels is None:
        # The shipped labels name files beside the corpus feeds: only with the default labels.
        shipped = Path(str(files("trends.ingest") / "data" / "outlet_labels.jsonl"))
        extra_labels = [shipped] if labels is None else []
    labels = labels if labels is not None else [_EVAL_DIR / "train-labels.jsonl"]
    dev = dev if dev is not None else _EVAL_DIR / "dev.jsonl"
    dev_labels = dev_labels if dev_labels is not None else dev.with_name("dev-labels.jsonl")
    own = (
        own
        if own is not None
        else Path(str(files("trends.ingest") / "data" / "own_examples.jsonl"))
    )
    examples = labelled_posts.load_all(labels, extra_labels, feeds_dir, dev, dev_labels)
    if not examples:
        typer.echo("trendbot: no labelled posts found (see --labels and --dev)", err=True)
        raise typer.Exit(2)
    examples += labelled_posts.load_own(own)
    if with_feedback:
        examples += _run(_feedback_examples)
    themes = load_themes()
    typer.echo(
        f"{len(examples)} posts ({sum(e.own for e in examples)} our own, "
        f"{sum(bool(e.negatives) for e in examples)} flagged by readers)"
    )
    learned, lexicon = training.cross_validate(examples, themes, folds=folds)
    for figures in (learned, lexicon):
        typer.echo("\n".join(figures.lines()))
    model = training.train_model(examples, themes)
    target = output or Path(str(files("trends.ingest") / WEIGHTS_FILE))
    model.save(target)
    typer.echo(f"weights written to {target}")


async def _feedback_examples() -> list:
    from trends.ingest import labelled_posts
    from trends.store.feedback import flagged_posts

    service = await open_service(_settings())
    try:
        async with service.db.new_session() as session:
            flagged = await flagged_posts(session)
    finally:
        await service.close()
    return [
        labelled_posts.Example(title, summary, frozenset(), "feedback", own=False, negatives=trends)
        for title, summary, trends in flagged
    ]


def _poll_summary(report: PollReport) -> str:
    lines = [
        f"Feeds fetched: {report.count('fetched')}, not modified: {report.count('not_modified')}, "
        f"failed: {report.count('failed')}",
        f"New posts: {report.new_posts}, duplicates: {report.duplicates}",
    ]
    lines += [
        f"  failed: {feed.name} ({feed.url}): {feed.error}"
        for feed in report.feeds
        if feed.status == "failed"
    ]
    return "\n".join(lines)


def _rule(title: str) -> str:
    return f"── {title} " + "─" * max(0, 60 - len(title))


async def _broadcast_current(settings: Settings) -> BroadcastResult:
    """Each active subscriber's digest of the current period, through the scheduler's path.

    The ledger key is the one the scheduler uses for that period, so a re-run, or the
    scheduler's own tick later, skips every chat that already has it.
    """
    # Imported here: the other commands need no Telegram application (PTB loads slowly).
    from bot.app import build_application
    from bot.broadcast import broadcast

    service = await open_service(settings)
    try:
        application = build_application(settings, service, with_jobs=False)
        await check_bot(application.bot)  # a rejected token: one line, not a traceback
        async with application:
            due = await service.digests.current(include_settled=True)
            return await broadcast(application.bot, service, settings, due, on_wait=_waiting)
    finally:
        await service.close()


def _waiting(holder: str) -> None:
    typer.echo(f"Another sender ({holder}) holds the sender lease: waiting for it", err=True)


# Last, so that every function above is defined when `python -m cli.main` runs a command.
if __name__ == "__main__":
    main()
