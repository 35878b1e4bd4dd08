"""Driving the console with a TestClient the way a browser does (CSRF tokens from the forms)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx import Response

from tests.support.factories import PASSWORD

_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_token_in(html: str) -> str:
    match = _CSRF_FIELD.search(html)
    assert match is not None, "the page has no form with a CSRF token"
    return match.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> Response:
    form = client.get("/console/login")
    assert form.status_code == 200
    return client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf_token_in(form.text)},
        follow_redirects=False,
    )


def logged_in(client: TestClient, username: str) -> TestClient:
    response = log_in(client, username)
    assert response.status_code == 303, response.text
    return client


def page_csrf_token(client: TestClient, path: str = "/console/customers") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return csrf_token_in(page.text)
