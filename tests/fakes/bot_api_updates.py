"""Telegram-side half of the fake Bot API: chats, messages, files, updates, method handlers.

Kept apart from the HTTP/recording/scripting half in :mod:`tests.fakes.bot_api`;
``UpdatesMixin`` is only meant to be mixed into ``FakeBotAPI``. Handlers are named
``_m_<BotAPIMethod>`` and take the decoded params.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import mimetypes
import time
from typing import Any

BOT_ID = 123456
BOT_USERNAME = "fake_bot"
# Users in groups need some id; private chats reuse the chat id, as Telegram does.
GROUP_USER_ID = 4242
# Telegram itself caps long polling at 50 s; tests want a quick shutdown instead.
MAX_POLL_SECONDS = 1.0
# Required fields of ChatMemberAdministrator / ChatFullInfo.accepted_gift_types in PTB 22.
ADMIN_RIGHTS = (
    "can_be_edited is_anonymous can_manage_chat can_delete_messages can_manage_video_chats "
    "can_restrict_members can_promote_members can_change_info can_invite_users "
    "can_post_stories can_edit_stories can_delete_stories"
)
GIFT_TYPES = "unlimited_gifts limited_gifts unique_gifts premium_subscription gifts_from_channels"


class BotAPIError(Exception):
    """An error answer in the Bot API shape."""

    def __init__(self, status: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.status, self.description = status, description
        self.parameters = {k: v for k, v in parameters.items() if v is not None}

    def body(self) -> dict[str, Any]:
        body = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def same_chat(a: Any, b: Any) -> bool:
    """Chat ids arrive as int or str; compare them loosely."""
    return str(a) == str(b)


def make_user(user_id: int, language_code: str | None = "en") -> dict[str, Any]:
    """A human ``User`` object."""
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
    if language_code:
        user["language_code"] = language_code
    return user


def make_chat(chat_id: int | str, chat_type: str | None = None, title: str | None = None) -> dict:
    """A ``Chat`` object; the type is guessed from the id when not given."""
    if chat_type is None:
        text = str(chat_id)
        chat_type = "private" if text.isdigit() else "supergroup" if text[:4] == "-100" else "group"
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = f"User{chat_id}"
    else:
        chat["title"] = title or f"Chat {chat_id}"
    return chat


def command_entities(text: str) -> list[dict[str, Any]]:
    """A ``bot_command`` entity for a leading "/cmd[@bot]"; CommandHandler needs it."""
    if not text.startswith("/"):
        return []
    command = text.split(maxsplit=1)[0]
    # Entity offsets and lengths count UTF-16 code units, not code points.
    return [{"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}]


class UpdatesMixin:
    """State Telegram would hold, the ``push_*`` helpers and the Bot API method handlers."""

    def _init_updates(self) -> None:
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._pending: list[dict[str, Any]] = []
        self._new_update = asyncio.Event()
        self.chats: dict[int | str, dict[str, Any]] = {}
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self.stored_messages: dict[tuple[str, int], dict[str, Any]] = {}
        self.admins: dict[int, list[int]] = {}  # chat_id -> admin user ids, first is owner
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] | None = None  # setWebhook's parameters while one is set

    # -- objects -------------------------------------------------------------------

    def bot_user(self) -> dict[str, Any]:
        """The ``User`` returned by getMe (PTB's command filter needs ``username``)."""
        return dict(id=BOT_ID, is_bot=True, first_name="Fake", username=BOT_USERNAME)

    def chat(self, chat_id: int | str, chat_type: str | None = None, title: str | None = None):
        """The known chat, registering (or retyping) it on demand."""
        if chat_id not in self.chats or chat_type is not None:
            old = self.chats.get(chat_id, {})
            self.chats[chat_id] = make_chat(chat_id, chat_type, title)
            if old.get("is_forum") and old["type"] == self.chats[chat_id]["type"]:
                self.chats[chat_id]["is_forum"] = True  # a forum stays one
        return self.chats[chat_id]

    def new_message(self, chat_id: int | str, **fields: Any) -> dict[str, Any]:
        """A ``Message`` in ``chat_id`` with the next message id (ids only ever increase)."""
        message = self.placeholder_message(chat_id, next(self._message_ids), **fields)
        self.stored_messages[(str(chat_id), message["message_id"])] = message
        return message

    def placeholder_message(self, chat_id: int | str, message_id: int, **fields: Any) -> dict:
        """A ``Message`` object that is not stored (see ``new_message``)."""
        return dict(message_id=message_id, date=int(time.time()), chat=self.chat(chat_id), **fields)

    def add_file(self, content: bytes, filename: str = "file.bin") -> dict[str, Any]:
        """Store bytes served by getFile + ``base_file_url``; returns a ``Document``."""
        digest = hashlib.sha1(content).hexdigest()[:16]
        file_id = f"file-{len(self.files) + 1}-{digest}"
        self.files[file_id] = (f"documents/{file_id}/{filename}", content)
        mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        doc = dict(file_id=file_id, file_unique_id=digest, file_name=filename, mime_type=mime)
        return doc | {"file_size": len(content)}

    def set_admins(self, chat_id: int, user_ids: list[int]) -> None:
        """Administrators of ``chat_id`` for getChatMember(s); the first is the owner."""
        self.admins[chat_id] = list(user_ids)

    # -- pushing updates -----------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update for getUpdates (``update_id`` filled in); returns it."""
        update.setdefault("update_id", next(self._update_ids))
        self._pending.append(update)
        self._new_update.set()
        return update

    def _sender(self, chat: dict[str, Any], user_id: int | None) -> int:
        if user_id is not None:
            return user_id
        return chat["id"] if chat["type"] == "private" else GROUP_USER_ID

    def _push_message(self, chat_id, user_id, chat_type, language_code, title, **fields):
        chat = self.chat(chat_id, chat_type, title)
        if chat["type"] == "channel":
            return self.push_update({"channel_post": self.new_message(chat_id, **fields)})
        sender = make_user(self._sender(chat, user_id), language_code)
        message = self.new_message(chat_id, **{"from": sender}, **fields)
        return self.push_update({"message": message})

    def push_text(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = "en",
        message_thread_id: int | None = None,
        chat_title: str | None = None,
    ) -> dict[str, Any]:
        """Push a text message (a bot_command entity for "/..."); returns the update."""
        fields: dict[str, Any] = {"text": text}
        if entities := command_entities(text):
            fields["entities"] = entities
        chat = self.chat(chat_id, chat_type, chat_title)
        if message_thread_id is not None:
            fields.update(message_thread_id=message_thread_id, is_topic_message=True)
            chat["is_forum"] = True
        return self._push_message(chat_id, user_id, None, language_code, None, **fields)

    def push_document(
        self,
        chat_id: int,
        filename: str,
        content: bytes,
        *,
        user_id: int | None = None,
        caption: str | None = None,
        chat_type: str = "private",
    ) -> dict[str, Any]:
        """Push a message with a document whose bytes getFile + download return."""
        fields: dict[str, Any] = {"document": self.add_file(content, filename)}
        if caption is not None:
            fields["caption"] = caption
        return self._push_message(chat_id, user_id, chat_type, "en", None, **fields)

    def push_callback(
        self,
        chat_id: int,
        data: str,
        *,
        message_id: int,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        """Push a callback_query pressed on ``message_id`` (ideally a message the bot sent)."""
        chat = self.chat(chat_id, chat_type)
        message = self.stored_messages.get((str(chat_id), message_id))
        if message is None:
            message = self.placeholder_message(chat_id, message_id, text="…")
            message["from"] = self.bot_user()
        query = dict(id=str(next(self._callback_ids)), chat_instance=f"instance-{chat_id}")
        sender = make_user(self._sender(chat, user_id), language_code)
        query |= {"from": sender, "message": message, "data": data}
        return self.push_update({"callback_query": query})

    async def _m_getUpdates(self, p: dict) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise BotAPIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset, limit = int(p.get("offset") or 0), int(p.get("limit") or 100)
        # Like Telegram: an offset confirms (drops) every update below it.
        self._pending = [u for u in self._pending if u["update_id"] >= offset]
        if not self._pending and (timeout := min(float(p.get("timeout") or 0), MAX_POLL_SECONDS)):
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), timeout)
        return self._pending[:limit]

    def _wake_pollers(self) -> None:
        """Release a pending long poll so shutdown doesn't wait for its timeout."""
        self._new_update.set()

    # -- simple methods ------------------------------------------------------------

    def _m_getMe(self, p: dict) -> dict:
        return self.bot_user()

    def _m_setWebhook(self, p: dict) -> bool:
        """Like Telegram: remember the URL and secret; getUpdates is refused meanwhile."""
        self.webhook = dict(p)
        return True

    def _m_deleteWebhook(self, p: dict) -> bool:
        self.webhook = None
        return True

    def _m_answer(self, p: dict) -> bool:
        return True

    _m_close = _m_logOut = _m_setChatMenuButton = _m_answerCallbackQuery = _m_answer
    _m_sendChatAction = _m_deleteMessage = _m_answer

    @staticmethod
    def _scope(p: dict) -> tuple[str, str]:
        scope = json.dumps(p.get("scope") or {"type": "default"}, sort_keys=True)
        return scope, p.get("language_code", "")

    def _m_setMyCommands(self, p: dict) -> bool:
        self.commands[self._scope(p)] = p["commands"]
        return True

    def _m_getMyCommands(self, p: dict) -> list:
        return self.commands.get(self._scope(p), [])

    def _m_deleteMyCommands(self, p: dict) -> bool:
        self.commands.pop(self._scope(p), None)
        return True

    # -- messages ------------------------------------------------------------------

    def _sent_message(self, p: dict, **fields: Any) -> dict:
        extra = {k: p[k] for k in ("reply_markup", "message_thread_id", "caption") if k in p}
        return self.new_message(p["chat_id"], **{"from": self.bot_user()}, **extra, **fields)

    def _m_sendMessage(self, p: dict) -> dict:
        return self._sent_message(p, text=p["text"])

    def _upload(self, p: dict, key: str, filename: str) -> dict:
        value = p[key]
        if isinstance(value, bytes):
            return self.add_file(value, filename)
        if value in self.files:  # re-sending a known file_id
            return {"file_id": value, "file_unique_id": value[-16:]}
        return self.add_file(str(value).encode(), filename)  # a URL: keep it as the "content"

    def _m_sendPhoto(self, p: dict) -> dict:
        doc = self._upload(p, "photo", "photo.jpg")
        size = dict(file_id=doc["file_id"], file_unique_id=doc["file_unique_id"], width=8, height=6)
        return self._sent_message(p, photo=[size])

    def _m_sendDocument(self, p: dict) -> dict:
        return self._sent_message(p, document=self._upload(p, "document", "document.bin"))

    def _edit(self, p: dict, **changes: Any) -> dict | bool:
        if "inline_message_id" in p:
            return True
        key = (str(p["chat_id"]), int(p["message_id"]))
        message = self.stored_messages.get(key) or self.placeholder_message(p["chat_id"], key[1])
        if all(message.get(k) == v for k, v in changes.items()):
            # Telegram rejects no-op edits, and bots have to cope with that.
            raise BotAPIError(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same",
            )
        self.stored_messages[key] = {**message, **changes, "edit_date": int(time.time())}
        return self.stored_messages[key]

    def _m_editMessageText(self, p: dict) -> dict | bool:
        return self._edit(p, text=p["text"], reply_markup=p.get("reply_markup"))

    def _m_editMessageReplyMarkup(self, p: dict) -> dict | bool:
        return self._edit(p, reply_markup=p.get("reply_markup"))

    # -- chats and files -----------------------------------------------------------

    def _m_getChat(self, p: dict) -> dict:
        gifts = dict.fromkeys(GIFT_TYPES.split(), False)
        extra = dict(accent_color_id=0, max_reaction_count=11, accepted_gift_types=gifts)
        return self.chat(p["chat_id"]) | extra

    def _admins_of(self, chat_id: Any) -> list[int]:
        return next((v for k, v in self.admins.items() if same_chat(k, chat_id)), [])

    def _member(self, chat_id: Any, user_id: int) -> dict:
        admins = self._admins_of(chat_id)
        user = {"id": user_id, "is_bot": user_id == BOT_ID, "first_name": f"User{user_id}"}
        if admins and admins[0] == user_id:
            return {"status": "creator", "user": user, "is_anonymous": False}
        if user_id in admins:
            rights = dict.fromkeys(ADMIN_RIGHTS.split(), False) | {"can_manage_chat": True}
            return {"status": "administrator", "user": user, **rights}
        return {"status": "member", "user": user}

    def _m_getChatMember(self, p: dict) -> dict:
        return self._member(p["chat_id"], int(p["user_id"]))

    def _m_getChatAdministrators(self, p: dict) -> list:
        return [self._member(p["chat_id"], uid) for uid in self._admins_of(p["chat_id"])]

    def _m_getFile(self, p: dict) -> dict:
        if p["file_id"] not in self.files:
            raise BotAPIError(400, "Bad Request: invalid file_id")
        path, content = self.files[p["file_id"]]
        result = dict(file_id=p["file_id"], file_unique_id=p["file_id"][-16:], file_path=path)
        return result | {"file_size": len(content)}
