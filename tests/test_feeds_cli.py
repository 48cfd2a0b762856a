"""`trendbot feeds …` and `trendbot poll --once`, run as a user would, checked through the service."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.fakes.feed_server import FeedServer
from tests.support.feeds import feeds_file, rss
from trends.opml import read_opml
from trends.service import TrendService
from trends.services.feeds import FeedHealth


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer().in_thread() as feeds:
        yield feeds


@pytest.fixture
def env(tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> str:
    database_url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    good = server.add_body("/good.xml", rss("good", items=3))
    broken = server.add_body("/broken.xml", b"down", status=500)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TRENDBOT_FEEDS", str(feeds_file(tmp_path / "feeds.yaml", [good, broken])))
    monkeypatch.setenv("TRENDBOT_ALLOW_PRIVATE_FEEDS", "1")
    return database_url


def health(database_url: str) -> list[FeedHealth]:
    async def go() -> list[FeedHealth]:
        service = await TrendService.open(database_url)
        try:
            return await service.feeds.health()
        finally:
            await service.close()

    return asyncio.run(go())


def test_poll_once_json_keeps_its_shape(env: str, server: FeedServer) -> None:
    result = CliRunner().invoke(app, ["poll", "--once", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "fetched": 1,
        "not_modified": 0,
        "failed": [{"url": server.url("/broken.xml"), "error": "HTTP 500 Internal Server Error"}],
        "new_posts": 3,
        "duplicates": 0,
    }
    assert [feed.consecutive_failures for feed in health(env)] == [0, 1]


def test_poll_once_ends_with_a_table_and_no_progress_bar_on_a_pipe(env: str) -> None:
    CliRunner().invoke(app, ["poll", "--once"])
    result = CliRunner().invoke(app, ["poll", "--once"])
    assert result.exit_code == 0, result.output
    for row in ("Fetched", "Not modified", "Failed", "New posts", "Duplicates"):
        assert row in result.stdout
    assert "HTTP 500 Internal Server Error" in result.stdout
    assert "Polling" not in result.output  # the progress bar is for terminals only


def test_feeds_add_list_remove_export_import(env: str, server: FeedServer, tmp_path: Path) -> None:
    runner = CliRunner()
    extra = server.add_body("/extra.xml", rss("extra", items=5))
    added = runner.invoke(app, ["feeds", "add", extra])
    assert added.exit_code == 0 and "Added extra (5 items)" in added.stdout
    again = runner.invoke(app, ["feeds", "add", extra])
    assert again.exit_code == 0 and "Already listed as feed" in again.stdout
    refused = runner.invoke(app, ["feeds", "add", "file:///etc/passwd"])
    assert refused.exit_code == 1 and "only http and https" in refused.output

    listed = runner.invoke(app, ["feeds", "list"])
    assert listed.exit_code == 0 and "extra" in listed.stdout and "Feed 1" in listed.stdout
    assert [feed.url for feed in health(env)][-1] == extra

    exported = tmp_path / "out.opml"
    assert runner.invoke(app, ["feeds", "export", "-o", str(exported)]).exit_code == 0
    assert len(read_opml(exported.read_bytes())) == 3

    removed = runner.invoke(app, ["feeds", "remove", extra])
    assert removed.exit_code == 0 and extra not in [feed.url for feed in health(env)]
    twice = runner.invoke(app, ["feeds", "remove", extra])
    assert twice.exit_code == 1 and "already gone" in twice.output

    imported = runner.invoke(app, ["feeds", "import", str(exported)])
    assert imported.exit_code == 0 and "Imported 1 feeds, skipped 2" in imported.stdout
    assert extra in [feed.url for feed in health(env)]
