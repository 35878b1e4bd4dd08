"""The operator-load report on a constructed week (ISO week 2026-W50, Asia/Shanghai): exact
tasks to confirm, deliveries, customers and groups reached, follow-ups done, Moments posted,
minutes and customers per staff hour per staff member and in total; touches on schedule and
by hand, staff tasks per staff member a day and per 10,000 customers; per campaign the
confirmations per 1,000 recipients and the flag of per-customer variables; what lies outside
the week or was not sent does not count; a store manager sees their store's staff. Then the
same figures over the API and on the console page (both backends)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.campaigns.operator_load_support import MONDAY, WEEK, constructed_week
from tests.support.console import logged_in
from tests.support.factories import SYSTEM, make_api_key, make_user
from yutang.access.errors import RoleNotAllowed
from yutang.access.roles import ActorKind, Principal, Role
from yutang.access.service import principal_for_user
from yutang.campaigns.operator_load import operator_load, week_monday
from yutang.campaigns.operator_load_schemas import ActionSeconds
from yutang.kit.errors import InvalidInput


def _staff_row(userid: str | None, user_id: int | None, name: str, *figures: Any) -> dict[str, Any]:
    keys = ("tasks_to_confirm", "deliveries_sent", "customers_reached", "groups_reached",
            "follow_ups_done", "moments_posted", "staff_minutes", "customers_per_staff_hour")
    return {"staff_userid": userid, "user_id": user_id, "name": name, **dict(zip(keys, figures,
                                                                               strict=True))}


def _expected(week: dict[str, Any]) -> dict[str, Any]:
    return {
        "week": WEEK, "starts_at": MONDAY, "ends_at": MONDAY + timedelta(days=7),
        "seconds": {"confirm_task": 30, "follow_up": 300, "moment_post": 120},
        "staff_members": 3,
        "staff": [
            # b: one shared task and four personalised ones; 9 sent to 8 customers; a
            # Moments post still pending does not count.
            _staff_row("staff-b", week["b"], "staff-b", 5, 9, 8, 0, 0, 0, 2.5, 192.0),
            # a: two shared tasks (31 customers) and one group task (3 groups); 2 follow-ups,
            # 1 Moments post: (3 × 30 + 2 × 300 + 120) / 60 = 13.5 minutes; 31 / (13.5 / 60)
            # customers an hour.
            _staff_row("staff-a", week["a"], "王店员", 3, 34, 31, 3, 2, 1, 13.5, 137.78),
            _staff_row(None, week["c"], "staff-c", 0, 0, 0, 0, 3, 1, 17.0, 0.0),
            _staff_row(None, None, "", 0, 2, 2, 0, 0, 0, 0.0, None),
        ],
        # 41 customers: 31 + 8 + 2; (8 × 30 + 5 × 300 + 2 × 120) / 60 = 33 minutes.
        "total": _staff_row(None, None, "", 8, 45, 41, 3, 5, 2, 33.0, 74.55),
        # 45 deliveries on schedule against 5 follow-ups and 2 Moments posts by hand; 15 staff
        # tasks (8 + 5 + 2) for 3 staff members over 7 days; the pool holds the 7 customers
        # the follow-ups were made for.
        "touches_scheduled": 45, "touches_by_hand": 7, "scheduled_share": 0.8654,
        "staff_tasks": 15, "staff_tasks_per_member_per_day": 0.71, "pool_customers": 7,
        "staff_tasks_per_10000_customers": 21428.57,
        "campaigns": [
            {"campaign_id": week["personal"], "recipients": 4, "confirmations": 4,
             "confirmations_per_1000_recipients": 1000.0, "staff_members": 1,
             "per_customer_variables": ["name", "coupon"], "one_task_per_recipient": True},
            {"campaign_id": week["shared"], "recipients": 36, "confirmations": 3,
             "confirmations_per_1000_recipients": 83.33, "staff_members": 2,
             "per_customer_variables": [], "one_task_per_recipient": False},
            {"campaign_id": week["groups"], "recipients": 3, "confirmations": 1,
             "confirmations_per_1000_recipients": 333.33, "staff_members": 1,
             "per_customer_variables": [], "one_task_per_recipient": False},
            {"campaign_id": week["demo"], "recipients": 2, "confirmations": 0,
             "confirmations_per_1000_recipients": 0.0, "staff_members": 0,
             "per_customer_variables": [], "one_task_per_recipient": False},
        ],
    }


def _comparable(report: dict[str, Any]) -> dict[str, Any]:
    return report | {"campaigns": [{key: value for key, value in item.items()
                                    if key not in ("name", "channel")}
                                   for item in report["campaigns"]]}


def test_the_report_counts_a_constructed_week_exactly(db: Session) -> None:
    week = constructed_week(db)
    report = operator_load(db, actor=SYSTEM, week=WEEK)
    assert _comparable(report.model_dump()) == _expected(week)

    cheaper = operator_load(db, actor=SYSTEM, week=WEEK,
                            seconds=ActionSeconds(confirm_task=60, follow_up=0, moment_post=0))
    assert [(row.name, row.staff_minutes) for row in cheaper.staff] == [
        ("staff-b", 5.0), ("王店员", 3.0), ("staff-c", 0.0), ("", 0.0)]
    assert cheaper.total.staff_minutes == 8.0
    assert operator_load(db, actor=SYSTEM, week="2026-W52").total.deliveries_sent == 0

    manager = principal_for_user(week["manager"])
    mine = operator_load(db, actor=manager, week=WEEK)
    assert [(row.staff_userid, row.tasks_to_confirm, row.follow_ups_done)
            for row in mine.staff] == [("staff-a", 3, 2)]
    assert (mine.total.tasks_to_confirm, mine.total.customers_reached) == (3, 31)
    assert [(item.campaign_id, item.recipients) for item in mine.campaigns] == [
        (week["shared"], 31), (week["groups"], 3)]


def test_weeks_are_iso_weeks_in_shanghai(db: Session) -> None:
    assert week_monday("2026-W50").isoformat() == "2026-12-07"
    assert week_monday("2026-W01").isoformat() == "2025-12-29"
    sunday_night = datetime(2026, 12, 13, 15, 59, tzinfo=UTC)  # Sunday 23:59 in Shanghai
    assert week_monday(None, now=sunday_night).isoformat() == "2026-12-07"
    assert week_monday(None, now=sunday_night + timedelta(minutes=1)).isoformat() == "2026-12-14"
    for bad in ("2026-50", "2026-W54", "W50", "2026-W5"):
        with pytest.raises(InvalidInput):
            week_monday(bad)
    staff = Principal(kind=ActorKind.USER, id=None, name="staff", role=Role.STAFF)
    with pytest.raises(RoleNotAllowed):
        operator_load(db, actor=staff, week=WEEK)


def test_the_report_over_the_api(client: TestClient, db: Session) -> None:
    week = constructed_week(db)
    headers = {"Authorization": f"Bearer {make_api_key(db, Role.HQ_OPERATOR)}"}
    db.commit()
    answer = client.get("/api/v1/campaigns/operator-load", params={"week": WEEK},
                        headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = _expected(week)
    expected |= {"starts_at": "2026-12-06T16:00:00Z", "ends_at": "2026-12-13T16:00:00Z"}
    body["starts_at"], body["ends_at"] = (body["starts_at"].replace("+00:00", "Z"),
                                          body["ends_at"].replace("+00:00", "Z"))
    assert _comparable(body) == expected
    custom = client.get("/api/v1/campaigns/operator-load", headers=headers, params={
        "week": WEEK, "confirm_task_seconds": 60, "follow_up_seconds": 0,
        "moment_post_seconds": 0}).json()
    assert custom["total"]["staff_minutes"] == 8.0
    bad = client.get("/api/v1/campaigns/operator-load", params={"week": "2026-53x"},
                     headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"
    assert client.get(f"/api/v1/campaigns/{week['shared']}",
                      headers=headers).json()["id"] == week["shared"]
    staff = {"Authorization": f"Bearer {make_api_key(db, Role.STAFF, week['store'])}"}
    db.commit()
    assert client.get("/api/v1/campaigns/operator-load", headers=staff).status_code == 403


def _cell(html: str, row: str, name: str) -> str:
    match = re.search(rf'{row}.*?data-testid="{name}">([^<]*)<', html, re.S)
    assert match is not None, (row, name)
    return match.group(1).strip()


def test_the_console_page_shows_the_week(client: TestClient, db: Session) -> None:
    week = constructed_week(db)
    make_user(db, "hq_load", Role.HQ_OPERATOR)
    logged_in(client, "hq_load")
    page = client.get("/console/campaigns/operator-load", params={"week": WEEK})
    assert page.status_code == 200
    html = page.text
    assert 'data-week="2026-W50"' in html and "运营工作量" in html
    assert _cell(html, 'data-staff="staff-a"', "tasks") == "3"
    assert _cell(html, 'data-staff="staff-a"', "customers") == "31"
    assert _cell(html, 'data-staff="staff-a"', "minutes") == "13.5"
    assert _cell(html, 'data-staff="staff-a"', "moments") == "1"
    assert _cell(html, 'data-staff="staff-b"', "per-hour") == "192.0"
    assert _cell(html, f'data-user-id="{week["c"]}"', "follow-ups") == "3"
    assert _cell(html, 'data-testid="operator-load-total"', "tasks") == "8"
    assert _cell(html, 'data-testid="operator-load-total"', "minutes") == "33.0"
    assert _cell(html, 'data-testid="operator-load-scale"', "scheduled") == "45"
    assert _cell(html, 'data-testid="operator-load-scale"', "by-hand") == "7"
    assert _cell(html, 'data-testid="operator-load-scale"', "scheduled-share") == "86.5%"
    assert _cell(html, 'data-testid="operator-load-scale"', "per-member-day") == "0.71"
    assert _cell(html, 'data-testid="operator-load-scale"', "per-10000") == "21,428.57"
    personal = f'data-campaign-id="{week["personal"]}" data-one-task-per-recipient="true"'
    assert _cell(html, personal, "per-1000") == "1,000.00"
    assert "{name} {coupon}" in html
    assert f'data-campaign-id="{week["shared"]}" data-one-task-per-recipient="false"' in html
    assert 'href="/console/campaigns/operator-load" aria-current="page"' in html
    client.cookies.set("yutang_locale", "en")
    english = client.get("/console/campaigns/operator-load",
                         params={"week": WEEK, "confirm_task": "60", "follow_up": "0",
                                 "moment_post": "0"})
    assert "Operator load" in english.text
    assert _cell(english.text, 'data-testid="operator-load-total"', "minutes") == "8.0"
    bad = client.get("/console/campaigns/operator-load", params={"week": "2026-W99"})
    assert bad.status_code == 422 and "The input is not valid." in bad.text
