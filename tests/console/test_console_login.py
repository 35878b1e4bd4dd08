"""Logging in: cookies, CSRF on the login form, throttling, expiry, logout."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.console import csrf_token_in, log_in, logged_in, page_csrf_token
from tests.support.factories import PASSWORD, make_store, make_user
from yutang.access.models import ConsoleSession, LoginFailure
from yutang.access.roles import Role
from yutang.kit.clock import set_now_source, utcnow


def _open_sessions(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(ConsoleSession)) or 0


def test_login_sets_a_hardened_session_cookie_and_opens_the_overview(
    client: TestClient, db: Session
) -> None:
    make_user(db, "boss", Role.OWNER)
    response = log_in(client, "boss")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/"
    cookie = next(value for value in response.headers.get_list("set-cookie")
                  if value.startswith("yutang_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    overview = client.get("/console/")
    assert overview.status_code == 200
    for chart in ("chart-pool-size", "chart-new-by-channel", "chart-gmv"):
        assert f'id="{chart}"' in overview.text
    assert "总览" in overview.text  # Chinese by default
    assert _open_sessions(db) == 1


def test_pages_need_a_login(client: TestClient) -> None:
    response = client.get("/console/customers", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=%2Fconsole%2Fcustomers"
    htmx = client.get("/console/customers", headers={"HX-Request": "true"},
                      follow_redirects=False)
    assert htmx.status_code == 204
    assert htmx.headers["hx-redirect"].startswith("/console/login")


def test_login_form_refuses_missing_and_forged_csrf_tokens(client: TestClient, db: Session) -> None:
    make_user(db, "boss", Role.OWNER)
    form = client.get("/console/login")
    real_token = csrf_token_in(form.text)
    missing = client.post("/console/login", data={"username": "boss", "password": PASSWORD},
                          follow_redirects=False)
    assert missing.status_code == 403
    assert "表单已失效" in missing.text
    forged = client.post(
        "/console/login",
        data={"username": "boss", "password": PASSWORD, "csrf_token": real_token + "x"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    client.cookies.clear()  # a cross-site attacker has the field but not our cookie
    no_cookie = client.post(
        "/console/login",
        data={"username": "boss", "password": PASSWORD, "csrf_token": real_token},
        follow_redirects=False,
    )
    assert no_cookie.status_code == 403
    assert "yutang_session" not in client.cookies
    assert _open_sessions(db) == 0


def test_ten_wrong_passwords_lock_the_login_with_a_clear_message(
    client: TestClient, db: Session
) -> None:
    make_user(db, "clerk", Role.HQ_OPERATOR)
    for _ in range(10):
        wrong = log_in(client, "clerk", "not the password")
        assert wrong.status_code == 401
        assert "用户名或密码错误" in wrong.text
    assert db.scalar(select(func.count()).select_from(LoginFailure)) == 10
    locked = log_in(client, "clerk", PASSWORD)
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.text
    assert "15 分钟" in locked.text
    assert _open_sessions(db) == 0
    # After the lockout window the right password works again.
    later = utcnow() + timedelta(minutes=16)
    set_now_source(lambda: later)
    assert log_in(client, "clerk", PASSWORD).status_code == 303


def test_an_idle_session_expires_and_sends_the_user_to_log_in_again(
    client: TestClient, db: Session
) -> None:
    make_user(db, "boss", Role.OWNER)
    logged_in(client, "boss")
    assert client.get("/console/customers").status_code == 200
    later = utcnow() + timedelta(minutes=121)
    set_now_source(lambda: later)
    expired = client.get("/console/customers", follow_redirects=False)
    assert expired.status_code == 303
    assert expired.headers["location"] == "/console/login?expired=1"
    login_page = client.get(expired.headers["location"])
    assert "会话已过期" in login_page.text


def test_logout_needs_the_csrf_token_and_ends_the_session(client: TestClient, db: Session) -> None:
    make_user(db, "boss", Role.OWNER)
    logged_in(client, "boss")
    token = page_csrf_token(client)
    refused = client.post("/console/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/console/customers").status_code == 200  # still logged in
    done = client.post("/console/logout", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/console/login?logged_out=1"
    record = db.scalars(select(ConsoleSession)).one()
    assert record.ended_at is not None
    client.cookies.clear()
    assert client.get("/console/customers", follow_redirects=False).status_code == 303


def test_english_is_one_click_away(client: TestClient, db: Session) -> None:
    store = make_store(db, "SH01")
    make_user(db, "wang", Role.STAFF, store)
    logged_in(client, "wang")
    switched = client.get("/console/lang/en?back=/console/customers", follow_redirects=False)
    assert switched.status_code == 303
    assert switched.headers["location"] == "/console/customers"
    page = client.get("/console/customers")
    assert "<h1>Customers</h1>" in page.text
    assert "Log out" in page.text
    unknown = client.get("/console/lang/xx?back=https://evil.example/", follow_redirects=False)
    assert unknown.headers["location"] == "/console/"
    assert client.cookies.get("yutang_locale") == "en"


def test_login_redirects_only_inside_the_console(client: TestClient, db: Session) -> None:
    make_user(db, "boss", Role.OWNER)
    form = client.get("/console/login?next=//evil.example/x")
    response = client.post(
        "/console/login",
        data={"username": "boss", "password": PASSWORD, "csrf_token": csrf_token_in(form.text),
              "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/console/"


def test_console_pages_carry_browser_hardening_headers(client: TestClient) -> None:
    page = client.get("/console/login")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
