"""``yutang wecom …`` and ``yutang wecom-sim``; live arrivals for ``yutang demo --wecom-sim``."""

from __future__ import annotations

import secrets
import string
import threading
import time
from typing import TYPE_CHECKING, Annotated

import httpx
import typer

from yutang.cli_support import CLI_ACTOR, DbOption, console
from yutang.cli_support import database as _database
from yutang.config import Settings
from yutang.kit.db import make_session_factory, unit_of_work

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from yutang.connectors.wecom.service import SimulatorSetup
    from yutang.connectors.wecom.simulator import WeComSimulator

SIMULATED_CORP_ID = "wwyutangdemo0001"
"""The corp id ``yutang demo --wecom-sim`` configures when no corp is configured yet."""

wecom_app = typer.Typer(help="WeCom (企业微信): callback settings.", no_args_is_help=True)


@wecom_app.command("configure")
def wecom_configure(
    corp_id: Annotated[str, typer.Option("--corp-id")],
    token: Annotated[str, typer.Option("--token", help="The callback Token")],
    aes_key: Annotated[str, typer.Option("--aes-key", help="The 43-character EncodingAESKey")],
    secret: Annotated[str, typer.Option("--secret", help="The app's Secret")],
    agent_id: Annotated[str, typer.Option("--agent-id")] = "",
    welcome_text: Annotated[str | None, typer.Option("--welcome-text")] = None,
    db: DbOption = None,
) -> None:
    """Store the corp's callback token, EncodingAESKey and secret (encrypted at rest)."""
    from yutang.connectors.wecom import service as wecom_service
    from yutang.connectors.wecom.schemas import CorpConfigIn

    data = CorpConfigIn(corp_id=corp_id, token=token, encoding_aes_key=aes_key, secret=secret,
                        agent_id=agent_id, welcome_text=welcome_text)
    with _database(db) as (_, engine), unit_of_work(make_session_factory(engine)) as session:
        corp = wecom_service.configure_corp(session, actor=CLI_ACTOR, data=data)
        console.print(f"WeCom corp {corp.corp_id} configured; callback URL: "
                      "https://<your host>/connectors/wecom/callback")


def wecom_sim(
    port: Annotated[int, typer.Option("--port")] = 8900,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    callback_url: Annotated[str, typer.Option("--callback-url")] = (
        "http://127.0.0.1:8000/connectors/wecom/callback"),
    customers: Annotated[int, typer.Option("--customers", min=0,
                                           help="Customers to play arriving (0: none)")] = 20,
    interval: Annotated[float, typer.Option("--interval", min=0.0,
                                            help="Seconds between arrivals")] = 3.0,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    corp_id: Annotated[str | None, typer.Option("--corp-id",
                                                help="Default: the configured corp")] = None,
    db: DbOption = None,
) -> None:
    """Serve a local WeCom and play customers adding staff through your channel codes."""
    from yutang.connectors.wecom import service as wecom_service
    from yutang.connectors.wecom import simulator_runner

    with _database(db) as (_, engine), unit_of_work(make_session_factory(engine)) as session:
        setup = wecom_service.simulator_setup(session, actor=CLI_ACTOR, corp_id=corp_id)
    simulator = _simulator(setup, callback_url)
    simulator_runner.run_simulator(
        simulator, host=host, port=port, report=console.print,
        scenario=lambda: _play(simulator, setup, customers=customers, interval=interval,
                               seed=seed))


def _simulator(setup: SimulatorSetup, callback_url: str) -> WeComSimulator:
    from yutang.connectors.wecom import simulator as wecom_simulator

    keys = setup.keys
    return wecom_simulator.WeComSimulator(
        wecom_simulator.SimulatedCorp(corp_id=keys.corp_id, secret=keys.secret,
                                      token=keys.token, encoding_aes_key=keys.encoding_aes_key),
        callback_url=callback_url, callback_tries=3)


def _play(simulator: WeComSimulator, setup: SimulatorSetup, *, customers: int,
          interval: float, seed: int) -> None:
    from yutang.connectors.wecom import simulator_runner

    simulator_runner.play_demo_scenario(
        simulator, staff=setup.staff_userids or ["staff01"], states=setup.states,
        customers=customers, interval_seconds=interval, seed=seed, report=console.print)


def start_live_arrivals(engine: Engine, settings: Settings, *, host: str, port: int,
                        simulator_port: int, customers: int, interval: float,
                        seed: int) -> Settings:
    """For ``yutang demo --wecom-sim``: a simulated corp (configured once, with fresh keys),
    the WeCom simulator on ``simulator_port`` in a background thread, and — as soon as the
    console answers — customers arriving through the demo's channel codes as real encrypted
    callbacks. Returns the settings pointing yutang's WeCom client at the simulator."""
    from yutang.connectors.wecom import service as wecom_service
    from yutang.connectors.wecom import simulator_runner
    from yutang.connectors.wecom.errors import WeComNotConfigured
    from yutang.connectors.wecom.schemas import CorpConfigIn

    with unit_of_work(make_session_factory(engine)) as session:
        try:
            wecom_service.corp_keys(session)
        except WeComNotConfigured:
            wecom_service.configure_corp(session, actor=CLI_ACTOR, data=CorpConfigIn(
                corp_id=SIMULATED_CORP_ID, token=_random_text(16),
                encoding_aes_key=_random_text(43), secret=_random_text(32)))
        setup = wecom_service.simulator_setup(session, actor=CLI_ACTOR)
    base = f"http://{host}:{port}"
    simulator = _simulator(setup, f"{base}/connectors/wecom/callback")

    def run() -> None:
        _wait_for(f"{base}/healthz")
        simulator_runner.run_simulator(
            simulator, host=host, port=simulator_port, report=console.print,
            scenario=lambda: _play(simulator, setup, customers=customers, interval=interval,
                                   seed=seed))

    threading.Thread(target=run, name="wecom-simulator", daemon=True).start()
    return settings.model_copy(update={"wecom_base_url": f"http://{host}:{simulator_port}"})


def _random_text(length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _wait_for(url: str, timeout_seconds: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)


def register(app: typer.Typer) -> None:
    app.add_typer(wecom_app, name="wecom")
    app.command("wecom-sim")(wecom_sim)
