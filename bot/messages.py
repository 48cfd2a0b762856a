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
        "• /search words: search the archive; /digest: your digest now\n"
        "• /settings: your trends, schedule, time zone, language and alerts\n"
        "• /help: all commands"
    ),
    "help": (
        "<b>Commands</b>\n"
        "/subscribe: weekly digest of the ten trends\n"
        "/unsubscribe: stop the digest\n"
        "/trend N [7d|30d|90d]: newest posts on trend N (1–10, or a name: /trend pricing)\n"
        "/trends: the ten trends, this week against last, with a chart\n"
        "/search words: search the archive's titles and summaries\n"
        "/story N: every outlet's report of story N (digests and /trend show the number)\n"
        "/digest: your digest now\n"
        "/settings: trends, schedule, time zone, language, instant alerts\n"
        "/timezone Area/City: set your time zone\n"
        "/route N: in a forum group's topic, send trend N there\n"
        "/wrong POST TREND: say a post is not about that trend (digests show the command)\n"
        "/help: this message"
    ),
    "help_admin": (
        "<b>Admin commands</b>\n"
        "/feeds: the feeds, their health and ids\n"
        "/addfeed URL: add a feed (or send an OPML file)\n"
        "/removefeed ID|URL: stop polling a feed\n"
        "/exportfeeds: the feeds as OPML\n"
        "/stats: subscribers, posts this week, feed health, the last broadcast\n"
        "/feedback: readers' “wrong trend?” answers"
    ),
    "subscribed": (
        "Subscribed. Your digest arrives {schedule} ({timezone}){next}. "
        "/settings changes what and when; /unsubscribe stops it."
    ),
    "already_subscribed": (
        "You are already subscribed. Your digest arrives {schedule} ({timezone}){next}."
    ),
    "subscribed_next": ", the first on {day} {date}",
    "already_subscribed_next": ", the next on {day} {date}",
    "schedule_weekly": "every {day} at {hour:02d}:00",
    "schedule_daily": "every day at {hour:02d}:00",
    "schedule_off": "never while it is off in /settings",
    "unsubscribed": "Unsubscribed: no more digests. /subscribe brings them back.",
    "not_subscribed": "You are not subscribed. /subscribe starts the weekly digest.",
    "trend_usage": (
        "Which trend? Tap one, or send <code>/trend N</code> with a number from 1 to 10 or a "
        "name (<code>/trend pricing</code>), and optionally 7d, 30d or 90d:"
    ),
    "trend_unknown": (
        "There is no trend “{query}”. Tap one, or send <code>/trend N</code> with a number "
        "from 1 to 10 or a name, and optionally 7d, 30d or 90d:"
    ),
    "trend_empty": "No posts on this trend yet. New posts are added as the feeds are polled.",
    "trend_empty_period": "No posts on this trend in the last {days} days.",
    "trend_try_period": "Try <code>/trend {number} {period}d</code>.",
    "trend_try_all_time": "Try <code>/trend {number}</code> for all time.",
    "trend_unknown_period": "There is no period “{period}”: use 7d, 30d or 90d, or none for all time, e.g. <code>/trend 6 30d</code>.",
    "trend_header": "<b>{number}. {name}</b>: newest {first}–{last} of {total}{period}",
    "trend_header_many": "<b>{number}. {name}</b>: newest {first}–{last} of more than {total}{period}",
    "trends_header": "<b>The ten trends</b>: stories in the last seven days",
    "trends_footer": "Send /trend N for a trend's newest posts.",
    "digest_title": "<b>trendbot weekly digest</b>",
    "digest_daily_title": "<b>trendbot daily digest</b>",
    "digest_range": "{since} – {until} · {stories} stories",
    "digest_section": "<b>{number}. {name}</b>: {count} this week, {previous} last week{change}",
    "digest_nothing": "A quiet week: no new stories on your trends.",
    "digest_daily_nothing": "A quiet day: no new stories on your trends.",
    "digest_daily_section": "<b>{number}. {name}</b>: {count} today, {previous} the day before{change}",
    "digest_more": "… and {more} more: /trend {number}",
    "digest_footer": "/settings: your trends and schedule · /unsubscribe: stop the digest · /trend N: more",
    "also_covered": "Also covered by {sources}",
    "story_link": "/story_{story}",
    "story_usage": "Send <code>/story N</code> with the number shown next to a story in digests and /trend, e.g. <code>/story 12</code>.",
    "story_unknown": "There is no story {story} in the archive.",
    "story_header": "<b>Story {story}</b>: {count} reports",
    "story_member": "{number}. <b>{outlet}</b> · {tongue} · {time}\n{title}",
    "why_tagged": "<i>Why this trend: {terms} ({score} likely)</i>",
    # Archive queries, /search, /digest, charts and "wrong trend?" feedback
    "period_days": " (last {days} days)",
    "trend_feedback_hint": "<i>Wrong trend? Tap ✗ and the post's number.</i>",
    "trends_chart_note": "<i>Chart: stories per week over the last {weeks} weeks, this week in orange.</i>",
    "digest_chart": "Stories per week on your trends over the last {weeks} weeks; this week in orange.",
    "wrong_hint": "Wrong trend? /wrong_{post}_{trend}",
    "wrong_usage": "Send <code>/wrong POST TREND</code>, e.g. <code>/wrong 123 6</code>, to say a post is not about that trend.",
    "feedback_thanks": "Thanks: noted that this post may not be about trend {number}.",
    "feedback_repeat": "You already flagged this post for trend {number}.",
    "feedback_unknown": "That post is no longer in the archive.",
    "feedback_header": "<b>“Wrong trend?” answers</b>, most flagged first:",
    "feedback_line": "{count}× · trend {number} · {title}\nmatched: {terms}",
    "feedback_no_terms": "no terms recorded",
    "feedback_none": "No “wrong trend?” answers yet.",
    "feedback_to_learn": "Flagged post–trend pairs the tagger can learn: {count}. Run <code>trendbot train --with-feedback</code>.",
    "feedback_admins_only": "Sorry, /feedback is only for the bot's admins.",
    "search_usage": "Send <code>/search words</code> to search titles and summaries, e.g. <code>/search agents</code> or <code>/search 智能体</code>.",
    "search_too_short": "Type what to search for, e.g. <code>/search GPU</code>, <code>/search AI</code> or <code>/search 模型</code>.",
    "search_cut": "<i>Searched for the first {count} words only: “{query}”.</i>",
    "search_header": "<b>Search “{query}”</b>: {first}–{last} of {total}",
    "search_header_many": "<b>Search “{query}”</b>: {first}–{last}, newest first (more than {total} posts match)",
    "search_empty": "Nothing found for “{query}”. Try other words, or part of a word.",
    "weekday_0": "Monday",
    "weekday_1": "Tuesday",
    "weekday_2": "Wednesday",
    "weekday_3": "Thursday",
    "weekday_4": "Friday",
    "weekday_5": "Saturday",
    "weekday_6": "Sunday",
    "at_hour": "{day} at {hour:02d}:00",
    # /settings, /timezone, /route and instant alerts
    "settings_title": "<b>Settings</b>",
    "settings_title_chat": "<b>Settings for {chat}</b>",
    "settings_saved": "✅ {what}",
    "settings_not_subscribed": "Not subscribed yet: these settings apply once you send /subscribe.",
    "settings_digest_weekly": "Digest: weekly, {day} at {hour:02d}:00 ({timezone})",
    "settings_digest_daily": "Digest: daily at {hour:02d}:00 ({timezone})",
    "settings_digest_off": "Digest: off",
    "settings_trends_all": "Trends: all ten",
    "settings_trends_some": "Trends: {count} of 10 ({numbers})",
    "settings_trends_none": "Trends: none (your digest will be empty)",
    "settings_alerts_off": "Instant alerts: off",
    "settings_alerts_on": "Instant alerts: trends {numbers}",
    "settings_language": "Language: {name}",
    "settings_language_auto": "Language: {name} (from Telegram)",
    "settings_previews": "Link previews: {state}",
    "state_on": "on",
    "state_off": "off",
    "settings_trends_help": (
        "<b>Trends you follow</b>\nTap a trend to follow or unfollow it. "
        "Your digest has a section for each trend you follow."
    ),
    "settings_schedule_help": (
        "<b>Schedule</b>\nHow often the digest comes, and when, in your time zone ({timezone})."
    ),
    "settings_timezone_help": (
        "<b>Time zone</b>: {timezone}\nPick one, or send <code>/timezone Area/City</code> "
        "for any other, e.g. <code>/timezone Europe/Paris</code>."
    ),
    "settings_language_help": "<b>Language</b>\nReplies and digests in English or Chinese.",
    "settings_alerts_help": (
        "<b>Instant alerts</b>\nA strongly tagged new post on a trend you tick here is sent "
        "as soon as it arrives, at most {per_hour} an hour; the rest wait for your digest."
    ),
    "btn_trends": "📚 Trends",
    "btn_schedule": "⏰ Schedule",
    "btn_timezone": "🌍 Time zone",
    "btn_language": "🗣 Language",
    "btn_alerts": "⚡ Alerts",
    "btn_previews": "🔗 Link previews: {state}",
    "btn_back": "« Back",
    "btn_all_trends": "Follow all ten",
    "btn_cadence_weekly": "Weekly",
    "btn_cadence_daily": "Daily",
    "btn_cadence_off": "Off",
    "saved_follow": "Following {number}. {name}",
    "saved_unfollow": "No longer following {number}. {name}",
    "saved_all_trends": "Following all ten trends",
    "saved_alert_on": "Instant alerts on for {number}. {name}",
    "saved_alert_off": "Instant alerts off for {number}. {name}",
    "saved_cadence_weekly": "Digest: weekly",
    "saved_cadence_daily": "Digest: daily",
    "saved_cadence_off": "Digest: off",
    "saved_day": "Digest day: {day}",
    "saved_hour": "Digest time: {hour:02d}:00",
    "saved_timezone": "Time zone: {timezone}",
    "saved_language": "Language: English",
    "saved_previews": "Link previews: {state}",
    "settings_unchanged": "Already set.",
    "settings_admins_only": "Only this chat's admins can change its settings.",
    "settings_invalid": "That option is not available.",
    "weekday_short_0": "Mon",
    "weekday_short_1": "Tue",
    "weekday_short_2": "Wed",
    "weekday_short_3": "Thu",
    "weekday_short_4": "Fri",
    "weekday_short_5": "Sat",
    "weekday_short_6": "Sun",
    "language_name_en": "English",
    "language_name_zh": "中文",
    "timezone_usage": (
        "Your time zone is {timezone}. To change it, send <code>/timezone Area/City</code>, "
        "e.g. <code>/timezone Asia/Shanghai</code>, or use /settings."
    ),
    "timezone_set": "Time zone set to {timezone}. {digest}",
    "bad_timezone": (
        "I don't know the time zone “{zone}”. Send an IANA name such as "
        "<code>/timezone Europe/Berlin</code> or <code>/timezone Asia/Shanghai</code>."
    ),
    "route_forum_only": (
        "/route works in forum groups: send <code>/route N</code> inside a topic and "
        "trend N's posts go there."
    ),
    "route_in_topic": "Send <code>/route {number}</code> inside the topic that should get trend {number}.",
    "route_usage": (
        "Send <code>/route N</code> inside a topic to send trend N's posts there; "
        "<code>/route off N</code> sends them back to the main chat, <code>/route off</code> "
        "all of them."
    ),
    "route_set": "Trend {number}. {name} now goes to this topic.",
    "route_cleared": "Trend {number}. {name} goes to the main chat again.",
    "route_cleared_all": "Every trend goes to the main chat again.",
    "route_not_routed": "Trend {number}. {name} was not routed to a topic.",
    "route_none": "No routes: every trend goes to the main chat.",
    "route_list_header": "<b>Topic routes</b>",
    "route_list_line": "{number}. {name} → topic {thread}",
    "route_unknown": "There is no trend “{query}”. Send <code>/route N</code> with a number from 1 to 10.",
    "route_subscribe_hint": "This group is not subscribed yet: /subscribe starts the digest.",
    "alert_title": "⚡ <b>{number}. {name}</b>",
    "unknown_text": (
        "I answer commands: /trend 6 for the newest posts on a trend, /settings for your "
        "digest, /help for all of them."
    ),
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
        "{id}. <b>{name}</b>{state}\n{url}\n"
        "last success {success} · {posts} posts in 7 days · next check {next}"
    ),
    "feed_failing": "\n⚠️ {failures} failures in a row; last error: {error}",
    "feed_last_error": "\nlast error ({when}): {error}",
    "feed_disabled": " ⛔ disabled: {reason}",
    "never": "never",
    "now": "now",
    "feeds_footer": (
        "/addfeed URL · /removefeed ID (the number before a feed) · "
        "send an .opml file to import · /exportfeeds"
    ),
    "addfeed_usage": "Send <code>/addfeed URL</code> with the address of an RSS or Atom feed.",
    "addfeed_done": "Added <b>{title}</b> ({items} items). It is polled from now on.\n{url}",
    "addfeed_listed": (
        "<b>{title}</b> is already in the list (feed {id}, {items} posts); nothing changed.\n{url}"
    ),
    "addfeed_failed": "Can't add {url}: {reason}",
    "removefeed_usage": "Send <code>/removefeed ID</code> with a feed's id from /feeds, or its URL.",
    "removefeed_done": "Removed {url}. Its posts stay in the archive.",
    "removefeed_already": "<b>{name}</b> is already gone: it was removed before.\n{url}",
    "removefeed_unknown": "There is no feed “{query}”. /feeds lists them with their ids.",
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
        "• /search 关键词：搜索存档；/digest：立即查看简报\n"
        "• /settings：关注的趋势、发送时间、时区、语言和即时提醒\n"
        "• /help：全部命令"
    ),
    "help": (
        "<b>命令</b>\n"
        "/subscribe：订阅十大趋势每周简报\n"
        "/unsubscribe：退订简报\n"
        "/trend N [7d|30d|90d]：趋势 N 的最新文章（1–10，或名称：/trend 成果）\n"
        "/trends：十大趋势本周与上周对比，附图表\n"
        "/search 关键词：搜索存档的标题和摘要\n"
        "/story N：第 N 号报道的全部来源（简报和 /trend 中附有编号）\n"
        "/digest：立即查看你的简报\n"
        "/settings：趋势、发送时间、时区、语言、即时提醒\n"
        "/timezone 地区/城市：设置时区\n"
        "/route N：在群组话题内发送，趋势 N 的文章发到该话题\n"
        "/wrong 文章编号 趋势编号：告诉我们文章不属于该趋势（简报中附有命令）\n"
        "/help：显示本帮助"
    ),
    "help_admin": (
        "<b>管理员命令</b>\n"
        "/feeds：订阅源列表、状态和编号\n"
        "/addfeed 网址：添加订阅源（或发送 OPML 文件）\n"
        "/removefeed 编号|网址：停止抓取订阅源\n"
        "/exportfeeds：以 OPML 导出订阅源\n"
        "/stats：订阅者、本周文章、订阅源状态、上次推送\n"
        "/feedback：读者的“分类不对？”反馈"
    ),
    "subscribed": "订阅成功。简报将于{schedule}送达（{timezone}）{next}。/settings 可修改内容和时间，/unsubscribe 可退订。",
    "already_subscribed": "你已订阅。简报将于{schedule}送达（{timezone}）{next}。",
    "subscribed_next": "，首期 {date}（{day}）",
    "already_subscribed_next": "，下一期 {date}（{day}）",
    "schedule_weekly": "每{day} {hour:02d}:00",
    "schedule_daily": "每天 {hour:02d}:00",
    "schedule_off": "在 /settings 中重新开启后",
    "unsubscribed": "已退订，不再发送简报。发送 /subscribe 可重新订阅。",
    "not_subscribed": "你尚未订阅。发送 /subscribe 开始接收每周简报。",
    "trend_usage": (
        "要看哪个趋势？点按钮，或发送 <code>/trend N</code>（N 为 1 到 10，也可用名称，如 "
        "<code>/trend 成果</code>），可加时间段 7d、30d 或 90d："
    ),
    "trend_unknown": (
        "没有“{query}”这个趋势。点按钮，或发送 <code>/trend N</code>（N 为 1 到 10，也可用名称），"
        "可加时间段 7d、30d 或 90d："
    ),
    "trend_empty": "这个趋势暂时还没有文章。抓取订阅源后会陆续加入。",
    "trend_empty_period": "这个趋势近 {days} 天没有文章。",
    "trend_try_period": "试试 <code>/trend {number} {period}d</code>。",
    "trend_try_all_time": "试试 <code>/trend {number}</code> 查看全部时间。",
    "trend_unknown_period": "没有“{period}”这个时间段：请用 7d、30d 或 90d，或不写（全部时间），例如 <code>/trend 6 30d</code>。",
    "trend_header": "<b>{number}. {name}</b>：最新第 {first}–{last} 篇，共 {total} 篇{period}",
    "trend_header_many": "<b>{number}. {name}</b>：最新第 {first}–{last} 篇，共 {total} 多篇{period}",
    "trends_header": "<b>十大趋势</b>：近七天的报道数",
    "trends_footer": "发送 /trend N 查看该趋势的最新文章。",
    "digest_title": "<b>trendbot 每周简报</b>",
    "digest_daily_title": "<b>trendbot 每日简报</b>",
    "digest_range": "{since} – {until} · 共 {stories} 条报道",
    "digest_section": "<b>{number}. {name}</b>：本周 {count} 条，上周 {previous} 条{change}",
    "digest_nothing": "本周很安静：你关注的趋势没有新报道。",
    "digest_daily_nothing": "今天很安静：你关注的趋势没有新报道。",
    "digest_daily_section": "<b>{number}. {name}</b>：今日 {count} 条，前一日 {previous} 条{change}",
    "digest_more": "……另有 {more} 条：/trend {number}",
    "digest_footer": "/settings 设置关注的趋势和时间 · /unsubscribe 退订 · /trend N 查看更多",
    "also_covered": "其他报道：{sources}",
    "story_link": "/story_{story}",
    "story_usage": "发送 <code>/story N</code>，N 是简报和 /trend 中每条报道旁的编号，例如 <code>/story 12</code>。",
    "story_unknown": "存档中没有第 {story} 号报道。",
    "story_header": "<b>报道 {story}</b>：共 {count} 篇",
    "story_member": "{number}. <b>{outlet}</b> · {tongue} · {time}\n{title}",
    "why_tagged": "<i>归入此趋势的依据：{terms}（可能性 {score}）</i>",
    # 存档查询、/search、/digest、图表与“分类不对？”反馈
    "period_days": "（近 {days} 天）",
    "trend_feedback_hint": "<i>分类不对？点 ✗ 加文章编号。</i>",
    "trends_chart_note": "<i>图表：近 {weeks} 周每周报道数，橙色为本周。</i>",
    "digest_chart": "你关注的趋势近 {weeks} 周每周报道数，橙色为本周。",
    "wrong_hint": "分类不对？/wrong_{post}_{trend}",
    "wrong_usage": "发送 <code>/wrong 文章编号 趋势编号</code>，例如 <code>/wrong 123 6</code>，告诉我们这篇文章不属于该趋势。",
    "feedback_thanks": "谢谢：已记录这篇文章可能不属于趋势 {number}。",
    "feedback_repeat": "你已标记过这篇文章不属于趋势 {number}。",
    "feedback_unknown": "这篇文章已不在存档中。",
    "feedback_header": "<b>“分类不对？”反馈</b>，按次数排序：",
    "feedback_line": "{count} 次 · 趋势 {number} · {title}\n匹配词：{terms}",
    "feedback_to_learn": "{count} 条标记可供标注器学习：运行 <code>trendbot train --with-feedback</code>。",
    "feedback_no_terms": "无记录",
    "feedback_none": "还没有“分类不对？”的反馈。",
    "feedback_admins_only": "抱歉，/feedback 仅供机器人管理员使用。",
    "search_usage": "发送 <code>/search 关键词</code> 搜索标题和摘要，例如 <code>/search 智能体</code> 或 <code>/search agents</code>。",
    "search_too_short": "请输入要搜索的内容，例如 <code>/search GPU</code>、<code>/search AI</code> 或 <code>/search 模型</code>。",
    "search_cut": "<i>只搜索了前 {count} 个词：“{query}”。</i>",
    "search_header": "<b>搜索“{query}”</b>：第 {first}–{last} 条，共 {total} 条",
    "search_header_many": "<b>搜索“{query}”</b>：第 {first}–{last} 条，最新在前（匹配的文章超过 {total} 篇）",
    "search_empty": "没有找到“{query}”。换个词试试，或只输入词的一部分。",
    "weekday_0": "周一",
    "weekday_1": "周二",
    "weekday_2": "周三",
    "weekday_3": "周四",
    "weekday_4": "周五",
    "weekday_5": "周六",
    "weekday_6": "周日",
    "at_hour": "{day} {hour:02d}:00",
    # /settings, /timezone, /route 与即时提醒
    "settings_title": "<b>设置</b>",
    "settings_title_chat": "<b>{chat} 的设置</b>",
    "settings_saved": "✅ {what}",
    "settings_not_subscribed": "尚未订阅：发送 /subscribe 后这些设置生效。",
    "settings_digest_weekly": "简报：每周，{day} {hour:02d}:00（{timezone}）",
    "settings_digest_daily": "简报：每天 {hour:02d}:00（{timezone}）",
    "settings_digest_off": "简报：已关闭",
    "settings_trends_all": "趋势：全部十个",
    "settings_trends_some": "趋势：10 个中的 {count} 个（{numbers}）",
    "settings_trends_none": "趋势：无（简报将为空）",
    "settings_alerts_off": "即时提醒：关闭",
    "settings_alerts_on": "即时提醒：趋势 {numbers}",
    "settings_language": "语言：{name}",
    "settings_language_auto": "语言：{name}（跟随 Telegram）",
    "settings_previews": "链接预览：{state}",
    "state_on": "开",
    "state_off": "关",
    "settings_trends_help": "<b>关注的趋势</b>\n点按趋势即可关注或取消关注。简报中每个关注的趋势各占一节。",
    "settings_schedule_help": "<b>发送时间</b>\n简报的频率和时间，按你的时区（{timezone}）。",
    "settings_timezone_help": (
        "<b>时区</b>：{timezone}\n从下面选择，或发送 <code>/timezone 地区/城市</code> 设置其他时区，"
        "例如 <code>/timezone Europe/Paris</code>。"
    ),
    "settings_language_help": "<b>语言</b>\n回复和简报使用英文或中文。",
    "settings_alerts_help": (
        "<b>即时提醒</b>\n在这里勾选的趋势有高度相关的新文章时立即推送，每小时最多 {per_hour} 条，"
        "其余留到简报中。"
    ),
    "btn_trends": "📚 趋势",
    "btn_schedule": "⏰ 发送时间",
    "btn_timezone": "🌍 时区",
    "btn_language": "🗣 语言",
    "btn_alerts": "⚡ 即时提醒",
    "btn_previews": "🔗 链接预览：{state}",
    "btn_back": "« 返回",
    "btn_all_trends": "关注全部十个",
    "btn_cadence_weekly": "每周",
    "btn_cadence_daily": "每天",
    "btn_cadence_off": "关闭",
    "saved_follow": "已关注 {number}. {name}",
    "saved_unfollow": "已取消关注 {number}. {name}",
    "saved_all_trends": "已关注全部十个趋势",
    "saved_alert_on": "已开启即时提醒：{number}. {name}",
    "saved_alert_off": "已关闭即时提醒：{number}. {name}",
    "saved_cadence_weekly": "简报：每周",
    "saved_cadence_daily": "简报：每天",
    "saved_cadence_off": "简报：已关闭",
    "saved_day": "简报日：{day}",
    "saved_hour": "简报时间：{hour:02d}:00",
    "saved_timezone": "时区：{timezone}",
    "saved_language": "语言：中文",
    "saved_previews": "链接预览：{state}",
    "settings_unchanged": "已经是这个设置。",
    "settings_admins_only": "只有本群管理员可以修改设置。",
    "settings_invalid": "没有这个选项。",
    "weekday_short_0": "一",
    "weekday_short_1": "二",
    "weekday_short_2": "三",
    "weekday_short_3": "四",
    "weekday_short_4": "五",
    "weekday_short_5": "六",
    "weekday_short_6": "日",
    "language_name_en": "English",
    "language_name_zh": "中文",
    "timezone_usage": (
        "你的时区是 {timezone}。如需修改，发送 <code>/timezone 地区/城市</code>，"
        "例如 <code>/timezone Asia/Shanghai</code>，或使用 /settings。"
    ),
    "timezone_set": "时区已设为 {timezone}。{digest}",
    "bad_timezone": (
        "无法识别时区“{zone}”。请发送 IANA 时区名，例如 <code>/timezone Asia/Shanghai</code> "
        "或 <code>/timezone Europe/Berlin</code>。"
    ),
    "route_forum_only": "/route 仅用于开启话题的群组：在某个话题内发送 <code>/route N</code>，趋势 N 的文章就会发到那里。",
    "route_in_topic": "请在要接收趋势 {number} 的话题内发送 <code>/route {number}</code>。",
    "route_usage": (
        "在话题内发送 <code>/route N</code>，趋势 N 的文章就会发到该话题；"
        "<code>/route off N</code> 改回主聊天，<code>/route off</code> 取消全部。"
    ),
    "route_set": "趋势 {number}. {name} 今后发到这个话题。",
    "route_cleared": "趋势 {number}. {name} 改回发到主聊天。",
    "route_cleared_all": "所有趋势都改回发到主聊天。",
    "route_not_routed": "趋势 {number}. {name} 原本就没有指定话题。",
    "route_none": "没有话题路由：所有趋势都发到主聊天。",
    "route_list_header": "<b>话题路由</b>",
    "route_list_line": "{number}. {name} → 话题 {thread}",
    "route_unknown": "没有“{query}”这个趋势。请发送 <code>/route N</code>，N 为 1 到 10。",
    "route_subscribe_hint": "本群尚未订阅：发送 /subscribe 开始接收简报。",
    "alert_title": "⚡ <b>{number}. {name}</b>",
    "unknown_text": "我通过命令工作：/trend 6 查看某个趋势的最新文章，/settings 设置简报，/help 查看全部命令。",
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
        "{id}. <b>{name}</b>{state}\n{url}\n"
        "上次成功 {success} · 近 7 天 {posts} 篇 · 下次检查 {next}"
    ),
    "feed_failing": "\n⚠️ 已连续失败 {failures} 次；最近错误：{error}",
    "feed_last_error": "\n最近错误（{when}）：{error}",
    "feed_disabled": " ⛔ 已停用：{reason}",
    "never": "从未",
    "now": "现在",
    "feeds_footer": (
        "/addfeed URL · /removefeed 编号（订阅源前的数字）· 发送 .opml 文件导入 · /exportfeeds"
    ),
    "addfeed_usage": "请发送 <code>/addfeed URL</code>，附上 RSS 或 Atom 订阅源地址。",
    "addfeed_done": "已添加 <b>{title}</b>（{items} 条）。从现在起定期抓取。\n{url}",
    "addfeed_listed": "<b>{title}</b> 已在列表中（编号 {id}，{items} 篇），未做更改。\n{url}",
    "addfeed_failed": "无法添加 {url}：{reason}",
    "removefeed_usage": "请发送 <code>/removefeed 编号</code>（/feeds 中的编号）或订阅源地址。",
    "removefeed_done": "已移除 {url}。已抓取的文章仍保留在存档中。",
    "removefeed_already": "<b>{name}</b> 已经移除过了。\n{url}",
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
