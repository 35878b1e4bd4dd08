"""The WeCom simulator reached by a real client (through a TestClient transport)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from yutang.connectors.wecom.client import WeComClient
from yutang.connectors.wecom.simulator import SimulatedCorp, WeComSimulator

AES_KEY = base64.b64encode(bytes(range(64, 96))).decode()[:-1]
CORP = SimulatedCorp(corp_id="wwcampaigns0001", secret="sim-campaign-secret",
                     token="campaignToken1", encoding_aes_key=AES_KEY)


@pytest.fixture
def wecom() -> Iterator[tuple[WeComSimulator, WeComClient]]:
    simulated = WeComSimulator(CORP)
    with TestClient(simulated.app) as http:
        client = WeComClient(corp_id=CORP.corp_id, secret=CORP.secret,
                             base_url="http://testserver", http=http, busy_retries=0,
                             sleep=lambda _: None)
        yield simulated, client
