"""Console pages for channels, spend and channel codes; the public landing page."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.console import logged_in, page_csrf_token
from tests.support.factories import make_store, make_user
from yutang.access.roles import Role
from yutang.pool.models import ChannelCode, ChannelSpend


def test_hq_creates_channels_spend_and_codes(client: TestClient, db: Session) -> None:
    make_store(db, "SH01", "静安店")
    make_user(db, "hq", Role.HQ_OPERATOR)
    logged_in(client, "hq")
    token = page_csrf_token(client, "/console/channels")
    created = client.post("/console/channels", data={
        "csrf_token": token, "code": "WECOM-SH", "name": "企微活码", "kind": "wecom",
        "domain": "private"})
    assert created.status_code == 200 and "企微活码" in created.text and "私域" in created.text
    invalid = client.post("/console/channels", data={
        "csrf_token": token, "code": "bad code", "name": "x", "kind": "wecom",
        "domain": "private"})
    assert invalid.status_code == 422
    spend = client.post("/console/channels/spend", data={
        "csrf_token": token, "channel": "WECOM-SH", "period": "2026-10",
        "amount_yuan": "1,234.50"})
    assert spend.status_code == 200 and "¥1,234.50" in spend.text
    assert [row.amount_fen for row in db.scalars(select(ChannelSpend))] == [123450]

    code_page = client.post("/console/channel-codes", data={
        "csrf_token": token, "channel_code": "WECOM-SH", "store_code": "SH01",
        "campaign": "开业"})
    assert code_page.status_code == 200
    code = db.scalars(select(ChannelCode)).one()
    assert code.state in code_page.text and "开业" in code_page.text
    image = client.get(f"/console/channel-codes/{code.id}/qr.svg")
    assert image.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in image.content

    client.cookies.clear()
    landing = client.get(f"/r/{code.state}")
    assert landing.status_code == 200 and "感谢扫码" in landing.text
    assert client.get("/r/nope").status_code == 404


def test_staff_see_codes_of_their_store_but_make_none(client: TestClient, db: Session) -> None:
    store = make_store(db, "SH01")
    make_user(db, "clerk", Role.STAFF, store)
    logged_in(client, "clerk")
    page = client.get("/console/channel-codes")
    assert page.status_code == 200 and 'action="/console/channel-codes"' not in page.text
    channels_page = client.get("/console/channels")
    assert 'action="/console/channels"' not in channels_page.text
