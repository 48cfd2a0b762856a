"""What the operator reads when `trendbot` can't start: one line that says what to do, a
non-zero exit, no traceback and never the token. Each case runs the real CLI as a process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.app import build_application
from config.settings import load_settings
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.support.bot import TOKEN
from tests.support.feeds import feeds_file, rss
from tests.test_cli import trendbot
from trends.service import TrendService

ROOT = Path(__file__).resolve().parents[1]
NO_DNS = Path(__file__).resolve().parent / "fakes" / "no_dns"  # names do not resolve
SECRET_TOKEN = "987654321:AAH-secret-token_never-printed"


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(env: dict[str, str]) -> dict[str, str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "TRENDBOT_", "DATABASE_URL"))
    }
    clean["PYTHONPATH"] = f"{NO_DNS}{os.pathsep}{ROOT}"
    return clean | env


async def trendbot_async(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """The CLI as a process, while this event loop keeps serving the fake Bot API."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        *args,
        env=environment(env),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 120)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"trendbot {' '.join(args)} did not stop")
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def assert_one_line(returncode: int, stderr: str, *expected: str) -> None:
    assert returncode != 0
    assert stderr.count("\n") == 1 and stderr.startswith("trendbot: "), stderr
    assert "Traceback" not in stderr and SECRET_TOKEN not in stderr
    assert SECRET_TOKEN.split(":")[1] not in stderr
    for words in expected:
        assert words in stderr, stderr


# -- the Bot API ---------------------------------------------------------------------


@pytest.mark.parametrize("command", [["run"], ["digest", "--send-now"]], ids=["run", "send-now"])
async def test_a_token_telegram_rejects_is_one_line_without_the_token(
    bot_api: FakeBotAPI, tmp_path: Path, command: list[str]
) -> None:
    bot_api.fail_next("getMe", 401, "Unauthorized", times=5)
    env = {
        "TELEGRAM_BOT_TOKEN": SECRET_TOKEN,
        "TELEGRAM_API_BASE_URL": bot_api.base_url.removesuffix("/bot"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    }
    code, _, err = await trendbot_async(*command, env=env, cwd=tmp_path)
    assert_one_line(code, err, "rejected TELEGRAM_BOT_TOKEN", "@BotFather")


async def test_run_with_a_database_it_cannot_open_is_one_line(
    bot_api: FakeBotAPI, tmp_path: Path
) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": SECRET_TOKEN,
        "TELEGRAM_API_BASE_URL": bot_api.base_url.removesuffix("/bot"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'bot.db'}",
    }
    code, _, err = await trendbot_async("run", env=env, cwd=tmp_path)
    assert_one_line(code, err, f"{tmp_path / 'missing'} does not exist")
    assert bot_api.calls_of("getMe")  # the token was fine; the database was not


async def test_an_unreachable_bot_api_is_one_line_that_names_it(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    env = {
        "TELEGRAM_BOT_TOKEN": SECRET_TOKEN,
        "TELEGRAM_API_BASE_URL": base,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    }
    code, _, err = await trendbot_async("run", env=env, cwd=tmp_path)
    assert_one_line(code, err, f"can't reach the Telegram Bot API at {base}", "network")


async def test_the_bot_api_base_url_in_ptbs_own_form_ending_in_bot_works(
    bot_api: FakeBotAPI, database_url: str
) -> None:
    # bot_api.base_url is http://127.0.0.1:PORT/bot, the form PTB's base_url takes; the
    # fake answers 404 to any other path, so a doubled /bot/bot would get no reply.
    settings = load_settings(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=bot_api.base_url)
    assert settings.telegram_api_base_url == bot_api.base_url.removesuffix("/bot")
    service = await TrendService.open(database_url)
    try:
        application = build_application(settings, service, with_jobs=False)
        async with application:
            assert application.post_init is not None and application.updater is not None
            await application.post_init(application)
            await application.updater.start_polling(poll_interval=0.0, timeout=1)
            await application.start()
            try:
                bot_api.push_text(42, "/help")
                reply = await bot_api.wait_for_message(42)
            finally:
                await application.updater.stop()
                await application.stop()
    finally:
        await service.close()
    assert "/trend" in reply["text"]


# -- the database --------------------------------------------------------------------


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """`folder` that not even root may write in: chattr +i as root, chmod 555 otherwise."""
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
            pytest.skip("chattr +i is not supported here")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        return
    folder.chmod(0o555)
    try:
        yield
    finally:
        folder.chmod(0o755)


def a_database(path: Path) -> Path:
    """A real trendbot database with a few hundred rows in it."""
    result = trendbot("feeds", "list", env={"DATABASE_URL": f"sqlite+aiosqlite:///{path}"})
    assert result.returncode == 0, result.stderr
    return path


def truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:20_000])


def damaged(path: Path) -> None:
    """Every page after the first overwritten: the header opens, the tables don't."""
    content = bytearray(path.read_bytes())
    page = int.from_bytes(content[16:18], "big")
    content[page:] = bytes((n * 37) % 251 for n in range(len(content) - page))
    path.write_bytes(bytes(content))


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (lambda path: path.write_bytes(os.urandom(8192)), "is not a SQLite database"),
        (truncated, "damaged"),
        (damaged, "damaged"),
    ],
    ids=["garbage", "truncated", "damaged"],
)
def test_a_corrupt_sqlite_file_is_one_line(spoil: object, expected: str, tmp_path: Path) -> None:
    path = a_database(tmp_path / "bot.db")
    spoil(path)  # type: ignore[operator]
    result = trendbot("feeds", "list", env={"DATABASE_URL": f"sqlite+aiosqlite:///{path}"})
    assert_one_line(result.returncode, result.stderr, expected, "backup")


def test_a_sqlite_path_in_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'bot.db'}"
    result = trendbot("feeds", "list", env={"DATABASE_URL": url})
    assert_one_line(result.returncode, result.stderr, f"{tmp_path / 'no' / 'such'} does not exist")
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
def test_a_read_only_database_folder_is_one_line(existing: bool, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    if existing:
        a_database(folder / "bot.db")
    with read_only(folder):
        url = f"sqlite+aiosqlite:///{folder / 'bot.db'}"
        result = trendbot("feeds", "list", env={"DATABASE_URL": url})
    assert_one_line(result.returncode, result.stderr, "can't write the database", "writable")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"postgresql+asyncpg://trendbot:pw@127.0.0.1:{closed_port()}/db", "can't connect"),
        ("postgresql+asyncpg://trendbot:pw@db.example.invalid/db", "Name or service not known"),
        ("postgresql+asyncpg://trendbot:pw@host:port/db", "DATABASE_URL="),
        ("sqlite+aiosqlite://[::1/bot.db", "DATABASE_URL="),
    ],
    ids=["closed-port", "unresolvable", "garbage-port", "garbage-host"],
)
async def test_an_unusable_database_url_is_one_line(
    url: str, expected: str, tmp_path: Path
) -> None:
    code, _, err = await trendbot_async("feeds", "list", env={"DATABASE_URL": url}, cwd=tmp_path)
    assert_one_line(code, err, expected)
    assert ":pw@" not in err  # the password stays out of logs


@pytest.mark.postgres
def test_a_postgres_database_that_does_not_exist_is_one_line(postgres_url: str) -> None:
    url = make_url(postgres_url).set(database="no_such_db").render_as_string(hide_password=False)
    result = trendbot("feeds", "list", env={"DATABASE_URL": url})
    assert_one_line(result.returncode, result.stderr, '"no_such_db" does not exist', "DATABASE_URL")


# -- files and settings --------------------------------------------------------------


def test_feeds_import_of_a_missing_file_is_one_line(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"}
    result = trendbot("feeds", "import", str(tmp_path / "subscriptions.opml"), env=env)
    assert_one_line(result.returncode, result.stderr, "subscriptions.opml: no such file")


def test_analyze_with_a_missing_themes_file_is_one_line(tmp_path: Path) -> None:
    result = trendbot("analyze", "--themes", str(tmp_path / "themes.yaml"), stdin="{}\n")
    assert_one_line(result.returncode, result.stderr, "themes.yaml", "No such file")
    assert not result.stdout


@pytest.mark.parametrize("weight", [".nan", ".inf", "1.0e+308", "1e308", "NaN"])
def test_a_theme_weight_that_is_not_a_usable_number_is_refused(weight: str, tmp_path: Path) -> None:
    shipped = (ROOT / "config" / "themes.yaml").read_text(encoding="utf-8")
    themes = tmp_path / "themes.yaml"
    themes.write_text(shipped.replace("open-weight: 3", f"open-weight: {weight}", 1))
    assert themes.read_text() != shipped
    result = trendbot("analyze", "--themes", str(themes), stdin="{}\n")
    assert_one_line(result.returncode, result.stderr, "'open-weight'", "from -100 to 100")


def test_a_dotenv_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"TRENDBOT_TIMEZONE=Europe/Z\xfcrich\n")
    result = trendbot("feeds", "list", cwd=tmp_path)
    assert_one_line(result.returncode, result.stderr, ".env", "UTF-8")


def test_a_missing_llm_model_is_reported_as_not_set(tmp_path: Path) -> None:
    result = trendbot(
        "feeds", "list", env={"TRENDBOT_LLM_URL": "http://127.0.0.1:9/v1"}, cwd=tmp_path
    )
    assert_one_line(result.returncode, result.stderr, "TRENDBOT_LLM_MODEL is not set")
    assert "None" not in result.stderr


def test_a_bad_token_is_not_echoed(tmp_path: Path) -> None:
    result = trendbot("run", env={"TELEGRAM_BOT_TOKEN": "no-colon-secret"}, cwd=tmp_path)
    assert_one_line(result.returncode, result.stderr, "TELEGRAM_BOT_TOKEN")
    assert "no-colon-secret" not in result.stderr


# -- polling -------------------------------------------------------------------------


def test_poll_once_exits_non_zero_when_no_feed_could_be_fetched(tmp_path: Path) -> None:
    port = closed_port()
    feeds = feeds_file(
        tmp_path / "feeds.yaml", [f"http://127.0.0.1:{port}/{n}.xml" for n in range(3)]
    )
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "TRENDBOT_FEEDS": str(feeds),
        "TRENDBOT_ALLOW_PRIVATE_FEEDS": "true",
    }
    result = trendbot("poll", "--once", "--json", env=env, cwd=tmp_path)
    assert_one_line(result.returncode, result.stderr, "none of the 3 feeds", "network")
    report = json.loads(result.stdout)  # the JSON is still printed, whole
    assert report["fetched"] == 0 and len(report["failed"]) == 3


async def test_poll_once_exits_zero_when_some_feeds_answer(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    good = feed_server.add_body("/lab.xml", rss("lab"))
    urls = [good, f"http://127.0.0.1:{closed_port()}/gone.xml"]
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "TRENDBOT_FEEDS": str(feeds_file(tmp_path / "feeds.yaml", urls)),
        "TRENDBOT_ALLOW_PRIVATE_FEEDS": "true",
    }
    code, out, err = await trendbot_async("poll", "--once", "--json", env=env, cwd=tmp_path)
    assert code == 0, err
    report = json.loads(out)
    assert report["fetched"] == 1 and len(report["failed"]) == 1
