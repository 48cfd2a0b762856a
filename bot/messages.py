"""The message catalogue: every user-facing string, in English and Chinese.

Strings are HTML templates for Telegram's HTML parse mode; values put into them are
escaped by the caller (`bot.render`). Trend names come from the themes file, not from here.
"""

from __future__ import annotations

__all__ = ["LANGUAGES", "language_of", "text"]

LANGUAGES = ("en", "zh")

_EN = {
    "start": (
        "<b>Hi, I'm trendbot.</b> I read the AI press so you don't have to, and tell you every "
        "week what moved in the ten trends that shape AI.\n\n"
        "• /subscribe: get the weekly digest, grouped by trend\n"
        "• /trend 6: the newest posts on trend 6 (any number 1–10)\n"
        "• /trends: the ten trends with this week's counts\n"
        "• /help: all commands"
    ),
    "help": (
        "<b>Commands</b>\n"
        "/subscribe: weekly digest of the ten trends\n"
        "/unsubscribe: stop the digest\n"
        "/trend N: newest posts on trend N (1–10)\n"
        "/trends: the ten trends with this week's counts\n"
        "/help: this message"
    ),
    "subscribed": "Subscribed. Your digest arrives every {when} ({timezone}). /unsubscribe stops it.",
    "already_subscribed": "You are already subscribed. Your digest arrives every {when} ({timezone}).",
    "unsubscribed": "Unsubscribed: no more digests. /subscribe brings them back.",
    "not_subscribed": "You are not subscribed. /subscribe starts the weekly digest.",
    "trend_usage": "Which trend? Send <code>/trend N</code> with a number from 1 to 10:",
    "trend_unknown": "There is no trend “{query}”. Send <code>/trend N</code> with a number from 1 to 10:",
    "trend_empty": "No posts on this trend yet. New posts are added as the feeds are polled.",
    "trend_header": "<b>{number}. {name}</b>: newest {shown} of {total}",
    "trends_header": "<b>The ten trends</b>: stories in the last seven days",
    "trends_footer": "Send /trend N for a trend's newest posts.",
    "digest_title": "<b>trendbot weekly digest</b>",
    "digest_daily_title": "<b>trendbot daily digest</b>",
    "digest_range": "{since} – {until} · {stories} stories",
    "digest_section": "<b>{number}. {name}</b>: {count} this week{change}",
    "digest_nothing": "A quiet week: no new stories on your trends.",
    "digest_footer": "/trend N for more · /unsubscribe to stop",
    "also_covered": "Also covered by {sources}",
    "more_sources": "+{count} more",
    "weekday_0": "Monday",
    "weekday_1": "Tuesday",
    "weekday_2": "Wednesday",
    "weekday_3": "Thursday",
    "weekday_4": "Friday",
    "weekday_5": "Saturday",
    "weekday_6": "Sunday",
    "at_hour": "{day} at {hour:02d}:00",
    "unknown_command": "I don't know that command. /help lists what I can do.",
    "error": "Something went wrong on my side. Please try again in a minute.",
    # /stats and the admins' broadcast report
    "admins_only": "/stats is for the bot's admins.",
    "stats": (
        "<b>trendbot stats</b>\n"
        "Subscribers: {active} active, {inactive} inactive\n"
        "Posts this week: {posts}\n"
        "Feeds: {healthy} healthy, {failing} failing\n"
        "Last broadcast: {last}"
    ),
    "stats_no_broadcast": "none yet",
    "stats_broadcast": (
        "{digest}, finished {finished} UTC: {sent} sent, {failed} failed, "
        "{deactivated} deactivated, {skipped} skipped, in {seconds}"
    ),
    "broadcast_report": (
        "<b>Digest broadcast finished</b> ({digest})\n"
        "Sent: {sent} · failed: {failed} · deactivated: {deactivated} · skipped: {skipped}\n"
        "Time taken: {seconds}"
    ),
    # Feed management (admins only)
    "admin_only": "Sorry, only trendbot's admins can manage feeds.",
    "feeds_header": "<b>Feeds</b>: {count}",
    "feeds_empty": "No feeds yet. Add one with <code>/addfeed URL</code>.",
    "feed_line": (
        "{number}. <b>{name}</b>{state}\n{url}\n"
        "last success {success} · {posts} posts in 7 days · next check {next}"
    ),
    "feed_failing": "\n⚠️ {failures} failures in a row; last error: {error}",
    "feed_last_error": "\nlast error ({when}): {error}",
    "feed_disabled": " ⛔ disabled: {reason}",
    "never": "never",
    "feeds_footer": "/addfeed URL · /removefeed N · send an .opml file to import · /exportfeeds",
    "addfeed_usage": "Send <code>/addfeed URL</code> with the address of an RSS or Atom feed.",
    "addfeed_done": "Added <b>{title}</b> ({items} items). It is polled from now on.\n{url}",
    "addfeed_failed": "Can't add {url}: {reason}",
    "removefeed_usage": "Send <code>/removefeed N</code> with a number from /feeds, or the URL.",
    "removefeed_done": "Removed {url}. Its posts stay in the archive.",
    "removefeed_unknown": "There is no feed “{query}”. /feeds lists them with their numbers.",
    "opml_imported": "Imported {added} feeds from the OPML file; skipped {skipped}.",
    "opml_skipped": "• {url}: {reason}",
    "opml_failed": "That file can't be imported: {reason}",
    "opml_exported": "{count} feeds, as OPML.",
    "event_failing": (
        "⚠️ Feed <b>{name}</b> has failed {failures} times in a row. Last error: {error}\n{url}"
    ),
    "event_recovered": "✅ Feed <b>{name}</b> works again.\n{url}",
    "event_gone": "⛔ Feed <b>{name}</b> is gone ({error}); it was disabled.\n{url}",
}

_ZH = {
    "start": (
        "<b>你好，我是 trendbot。</b>我替你读 AI 新闻，每周告诉你塑造 AI 的十大趋势有哪些新动向。\n\n"
        "• /subscribe：订阅按趋势分组的每周简报\n"
        "• /trend 6：趋势 6 的最新文章（可用 1–10 任一编号）\n"
        "• /trends：十大趋势及本周文章数\n"
        "• /help：全部命令"
    ),
    "help": (
        "<b>命令</b>\n"
        "/subscribe：订阅十大趋势每周简报\n"
        "/unsubscribe：退订简报\n"
        "/trend N：趋势 N 的最新文章（1–10）\n"
        "/trends：十大趋势及本周文章数\n"
        "/help：显示本帮助"
    ),
    "subscribed": "订阅成功。简报将于每{when}送达（{timezone}）。发送 /unsubscribe 可退订。",
    "already_subscribed": "你已订阅。简报将于每{when}送达（{timezone}）。",
    "unsubscribed": "已退订，不再发送简报。发送 /subscribe 可重新订阅。",
    "not_subscribed": "你尚未订阅。发送 /subscribe 开始接收每周简报。",
    "trend_usage": "要看哪个趋势？请发送 <code>/trend N</code>，N 为 1 到 10：",
    "trend_unknown": "没有“{query}”这个趋势。请发送 <code>/trend N</code>，N 为 1 到 10：",
    "trend_empty": "这个趋势暂时还没有文章。抓取订阅源后会陆续加入。",
    "trend_header": "<b>{number}. {name}</b>：最新 {shown} 篇，共 {total} 篇",
    "trends_header": "<b>十大趋势</b>：近七天的报道数",
    "trends_footer": "发送 /trend N 查看该趋势的最新文章。",
    "digest_title": "<b>trendbot 每周简报</b>",
    "digest_daily_title": "<b>trendbot 每日简报</b>",
    "digest_range": "{since} – {until} · 共 {stories} 条报道",
    "digest_section": "<b>{number}. {name}</b>：本周 {count} 条{change}",
    "digest_nothing": "本周很安静：你关注的趋势没有新报道。",
    "digest_footer": "发送 /trend N 查看更多 · /unsubscribe 退订",
    "also_covered": "其他报道：{sources}",
    "more_sources": "另有 {count} 家",
    "weekday_0": "周一",
    "weekday_1": "周二",
    "weekday_2": "周三",
    "weekday_3": "周四",
    "weekday_4": "周五",
    "weekday_5": "周六",
    "weekday_6": "周日",
    "at_hour": "{day} {hour:02d}:00",
    "unknown_command": "我不认识这个命令。发送 /help 查看可用命令。",
    "error": "出了点问题，请稍后再试。",
    "admins_only": "/stats 仅供机器人管理员使用。",
    "stats": (
        "<b>trendbot 统计</b>\n"
        "订阅者：{active} 个有效，{inactive} 个已停用\n"
        "本周文章：{posts} 篇\n"
        "订阅源：{healthy} 个正常，{failing} 个出错\n"
        "最近一次推送：{last}"
    ),
    "stats_no_broadcast": "暂无",
    "stats_broadcast": (
        "{digest}，完成于 {finished} UTC：发送 {sent}，失败 {failed}，"
        "停用 {deactivated}，跳过 {skipped}，用时 {seconds}"
    ),
    "broadcast_report": (
        "<b>简报推送完成</b>（{digest}）\n"
        "发送：{sent} · 失败：{failed} · 停用：{deactivated} · 跳过：{skipped}\n"
        "用时：{seconds}"
    ),
    # Feed management (admins only)
    "admin_only": "抱歉，只有 trendbot 的管理员可以管理订阅源。",
    "feeds_header": "<b>订阅源</b>：共 {count} 个",
    "feeds_empty": "还没有订阅源。发送 <code>/addfeed URL</code> 添加一个。",
    "feed_line": (
        "{number}. <b>{name}</b>{state}\n{url}\n"
        "上次成功 {success} · 近 7 天 {posts} 篇 · 下次检查 {next}"
    ),
    "feed_failing": "\n⚠️ 已连续失败 {failures} 次；最近错误：{error}",
    "feed_last_error": "\n最近错误（{when}）：{error}",
    "feed_disabled": " ⛔ 已停用：{reason}",
    "never": "从未",
    "feeds_footer": "/addfeed URL · /removefeed N · 发送 .opml 文件导入 · /exportfeeds",
    "addfeed_usage": "请发送 <code>/addfeed URL</code>，附上 RSS 或 Atom 订阅源地址。",
    "addfeed_done": "已添加 <b>{title}</b>（{items} 条）。从现在起定期抓取。\n{url}",
    "addfeed_failed": "无法添加 {url}：{reason}",
    "removefeed_usage": "请发送 <code>/removefeed N</code>（/feeds 中的编号）或订阅源地址。",
    "removefeed_done": "已移除 {url}。已抓取的文章仍保留在存档中。",
    "removefeed_unknown": "没有“{query}”这个订阅源。发送 /feeds 查看编号。",
    "opml_imported": "已从 OPML 文件导入 {added} 个订阅源，跳过 {skipped} 个。",
    "opml_skipped": "• {url}：{reason}",
    "opml_failed": "无法导入这个文件：{reason}",
    "opml_exported": "共 {count} 个订阅源（OPML 格式）。",
    "event_failing": "⚠️ 订阅源 <b>{name}</b> 已连续失败 {failures} 次。最近错误：{error}\n{url}",
    "event_recovered": "✅ 订阅源 <b>{name}</b> 已恢复正常。\n{url}",
    "event_gone": "⛔ 订阅源 <b>{name}</b> 已不存在（{error}），已停用。\n{url}",
}

_CATALOGUES = {"en": _EN, "zh": _ZH}


def language_of(code: str | None) -> str:
    """Telegram's language_code (e.g. "zh-hans", "en-GB") to one of ours; English otherwise."""
    return "zh" if code and code.lower().startswith("zh") else "en"


def text(language: str, key: str, **values: object) -> str:
    catalogue = _CATALOGUES.get(language, _EN)
    template = catalogue.get(key) or _EN[key]
    return template.format(**values) if values else template
