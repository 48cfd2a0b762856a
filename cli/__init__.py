"""The `trendbot` command: a caller of the services, like the bot and the jobs.

`main` runs the bot, the offline demo, polls, digests, `analyze`, feeds and database
commands; `feeds`, `db` and `errors` hold the feed commands, the database commands and the
one place where known failures become one line.
"""
