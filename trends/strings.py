"""Small text rules used everywhere: how a long string is cut, what counts as Chinese, and
how Chinese text is folded for matching."""

from __future__ import annotations

import re

__all__ = ["CJK", "ELLIPSIS", "RUN_BREAK", "clip", "fold_zh", "has_cjk", "search_tokens"]

ELLIPSIS = "…"
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han ideographs, for regex classes
_CJK_RE = re.compile(f"[{CJK}]")
_CJK_RUN = re.compile(f"[{CJK}]{{2,}}")
# A token no query has (a private-use character: a word to SQLite's unicode61 tokenizer).
RUN_BREAK = "\ue000"
_LATIN_WORD = re.compile(r"[a-z0-9]+")
# Traditional → simplified for the characters the lexicon uses: pairs of (traditional,
# simplified); a small table rather than a dictionary download.
_TRAD_SIMP_PAIRS = (
    "萬万 業业 個个 義义 習习 產产 價价 優优 會会 偉伟 倫伦 偽伪 侶侣 傾倾 寫写 務务 動动 "
    "勵励 區区 協协 發发 後后 員员 圍围 國国 圖图 場场 孿孪 實实 對对 擴扩 擬拟 換换 據据 "
    "戲戏 無无 時时 權权 機机 測测 濟济 遊游 靈灵 環环 現现 電电 監监 碼码 礎础 紅红 練练 "
    "經经 結结 絡络 統统 維维 編编 網网 聯联 腦脑 臉脸 虛虚 補补 見见 規规 覺觉 計计 訂订 "
    "訓训 議议 記记 許许 設设 證证 評评 訴诉 試试 調调 責责 費费 資资 輕轻 達达 鏈链 長长 "
    "閉闭 問问 閱阅 隊队 險险 隱隐 頸颈 風风 饋馈 餾馏 駛驶 駕驾 驗验 鴻鸿 齊齐 憶忆 類类 "
    "軟软 獄狱 釋释 獎奖 體体 開开 廣广 數数 應应 學学 語语 強强 擁拥 雲云 訊讯 騰腾"
)
_TRAD_TO_SIMP = {pair[0]: pair[1] for pair in _TRAD_SIMP_PAIRS.split()}
# A character class rather than str.translate with a dict: scanning for the few
# traditional characters is ~20x faster than translating every character of a long text.
_TRAD = re.compile("[" + "".join(_TRAD_TO_SIMP) + "]")


def has_cjk(text: str) -> bool:
    return not text.isascii() and bool(_CJK_RE.search(text))


def clip(value: str, limit: int, *, at_word: bool = True) -> str:
    """`value` if it fits in `limit` characters, else cut to fit and ended with an ellipsis.

    With `at_word`, the cut falls on a space in the second half when there is one, so a
    word is never split; Chinese, without spaces, is cut at the limit.
    """
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    if at_word and " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + ELLIPSIS


def fold_zh(text: str) -> str:
    """Fold text for Chinese substring matching: lower case, simplified, no whitespace.

    Dropping whitespace lets "物理 API" find "物理API"; folding traditional characters lets
    posts from Taiwan and Hong Kong ("開源", "模擬") match the simplified terms.
    """
    folded = "".join(text.lower().split())
    if _TRAD.search(folded) is None:
        return folded
    return _TRAD.sub(lambda m: _TRAD_TO_SIMP[m.group()], folded)


def search_tokens(*texts: str) -> str:
    """The words /search looks a post up by, space-separated: every Latin word in lower
    case, once ("ai", "agents", "5g"), then every pair of adjacent Chinese characters, in
    order ("模型"), which stand in for words in a language written without spaces.

    A Latin search word is found as a word or a word's beginning ("agent" finds "agents").
    A Chinese term of two characters is in a text exactly when it is one of its pairs; a
    longer one exactly when its pairs follow each other in one run of Chinese characters.
    So the pairs keep their order and repeats, and RUN_BREAK stands between two runs, that
    the last pair of one and the first of the next never read as one longer term.
    """
    latin: dict[str, None] = {}
    runs: list[str] = []
    for text in texts:
        latin.update(dict.fromkeys(_LATIN_WORD.findall(text.lower())))
        if not text.isascii():
            runs.extend(
                " ".join(run[start : start + 2] for start in range(len(run) - 1))
                for run in _CJK_RUN.findall(text)
            )
    return " ".join([*latin, *([f" {RUN_BREAK} ".join(runs)] if runs else [])])
