"""The WeCom simulator as a fixture: in-process, its API reached by yutang's client through a
TestClient transport, its callbacks posted to yutang's app through the test client. No
network is used; everything runs against the test's (rolled back) database."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.factories import SYSTEM
from yutang.connectors.wecom import service
from yutang.connectors.wecom.schemas import CorpConfigIn
from yutang.connectors.wecom.simulator import SimulatedCorp, WeComSimulator

AES_KEY = base64.b64encode(bytes(range(64, 96))).decode()[:-1]
CORP = SimulatedCorp(corp_id="wwyutangtest0001", secret="sim-app-secret-0001",
                     token="yutangToken01", encoding_aes_key=AES_KEY)
CALLBACK_URL = "http://testserver/connectors/wecom/callback"


def configure(db: Session, corp: SimulatedCorp = CORP) -> None:
    service.configure_corp(db, actor=SYSTEM, data=CorpConfigIn(
        corp_id=corp.corp_id, token=corp.token, encoding_aes_key=corp.encoding_aes_key,
        secret=corp.secret, agent_id=corp.agent_id))


@pytest.fixture
def simulator(app: FastAPI, client: TestClient, db: Session) -> Iterator[WeComSimulator]:
    """A configured corp, and the simulator wired both ways to yutang's app."""
    configure(db)
    simulated = WeComSimulator(CORP, callback_url=CALLBACK_URL, callback_http=client)
    with TestClient(simulated.app) as wecom_http:
        app.state.wecom_http = wecom_http
        yield simulated


@pytest.fixture
def wecom_api() -> Iterator[tuple[WeComSimulator, TestClient]]:
    """The simulator alone, and an httpx client that reaches its API."""
    simulated = WeComSimulator(CORP)
    with TestClient(simulated.app) as http:
        yield simulated, http
