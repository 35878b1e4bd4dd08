"""A local WeCom: the API endpoints yutang calls, with their documented shapes and errcodes,
and scripted scenarios delivered to yutang as correctly signed and encrypted callbacks.

Serve it with ``yutang wecom-sim`` (uvicorn on localhost) or mount ``simulator.app`` in-process
(tests). State lives in memory: staff, external contacts and who follows them, customer
groups with their members, contact ways and join ways with their ``state``, welcome codes
and mass-send tasks. Faults can be injected: expire every token (now, or after a number of
calls), or answer an errcode (45009 rate limit…) the next times an endpoint is called.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from yutang.connectors.wecom.crypto import WeComCipher
from yutang.connectors.wecom.messages import (
    CHAT_EVENT,
    CONTACT_EVENT,
    ChatChange,
    ChatUpdate,
    ContactChange,
    XmlValue,
    envelope_xml,
    render_xml,
)
from yutang.connectors.wecom.simulator_state import (
    JOIN_SCENE_API,
    JOIN_SCENE_EVENT,
    QUIT_SCENE,
    WELCOME_CODE_SECONDS,
    Delivery,
    Json,
    SimContact,
    SimFollow,
    SimGroup,
    SimMember,
    SimStaff,
    SimTask,
    SimulatedCorp,
    SimWelcomeCode,
)

__all__ = [
    "JOIN_SCENE_API",
    "JOIN_SCENE_EVENT",
    "QUIT_SCENE",
    "WELCOME_CODE_SECONDS",
    "Delivery",
    "Json",
    "SimContact",
    "SimFollow",
    "SimGroup",
    "SimMember",
    "SimStaff",
    "SimTask",
    "SimWelcomeCode",
    "SimulatedCorp",
    "WeComSimulator",
]


class WeComSimulator:
    """WeCom's API and callbacks for one corp, in memory."""

    def __init__(
        self,
        corp: SimulatedCorp,
        *,
        callback_url: str | None = None,
        callback_http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
        token_lifetime_seconds: int = 7200,
        callback_tries: int = 1,
    ) -> None:
        self.corp = corp
        self.cipher = WeComCipher(token=corp.token, encoding_aes_key=corp.encoding_aes_key,
                                  receive_id=corp.corp_id)
        self.callback_url = callback_url
        self._callback_http = callback_http
        self.clock = clock
        self.token_lifetime_seconds = token_lifetime_seconds
        self.callback_tries = callback_tries
        self._lock = threading.RLock()
        self.tokens: dict[str, float] = {}
        self.staff: dict[str, SimStaff] = {}
        self.contacts: dict[str, SimContact] = {}
        self.follows: dict[tuple[str, str], SimFollow] = {}
        self.groups: dict[str, SimGroup] = {}
        self.contact_ways: dict[str, Json] = {}
        self.join_ways: dict[str, Json] = {}
        self.welcome_codes: dict[str, SimWelcomeCode] = {}
        self.welcome_messages: list[Json] = []
        self.tasks: list[SimTask] = []
        self.calls: list[tuple[str, int]] = []
        """Every API call as (path, errcode answered)."""
        self.deliveries: list[Delivery] = []
        self._injected: dict[str, list[int]] = {}
        self._expire_after: dict[str, int] = {}
        self._last_create_time = 0
        self.app = self._build_app()

    # --- faults ---------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every token issued so far expires now (the next call answers 42001)."""
        with self._lock:
            for token in self.tokens:
                self.tokens[token] = 0.0

    def expire_tokens_after(self, path: str, calls: int) -> None:
        """Expire every token after ``calls`` more successful calls of ``path``."""
        with self._lock:
            self._expire_after[path] = calls

    def inject_errors(self, path: str, errcodes: Iterable[int]) -> None:
        """Answer these errcodes, in order, to the next calls of ``path``."""
        with self._lock:
            self._injected.setdefault(path, []).extend(errcodes)

    # --- the API --------------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="WeCom simulator", docs_url=None, redoc_url=None,
                      openapi_url=None)
        routes: dict[str, Callable[[Json, Json], Json]] = {
            "externalcontact/add_contact_way": self._add_contact_way,
            "externalcontact/update_contact_way": self._update_contact_way,
            "externalcontact/groupchat/add_join_way": self._add_join_way,
            "externalcontact/groupchat/get_join_way": self._get_join_way,
            "externalcontact/get": self._get_external_contact,
            "externalcontact/groupchat/get": self._get_group_chat,
            "externalcontact/send_welcome_msg": self._send_welcome_msg,
            "externalcontact/add_msg_template": self._add_msg_template,
            "user/list": self._user_list,
            "user/list_id": self._user_list_id,
        }

        @app.get("/cgi-bin/gettoken")
        def gettoken(corpid: str = "", corpsecret: str = "") -> JSONResponse:
            return JSONResponse(self._gettoken(corpid, corpsecret))

        @app.api_route("/cgi-bin/{path:path}", methods=["GET", "POST"])
        async def api(path: str, request: Request) -> JSONResponse:
            query = dict(request.query_params)
            body: Json = {}
            if request.method == "POST":
                try:
                    parsed = await request.json()
                except ValueError:
                    return JSONResponse(self._answer(path, 47001, "data format error"))
                body = parsed if isinstance(parsed, dict) else {}
            handler = routes.get(path)
            if handler is None:
                return JSONResponse(self._answer(path, 404, "api not found"), status_code=404)
            return JSONResponse(self._dispatch(path, handler, query, body))

        return app

    def _answer(self, path: str, errcode: int, errmsg: str, **fields: Any) -> Json:
        self.calls.append((path, errcode))
        return {"errcode": errcode, "errmsg": errmsg, **fields}

    def _gettoken(self, corpid: str, corpsecret: str) -> Json:
        with self._lock:
            if corpid != self.corp.corp_id:
                return self._answer("gettoken", 40013, "invalid corpid")
            if corpsecret != self.corp.secret:
                return self._answer("gettoken", 40001, "invalid credential")
            token = secrets.token_urlsafe(32)
            self.tokens[token] = self.clock() + self.token_lifetime_seconds
            return self._answer("gettoken", 0, "ok", access_token=token,
                                expires_in=self.token_lifetime_seconds)

    def _dispatch(self, path: str, handler: Callable[[Json, Json], Json], query: Json,
                  body: Json) -> Json:
        with self._lock:
            token = query.get("access_token", "")
            if not token:
                return self._answer(path, 41001, "access_token missing")
            if token not in self.tokens:
                return self._answer(path, 40014, "invalid access_token")
            if self.tokens[token] <= self.clock():
                return self._answer(path, 42001, "access_token expired")
            injected = self._injected.get(path)
            if injected:
                errcode = injected.pop(0)
                return self._answer(path, errcode, "injected fault")
            answer = handler(query, body)
            errcode = int(answer.pop("errcode", 0))
            errmsg = str(answer.pop("errmsg", "ok"))
            if errcode == 0 and path in self._expire_after:
                self._expire_after[path] -= 1
                if self._expire_after[path] <= 0:
                    del self._expire_after[path]
                    self.expire_tokens()
            return self._answer(path, errcode, errmsg, **answer)

    @staticmethod
    def _invalid(message: str) -> Json:
        return {"errcode": 40058, "errmsg": f"invalid parameter: {message}"}

    def _add_contact_way(self, _: Json, body: Json) -> Json:
        if body.get("type") not in (1, 2) or body.get("scene") not in (1, 2):
            return self._invalid("type and scene are 1 or 2")
        state = str(body.get("state", ""))
        if len(state) > 30:
            return self._invalid("state exceeds 30 characters")
        users = [str(user) for user in body.get("user", [])]
        if not users and not body.get("party"):
            return self._invalid("user or party is required")
        if body["type"] == 1 and len(users) != 1:
            return self._invalid("a single contact way has exactly one user")
        config_id = secrets.token_hex(16)
        qr_code = f"https://wework.qpic.cn/simulated/{config_id}.png"
        self.contact_ways[config_id] = {**body, "config_id": config_id, "qr_code": qr_code,
                                        "user": users}
        answer: Json = {"config_id": config_id}
        if body["scene"] == 2:
            answer["qr_code"] = qr_code
        return answer

    def _update_contact_way(self, _: Json, body: Json) -> Json:
        way = self.contact_ways.get(str(body.get("config_id", "")))
        if way is None:
            return self._invalid("unknown config_id")
        if len(str(body.get("state", ""))) > 30:
            return self._invalid("state exceeds 30 characters")
        way.update({key: value for key, value in body.items() if key != "config_id"})
        return {}

    def _add_join_way(self, _: Json, body: Json) -> Json:
        chat_ids = [str(chat) for chat in body.get("chat_id_list", [])]
        if not 1 <= len(chat_ids) <= 5:
            return self._invalid("chat_id_list holds 1 to 5 groups")
        if any(chat not in self.groups for chat in chat_ids):
            return self._invalid("unknown chat_id")
        if len(str(body.get("state", ""))) > 30:
            return self._invalid("state exceeds 30 characters")
        config_id = secrets.token_hex(16)
        self.join_ways[config_id] = {
            **body, "config_id": config_id, "chat_id_list": chat_ids,
            "qr_code": f"https://wework.qpic.cn/simulated/join/{config_id}.png",
        }
        return {"config_id": config_id}

    def _get_join_way(self, _: Json, body: Json) -> Json:
        way = self.join_ways.get(str(body.get("config_id", "")))
        if way is None:
            return self._invalid("unknown config_id")
        return {"join_way": dict(way)}

    def _get_external_contact(self, query: Json, _: Json) -> Json:
        contact = self.contacts.get(str(query.get("external_userid", "")))
        if contact is None:
            return {"errcode": 84061, "errmsg": "not external contact"}
        detail: Json = {"external_userid": contact.external_userid, "name": contact.name,
                        "type": contact.type, "gender": 0}
        if contact.unionid:
            detail["unionid"] = contact.unionid
        follows = [{"userid": follow.userid, "remark": "", "createtime": follow.created_at,
                    "state": follow.state}
                   for follow in self.follows.values()
                   if follow.external_userid == contact.external_userid]
        return {"external_contact": detail, "follow_user": follows}

    def _get_group_chat(self, _: Json, body: Json) -> Json:
        group = self.groups.get(str(body.get("chat_id", "")))
        if group is None:
            return {"errcode": 40050, "errmsg": "chatid not found"}
        members = []
        for member in group.members.values():
            item: Json = {"userid": member.userid, "type": member.type,
                          "join_time": member.join_time, "join_scene": member.join_scene}
            contact = self.contacts.get(member.userid)
            if member.type == 2 and contact is not None and contact.unionid:
                item["unionid"] = contact.unionid
            members.append(item)
        return {"group_chat": {"chat_id": group.chat_id, "name": group.name,
                               "owner": group.owner, "create_time": group.create_time,
                               "notice": group.notice, "member_list": members,
                               "admin_list": [], "member_version": group.version}}

    def _send_welcome_msg(self, _: Json, body: Json) -> Json:
        code = self.welcome_codes.get(str(body.get("welcome_code", "")))
        if code is None or code.expires_at <= self.clock():
            return self._invalid("welcome_code is unknown or expired")
        if code.used:
            return {"errcode": 41051, "errmsg": "welcome code has been used"}
        if len(body.get("attachments", [])) > 9:
            return self._invalid("at most 9 attachments")
        code.used = True
        self.welcome_messages.append({"userid": code.userid,
                                      "external_userid": code.external_userid,
                                      "text": body.get("text", {}).get("content", "")})
        return {}

    def _add_msg_template(self, _: Json, body: Json) -> Json:
        chat_type = str(body.get("chat_type", "single"))
        sender = str(body.get("sender", ""))
        if chat_type not in ("single", "group"):
            return self._invalid("chat_type is single or group")
        if chat_type == "group" and not sender:
            return self._invalid("sender is required for groups")
        text = str(body.get("text", {}).get("content", ""))
        customers = [str(item) for item in body.get("external_userid", [])]
        chats = [str(item) for item in body.get("chat_id_list", [])]
        if len(customers) > 10_000 or len(chats) > 2_000:
            return self._invalid("too many targets")
        fail_list = [item for item in customers if item not in self.contacts]
        if chat_type == "group" and not chats:
            chats = [group.chat_id for group in self.groups.values() if group.owner == sender]
        msgid = "msg" + secrets.token_hex(12)
        self.tasks.append(SimTask(msgid=msgid, chat_type=chat_type, sender=sender, text=text,
                                  external_userids=[c for c in customers if c not in fail_list],
                                  chat_ids=chats))
        return {"fail_list": fail_list, "msgid": msgid}

    def _user_list(self, query: Json, _: Json) -> Json:
        department = int(query.get("department_id", 1))
        users = [{"userid": staff.userid, "name": staff.name, "department": staff.departments,
                  "status": 1}
                 for staff in self.staff.values() if department in staff.departments]
        return {"userlist": users}

    def _user_list_id(self, _: Json, body: Json) -> Json:
        ordered = sorted(self.staff.values(), key=lambda staff: staff.userid)
        start = int(body.get("cursor") or 0)
        limit = max(1, min(int(body.get("limit", 10_000)), 10_000))
        page = ordered[start : start + limit]
        following = start + limit
        return {"next_cursor": str(following) if following < len(ordered) else "",
                "dept_user": [{"userid": staff.userid, "department": staff.departments[0]}
                              for staff in page]}

    # --- state the scenarios build on ---------------------------------------------------

    def add_staff(self, userid: str, name: str = "") -> SimStaff:
        with self._lock:
            staff = SimStaff(userid=userid, name=name or userid)
            self.staff[userid] = staff
            return staff

    def add_customer(self, external_userid: str, *, name: str = "", unionid: str = "") -> None:
        with self._lock:
            self.contacts.setdefault(external_userid, SimContact(
                external_userid=external_userid, name=name or external_userid,
                unionid=unionid))

    def tasks_by_target(self) -> dict[str, int]:
        """How many mass-send tasks reached each customer or group."""
        counts: dict[str, int] = {}
        for task in self.tasks:
            for target in [*task.external_userids, *task.chat_ids]:
                counts[target] = counts.get(target, 0) + 1
        return counts

    # --- callbacks ------------------------------------------------------------------------

    def _create_time(self) -> int:
        moment = int(self.clock())
        self._last_create_time = moment
        return moment

    def _event(self, event: str, change_type: str, create_time: int,
               **fields: XmlValue) -> str:
        body: dict[str, XmlValue] = {
            "ToUserName": self.corp.corp_id, "FromUserName": "sys", "CreateTime": create_time,
            "MsgType": "event", "Event": event, "ChangeType": change_type,
        }
        body.update({name: value for name, value in fields.items() if value != ""})
        return render_xml(body)

    def signed_request(self, plaintext: str, *, timestamp: str | None = None,
                       nonce: str | None = None) -> tuple[dict[str, str], str]:
        """Query parameters and body of a callback POST carrying ``plaintext``."""
        timestamp = timestamp or str(int(self.clock()))
        nonce = nonce or secrets.token_hex(8)
        encrypted = self.cipher.encrypt(plaintext)
        params = {"msg_signature": self.cipher.sign(timestamp, nonce, encrypted),
                  "timestamp": timestamp, "nonce": nonce}
        body = envelope_xml(to_user_name=self.corp.corp_id, agent_id=self.corp.agent_id,
                            encrypted=encrypted)
        return params, body

    def _http(self) -> httpx.Client:
        if self._callback_http is None:
            self._callback_http = httpx.Client(timeout=5.0)
        return self._callback_http

    def deliver(self, plaintext: str) -> Delivery:
        """POST a callback to yutang; like WeCom, try again on anything but HTTP 200."""
        if self.callback_url is None:
            raise RuntimeError("the simulator has no callback URL")
        params, body = self.signed_request(plaintext)
        status, text, attempts = 0, "", 0
        for attempts in range(1, self.callback_tries + 1):  # noqa: B007 - kept for the record
            try:
                response = self._http().post(self.callback_url, params=params,
                                             content=body.encode(),
                                             headers={"Content-Type": "text/xml"})
            except httpx.TransportError as error:
                status, text = 0, type(error).__name__
                continue
            status, text = response.status_code, response.text
            if status == 200:
                break
        delivery = Delivery(plaintext=plaintext, status_code=status, text=text,
                            attempts=attempts)
        self.deliveries.append(delivery)
        return delivery

    def verify_url(self) -> Delivery:
        """The GET verification WeCom makes when the callback URL is saved."""
        if self.callback_url is None:
            raise RuntimeError("the simulator has no callback URL")
        echo = secrets.token_hex(10)
        timestamp, nonce = str(int(self.clock())), secrets.token_hex(8)
        echostr = self.cipher.encrypt(echo)
        params = {"msg_signature": self.cipher.sign(timestamp, nonce, echostr),
                  "timestamp": timestamp, "nonce": nonce, "echostr": echostr}
        response = self._http().get(self.callback_url, params=params)
        delivery = Delivery(plaintext=echo, status_code=response.status_code,
                            text=response.text, attempts=1)
        self.deliveries.append(delivery)
        return delivery

    # --- scenarios: what customers and staff do -------------------------------------------

    def customer_adds_staff(self, *, external_userid: str, staff: str, state: str = "",
                            name: str = "", unionid: str = "", half: bool = False) -> Delivery:
        """A customer scans a code and adds a staff member (``add_external_contact``)."""
        with self._lock:
            if staff not in self.staff:
                self.add_staff(staff)
            self.add_customer(external_userid, name=name, unionid=unionid)
            at = self._create_time()
            self.follows[(staff, external_userid)] = SimFollow(
                userid=staff, external_userid=external_userid, state=state, created_at=at)
            code = secrets.token_urlsafe(24)
            self.welcome_codes[code] = SimWelcomeCode(
                userid=staff, external_userid=external_userid,
                expires_at=self.clock() + WELCOME_CODE_SECONDS)
            change = ContactChange.ADD_HALF if half else ContactChange.ADD
            plaintext = self._event(CONTACT_EVENT, change.value, at, UserID=staff,
                                    ExternalUserID=external_userid, State=state,
                                    WelcomeCode=code)
        return self.deliver(plaintext)

    def edit_contact(self, *, external_userid: str, staff: str) -> Delivery:
        with self._lock:
            plaintext = self._event(CONTACT_EVENT, ContactChange.EDIT.value,
                                    self._create_time(), UserID=staff,
                                    ExternalUserID=external_userid)
        return self.deliver(plaintext)

    def staff_deletes_customer(self, *, external_userid: str, staff: str,
                               by_transfer: bool = False) -> Delivery:
        """The staff member deletes the customer (``del_external_contact``)."""
        with self._lock:
            self.follows.pop((staff, external_userid), None)
            plaintext = self._event(
                CONTACT_EVENT, ContactChange.DELETE_BY_STAFF.value, self._create_time(),
                UserID=staff, ExternalUserID=external_userid,
                Source="DELETE_BY_TRANSFER" if by_transfer else "")
        return self.deliver(plaintext)

    def customer_deletes_staff(self, *, external_userid: str, staff: str) -> Delivery:
        """The customer deletes the staff member (``del_follow_user``): churn."""
        with self._lock:
            self.follows.pop((staff, external_userid), None)
            plaintext = self._event(CONTACT_EVENT, ContactChange.DELETE_BY_CUSTOMER.value,
                                    self._create_time(), UserID=staff,
                                    ExternalUserID=external_userid)
        return self.deliver(plaintext)

    def transfer_fails(self, *, external_userid: str, staff: str,
                       reason: str = "customer_refused") -> Delivery:
        with self._lock:
            plaintext = self._event(CONTACT_EVENT, ContactChange.TRANSFER_FAIL.value,
                                    self._create_time(), UserID=staff,
                                    ExternalUserID=external_userid, FailReason=reason)
        return self.deliver(plaintext)

    def create_group(self, *, chat_id: str, name: str, owner: str,
                     members: Sequence[str] = ()) -> Delivery:
        with self._lock:
            at = self._create_time()
            group = SimGroup(chat_id=chat_id, name=name, owner=owner, create_time=at)
            for userid in [owner, *members]:
                group.members[userid] = self._member(userid, at, "invite")
            self.groups[chat_id] = group
            plaintext = self._event(CHAT_EVENT, ChatChange.CREATE.value, at, ChatId=chat_id)
        return self.deliver(plaintext)

    def _member(self, userid: str, at: int, how: str) -> SimMember:
        kind = 1 if userid in self.staff else 2
        return SimMember(userid=userid, type=kind, join_time=at, join_scene=JOIN_SCENE_API[how])

    def join_group(self, *, chat_id: str, userids: Sequence[str], how: str = "qr") -> Delivery:
        """Customers join a group (``update``/``add_member``) by QR code, link or invite."""
        with self._lock:
            group = self.groups[chat_id]
            before = group.version
            at = self._create_time()
            for userid in userids:
                group.members[userid] = self._member(userid, at, how)
            plaintext = self._event(
                CHAT_EVENT, ChatChange.UPDATE.value, at, ChatId=chat_id,
                UpdateDetail=ChatUpdate.ADD_MEMBER.value, JoinScene=JOIN_SCENE_EVENT[how],
                MemChangeCnt=len(userids), MemChangeList=list(userids), LastMemVer=before,
                CurMemVer=group.version)
        return self.deliver(plaintext)

    def quit_group(self, *, chat_id: str, userids: Sequence[str],
                   how: str = "left") -> Delivery:
        """Members leave a group, or are removed (``update``/``del_member``)."""
        with self._lock:
            group = self.groups[chat_id]
            before = group.version
            for userid in userids:
                group.members.pop(userid, None)
            plaintext = self._event(
                CHAT_EVENT, ChatChange.UPDATE.value, self._create_time(), ChatId=chat_id,
                UpdateDetail=ChatUpdate.DEL_MEMBER.value, QuitScene=QUIT_SCENE[how],
                MemChangeCnt=len(userids), MemChangeList=list(userids), LastMemVer=before,
                CurMemVer=group.version)
        return self.deliver(plaintext)

    def rename_group(self, *, chat_id: str, name: str) -> Delivery:
        with self._lock:
            self.groups[chat_id].name = name
            plaintext = self._event(CHAT_EVENT, ChatChange.UPDATE.value, self._create_time(),
                                    ChatId=chat_id, UpdateDetail=ChatUpdate.CHANGE_NAME.value)
        return self.deliver(plaintext)

    def change_group_owner(self, *, chat_id: str, owner: str) -> Delivery:
        with self._lock:
            self.groups[chat_id].owner = owner
            plaintext = self._event(CHAT_EVENT, ChatChange.UPDATE.value, self._create_time(),
                                    ChatId=chat_id, UpdateDetail=ChatUpdate.CHANGE_OWNER.value)
        return self.deliver(plaintext)

    def dismiss_group(self, *, chat_id: str) -> Delivery:
        with self._lock:
            self.groups.pop(chat_id, None)
            plaintext = self._event(CHAT_EVENT, ChatChange.DISMISS.value, self._create_time(),
                                    ChatId=chat_id)
        return self.deliver(plaintext)
