"""Running the WeCom simulator: serving it on localhost while a scenario plays, and the
demo scenario itself (customers scanning codes, adding staff, joining and leaving groups)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence

import httpx

from yutang.connectors.wecom.simulator import WeComSimulator


def play_demo_scenario(
    simulator: WeComSimulator,
    *,
    staff: Sequence[str],
    states: Sequence[str],
    customers: int,
    interval_seconds: float,
    seed: int = 7,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[str], None] = lambda line: None,
) -> None:
    """Customers arrive one by one: scan a code and add a staff member; most join the staff
    member's group; some quit it; a few delete the staff member."""
    rng = random.Random(seed)  # noqa: S311 - a demo script, not crypto
    if not staff:
        raise ValueError("the scenario needs at least one staff member")
    for userid in staff:
        simulator.add_staff(userid)
    groups: dict[str, str] = {}
    for number in range(1, customers + 1):
        member = rng.choice(list(staff))
        external = f"wm{seed:02d}{number:08d}{rng.randrange(16**6):06x}"
        state = rng.choice(list(states)) if states else ""
        delivery = simulator.customer_adds_staff(
            external_userid=external, staff=member, state=state,
            unionid=f"o6_sim{seed:02d}{number:08d}" if rng.random() < 0.7 else "")
        report(f"{external} added {member} (state {state or '-'}): {delivery.status_code}")
        if rng.random() < 0.6:
            if member not in groups:
                groups[member] = f"wr{seed:02d}{len(groups) + 1:06d}"
                simulator.create_group(chat_id=groups[member], name=f"{member}的福利群",
                                       owner=member)
            simulator.join_group(chat_id=groups[member], userids=[external])
            report(f"{external} joined {groups[member]}")
            if rng.random() < 0.15:
                simulator.quit_group(chat_id=groups[member], userids=[external])
                report(f"{external} quit {groups[member]}")
        if rng.random() < 0.1:
            simulator.customer_deletes_staff(external_userid=external, staff=member)
            report(f"{external} deleted {member}")
        sleep(interval_seconds)


def run_simulator(
    simulator: WeComSimulator,
    *,
    host: str,
    port: int,
    scenario: Callable[[], None] | None = None,
    report: Callable[[str], None] = print,
) -> None:
    """Serve the simulator's API with uvicorn; once it is up, check yutang's callback URL
    and play the scenario, then keep serving until interrupted."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(simulator.app, host=host, port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the simulator could not listen on {host}:{port}")
        time.sleep(0.05)
    report(f"WeCom simulator: http://{host}:{port} (set YUTANG_WECOM_BASE_URL to it)")
    try:
        if simulator.callback_url:
            try:
                check = simulator.verify_url()
            except httpx.TransportError as error:
                report(f"callback URL {simulator.callback_url} unreachable: {error}")
            else:
                verdict = "ok" if check.text == check.plaintext else f"failed: {check.text!r}"
                report(f"URL verification {check.status_code} {verdict}")
                if scenario is not None:
                    scenario()
        while thread.is_alive():
            thread.join(timeout=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.should_exit = True
        thread.join(timeout=10)
