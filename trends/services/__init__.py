"""The service layer, by noun: feeds, archive, subscribers, digests, broadcasts, alerts.

`trends.service.TrendService` holds one of each; the bot, the scheduled jobs and the CLI
call them. Each method opens its own session, and only plain data crosses this line: no
ORM row leaves `trends/store`.
"""
