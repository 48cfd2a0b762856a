"""The `trendbot` command as an operator or an evaluation script runs it: a real process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.conftest import SHARED_DIR

DEV = SHARED_DIR / "eval" / "dev.jsonl"
DUPLICATES = SHARED_DIR / "eval" / "dev-duplicates.jsonl"


def trendbot(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "TRENDBOT_", "DATABASE_URL"))
    }
    # The checkout under test, not whichever copy of the package the venv has installed.
    environment["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=300,
    )


def test_demo_prints_a_trend_grouped_digest_and_the_trend_6_reply(tmp_path: Path) -> None:
    result = trendbot("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    digest, _, trend_reply = out.partition("Reply to /trend 6")
    assert "weekly digest" in digest
    assert "6. Outcome-based pricing" in digest and "1. Post-training" in digest
    assert "per resolved ticket" in trend_reply
    assert "https://lumen.example.com/" in trend_reply  # links are shown
    assert "<b>" not in out and "&amp;" not in out  # read as a user reads it, not as HTML
    assert not list(tmp_path.iterdir()), "the demo leaves no database behind"


def test_analyze_follows_its_contract_on_the_dev_set() -> None:
    lines = DEV.read_text(encoding="utf-8").splitlines()
    result = trendbot("analyze", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    inputs = [json.loads(line) for line in lines]
    assert [a["id"] for a in answers] == [i["id"] for i in inputs]
    for answer in answers:
        assert set(answer) == {"id", "themes", "scores", "matched", "summary", "duplicate_of"}
        assert all(1 <= n <= 10 for n in answer["themes"])
        assert set(answer["scores"]) == {str(n) for n in answer["themes"]} == set(answer["matched"])
        assert all(isinstance(score, float) for score in answer["scores"].values())
        assert answer["summary"].strip()
    ids = [a["id"] for a in answers]
    for position, answer in enumerate(answers):
        if answer["duplicate_of"] is not None:
            assert answer["duplicate_of"] in ids[:position]  # an earlier line


def test_analyze_reports_the_trailing_slash_duplicate() -> None:
    pair = json.loads(DUPLICATES.read_text(encoding="utf-8").splitlines()[0])
    items = {json.loads(line)["id"]: line for line in DEV.read_text(encoding="utf-8").splitlines()}
    result = trendbot("analyze", stdin=items[pair["a"]] + "\n" + items[pair["b"]] + "\n")
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert answers[0]["duplicate_of"] is None
    assert answers[1]["duplicate_of"] == pair["a"]


def test_analyze_tags_outcome_pricing_with_the_terms_that_made_it() -> None:
    line = json.dumps(
        {
            "id": "p1",
            "title": "Support agent priced at $0.99 per resolved ticket",
            "summary": "The AI agent is paid per resolution: outcome-based pricing instead of seats.",
            "extra": "ignored",
        }
    )
    answer = json.loads(trendbot("analyze", stdin=line + "\n").stdout)
    assert 6 in answer["themes"]
    assert answer["matched"]["6"], "the tag carries the terms that made it"


def test_analyze_keeps_going_after_a_bad_line() -> None:
    good = json.dumps({"id": "ok", "title": "DeepSeek releases open weights", "summary": ""})
    result = trendbot("analyze", stdin="{not json\n" + good + "\n")
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == 2
    assert answers[0]["id"] is None and "error" in answers[0]
    assert answers[1]["id"] == "ok" and 3 in answers[1]["themes"]


GOOD_LINE = json.dumps({"id": "ok", "title": "DeepSeek releases open weights", "summary": ""})


@pytest.mark.parametrize(
    "bad",
    [
        '{"id": "s", "title": "Lone \\ud800 surrogate", "summary": ""}',
        "[" * 100_000 + "]" * 100_000,
        '{"id": "l", "title": "A broken link", "link": "http://[::1"}',
        '{"id": "p", "title": "A port too far", "link": "http://example.com:99999/"}',
        '{"id": NaN, "title": "NaN id"}',
        '{"id": 1e400, "title": "An id out of range"}',
        "",
        '{"id": "sep", "title": "Split\u2028here\u0085and here", "summary": ""}',
    ],
    ids=["surrogate", "deep", "bad-link", "bad-port", "nan", "1e400", "blank", "separators"],
)
def test_analyze_gives_one_valid_line_per_input_line_whatever_the_line(bad: str) -> None:
    result = trendbot("analyze", stdin=bad + "\n" + GOOD_LINE + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout.split("\n")
    assert out[-1] == "" and len(out) == 3, result.stdout
    answers = [json.loads(line, parse_constant=pytest.fail) for line in out[:2]]
    assert answers[1]["id"] == "ok" and 3 in answers[1]["themes"]
    assert set(answers[0]) >= {"id", "themes", "scores", "matched", "summary", "duplicate_of"}


def test_analyze_answers_a_line_that_is_not_utf8_and_the_next_one() -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRENDBOT_")}
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "analyze"],
        input=b'{"id": "x", "title": "caf\xe9"}\n' + GOOD_LINE.encode() + b"\n",
        capture_output=True,
        env=environment,
        timeout=300,
    )
    answers = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert "UTF-8" in answers[0]["error"] and answers[1]["id"] == "ok"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("TRENDBOT_DIGEST_HOUR", "25", "TRENDBOT_DIGEST_HOUR=25"),
        ("TRENDBOT_TIMEZONE", "Mars/Olympus", "time zone"),
        ("TRENDBOT_ADMINS", "alice", "TRENDBOT_ADMINS"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
        ("TRENDBOT_FEEDS", "/nonexistent/feeds.yaml", "TRENDBOT_FEEDS"),
        ("TRENDBOT_DIGEST_DAY", "funday", "TRENDBOT_DIGEST_DAY=funday is not valid"),
        ("TRENDBOT_DIGEST_DAY", "monkey", "TRENDBOT_DIGEST_DAY=monkey is not valid"),
    ],
    ids=["hour", "zone", "admins", "database", "feeds", "day", "day-prefix"],
)
def test_a_bad_setting_stops_start_up_with_one_line(
    variable: str, value: str, expected: str, tmp_path: Path
) -> None:
    result = trendbot("poll", "--once", env={variable: value}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr  # one line, no traceback
    assert expected in result.stderr


def test_run_without_a_token_says_what_to_do(tmp_path: Path) -> None:
    result = trendbot("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "demo" in result.stderr
    assert "Traceback" not in result.stderr


def test_poll_once_json_and_digest_preview_work_offline(tmp_path: Path) -> None:
    samples = Path(__file__).resolve().parents[1] / "config" / "samples" / "feeds.yaml"
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "TRENDBOT_FEEDS": str(samples),
    }
    polled = trendbot("poll", "--once", "--json", env=env, cwd=tmp_path)
    assert polled.returncode == 0, polled.stderr
    report = json.loads(polled.stdout)
    assert set(report) >= {"fetched", "not_modified", "failed", "new_posts", "duplicates"}
    assert report["fetched"] == 4 and report["failed"] == [] and report["new_posts"] > 30
    again = json.loads(trendbot("poll", "--once", "--json", env=env, cwd=tmp_path).stdout)
    assert (
        again["new_posts"] == 0
        and again["duplicates"] == report["new_posts"] + report["duplicates"]
    )
    preview = trendbot("digest", "--preview", env=env, cwd=tmp_path)
    assert preview.returncode == 0, preview.stderr
    assert "weekly digest" in preview.stdout


def _demo_as_of(monkeypatch: pytest.MonkeyPatch, today: datetime) -> str:
    """`trendbot demo` in this process with the service's clock set to `today`."""
    monkeypatch.setattr("trends.clock.utcnow", lambda: today)
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("months_later", [0, 2, 7])
def test_demo_reads_the_same_on_any_date(
    monkeypatch: pytest.MonkeyPatch, months_later: int
) -> None:
    today = datetime.now(UTC)
    first = _demo_as_of(monkeypatch, today)
    later = _demo_as_of(monkeypatch, today + timedelta(days=30 * months_later + 1))
    assert later == first
    digest, _, trend_reply = first.partition("Reply to /trend 6")
    assert "· 30 stories" in digest  # every sample story, not the few still "this week"
    for number in range(1, 11):
        assert re.search(rf"^{number}\. .*: \d+ this week", digest, re.MULTILINE), number
    assert "per resolved ticket" in trend_reply and "newest 1–5 of 6" in trend_reply


def test_each_demo_section_lists_its_count_or_says_how_to_see_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    digest = _demo_as_of(monkeypatch, datetime.now(UTC)).partition("Reply to /trend 6")[0]
    sections = re.split(r"^(?=\d+\. .*: \d+ this week)", digest, flags=re.MULTILINE)[1:]
    assert len(sections) == 10
    for section in sections:
        number, count = re.match(r"(\d+)\. .*?: (\d+) this week", section).groups()
        listed = section.count("Wrong trend? /wrong_")
        more = re.search(rf"… and (\d+) more: /trend {number}$", section, re.M)
        assert listed + (int(more.group(1)) if more else 0) == int(count), section
    assert "6. Outcome-based pricing: 6 this week" in digest
    assert "… and 3 more: /trend 6" in digest


def test_demo_shows_each_duplicated_sample_story_once_with_its_other_outlets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = _demo_as_of(monkeypatch, datetime.now(UTC))
    digest = out.partition("Reply to /trend 6")[0]
    blocks = digest.split("\n\n")

    def block_of(title: str) -> str:
        (block,) = [block for block in blocks if block.startswith(f"• {title}")]
        return block

    # Reworded by a second outlet; told in Chinese and English; the same page in two feeds,
    # once with utm_ parameters, once with a trailing slash.
    lumen = block_of("Lumen-R2: a reasoning model")
    assert "Also covered by The Frontier Brief (https://frontier-brief.example.net/" in lumen
    assert "Inside Lumen-R2" not in digest
    qingyun = block_of("Qingyun AI opens Qingyun-72B")
    assert "Also covered by 青云智能 (https://qingyun.example.org/news/qingyun-72b-open)" in qingyun
    assert "青云智能开源 Qingyun-72B" not in digest
    assert "Also covered by AI Weekly" in block_of("Lumen Resolve: our support agent")
    assert "Also covered by AI Weekly" in block_of("Northwind Robotics unveils")
    assert "utm_" not in out
    # A post about the same model that is another story stays apart.
    assert "Also covered" not in block_of("Red-teaming Lumen-R2")


def test_digest_preview_refuses_a_language_it_does_not_speak(tmp_path: Path) -> None:
    result = trendbot("digest", "--preview", "--language", "fr", cwd=tmp_path)
    assert result.returncode == 2
    assert "--language fr" in result.stderr and "en or zh" in result.stderr
    assert not result.stdout  # no English digest passed off as French
