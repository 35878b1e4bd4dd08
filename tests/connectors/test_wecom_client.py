"""The WeCom API client against the simulator: tokens cached, refreshed on expiry and on
token errcodes; busy answers retried with backoff; a mass send survives a token expiring
half-way without losing or duplicating anyone; the calls the product needs."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.connectors.conftest import CORP
from tests.support.factories import SYSTEM
from yutang.connectors.wecom import service
from yutang.connectors.wecom.client import ContactWay, JoinWay, WeComClient
from yutang.connectors.wecom.errors import WeComApiError, WeComUnavailable
from yutang.connectors.wecom.models import WeComMessageTask, WeComWay
from yutang.connectors.wecom.simulator import SimFollow, SimGroup, WeComSimulator

SEND = "externalcontact/add_msg_template"


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def _client(http: TestClient, fake: FakeTime | None = None,
            secret: str = CORP.secret) -> WeComClient:
    fake = fake or FakeTime()
    return WeComClient(corp_id=CORP.corp_id, secret=secret, base_url="http://wecom.sim",
                       http=http, sleep=fake.sleep, clock=fake.clock)


def _customers(simulator: WeComSimulator, count: int, prefix: str = "wm") -> list[str]:
    ids = [f"{prefix}{number:05d}" for number in range(count)]
    for external in ids:
        simulator.add_customer(external)
    return ids


def test_token_expiring_in_the_middle_of_a_mass_send_loses_and_duplicates_nothing(
    wecom_api: tuple[WeComSimulator, TestClient], db: Session
) -> None:
    simulator, http = wecom_api
    client = _client(http)
    targets = {"wang": _customers(simulator, 30, "wmW"), "li": _customers(simulator, 20, "wmL"),
               "zhao": _customers(simulator, 10, "wmZ")}
    simulator.expire_tokens_after(SEND, calls=1)
    result = service.send_mass_message(db, actor=SYSTEM, client=client, key="campaign-7",
                                       chat_type="single", text="双十二福利",
                                       targets=targets)
    assert (result.tasks_created, result.tasks_skipped, result.targets, result.failed) == (
        3, 0, 60, 0)
    everyone = [target for group in targets.values() for target in group]
    assert simulator.tasks_by_target() == dict.fromkeys(everyone, 1)
    assert [(task.sender, len(task.external_userids)) for task in simulator.tasks] == [
        ("li", 20), ("wang", 30), ("zhao", 10)]
    assert [call for call in simulator.calls if call[1] != 0] == [(SEND, 42001)]
    assert client.token_fetches == 2
    # running the same send again creates nothing more
    again = service.send_mass_message(db, actor=SYSTEM, client=client, key="campaign-7",
                                      chat_type="single", text="双十二福利", targets=targets)
    assert (again.tasks_created, again.tasks_skipped) == (0, 3)
    assert len(simulator.tasks) == 3
    assert db.scalar(select(func.count()).select_from(WeComMessageTask)) == 3


def test_rate_limits_are_retried_with_backoff(
    wecom_api: tuple[WeComSimulator, TestClient]
) -> None:
    simulator, http = wecom_api
    fake = FakeTime()
    client = _client(http, fake)
    customers = _customers(simulator, 3)
    simulator.inject_errors(SEND, [45009, 45033, -1])
    created = client.add_message_template(chat_type="single", sender="wang", text="hi",
                                          external_userids=customers)
    assert created.msgid.startswith("msg") and created.fail_list == []
    assert fake.sleeps == [0.5, 1.0, 2.0]
    assert simulator.tasks_by_target() == dict.fromkeys(customers, 1)

    simulator.inject_errors(SEND, [45009] * 5)
    with pytest.raises(WeComUnavailable):
        client.add_message_template(chat_type="single", sender="wang", text="hi",
                                    external_userids=customers)
    assert len(simulator.tasks) == 1  # the refused attempts created nothing
    assert fake.sleeps[3:] == [0.5, 1.0, 2.0, 4.0]


def test_tokens_are_cached_refreshed_before_expiry_and_when_refused(
    wecom_api: tuple[WeComSimulator, TestClient]
) -> None:
    simulator, http = wecom_api
    fake = FakeTime()
    client = _client(http, fake)
    simulator.add_staff("wang")
    for _ in range(3):
        client.list_staff()
    assert client.token_fetches == 1
    fake.now += 7200 - 59  # within a minute of expiry: fetched anew before WeCom refuses it
    client.list_staff()
    assert client.token_fetches == 2
    simulator.tokens.clear()  # WeCom forgot the token (40014): refresh and retry once
    assert [staff.userid for staff in client.list_staff()] == ["wang"]
    assert client.token_fetches == 3
    assert [call for call in simulator.calls if call[1] != 0] == [("user/list", 40014)]
    with pytest.raises(WeComApiError) as refused:
        _client(http, secret="wrong-secret").list_staff()
    assert refused.value.errcode == 40001


def test_the_calls_the_product_needs(
    wecom_api: tuple[WeComSimulator, TestClient], db: Session
) -> None:
    simulator, http = wecom_api
    client = _client(http)
    for userid in ("li", "wang", "zhao"):
        simulator.add_staff(userid, name=f"员工{userid}")
    way = service.publish_contact_way(db, actor=SYSTEM, client=client, state="ytState0001",
                                      staff_userids=["wang"], remark="静安店")
    stored = db.scalars(select(WeComWay)).one()
    assert (stored.kind, stored.state, stored.config_id) == (
        "contact_way", "ytState0001", way.config_id)
    assert simulator.contact_ways[way.config_id]["state"] == "ytState0001"
    assert simulator.contact_ways[way.config_id]["type"] == 1
    assert stored.qr_code == simulator.contact_ways[way.config_id]["qr_code"]
    service.change_contact_way(db, actor=SYSTEM, client=client, way=stored, state="ytState0002",
                               staff_userids=["wang", "li"])
    assert simulator.contact_ways[way.config_id]["state"] == "ytState0002"
    assert simulator.contact_ways[way.config_id]["user"] == ["wang", "li"]
    with pytest.raises(ValueError, match="30"):
        client.add_contact_way(ContactWay(users=["wang"], state="x" * 31))

    simulator.add_customer("wmA", name="张三", unionid="o6_A")
    simulator.follows[("wang", "wmA")] = SimFollow(userid="wang", external_userid="wmA",
                                                   state="ytState0002", created_at=1)
    contact = client.get_external_contact("wmA")
    assert (contact.unionid, contact.name, [(f.userid, f.state) for f in contact.follow_users]) \
        == ("o6_A", "张三", [("wang", "ytState0002")])
    with pytest.raises(WeComApiError) as unknown:
        client.get_external_contact("wmNobody")
    assert unknown.value.errcode == 84061

    for chat_id in ("wr1", "wr2"):
        simulator.groups[chat_id] = SimGroup(chat_id=chat_id, name=chat_id, owner="wang",
                                             create_time=1)
    join = service.publish_join_way(db, actor=SYSTEM, client=client, state="ytGroup01",
                                    chat_ids=["wr1", "wr2"])
    assert simulator.join_ways[join.config_id]["chat_id_list"] == ["wr1", "wr2"]
    assert join.qr_code.endswith(f"{join.config_id}.png")
    with pytest.raises(ValueError, match="1 to 5"):
        client.add_join_way(JoinWay(chat_ids=[f"wr{n}" for n in range(6)], state="s"))
    chat = client.get_group_chat("wr1")
    assert (chat.chat_id, chat.owner, chat.members) == ("wr1", "wang", [])

    groups = client.add_message_template(chat_type="group", sender="wang", text="群发")
    assert simulator.tasks[-1].chat_ids == ["wr1", "wr2"] and groups.msgid
    assert [staff.userid for staff in client.list_staff()] == ["li", "wang", "zhao"]
    assert list(client.iter_staff_ids(page_size=2)) == ["li", "wang", "zhao"]
    assert "secret" not in repr(client) and CORP.secret not in repr(client)
