"""The demo merchant generator: 鲜果集, a fruit chain, with planted truth.

``generate_demo`` plans everything with numpy from one seed (the same seed gives the same
plaintext data, byte for byte), then bulk-loads it into an empty, migrated database in one
transaction: regions, stores, users of every role, channels with monthly spend, products,
customers with encrypted personal data and blind indexes, their identities across channels,
marketing consents, and orders with items following a planted BG/NBD and Gamma-Gamma
behaviour (time unit: weeks; amounts: fen). The planted parameters are kept in
``planted_truth`` so that tests can check that yutang's analytics recover them.

Every demo user's password is ``yutang-demo`` (``DEMO_PASSWORD``); the owner logs in as
``admin``. The login is kept in planted truth ``demo_login``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import InstrumentedAttribute

from yutang.access import service as access_service
from yutang.access.roles import Principal
from yutang.demo.campaigns_data import TRUTH as CAMPAIGNS_TRUTH
from yutang.demo.campaigns_data import plant_campaigns
from yutang.demo.channel_codes_data import plant_channel_codes
from yutang.demo.fission_data import TRUTH as FISSION_TRUTH
from yutang.demo.fission_data import plant_fission
from yutang.demo.group_buy_data import TRUTH as GROUP_BUY_TRUTH
from yutang.demo.group_buy_data import plant_group_buy
from yutang.demo.groups_data import TRUTH as GROUPS_TRUTH
from yutang.demo.groups_data import plant_groups
from yutang.demo.loading import PersonalData, load_plan
from yutang.demo.models import PlantedTruth
from yutang.demo.moments_data import TRUTH as MOMENTS_TRUTH
from yutang.demo.moments_data import plant_moments
from yutang.demo.offers_data import TRUTH as OFFERS_TRUTH
from yutang.demo.offers_data import plant_offers
from yutang.demo.oneid_truth import TRUTH as ONEID_TRUTH
from yutang.demo.oneid_truth import replay
from yutang.demo.plan import (
    OWNER_USERNAME,
    DemoOptions,
    DemoPlan,
    Progress,
    ignore_progress,
    plan_people,
    plan_purchases,
)
from yutang.demo.programmes_data import TRUTH as PROGRAMMES_TRUTH
from yutang.demo.programmes_data import plant_programmes
from yutang.demo.sealing import Sealer, default_workers
from yutang.demo.staging import (
    IDENTITIES,
    PURCHASES,
    Purchases,
    Stager,
    stage_identities,
    stage_purchases,
)
from yutang.demo.tables import require_empty
from yutang.demo.writers import seal_customers, seal_identities
from yutang.kit.clock import add_months, local_day_start_utc, month_start
from yutang.pool.models import Customer, Identity

DEMO_PASSWORD = "yutang-demo"  # noqa: S105 (the documented password of a demo)
DEMO_ACTOR = Principal.system("demo")
LOGIN_TRUTH = "demo_login"


@dataclass(frozen=True)
class DemoResult:
    customers: int
    """Persons: live customers once the planted merges are done."""
    customer_records: int
    """Customer rows, merged ones included."""
    orders: int
    order_items: int
    identities: int
    consents: int
    stores: int
    users: int
    channels: int
    login_username: str
    login_password: str
    seconds: float


def generate_demo(
    engine: Engine, options: DemoOptions | None = None, progress: Progress | None = None
) -> DemoResult:
    """Generate the demo merchant into an empty database (else DemoDatabaseNotEmpty)."""
    options = options or DemoOptions()
    report = progress or ignore_progress
    started = time.perf_counter()
    with engine.connect() as connection:
        require_empty(connection)
    password_hash = access_service.hash_password(DEMO_PASSWORD)
    workers = options.crypto_workers
    workers = default_workers(options.customers) if workers is None else workers
    staged = workers > 0 and engine.dialect.name == "sqlite"
    with Sealer(workers) as sealer, _stager(engine, report, staged) as stager:
        people = plan_people(options, report)
        # Workers encrypt the personal data while the orders are planned and written.
        customers = seal_customers(sealer, people.customers)
        identities = None
        if stager is None:
            identities = seal_identities(sealer, people.identities)
        else:
            stager.start(IDENTITIES, stage_identities, people.identities, options.oneid)
        plan = plan_purchases(options, people, report)
        if stager is not None:
            stager.start(PURCHASES, stage_purchases,
                         Purchases(orders=plan.orders, items=plan.items,
                                   consents=people.consents))
        counts = load_plan(
            engine, plan, PersonalData(customers, identities, stager),
            password_hash=password_hash, policy=options.oneid, progress=report,
            finish=lambda session: _record_truth(session, plan, options, report),
        )
    with engine.connect() as connection:
        # The planted OneID events opened records and attached identities after the load.
        records = counts.customers + _rows_after(connection, Customer.id, counts.customers)
        identities_now = counts.identities + _rows_after(connection, Identity.id,
                                                         counts.identities)
    return DemoResult(
        customers=counts.customers,
        customer_records=records,
        orders=counts.orders,
        order_items=counts.order_items,
        identities=identities_now,
        consents=counts.consents,
        stores=len(plan.people.stores),
        users=counts.users,
        channels=len(plan.people.channels),
        login_username=OWNER_USERNAME,
        login_password=DEMO_PASSWORD,
        seconds=time.perf_counter() - started,
    )


def _rows_after(connection: Connection, key: InstrumentedAttribute[int], last: int) -> int:
    return int(connection.scalar(select(func.count()).where(key > last)) or 0)


@contextmanager
def _stager(engine: Engine, progress: Progress, staged: bool) -> Iterator[Stager | None]:
    """Stage files go next to the SQLite database (same disk, room for it)."""
    if not staged:
        yield None
        return
    database = engine.url.database
    directory = Path(database).resolve().parent if database and database != ":memory:" \
        else Path(tempfile.gettempdir())
    with Stager(directory, progress) as stager:
        yield stager


def stored_demo_login(engine: Engine) -> tuple[str, str] | None:
    """The owner login of a demo database, or ``None`` if it holds no demo."""
    with engine.connect() as connection:
        value = connection.scalar(
            select(PlantedTruth.value).where(PlantedTruth.name == LOGIN_TRUTH)
        )
    if not isinstance(value, dict):
        return None
    return str(value["username"]), str(value["password"])


def planted_truth(plan: DemoPlan, options: DemoOptions) -> dict[str, dict[str, Any]]:
    """The planted truth rows by name."""
    channels = plan.people.channels
    first_month = add_months(month_start(options.today), -options.months)
    return {
        LOGIN_TRUTH: {"username": OWNER_USERNAME, "password": DEMO_PASSWORD},
        "bgnbd": options.purchases.as_truth(),
        "gamma_gamma": options.order_values.as_truth(),
        "observation_end": {
            "at": local_day_start_utc(options.today).isoformat(),
            "local_date": options.today.isoformat(),
            "first_acquisition_at": local_day_start_utc(first_month).isoformat(),
            "transactions": "orders with paid_at (paid, completed, refunded); the first "
            "is the purchase at acquisition",
        },
        "channel_mix": {channel.code: channel.acquisition_share for channel in channels},
        "channel_cac": {
            channel.code: channel.template.cost_per_customer_fen for channel in channels
        },
        "channel_monthly_spend": plan.spend.by_channel_and_month(channels),
        "demo_options": {
            "customers": options.customers,
            "stores": options.stores,
            "seed": options.seed,
            "months": options.months,
            "today": options.today.isoformat(),
        },
    }


def _record_truth(
    session: Session, plan: DemoPlan, options: DemoOptions, progress: Progress
) -> None:
    """The planted OneID events replayed, then the planted truth rows and the audit row, in
    the load's transaction."""
    people = plan.people
    oneid = replay(session, plan=people.oneid, customers=people.customers,
                   identities=people.identities, actor=DEMO_ACTOR, policy=options.oneid,
                   observation_end=people.window.end, progress=progress)
    offers = plant_offers(session, actor=DEMO_ACTOR)
    group_buy = plant_group_buy(session, actor=DEMO_ACTOR, seed=options.seed,
                                end=local_day_start_utc(options.today))
    plant_channel_codes(session, people=people, actor=DEMO_ACTOR)
    fission = plant_fission(session, seed=options.seed, end=local_day_start_utc(options.today))
    groups = plant_groups(session, actor=DEMO_ACTOR, as_of=local_day_start_utc(options.today),
                          seed=options.seed)
    campaigns = plant_campaigns(session, actor=DEMO_ACTOR, seed=options.seed,
                                end=local_day_start_utc(options.today))
    programmes = plant_programmes(session, actor=DEMO_ACTOR, seed=options.seed,
                                  end=local_day_start_utc(options.today))
    staff_moments = plant_moments(session, actor=DEMO_ACTOR, seed=options.seed,
                                  end=local_day_start_utc(options.today))
    truth = {**planted_truth(plan, options), ONEID_TRUTH: oneid,
             OFFERS_TRUTH: offers.as_truth(), GROUP_BUY_TRUTH: group_buy.as_truth(),
             FISSION_TRUTH: fission.as_truth(), GROUPS_TRUTH: groups.as_truth(),
             CAMPAIGNS_TRUTH: campaigns.as_truth(), PROGRAMMES_TRUTH: programmes.as_truth(),
             MOMENTS_TRUTH: staff_moments.as_truth()}
    session.add_all(PlantedTruth(name=name, value=value) for name, value in truth.items())
    access_service.record_audit(
        session,
        actor=DEMO_ACTOR,
        action="demo.generate",
        entity_type="demo",
        details={
            "seed": options.seed,
            "stores": len(people.stores),
            "users": len(people.users),
            "channels": len(people.channels),
            "customers": people.customers.count,
            "identities": people.identities.count,
            "consents": people.consents.count,
            "orders": plan.orders.count,
            "order_items": plan.items.count,
        },
    )


__all__ = [
    "DEMO_PASSWORD",
    "DemoOptions",
    "DemoResult",
    "generate_demo",
    "planted_truth",
    "stored_demo_login",
]
