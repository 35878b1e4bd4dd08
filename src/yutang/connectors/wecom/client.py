"""WeCom API client over httpx: access tokens cached and refreshed, busy answers retried.

- The access token (``gettoken``, valid 7,200 s) is cached and refreshed a minute before it
  expires, and at once when WeCom answers 40014 (invalid), 42001 (expired) or 40001 (invalid
  credential); the call is then made again, once.
- Rate limits and busy answers (45009, 45033, -1) are retried with exponential backoff.
- A call is only ever repeated when WeCom said it did *not* do it (an errcode); a call that
  changes something (creating a mass-send task) is never repeated after a lost answer, so a
  message is neither lost silently nor sent twice.

Point ``base_url`` at https://qyapi.weixin.qq.com in production, at the simulator in tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from yutang.connectors.wecom.errors import WeComApiError, WeComUnavailable

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
TOKEN_ERRORS = frozenset({40014, 42001, 40001})
"""Invalid access token, expired access token, invalid credential: refresh and retry once."""
BUSY_ERRORS = frozenset({45009, 45033, -1})
"""API frequency limit, concurrency limit, system busy: retry with backoff."""
TOKEN_MARGIN_SECONDS = 60.0
MAX_CUSTOMERS_PER_TASK = 10_000
MAX_GROUPS_PER_TASK = 2_000
MAX_CHATS_PER_JOIN_WAY = 5
MAX_STATE_LENGTH = 30

Json = dict[str, Any]


@dataclass(frozen=True)
class ContactWay:
    """A 「联系我」 contact way (doc 92228); ``state`` comes back in the add callback."""

    users: Sequence[str]
    state: str
    type: int = 1
    """1 single member, 2 several members."""
    scene: int = 2
    """1 mini-program, 2 QR code."""
    remark: str = ""
    skip_verify: bool = True
    parties: Sequence[int] = ()

    def payload(self) -> Json:
        if len(self.state) > MAX_STATE_LENGTH:
            raise ValueError(f"state holds at most {MAX_STATE_LENGTH} characters")
        body: Json = {"type": self.type, "scene": self.scene, "skip_verify": self.skip_verify,
                      "state": self.state, "user": list(self.users)}
        if self.remark:
            body["remark"] = self.remark
        if self.parties:
            body["party"] = list(self.parties)
        return body


@dataclass(frozen=True)
class ContactWayCreated:
    config_id: str
    qr_code: str


@dataclass(frozen=True)
class JoinWay:
    """A 「加入群聊」 way (doc 92229): up to five groups behind one code."""

    chat_ids: Sequence[str]
    state: str
    scene: int = 2
    remark: str = ""
    auto_create_room: bool = True
    room_base_name: str = ""
    room_base_id: int | None = None

    def payload(self) -> Json:
        if not 1 <= len(self.chat_ids) <= MAX_CHATS_PER_JOIN_WAY:
            raise ValueError(f"a join way holds 1 to {MAX_CHATS_PER_JOIN_WAY} groups")
        if len(self.state) > MAX_STATE_LENGTH:
            raise ValueError(f"state holds at most {MAX_STATE_LENGTH} characters")
        body: Json = {"scene": self.scene, "auto_create_room": int(self.auto_create_room),
                      "chat_id_list": list(self.chat_ids), "state": self.state}
        if self.remark:
            body["remark"] = self.remark
        if self.room_base_name:
            body["room_base_name"] = self.room_base_name
        if self.room_base_id is not None:
            body["room_base_id"] = self.room_base_id
        return body


@dataclass(frozen=True)
class JoinWayRead:
    config_id: str
    qr_code: str
    chat_ids: list[str]
    state: str


@dataclass(frozen=True)
class FollowUser:
    userid: str
    state: str
    created_at: int


@dataclass(frozen=True)
class ExternalContact:
    external_userid: str
    name: str
    type: int
    """1 a WeChat user, 2 a WeCom user."""
    unionid: str
    follow_users: list[FollowUser] = field(default_factory=list)


@dataclass(frozen=True)
class GroupMember:
    userid: str
    type: int
    """1 a member of the corp (staff), 2 an external contact."""
    join_time: int
    join_scene: int
    """groupchat/get codes: 1 direct invite, 2 link, 3 QR (not the callback's codes)."""
    unionid: str = ""


@dataclass(frozen=True)
class GroupChat:
    chat_id: str
    name: str
    owner: str
    create_time: int
    notice: str
    members: list[GroupMember]
    member_version: str


@dataclass(frozen=True)
class MessageTaskCreated:
    msgid: str
    fail_list: list[str]


@dataclass(frozen=True)
class Staff:
    userid: str
    name: str
    departments: list[int]


class WeComClient:
    """One corp's API client; safe to share between threads."""

    def __init__(
        self,
        *,
        corp_id: str,
        secret: str,
        base_url: str = DEFAULT_BASE_URL,
        http: httpx.Client | None = None,
        timeout_seconds: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        busy_retries: int = 4,
        backoff_seconds: float = 0.5,
    ) -> None:
        self.corp_id = corp_id
        self._secret = secret
        self._base_url = base_url.rstrip("/")
        self._http = http or httpx.Client(timeout=timeout_seconds)
        self._sleep = sleep
        self._clock = clock
        self._busy_retries = busy_retries
        self._backoff = backoff_seconds
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_expires_at = 0.0
        self.token_fetches = 0
        """How many times a token was fetched (for tests and metrics)."""

    def __repr__(self) -> str:  # never show the secret or the token
        return f"WeComClient(corp_id={self.corp_id!r}, base_url={self._base_url!r})"

    # --- tokens ---------------------------------------------------------------------------

    def access_token(self, *, refresh: bool = False, stale: str | None = None) -> str:
        """The cached token, fetched anew when missing, near expiry or reported bad.

        ``stale`` is the token a call was refused with: if another thread already replaced
        it, that new token is used instead of fetching yet another.
        """
        with self._lock:
            fresh = self._token is not None and self._clock() < self._token_expires_at
            if fresh and not refresh:
                assert self._token is not None
                return self._token
            if fresh and refresh and stale is not None and stale != self._token:
                assert self._token is not None
                return self._token
            body = self._send("GET", "/cgi-bin/gettoken", idempotent=True,
                              params={"corpid": self.corp_id, "corpsecret": self._secret})
            self._raise_for(body)
            token = str(body["access_token"])
            lifetime = float(body.get("expires_in", 7200))
            self._token = token
            self._token_expires_at = self._clock() + max(0.0, lifetime - TOKEN_MARGIN_SECONDS)
            self.token_fetches += 1
            return token

    # --- plumbing -------------------------------------------------------------------------

    def _send(self, method: str, path: str, *, idempotent: bool,
              params: Mapping[str, str] | None = None, body: Json | None = None) -> Json:
        """One HTTP exchange, with busy errcodes retried; answers WeCom's JSON."""
        attempt = 0
        while True:
            try:
                response = self._http.request(method, self._base_url + path,
                                              params=dict(params or {}), json=body)
            except httpx.TransportError as error:
                if not idempotent or attempt >= self._busy_retries:
                    raise WeComUnavailable(f"WeCom could not be reached: {type(error).__name__}",
                                           path=path) from error
                self._back_off(attempt)
                attempt += 1
                continue
            if response.status_code >= 500 and idempotent and attempt < self._busy_retries:
                self._back_off(attempt)
                attempt += 1
                continue
            if response.status_code != 200:
                raise WeComUnavailable(f"WeCom answered HTTP {response.status_code}", path=path)
            try:
                answer = response.json()
            except ValueError as error:
                raise WeComUnavailable("WeCom answered something that is not JSON",
                                       path=path) from error
            if not isinstance(answer, dict):
                raise WeComUnavailable("WeCom answered something that is not an object",
                                       path=path)
            errcode = int(answer.get("errcode", 0))
            if errcode in BUSY_ERRORS:
                if attempt >= self._busy_retries:
                    raise WeComUnavailable(f"WeCom stayed busy (errcode {errcode})", path=path,
                                           errcode=errcode)
                self._back_off(attempt)
                attempt += 1
                continue
            return answer

    def _back_off(self, attempt: int) -> None:
        self._sleep(self._backoff * 2**attempt)

    @staticmethod
    def _raise_for(answer: Json) -> None:
        errcode = int(answer.get("errcode", 0))
        if errcode != 0:
            raise WeComApiError(errcode, str(answer.get("errmsg", "")))

    def call(self, method: str, path: str, *, body: Json | None = None,
             params: Mapping[str, str] | None = None, idempotent: bool = False) -> Json:
        """Call an API with the access token; refresh it and retry once if WeCom refuses it."""
        token = self.access_token()
        for retried in (False, True):
            answer = self._send(method, path, idempotent=idempotent, body=body,
                                params={**(params or {}), "access_token": token})
            errcode = int(answer.get("errcode", 0))
            if errcode in TOKEN_ERRORS and not retried:
                token = self.access_token(refresh=True, stale=token)
                continue
            self._raise_for(answer)
            return answer
        raise AssertionError("unreachable")

    # --- contact ways and join ways -------------------------------------------------------

    def add_contact_way(self, way: ContactWay) -> ContactWayCreated:
        answer = self.call("POST", "/cgi-bin/externalcontact/add_contact_way",
                           body=way.payload())
        return ContactWayCreated(config_id=str(answer["config_id"]),
                                 qr_code=str(answer.get("qr_code", "")))

    def update_contact_way(self, config_id: str, *, state: str | None = None,
                           remark: str | None = None, skip_verify: bool | None = None,
                           users: Sequence[str] | None = None) -> None:
        body: Json = {"config_id": config_id}
        if state is not None:
            if len(state) > MAX_STATE_LENGTH:
                raise ValueError(f"state holds at most {MAX_STATE_LENGTH} characters")
            body["state"] = state
        if remark is not None:
            body["remark"] = remark
        if skip_verify is not None:
            body["skip_verify"] = skip_verify
        if users is not None:
            body["user"] = list(users)
        self.call("POST", "/cgi-bin/externalcontact/update_contact_way", body=body,
                  idempotent=True)

    def add_join_way(self, way: JoinWay) -> str:
        answer = self.call("POST", "/cgi-bin/externalcontact/groupchat/add_join_way",
                           body=way.payload())
        return str(answer["config_id"])

    def get_join_way(self, config_id: str) -> JoinWayRead:
        answer = self.call("POST", "/cgi-bin/externalcontact/groupchat/get_join_way",
                           body={"config_id": config_id}, idempotent=True)
        way = answer["join_way"]
        return JoinWayRead(config_id=str(way["config_id"]), qr_code=str(way.get("qr_code", "")),
                           chat_ids=[str(item) for item in way.get("chat_id_list", [])],
                           state=str(way.get("state", "")))

    # --- customers and groups -------------------------------------------------------------

    def get_external_contact(self, external_userid: str) -> ExternalContact:
        answer = self.call("GET", "/cgi-bin/externalcontact/get",
                           params={"external_userid": external_userid}, idempotent=True)
        contact = answer["external_contact"]
        follows = [FollowUser(userid=str(item["userid"]), state=str(item.get("state", "")),
                              created_at=int(item.get("createtime", 0)))
                   for item in answer.get("follow_user", [])]
        return ExternalContact(external_userid=str(contact["external_userid"]),
                               name=str(contact.get("name", "")),
                               type=int(contact.get("type", 1)),
                               unionid=str(contact.get("unionid", "")), follow_users=follows)

    def get_group_chat(self, chat_id: str) -> GroupChat:
        answer = self.call("POST", "/cgi-bin/externalcontact/groupchat/get",
                           body={"chat_id": chat_id, "need_name": 0}, idempotent=True)
        chat = answer["group_chat"]
        members = [GroupMember(userid=str(item["userid"]), type=int(item.get("type", 2)),
                               join_time=int(item.get("join_time", 0)),
                               join_scene=int(item.get("join_scene", 0)),
                               unionid=str(item.get("unionid", "")))
                   for item in chat.get("member_list", [])]
        return GroupChat(chat_id=str(chat["chat_id"]), name=str(chat.get("name", "")),
                         owner=str(chat.get("owner", "")),
                         create_time=int(chat.get("create_time", 0)),
                         notice=str(chat.get("notice", "")), members=members,
                         member_version=str(chat.get("member_version", "")))

    # --- messages -------------------------------------------------------------------------

    def send_welcome_message(self, welcome_code: str, *, text: str,
                             attachments: Sequence[Json] = ()) -> None:
        """Use an add callback's ``WelcomeCode`` (valid 20 s, once; 41051 if already used)."""
        if len(attachments) > 9:
            raise ValueError("a welcome message carries at most 9 attachments")
        body: Json = {"welcome_code": welcome_code, "text": {"content": text}}
        if attachments:
            body["attachments"] = list(attachments)
        self.call("POST", "/cgi-bin/externalcontact/send_welcome_msg", body=body)

    def add_message_template(
        self, *, chat_type: str, sender: str, text: str,
        external_userids: Sequence[str] = (), chat_ids: Sequence[str] = (),
        attachments: Sequence[Json] = (),
    ) -> MessageTaskCreated:
        """Create a mass-send task (doc 92135) to customers (``single``) or groups (``group``);
        the staff member confirms it in WeCom before it goes out."""
        body: Json = {"chat_type": chat_type, "sender": sender, "text": {"content": text}}
        if chat_type == "single":
            if not 1 <= len(external_userids) <= MAX_CUSTOMERS_PER_TASK:
                raise ValueError(f"a task targets 1 to {MAX_CUSTOMERS_PER_TASK} customers")
            body["external_userid"] = list(external_userids)
        elif chat_type == "group":
            if len(chat_ids) > MAX_GROUPS_PER_TASK:
                raise ValueError(f"a task targets at most {MAX_GROUPS_PER_TASK} groups")
            if chat_ids:
                body["chat_id_list"] = list(chat_ids)
        else:
            raise ValueError("chat_type is 'single' or 'group'")
        if attachments:
            body["attachments"] = list(attachments)
        answer = self.call("POST", "/cgi-bin/externalcontact/add_msg_template", body=body)
        return MessageTaskCreated(msgid=str(answer.get("msgid", "")),
                                  fail_list=[str(item) for item in answer.get("fail_list", [])])

    # --- staff ----------------------------------------------------------------------------

    def list_staff(self, department_id: int = 1) -> list[Staff]:
        answer = self.call("GET", "/cgi-bin/user/list", idempotent=True,
                           params={"department_id": str(department_id)})
        return [Staff(userid=str(item["userid"]), name=str(item.get("name", "")),
                      departments=[int(part) for part in item.get("department", [])])
                for item in answer.get("userlist", [])]

    def iter_staff_ids(self, page_size: int = 1000) -> Iterator[str]:
        """Every member's userid through ``user/list_id`` (cursor pages)."""
        cursor = ""
        while True:
            answer = self.call("POST", "/cgi-bin/user/list_id", idempotent=True,
                               body={"cursor": cursor, "limit": page_size})
            for item in answer.get("dept_user", []):
                yield str(item["userid"])
            cursor = str(answer.get("next_cursor", ""))
            if not cursor:
                return


class ClientRegistry:
    """One client per corp and secret, so the token cache outlives a request."""

    def __init__(self, *, base_url: str, http: httpx.Client | None = None,
                 sleep: Callable[[float], None] = time.sleep, busy_retries: int = 4) -> None:
        self.base_url = base_url
        self._http = http
        self._sleep = sleep
        self._busy_retries = busy_retries
        self._clients: dict[tuple[str, str], WeComClient] = {}
        self._lock = threading.Lock()

    def client(self, *, corp_id: str, secret: str) -> WeComClient:
        with self._lock:
            key = (corp_id, secret)
            if key not in self._clients:
                self._clients[key] = WeComClient(corp_id=corp_id, secret=secret,
                                                 base_url=self.base_url, http=self._http,
                                                 sleep=self._sleep,
                                                 busy_retries=self._busy_retries)
            return self._clients[key]
