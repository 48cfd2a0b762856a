"""Turn feed HTML into clean plain text and strip feed boilerplate (English and Chinese).

Only the standard library is used: feeds are third-party input, so everything here must
survive broken markup, plain text passed by mistake, and odd whitespace.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser

__all__ = ["html_to_text", "safe_text", "strip_boilerplate"]

# NUL (PostgreSQL refuses it in text) and lone surrogates (no encoder accepts them; a
# feed's `&#xD800;` makes one) can't be stored or sent: dropped and replaced.
_NUL = re.compile("\x00")
_SURROGATE = re.compile("[\ud800-\udfff]")


def safe_text(text: str, limit: int | None = None) -> str:
    """`text` with no NUL and no lone surrogate (U+FFFD instead), cut to `limit` chars."""
    text = _SURROGATE.sub("\ufffd", _NUL.sub("", text))
    return text if limit is None else text[:limit]


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Elements whose whole content is noise for a reader of the text.
_SKIP_TAGS = _names(
    "script style noscript iframe svg math canvas object template head title nav footer form "
    "button select textarea figure figcaption picture video audio"
)
# Skipped elements that may hold the article when a broken page never closes them
# (script and style are raw text to the parser, so they cannot swallow a page).
_SOFT_SKIP_TAGS = _SKIP_TAGS - {"script", "style", "noscript", "template", "head", "title"}
# Elements that end a paragraph: their start and end become "\n".
_BLOCK_TAGS = _names(
    "p br li h1 h2 h3 h4 h5 h6 div blockquote tr ul ol dl dt dd table thead tbody tfoot section "
    "article header main aside pre hr address details summary center caption body html"
)
# Containers that are dropped when (nearly) all of their text is link text.
_LINK_LIST_TAGS = _names("ul ol table dl")
_CELL_TAGS = _names("td th")
_INLINE_TAGS = _names("a abbr b code del em font i img q s small source span strong sub sup u")
# A known tag decides whether a string is HTML or plain text ("Vec<String>" is text).
_KNOWN_TAGS = "|".join(sorted(_SKIP_TAGS | _BLOCK_TAGS | _CELL_TAGS | _INLINE_TAGS))
_TAG_RE = re.compile(rf"<(?:!--|/?(?:{_KNOWN_TAGS})\b)", re.IGNORECASE)
_STRICT_ENTITY_RE = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Invisible characters that feeds sprinkle into text (word joiner, zero-width space, BOM).
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACE_RE = re.compile(r"[^\S\n]+")
# One letter or digit: matches exactly the characters for which str.isalnum() is true.
_ALNUM_RE = re.compile(r"[^\W_]")
_FOOTNOTE_RE = re.compile(r"\[?\d{1,3}\]?|[*†‡]")
_LINK_SHARE = 0.9  # a list or table whose text is at least this much link text is a link list


@dataclass(slots=True)
class _ListFrame:
    """An open list or table: where its output starts and how much of its text is links."""

    tag: str
    start: int
    linked: int = 0
    total: int = 0


class _TextExtractor(HTMLParser):
    """Collects text chunks; "\n" chunks mark paragraph breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip: list[str] = []  # open skipped elements, innermost last
        self._skipped: list[str] = []  # text inside a soft-skipped element, in case it is unclosed
        self._link_depth = 0
        self._pre_depth = 0
        self._sup_depth = 0
        self._lists: list[_ListFrame] = []  # open lists and tables, innermost last

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            if not self._skip:
                self._skipped = []
            self._skip.append(tag)
            return
        if self._skip:
            if tag in _BLOCK_TAGS:
                self._skipped.append("\n")
            return
        if tag == "a":
            self._link_depth += 1
        elif tag == "pre":
            self._pre_depth += 1
        elif tag == "sup":
            self._sup_depth += 1
        if tag in _LINK_LIST_TAGS:
            self._lists.append(_ListFrame(tag, len(self.chunks)))
        if tag in _BLOCK_TAGS:
            self.chunks.append("\n")
        elif tag in _CELL_TAGS:
            self.chunks.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/> and also self-closed non-void tags such as <p/> or <svg/>: never open anything.
        if not self._skip and tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if tag in self._skip:
                # Broken HTML may leave inner elements open: close everything up to the match.
                while self._skip and self._skip.pop() != tag:
                    pass
            return
        if tag == "a":
            self._link_depth = max(0, self._link_depth - 1)
        elif tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)
        elif tag == "sup":
            self._sup_depth = max(0, self._sup_depth - 1)
        if tag in _LINK_LIST_TAGS and any(frame.tag == tag for frame in self._lists):
            self._close_list(tag)
        if tag in _BLOCK_TAGS:
            self.chunks.append("\n")
        elif tag in _CELL_TAGS:
            self.chunks.append(" ")

    def handle_data(self, data: str) -> None:
        if not data:
            return
        if self._skip:
            if self._skip[0] in _SOFT_SKIP_TAGS:
                self._skipped.append(data.replace("\n", " "))
            return
        if self._sup_depth and _FOOTNOTE_RE.fullmatch(data.strip()) and self._after_mark():
            return  # a footnote mark would glue "values.1 The" into one sentence
        if self._pre_depth:
            # Keep code lines apart so they never merge into one long "sentence".
            data = data.replace("\r", "\n")
        else:
            # In HTML a newline is just a space; only block elements break paragraphs.
            data = data.replace("\r", " ").replace("\n", " ")
        self.chunks.append(data)
        if not self._lists:
            return  # the counts below only serve open lists and tables
        counted = len(_ALNUM_RE.findall(data))
        for frame in self._lists:
            frame.total += counted
            if self._link_depth:
                frame.linked += counted

    def _after_mark(self) -> bool:
        """True after punctuation or in a link: a footnote mark, not an exponent (mc²)."""
        if self._link_depth:
            return True
        last = next((chunk.rstrip() for chunk in reversed(self.chunks) if chunk.strip()), "")
        return last[-1:] in '.,;:!?)”’"。，；'

    def _close_list(self, tag: str) -> None:
        while self._lists:
            closed = self._lists.pop()
            if closed.total and closed.linked >= _LINK_SHARE * closed.total:
                del self.chunks[closed.start :]
                self.chunks.append("\n")
                # The parent list no longer contains this text.
                for frame in self._lists:
                    frame.linked -= closed.linked
                    frame.total -= closed.total
            if closed.tag == tag:
                return

    def close(self) -> None:
        super().close()
        if self._skip and self._skip[0] in _SOFT_SKIP_TAGS:
            # An unclosed <form> or <figure> swallowed the rest of the page: keep that text.
            self.chunks.extend(["\n", *self._skipped])
        while self._lists:  # unclosed lists at the end of broken HTML
            self._close_list(self._lists[-1].tag)


def _strict_unescape(text: str) -> str:
    """Decode only well-formed entities, so "R&D" or "&copy" in plain text stay as they are."""
    return _STRICT_ENTITY_RE.sub(lambda m: html.unescape(m.group(0)), text)


def _tidy(text: str) -> str:
    """Collapse whitespace inside lines, drop empty lines, NFC-normalise."""
    text = _INVISIBLE_RE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    # One pass over the whole text: a run of spaces never spans a newline.
    lines = (line.strip() for line in _SPACE_RE.sub(" ", text).split("\n"))
    return unicodedata.normalize("NFC", "\n".join(line for line in lines if line))


def html_to_text(html_text: str) -> str:
    """Plain text of an HTML fragment, one paragraph per line; plain text passes through."""
    if not html_text:
        return ""
    if not _TAG_RE.search(html_text):
        return _tidy(_strict_unescape(html_text))
    parser = _TextExtractor()
    try:
        parser.feed(html_text)
        parser.close()
    except Exception:  # html.parser is lenient, but never let one bad entry crash a run
        return _tidy(_strict_unescape(re.sub(r"<[^>]*>", "\n", html_text)))
    return _tidy("".join(parser.chunks))


# ---------------------------------------------------------------------------- boilerplate

_URL = r"(?:https?://|www\.)\S+"
# A whole line that is boilerplate (matched after trimming decoration, case-insensitive).
_LINE_PATTERNS = [
    r"(?:read|see) (?:more|the full (?:story|article|post|report)|full (?:story|article))\b.{0,80}",
    r"(?:continue|keep) reading\b.{0,80}",
    r"(?:learn|find out) more\b.{0,80}",
    r"full (?:story|article)",
    r"click here\b.{0,80}",
    r"(?:share|tweet|email|print)(?: (?:this|on \w+))?(?: (?:post|article|story))?",
    r"(?:subscribe|sign up|join)(?: now| today| for free| here)?",
    r"thanks for reading\b.*",
    r"(?:special|many|big) thanks to\b.{0,300}|acknowledge?ments?",
    r"\d[\d,.]*k? (?:comments?|likes?|shares?|points?|replies|views)",
    r"(?:no |view |show |add )?comments?(?: \(\d+\))?",
    r"leave a (?:comment|reply)",
    r"comments on hacker news",
    r"go to the translated article",
    # "Points: 12 | Comments: 3", "Score: 3421", Digg's "Views: 747,599".
    r"(?:(?:points|score|# comments|comments|views|likes|bookmarks|quotes|replies|posts|reposts|"
    r"retweets|shares|upvotes)\s*:\s*[\d,.]+[km]?(?:\s*[|·•]\s*)?)+",
    r"by\s*:\s*\S.{0,40}",
    # "Article URL: …", "Original source: …", "论文链接：…": a short label and a bare URL.
    r"[^\n]{0,24}?[:：]\s*" + _URL,
    _URL,
    r"in this (?:newsletter|issue|edition)\s*:",
    r"updated? (?:on )?\d{4}-\d{1,2}-\d{1,2}\b.{0,300}",  # Lil'Log's "[Updated on 2018-10-28: …]"
    r"plus \d+ links?(?:,? and \d+ \w+)*",
    r"the post .{1,300} appeared first on .{1,200}",
    r"advertisement|sponsored|related (?:posts|articles|stories)\s*:?",
    # Chinese
    r"(?:点击)?(?:阅读|查看)原文.{0,40}",
    r"文章原文",
    r"(?:欢迎|点击上方.{0,10})?关注我们.{0,40}",
    r"(?:点击)?(?:上方)?蓝字关注.{0,40}",
    r"(?:长按|扫描|扫码).{0,12}(?:二维码|关注).{0,40}",
    r"(?:点赞|在看|转发|分享|收藏)(?:[、，和与 ]*(?:点赞|在看|转发|分享|收藏))*",
    r"(?:编辑|作者|撰文|责编|来源|排版|审核)\s*[:：|｜].{0,40}",
    r"(?:新智元|机器之心|量子位|AI科技评论)报道",
    r"此主题相关图片如下[:：]?",
    r"参考(?:内容|资料|文献|链接)[:：]?",
    r"(?:转载|投稿).{0,30}(?:联系|授权).{0,40}",
    r"图片|图源.{0,30}",
]
_LINE_RE = re.compile(r"(?:" + "|".join(_LINE_PATTERNS) + r")", re.IGNORECASE)
# Decoration around a boilerplate line: arrows, brackets, bullets, punctuation.
_DECOR = " \t»«›‹→←↑↓>▶►•·|[](){}【】「」…-–—:：.。!！?？,，\"'“”‘’"
# Boilerplate inside a line that also has real text, each with a cheap literal hint so the
# costly pattern runs only on the few lines that may contain it (keeps 100 KB posts fast).
_INLINE_RULES: list[tuple[tuple[str, ...], re.Pattern[str]]] = [
    (
        ("appeared first on",),
        re.compile(r"The post .{1,300}? appeared first on .{1,200}?(?:\.(?=\s|$)|$)", re.I),
    ),
    (
        ("url:", "points:", "comments:"),
        re.compile(r"(?:Article|Comments) URL:\s*" + _URL + r"|(?:Points|# Comments):\s*\d+", re.I),
    ),
    (
        ("阅读原文", "关注我们"),
        # "关注我们" alone can be prose ("我们关注我们的用户"): only a prompt to follow goes.
        re.compile(
            r"(?:点击|戳)?[「“]?阅读原文[」”]?[^。！\n]{0,30}[。！]?"
            r"|(?:欢迎|请|点击[^。！\n]{0,6})关注我们[^。！\n]{0,30}[。！]?"
        ),
    ),
]
# A trailer such as "Read more »" or "[…]" at the end of a line; only the tail is searched.
_TRAILER_RE = re.compile(
    r"\s*(?:\[(?:…|\.\.\.)\]|\(?(?:Read more|Continue reading)(?: ?[»→…]|\.\.\.)?\)?)\s*$",
    re.IGNORECASE,
)
_TRAILER_TAIL = 40
_LEAD_LABEL_RE = re.compile(r"【[^】\n]{1,8}导读】")
# A prompt line such as "Read more about the new Vibe in our blog post": short, starts so.
_PROMPT_RE = re.compile(r"(?:read|learn) more\b|continue reading\b", re.IGNORECASE)
_PROMPT_MAX_WORDS = 15
_MAX_BOILERPLATE_CHARS = 600  # longer lines are text; skipping them keeps big posts fast


def _is_boilerplate_line(line: str) -> bool:
    core = line.strip(_DECOR)
    if not core:
        return True
    if len(core) > _MAX_BOILERPLATE_CHARS:
        return False
    if _LINE_RE.fullmatch(core):
        return True
    return bool(_PROMPT_RE.match(core)) and len(core.split()) <= _PROMPT_MAX_WORDS


def _clean_inline(line: str) -> str:
    lowered = line.lower()
    for hints, pattern in _INLINE_RULES:
        for hint in hints:
            if hint in lowered:
                line = pattern.sub(" ", line)
                break
    tail = line[-_TRAILER_TAIL:]
    # Every trailer has "]" ("[…]") or "ead" ("Read more", "Continue reading"): no need to
    # run the regex on the many lines without either.
    if "]" in tail or "ead" in tail.lower():
        line = line[:-_TRAILER_TAIL] + _TRAILER_RE.sub("", tail)
    return _SPACE_RE.sub(" ", line).strip()


def strip_boilerplate(text: str) -> str:
    """Remove "Read more", share prompts, comment counts, HN metadata and their Chinese kin."""
    kept: list[str] = []
    # "编辑：X【新智元导读】…" shares one line: the lead-in label starts the real text.
    text = _LEAD_LABEL_RE.sub("\n", text)
    for line in text.split("\n"):
        if _is_boilerplate_line(line):
            continue
        cleaned = _clean_inline(line)
        if cleaned and not _is_boilerplate_line(cleaned):
            kept.append(cleaned)
    return "\n".join(kept)
