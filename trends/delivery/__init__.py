"""A digest, from the stored posts to a sent message.

digest (build one from posts) → broadcast (once per period, fanned out to chats) → routing
(forum topics) → ledger (each message recorded: nothing lost, nothing sent twice).
The Telegram half (render, send, pace) is in `bot/`.
"""
