"""Customer 360: merge history, unmerge from the page, manual and bulk tags."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.console import logged_in, page_csrf_token
from tests.support.factories import SYSTEM, make_store, make_user
from yutang.access.roles import Role
from yutang.pool import oneid
from yutang.pool.models import Customer, CustomerTag, Identity
from yutang.pool.oneid import IdentifierInput, Trigger


def _resolve(db: Session, **identities: str) -> Customer:
    resolution = oneid.resolve(
        db, identifiers=[IdentifierInput(kind, value) for kind, value in identities.items()],
        trigger=Trigger("test", "console", SYSTEM),
    )
    assert resolution.customer is not None
    return resolution.customer


def test_merge_history_and_unmerge_from_the_customer_page(client: TestClient,
                                                          db: Session) -> None:
    store = make_store(db, "SH01")
    make_user(db, "manager", Role.STORE_MANAGER, store)
    anna = _resolve(db, wechat_unionid="U-anna")
    bo = _resolve(db, jd_id="jd-bo")
    for customer in (anna, bo):
        customer.store_id = store.id
    db.flush()
    _resolve(db, wechat_unionid="U-anna", jd_id="jd-bo")
    logged_in(client, "manager")
    page = client.get(f"/console/customers/{anna.id}")
    assert page.status_code == 200
    assert 'data-testid="merge-table"' in page.text and "合并" in page.text
    assert page.text.count("/detach") == 2

    jd = db.scalars(select(Identity).where(Identity.kind == "jd_id")).one()
    url = f"/console/customers/{anna.id}/identities/{jd.id}/detach"
    token = page_csrf_token(client, f"/console/customers/{anna.id}")
    assert client.post(url, data={"reason": "不是同一人"}).status_code == 403  # no token
    assert client.post(url, data={"csrf_token": token, "reason": ""}).status_code == 422
    done = client.post(url, data={"csrf_token": token, "reason": "不是同一人"})
    assert done.status_code == 200 and "已拆分" in done.text
    db.refresh(bo)
    assert bo.merged_into_id is None
    assert "人工拆分" in client.get(f"/console/customers/{anna.id}").text


def test_tags_one_by_one_and_for_a_whole_search(client: TestClient, db: Session) -> None:
    make_user(db, "hq", Role.HQ_OPERATOR)
    first = _resolve(db, wechat_unionid="U-1")
    second = _resolve(db, wechat_unionid="U-2")
    logged_in(client, "hq")
    token = page_csrf_token(client)
    client.post(f"/console/customers/{first.id}/tags", data={"csrf_token": token, "tag": "VIP"})
    assert "VIP" in client.get(f"/console/customers/{first.id}").text
    bulk = client.post("/console/customers/tags",
                       data={"csrf_token": token, "tag": "双十一", "q": ""})
    assert bulk.status_code == 200 and "已为 2 位客户添加标签「双十一」" in bulk.text
    again = client.post("/console/customers/tags",
                        data={"csrf_token": token, "tag": "双十一", "q": ""})
    assert "已为 0 位客户" in again.text
    rows = db.scalars(select(CustomerTag.customer_id)).all()
    assert sorted(rows) == sorted([first.id, first.id, second.id])
    too_long = client.post(f"/console/customers/{first.id}/tags",
                           data={"csrf_token": token, "tag": "x" * 65})
    assert too_long.status_code == 422
