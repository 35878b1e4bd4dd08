"""Imports as uploads in the console."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.console import logged_in, page_csrf_token
from tests.support.factories import make_user
from yutang.access.roles import Role
from yutang.pool.models import Event


def test_an_uploaded_file_goes_in_and_bad_rows_are_listed(client: TestClient,
                                                          db: Session) -> None:
    make_user(db, "hq", Role.HQ_OPERATOR)
    logged_in(client, "hq")
    token = page_csrf_token(client, "/console/imports")
    content = ("event_id,type,occurred_at,wechat_unionid\n"
               "e1,view,2026-10-01 12:00,U-1\n"
               "e2,view,not a time,U-2\n").encode("gbk")
    response = client.post("/console/imports", data={"csrf_token": token, "kind": "events"},
                           files={"file": ("事件.csv", content, "text/csv")})
    assert response.status_code == 200, response.text
    assert "共 2 行：新增 1，更新 0，未变 0，拒绝 1" in response.text
    assert "invalid_event" in response.text
    assert db.scalar(select(func.count()).select_from(Event)) == 1
    forged = client.post("/console/imports", data={"kind": "events"},
                         files={"file": ("x.csv", content, "text/csv")})
    assert forged.status_code == 403


def test_analysts_may_not_import(client: TestClient, db: Session) -> None:
    make_user(db, "ana", Role.ANALYST)
    logged_in(client, "ana")
    assert client.get("/console/imports").status_code == 403
