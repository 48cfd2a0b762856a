"""The feeds file: every wrong value is refused with one line naming the feed and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from trends.errors import ConfigError
from trends.feedlist import load_feed_specs


def _feeds(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(f"feeds:\n  - url: https://example.com/a.xml\n    name: A\n{extra}", "utf-8")
    return path


@pytest.mark.parametrize(
    ("extra", "names"),
    [
        ("    poll_minutes: abc\n", "poll_minutes"),
        ("    poll_minutes: 99999999999999999999\n", "poll_minutes"),
        ("    poll_minutes: -5\n", "poll_minutes"),
        ("    poll_minutes: 0\n", "poll_minutes"),
        ('    enabled: "no"\n', "enabled"),
        ("    preferred: yes please\n", "preferred"),
        ("    language: [en, zh]\n", "language"),
        ('  - url: "http://[::1"\n    name: B\n', "url"),
        ("  - url: http://example.com:99999/\n    name: C\n", "url"),
    ],
)
def test_a_wrong_value_is_refused_in_one_line(tmp_path: Path, extra: str, names: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_feed_specs(_feeds(tmp_path, extra))
    message = str(refused.value)
    assert "\n" not in message and names in message and "feed #" in message


def test_a_feeds_file_that_is_not_utf8_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_bytes(b"feeds:\n  - url: https://example.com/\n    name: caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_feed_specs(path)


def test_good_values_are_read_as_written(tmp_path: Path) -> None:
    extra = (
        "    language: zh\n    poll_minutes: 30\n    enabled: false\n    ai_source: true\n"
        "    preferred: true\n"
    )
    [spec] = load_feed_specs(_feeds(tmp_path, extra))
    assert (spec.language, spec.poll_minutes, spec.enabled, spec.ai_source, spec.preferred) == (
        "zh",
        30,
        False,
        True,
        True,
    )


def test_a_feed_is_not_preferred_unless_the_file_says_so(tmp_path: Path) -> None:
    [spec] = load_feed_specs(_feeds(tmp_path, ""))
    assert spec.preferred is False
