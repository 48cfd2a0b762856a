"""The same-story rule on reports of our own writing: outlets, languages, look-alikes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from trends.ingest.stories import features, same_story
from trends.ingest.story_index import (
    StoryIndex,
    find_duplicates,
    member,
    member_keys,
    member_lookups,
)
from trends.ingest.story_words import CONCEPTS

DAY = datetime(2026, 3, 17, 9, 0, tzinfo=UTC)

NVIDIA_EN = (
    "Nvidia unveils Rubin Ultra GPU with 288GB of memory",
    "Nvidia on Tuesday unveiled Rubin Ultra, its next data-centre GPU, with 288GB of HBM4 "
    "memory, shipping in 2027. Jensen Huang showed the chip at GTC in San Jose.",
)
NVIDIA_EN_OTHER = (
    "Nvidia's Rubin Ultra packs 288GB of HBM4",
    "At GTC, Nvidia CEO Jensen Huang revealed Rubin Ultra, a GPU with 288GB of HBM4 memory "
    "that ships in 2027, and a roadmap for the racks built around it.",
)
NVIDIA_ZH = (
    "英伟达发布Rubin Ultra GPU，显存达288GB",
    "黄仁勋在GTC大会上发布了下一代数据中心GPU Rubin Ultra，配备288GB HBM4显存，"
    "预计2027年出货。英伟达称其推理性能大幅提升。",
)
SYSTEM_CARD_1 = (
    "Lumen-R2 system card",
    "This system card describes the safety evaluations we ran on Lumen-R2 before release.",
)
SYSTEM_CARD_2 = (
    "Lumen-R3 system card",
    "This system card describes the safety evaluations we ran on Lumen-R3 before release.",
)


def test_one_story_from_two_outlets_is_linked() -> None:
    items = [
        (*NVIDIA_EN, "https://techpress.example/2026/03/17/nvidia-rubin-ultra"),
        (*NVIDIA_EN_OTHER, "https://gadgetwire.example/nvidia-rubin-ultra-hbm4"),
    ]
    assert find_duplicates(items, [DAY, DAY + timedelta(hours=3)]) == [None, 0]


def test_an_english_and_a_chinese_report_meet_through_the_alias_table() -> None:
    # 英伟达 is Nvidia and 黄仁勋 Jensen Huang: the table gives the two reports their names.
    zh = features(*NVIDIA_ZH, DAY + timedelta(hours=5))
    assert {"nvidia", "huang", "rubin", "ultra"} <= zh.entities
    assert same_story(features(*NVIDIA_EN, DAY), zh)
    items = [
        (*NVIDIA_EN, "https://techpress.example/2026/03/17/nvidia-rubin-ultra"),
        (*NVIDIA_ZH, "https://kejibao.example/p/88123"),
    ]
    assert find_duplicates(items, [DAY, DAY + timedelta(hours=5)]) == [None, 0]


def test_reports_a_week_apart_are_other_stories() -> None:
    items = [
        (*NVIDIA_EN, "https://techpress.example/2026/03/17/nvidia-rubin-ultra"),
        (*NVIDIA_EN_OTHER, "https://gadgetwire.example/nvidia-rubin-ultra-hbm4"),
    ]
    assert find_duplicates(items, [DAY, DAY + timedelta(days=8)]) == [None, None]


def test_one_outlets_look_alikes_stay_apart() -> None:
    # Successive system cards and two "Team update" posts read alike but are not one story.
    items = [
        (*SYSTEM_CARD_1, "https://lumen.example/r2-system-card"),
        (*SYSTEM_CARD_2, "https://lumen.example/r3-system-card"),
        ("Team update", "", "https://lumen.example/blog/team-update-1"),
        ("Team update", "", "https://lumen.example/blog/team-update-2"),
    ]
    assert find_duplicates(items, [DAY] * 4) == [None] * 4


def test_same_company_same_week_other_event_is_apart() -> None:
    launch = (*NVIDIA_EN, "https://techpress.example/2026/03/17/nvidia-rubin-ultra")
    earnings = (
        "Nvidia beats revenue forecasts as data-centre sales climb",
        "Nvidia reported quarterly revenue of $44 billion on Wednesday, above analyst "
        "estimates, as cloud companies kept buying its chips.",
        "https://gadgetwire.example/nvidia-earnings-q1",
    )
    assert find_duplicates([launch, earnings], [DAY, DAY + timedelta(days=1)]) == [None, None]


def test_duplicate_of_names_the_first_member_of_the_story() -> None:
    items = [
        (*NVIDIA_EN, "https://techpress.example/2026/03/17/nvidia-rubin-ultra"),
        (*NVIDIA_EN_OTHER, "https://gadgetwire.example/nvidia-rubin-ultra-hbm4"),
        (*NVIDIA_ZH, "https://kejibao.example/p/88123"),
    ]
    assert find_duplicates(items, [DAY, DAY, DAY]) == [None, 0, 0]


def test_the_same_page_with_tracking_parameters_is_one_copy() -> None:
    items = [
        (*NVIDIA_EN, "https://techpress.example/rubin?utm_source=rss&utm_medium=feed"),
        (*NVIDIA_EN, "https://techpress.example/rubin?fbclid=abc&ref=homepage"),
    ]
    assert find_duplicates(items, [DAY, DAY]) == [None, 0]


def test_a_weekly_roundup_joins_none_of_the_stories_it_lists() -> None:
    # A digest names the launch and two other stories: it is coverage of none of them.
    roundup = (
        "Week in Review: Nvidia's Rubin Ultra, a robotaxi recall and a new phone",
        "Welcome back to Week in Review. Nvidia unveiled Rubin Ultra with 288GB of HBM4 "
        "memory at GTC; Jensen Huang also teased the racks built around it.",
        "https://gadgetwire.example/week-in-review-0321",
    )
    launch = (*NVIDIA_EN, "https://techpress.example/2026/03/17/nvidia-rubin-ultra")
    assert find_duplicates([launch, roundup], [DAY, DAY + timedelta(days=1)]) == [None, None]


def test_a_count_before_a_capitalised_word_is_no_amount_of_money() -> None:
    # "11 Best Speakers" is a list, not 11 billion; "$78M" and "7800万美元" are one amount.
    assert features("11 Best Computer Speakers", "", DAY).numbers == frozenset()
    english = features("Speak raises $78M", "", DAY).numbers
    assert english == features("Speak融资7800万美元", "", DAY).numbers == {"7.8e+07"}


def test_a_funding_round_is_one_concept_in_english_and_chinese() -> None:
    en = features(
        "Orbitly raises $40M to map satellites",
        "The startup Orbitly raised $40M in a round led by Acme Ventures.",
        DAY,
    )
    zh = features(
        "Orbitly完成4000万美元融资",
        "卫星初创公司Orbitly宣布完成4000万美元融资，由Acme Ventures领投。",
        DAY + timedelta(hours=2),
    )
    said = {CONCEPTS[n][0] for n in en.concepts & zh.concepts}
    assert {"funding", "startup", "space"} <= said
    assert en.numbers & zh.numbers  # $40M and 4000万美元


def test_a_dated_template_title_is_read_from_its_lead() -> None:
    a = features("AI探索站 12月10日", "Orbitly 发布了卫星地图模型，可以实时追踪近地轨道。", DAY)
    b = features("AI探索站 12月10日", "某学生做了一个记账应用，上线一周用户过万。", DAY)
    assert not a.words & b.words  # the column's name and the date say nothing


def test_guides_and_explainers_join_no_story() -> None:
    for title in (
        "What is Rubin Ultra? Everything you need to know",
        "The 12 best GPUs for gamers",
        "2026年十大芯片盘点",
    ):
        assert features(title, "Nvidia Rubin Ultra, 288GB of HBM4.", DAY).roundup, title


def test_a_title_case_headline_names_only_what_its_lead_capitalises() -> None:
    f = features(
        "Orbitly Is Abandoning Its Biggest Satellite Plans",
        "Orbitly said on Monday it would stop building its own satellites.",
        DAY,
    )
    assert "orbitly" in f.entities
    assert not {"abandoning", "biggest", "satellite", "plans"} & f.entities


def test_a_model_version_before_a_comma_or_full_stop_is_still_that_model() -> None:
    # "Lumen 2.0, the lab's newest model" and "Lumen 2, agents and more" name one model: a
    # reader sees the two reports as one story only if the matcher reads the version.
    with_comma = features("Lumen 2.0, the lab's newest model, writes code", "", DAY)
    with_stop = features("Halcyon Labs reveals Lumen 2. Agents follow", "", DAY)
    assert with_comma.models == with_stop.models == {"lumen 2"}
    # A figure with a thousands separator is still no version: "Cuts 9,000" names no model.
    assert features("Halcyon Cuts 9,000 jobs", "", DAY).models == frozenset()


def test_a_report_is_found_from_every_day_of_the_window_and_not_beyond() -> None:
    # Ingest and analyze index a report under its lookups' own keys, the benchmarks under
    # member_keys: either way a report 4 days later finds it and one 5 days later does not.
    def report(ident: int, published: datetime):
        return member(
            ident,
            None,
            title=NVIDIA_EN[0],
            summary=NVIDIA_EN[1],
            canonical_link=f"https://outlet{ident}.example/rubin",
            published=published,
            signature=None,
        )

    stored = report(1, DAY)
    assert sorted(member_lookups(stored).own()) == sorted(member_keys(stored))
    index = StoryIndex()
    index.add(stored, member_lookups(stored).own())
    for days, found in [(-4, 1), (0, 1), (4, 1), (5, 0), (-5, 0)]:
        probe = member_lookups(report(2, DAY + timedelta(days=days)))
        assert index.candidate_count(probe) == found, days
