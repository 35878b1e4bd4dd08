"""What the WeCom simulator keeps in memory: the corp, staff, contacts, groups, welcome codes,
mass-send tasks, and the deliveries of callbacks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

WELCOME_CODE_SECONDS = 20
JOIN_SCENE_EVENT = {"invite": 0, "link": 0, "qr": 3}
"""Callback ``JoinScene``: 0 invited or by link, 3 by QR code."""
JOIN_SCENE_API = {"invite": 1, "link": 2, "qr": 3}
"""``groupchat/get`` ``join_scene``: 1 direct invite, 2 link, 3 QR — another code set."""
QUIT_SCENE = {"left": 0, "removed": 1}

Json = dict[str, Any]


@dataclass(frozen=True)
class SimulatedCorp:
    corp_id: str
    secret: str
    token: str
    encoding_aes_key: str
    agent_id: str = "1000002"


@dataclass
class SimStaff:
    userid: str
    name: str
    departments: list[int] = field(default_factory=lambda: [1])


@dataclass
class SimContact:
    external_userid: str
    name: str
    unionid: str = ""
    type: int = 1


@dataclass
class SimFollow:
    userid: str
    external_userid: str
    state: str
    created_at: int


@dataclass
class SimMember:
    userid: str
    type: int
    join_time: int
    join_scene: int


@dataclass
class SimGroup:
    chat_id: str
    name: str
    owner: str
    create_time: int
    notice: str = ""
    members: dict[str, SimMember] = field(default_factory=dict)

    @property
    def version(self) -> str:
        joined = ",".join(sorted(self.members))
        return hashlib.md5(joined.encode(), usedforsecurity=False).hexdigest()


@dataclass
class SimWelcomeCode:
    userid: str
    external_userid: str
    expires_at: float
    used: bool = False


@dataclass
class SimTask:
    msgid: str
    chat_type: str
    sender: str
    text: str
    external_userids: list[str]
    chat_ids: list[str]


@dataclass(frozen=True)
class Delivery:
    """One callback sent to yutang and what it answered."""

    plaintext: str
    status_code: int
    text: str
    attempts: int
