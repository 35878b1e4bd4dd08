"""The demo merchant generator: exact counts and invariants, encryption the ORM can read,
determinism, planted BG/NBD and Gamma-Gamma behaviour, and a refused second run.

The generator writes in its own transaction, so every test builds a fresh migrated database.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, Select, func, select, text
from sqlalchemy.orm import Session

from tests.support.databases import migrated_database
from tests.support.factories import SYSTEM, make_customer
from yutang.access.models import AuditEntry, User
from yutang.access.roles import Role
from yutang.demo.campaigns_data import ORDER_SOURCE as CAMPAIGN_ORDER_SOURCE
from yutang.demo.errors import DemoDatabaseNotEmpty
from yutang.demo.generator import (
    DEMO_PASSWORD,
    DemoOptions,
    DemoResult,
    generate_demo,
    stored_demo_login,
)
from yutang.demo.group_buy_data import FULL_ORDER_SOURCE
from yutang.demo.models import PlantedTruth
from yutang.demo.programmes_data import ORDER_SOURCE as PROGRAMME_ORDER_SOURCE
from yutang.demo.sealing import SealJob, seal
from yutang.fission.group_buy_models import GROUP_BUY_ORDER_SOURCE
from yutang.kit.crypto import get_protector, normalize_name, normalize_phone
from yutang.kit.db import create_engine, is_sqlite
from yutang.org.models import Region, Store
from yutang.pool import oneid
from yutang.pool import service as pool_service
from yutang.pool.identity_rules import normalize_value
from yutang.pool.models import (
    Channel,
    ChannelSpend,
    Consent,
    Customer,
    Identity,
    IdentityKind,
    IdentityLink,
    IdentityValue,
    MergeLog,
    Order,
    OrderItem,
    Product,
)
from yutang.pool.oneid import DEFAULT_POLICY, IdentifierInput, Trigger
from yutang.pool.oneid_rebuild import plan_rebuild

MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")
WEEK_SECONDS = 7 * 24 * 3600
OBSERVATION_END = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # 2026-11-01 00:00 in Shanghai
SMALL = DemoOptions(customers=300, stores=3, seed=7)


def _fresh_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    return migrated_database(backend, tmp_path, f"demo_{uuid.uuid4().hex[:8]}", request)


@pytest.fixture
def fresh_engine(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Engine]:
    engine = create_engine(_fresh_url(backend, tmp_path, request))
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    engine = create_engine(_fresh_url("sqlite", tmp_path, request))
    yield engine
    engine.dispose()


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _count_of(session: Session, rows: Select[tuple[int]]) -> int:
    return int(session.scalar(select(func.count()).select_from(rows.subquery())) or 0)


# --- the main test, on both backends ---------------------------------------------------------


def test_the_demo_merchant_is_complete_consistent_and_readable(fresh_engine: Engine) -> None:
    stages: dict[str, tuple[int, int]] = {}

    def progress(stage: str, done: int, total: int) -> None:
        assert 0 <= done <= total
        stages[stage] = (done, total)

    result = generate_demo(fresh_engine, SMALL, progress=progress)

    for stage in ("stores & staff", "customers", "identities", "consents", "orders",
                  "order items", "indexes", "saving"):
        done, total = stages[stage]
        assert done == total, stage
    with Session(fresh_engine) as session:
        _check_counts(session, result)
        _check_staff(session)
        _check_customers_and_identities(session)
        _check_orders(session)
        _check_consents_spend_and_truth(session, result)
        _check_lookups_through_the_pool_service(session)
        _check_database_bookkeeping(session, fresh_engine)
    assert stored_demo_login(fresh_engine) == ("admin", DEMO_PASSWORD)


def _check_counts(session: Session, result: DemoResult) -> None:
    assert (result.customers, result.stores) == (300, 3)
    splits = session.scalars(select(PlantedTruth.value).where(
        PlantedTruth.name == "oneid")).one()["splits"]
    assert splits == 6  # 2% of 300 persons
    # Each planted split opened one more record, merged since.
    assert _count(session, Customer) == result.customer_records == 300 + splits
    assert session.scalar(select(func.count()).select_from(Customer).where(
        Customer.merged_into_id.is_(None))) == 300
    assert _count(session, Store) == 3
    assert _count(session, Region) == 2  # Shanghai and Hangzhou (East), Beijing (North)
    assert _count(session, Identity) == result.identities
    # The purchase plan's orders; the group-buy campaign adds its own, apart (and few).
    campaign_sources = (GROUP_BUY_ORDER_SOURCE, FULL_ORDER_SOURCE, CAMPAIGN_ORDER_SOURCE,
                        PROGRAMME_ORDER_SOURCE)
    planned = select(Order.id).where(Order.source.not_in(campaign_sources))
    assert _count_of(session, planned) == result.orders
    assert session.scalar(select(func.count()).select_from(OrderItem).where(
        OrderItem.order_id.in_(planned))) == result.order_items
    campaign = _count(session, Order) - result.orders
    assert 0 <= campaign <= 0.02 * result.orders
    assert _count(session, Consent) == result.consents
    assert _count(session, User) == result.users == 4 + 3 * 3
    assert _count(session, Channel) == result.channels
    assert result.identities > result.customers  # some customers appear in several channels
    assert result.orders > result.customers  # everyone bought once, some came back


def _check_staff(session: Session) -> None:
    users = {user.username: user for user in session.scalars(select(User))}
    assert {user.role for user in users.values()} == {role.value for role in Role}
    assert users["admin"].role == Role.OWNER.value
    assert (users["hq"].role, users["analyst"].role, users["auditor"].role) == (
        Role.HQ_OPERATOR.value, Role.ANALYST.value, Role.AUDITOR.value)
    stores = {store.code: store for store in session.scalars(select(Store))}
    assert sorted(stores) == ["S001", "S002", "S003"]
    assert {store.group_capacity for store in stores.values()} == {50}
    assert (stores["S001"].city, stores["S002"].city) == ("上海", "北京")
    for code, store in stores.items():
        prefix = code.lower()
        assert users[f"{prefix}_manager"].role == Role.STORE_MANAGER.value
        assert users[f"{prefix}_manager"].store_id == store.id
        assert {users[f"{prefix}_staff{n}"].role for n in (1, 2)} == {Role.STAFF.value}
    # One hash for all: every demo user logs in with the documented password.
    assert len({user.password_hash for user in users.values()}) == 1
    assert DEMO_PASSWORD not in users["admin"].password_hash


def _check_customers_and_identities(session: Session) -> None:
    """The bulk-loaded customers (the records opened by planted OneID events come after)."""
    protector = get_protector()
    customers = session.scalars(select(Customer).where(Customer.id <= SMALL.customers)
                                .order_by(Customer.id)).all()
    phones = [customer.phone for customer in customers]
    assert all(phone is not None and MAINLAND_MOBILE.match(phone) for phone in phones)
    assert len(set(phones)) == len(phones)
    acquired = [customer.acquired_at for customer in customers]
    assert acquired == sorted(acquired)  # ids follow acquisition
    assert acquired[0] >= datetime(2024, 10, 31, 16, 0, tzinfo=UTC)
    assert acquired[-1] < OBSERVATION_END
    for customer in customers:
        assert customer.name and 2 <= len(customer.name) <= 4
        assert customer.phone_index == protector.blind_index(
            normalize_phone(customer.phone or ""), "phone")
        assert customer.name_index == protector.blind_index(normalize_name(customer.name), "name")
        assert customer.gender in {"female", "male", "unknown"}
    assert any(customer.address for customer in customers)
    assert any(customer.birthday for customer in customers)
    assert any(customer.address is None for customer in customers)

    phone_identities = session.scalars(
        select(Identity).where(Identity.kind == IdentityKind.PHONE.value,
                               Identity.source != "store-front-desk")).all()
    by_customer = {identity.customer_id: identity for identity in phone_identities}
    assert len(phone_identities) == len(by_customer) == len(customers)
    for customer in customers:
        identity = by_customer[customer.id]
        assert identity.value == customer.phone
        assert identity.value_index == customer.phone_index
    others = session.scalars(
        select(Identity).where(Identity.kind != IdentityKind.PHONE.value)).all()
    kinds = {identity.kind for identity in others}
    assert {IdentityKind.WECHAT_UNIONID.value, IdentityKind.WECHAT_OPENID.value,
            IdentityKind.WECOM_EXTERNAL_USERID.value} <= kinds
    for identity in others:
        assert identity.value_index == protector.blind_index(identity.value, identity.kind)
    openid_scopes = {identity.scope for identity in others
                     if identity.kind == IdentityKind.WECHAT_OPENID.value}
    assert len(openid_scopes) == 2 and all(scope.startswith("wx") for scope in openid_scopes)
    # Values are unique to one person but for the planted look-alikes (shared devices).
    unique = {(identity.kind, identity.scope, identity.value) for identity in others
              if identity.kind != IdentityKind.DEVICE_ID.value}
    assert len(unique) == len([i for i in others if i.kind != IdentityKind.DEVICE_ID.value])
    devices = [identity.value for identity in others
               if identity.kind == IdentityKind.DEVICE_ID.value]
    assert len(set(devices)) < len(devices)


def _check_orders(session: Session) -> None:
    orders = session.scalars(select(Order)).all()
    items_by_order: dict[int, list[OrderItem]] = {}
    for item in session.scalars(select(OrderItem)):
        items_by_order.setdefault(item.order_id, []).append(item)
    acquired = dict(session.execute(select(Customer.id, Customer.acquired_at)).all())
    prices = dict(session.execute(select(Product.sku, Product.price_fen)).all())
    statuses: set[str] = set()
    for order in orders:
        items = items_by_order[order.id]
        assert 1 <= len(items) <= 4
        assert order.total_fen == sum(item.amount_fen for item in items)
        assert all(item.amount_fen == item.quantity * item.unit_price_fen > 0 for item in items)
        assert all(item.sku in prices for item in items)
        assert order.paid_fen == order.total_fen - order.discount_fen >= 0
        assert order.customer_id is not None
        assert acquired[order.customer_id] <= order.ordered_at < OBSERVATION_END
        statuses.add(order.status)
        _check_transitions(order)
    assert {"completed", "refunded", "closed"} <= statuses
    per_source = session.execute(
        select(Order.source, func.count(), func.count(func.distinct(Order.external_order_id)))
        .group_by(Order.source)).all()
    assert all(count == distinct for _, count, distinct in per_source)
    assert {"pos", "mini_program"} <= {source for source, _, _ in per_source}
    baits = session.scalar(select(func.count()).select_from(Product).where(Product.is_bait))
    assert baits and baits >= 2
    assert session.scalar(select(func.count()).select_from(Product)
                          .where(Product.is_private_only))


def _check_transitions(order: Order) -> None:
    if order.status in ("completed", "paid", "refunded"):
        assert order.paid_at is not None and order.ordered_at <= order.paid_at
        assert order.closed_at is None
    if order.status == "completed":
        assert order.completed_at is not None and order.paid_at is not None
        assert order.paid_at <= order.completed_at < OBSERVATION_END
    if order.status == "refunded":
        assert order.refunded_at is not None and order.refunded_at < OBSERVATION_END
    if order.status == "closed":
        assert order.paid_at is None and order.closed_at is not None
        assert order.ordered_at < order.closed_at < OBSERVATION_END


def _check_consents_spend_and_truth(session: Session, result: DemoResult) -> None:
    consents = session.scalars(select(Consent)).all()
    assert consents
    assert {consent.channel for consent in consents} <= pool_service.MARKETING_CHANNELS
    assert {consent.source for consent in consents} == {"demo"}
    assert any(not consent.granted for consent in consents)

    truth = {row.name: row.value for row in session.scalars(select(PlantedTruth))}
    assert set(truth) == {"demo_login", "bgnbd", "gamma_gamma", "observation_end",
                          "channel_mix", "channel_cac", "channel_monthly_spend",
                          "demo_options", "oneid", "offers", "groups", "fission",
                          "group_buy", "campaigns", "moments",
                          "programmes"}
    assert truth["demo_login"] == {"username": "admin", "password": DEMO_PASSWORD}
    assert set(truth["bgnbd"]) == {"r", "alpha", "a", "b", "unit"}
    assert truth["bgnbd"]["unit"] == "week"
    assert {"p", "q", "v", "unit"} <= set(truth["gamma_gamma"])
    assert truth["observation_end"]["at"] == OBSERVATION_END.isoformat()
    assert sum(truth["channel_mix"].values()) == pytest.approx(1.0)

    codes = dict(session.execute(select(Channel.id, Channel.code)).all())
    assert set(truth["channel_mix"]) == set(codes.values())
    spend_rows = session.scalars(select(ChannelSpend)).all()
    assert len(spend_rows) == len(codes) * 24
    planted = truth["channel_monthly_spend"]
    for row in spend_rows:
        assert planted[codes[row.channel_id]][row.month.strftime("%Y-%m")] == row.amount_fen
    paid_cac = max(truth["channel_cac"][code] for code in ("DOUYIN_ADS", "MOMENTS_ADS"))
    private_cac = max(truth["channel_cac"][code] for code in ("OA", "S001-WECOM", "S001-GROUP"))
    assert paid_cac > 5 * private_cac

    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "demo.generate")).one()
    assert audit.details["customers"] == result.customers
    assert audit.details["orders"] == result.orders


def _check_lookups_through_the_pool_service(session: Session) -> None:
    customer = session.scalars(select(Customer).order_by(Customer.id).limit(1)).one()
    assert customer.phone and customer.name
    by_phone = pool_service.search_customers(session, principal=SYSTEM, phone=customer.phone)
    assert [item.id for item in by_phone.items] == [customer.id]
    by_name = pool_service.search_customers(session, principal=SYSTEM, query=customer.name)
    assert customer.id in [item.id for item in by_name.items]
    namesakes = session.scalar(select(func.count()).select_from(Customer)
                               .where(Customer.name_index == customer.name_index))
    assert by_name.total == namesakes
    detail = pool_service.customer_detail(session, principal=SYSTEM, customer_id=customer.id)
    assert detail.orders and detail.identities


def _check_database_bookkeeping(session: Session, engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    if is_sqlite(url):
        assert session.execute(text("PRAGMA foreign_key_check")).all() == []
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        indexes = {name for (name,) in session.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'index'"))}
    else:
        indexes = {name for (name,) in session.execute(
            text("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"))}
    expected = {str(index.name) for model in (Customer, Identity, IdentityLink, Consent, Order,
                                              OrderItem)
                for index in model.__table__.indexes}  # type: ignore[attr-defined]
    assert expected <= indexes
    # New rows get fresh ids after the loaded ones (PostgreSQL sequences were moved on).
    newcomer = make_customer(session, store=None, name="新客", phone="13000000000")
    assert newcomer.id == _count(session, Customer)
    session.rollback()


def test_the_resolved_customers_are_exactly_the_true_persons(fresh_engine: Engine) -> None:
    generate_demo(fresh_engine, SMALL)
    with Session(fresh_engine) as session:
        truth = session.scalars(select(PlantedTruth.value).where(
            PlantedTruth.name == "oneid")).one()
        records = {int(record): person for record, person in truth["records"].items()}
        assert len(records) == truth["splits"] == 6
        assert truth["shared_device_holders"] > 0 and truth["front_desk_holders"] > 0
        identities = session.scalars(select(Identity)).all()
        live = set(session.scalars(select(Customer.id).where(Customer.merged_into_id.is_(None))))
        persons_of: dict[int, set[int]] = {}
        customers_of: dict[int, set[int]] = {}
        for identity in identities:
            assert identity.customer_id in live
            assert identity.origin_customer_id is not None
            person = records.get(identity.origin_customer_id, identity.origin_customer_id)
            persons_of.setdefault(identity.customer_id, set()).add(person)
            customers_of.setdefault(person, set()).add(identity.customer_id)
        # Every identity of a person on one customer; no customer holding two persons.
        assert all(len(persons) == 1 for persons in persons_of.values())
        assert all(len(customers) == 1 for customers in customers_of.values())
        assert len(customers_of) == len(live) == SMALL.customers
        # Exactly the planted merges happened: the look-alikes fused nobody.
        merges = session.scalars(select(MergeLog)).all()
        assert len(merges) == len(records)
        assert {tuple(sorted(merge.customers_before)) for merge in merges} == {
            tuple(sorted((record, person))) for record, person in records.items()}
        nodes = {node.id: node for node in session.scalars(select(IdentityValue))}
        assert {(node.kind, node.strength, node.status) for node in nodes.values()
                if node.kind in ("device_id", "phone")} == {
            ("device_id", "weak", "usable"), ("phone", "strong", "usable"),
            ("phone", "strong", "placeholder")}
        for identity in identities:
            node = nodes[identity.value_id]
            assert (node.kind, node.scope, node.value_index, node.value) == (
                identity.kind, identity.scope, identity.value_index, identity.value)
        shared = [node for node in nodes.values() if node.kind == "device_id"]
        holders = {node.id: {i.customer_id for i in identities if i.value_id == node.id}
                   for node in shared}
        assert max(len(customers) for customers in holders.values()) >= 2
        # The batch form of OneID agrees, and finds nothing to change.
        plan = plan_rebuild(session, DEFAULT_POLICY)
        assert (plan.merges, plan.splits, plan.newly_shared) == ([], [], [])
        # Ingestion finds a demo customer by all of their identifiers at once.
        person = next(iter(records.values()))
        carried = [IdentifierInput(identity.kind, identity.value, identity.scope)
                   for identity in identities if identity.customer_id == person
                   and nodes[identity.value_id].status == "usable"]
        found = oneid.resolve(session, identifiers=carried,
                              trigger=Trigger("test", "demo", SYSTEM))
        assert found.customer is not None
        assert (found.customer.id, found.created, found.merged_customer_ids) == (
            person, False, [])


# --- determinism, encryption at rest, refusal ----------------------------------------------------


def _plaintext(engine: Engine) -> tuple[list[tuple[str | None, str | None]], list[int]]:
    with Session(engine) as session:
        people = [(customer.name, customer.phone) for customer in
                  session.scalars(select(Customer).order_by(Customer.id))]
        totals = list(session.scalars(select(Order.total_fen).order_by(Order.id)))
    return people, totals


def _planned(moment: datetime) -> datetime | None:
    """A planned instant; those the planted OneID events stamp at generation time differ
    from run to run."""
    return moment if moment <= OBSERVATION_END else None


def _graph(engine: Engine) -> tuple[list[tuple[object, ...]], ...]:
    """Every identity, node and link, values decrypted."""
    with Session(engine) as session:
        identities = [(i.id, i.customer_id, i.kind, i.scope, i.value_index, i.value, i.source,
                       _planned(i.created_at), i.value_id, i.origin_customer_id)
                      for i in session.scalars(select(Identity).order_by(Identity.id))]
        nodes = [(n.id, n.kind, n.scope, n.value_index, n.value, n.strength, n.status,
                  _planned(n.first_seen_at))
                 for n in session.scalars(select(IdentityValue).order_by(IdentityValue.id))]
        links = [(link.id, link.value_a_id, link.value_b_id, _planned(link.first_seen_at))
                 for link in session.scalars(select(IdentityLink).order_by(IdentityLink.id))]
    return identities, nodes, links


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    runs = {}
    for name, seed in (("first", 7), ("again", 7), ("other", 8)):
        engine = create_engine(_fresh_url("sqlite", tmp_path, request))
        generate_demo(engine, DemoOptions(customers=300, stores=3, seed=seed))
        runs[name] = _plaintext(engine)
        engine.dispose()
    assert runs["first"] == runs["again"]
    assert runs["first"][0] != runs["other"][0]
    assert runs["first"][1] != runs["other"][1]


def test_worker_processes_seal_the_same_data(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    inline = create_engine(_fresh_url("sqlite", tmp_path, request))
    pooled = create_engine(_fresh_url("sqlite", tmp_path, request))
    generate_demo(inline, DemoOptions(customers=300, stores=3, crypto_workers=0))
    # With workers, SQLite gets the purchases and the identity graph from stage files.
    generate_demo(pooled, DemoOptions(customers=300, stores=3, crypto_workers=1))
    assert _plaintext(inline) == _plaintext(pooled)
    assert _graph(inline) == _graph(pooled)
    assert len(_graph(pooled)[0]) > 300
    assert not list(tmp_path.glob(".yutang-demo-stage-*"))  # the stage files are gone
    with Session(pooled) as session:
        customer = session.scalars(select(Customer).limit(1)).one()
        found = pool_service.search_customers(session, principal=SYSTEM, phone=customer.phone)
        assert found.total == 1
    inline.dispose()
    pooled.dispose()


def test_no_plaintext_phone_or_address_reaches_the_database_file(sqlite_engine: Engine) -> None:
    generate_demo(sqlite_engine, SMALL)
    with Session(sqlite_engine) as session:
        customers = session.scalars(select(Customer)).all()
        phones = [customer.phone for customer in customers]
        addresses = [customer.address for customer in customers if customer.address]
    path = Path(sqlite_engine.url.database or "")
    stored = b"".join(
        candidate.read_bytes()
        for candidate in (path, path.with_name(path.name + "-wal"))
        if candidate.exists()
    )
    assert len(stored) > 100_000
    assert phones and addresses
    assert not [phone for phone in phones if phone and phone.encode() in stored]
    assert not [address for address in addresses if address.encode() in stored]


def test_a_second_run_into_the_same_database_is_refused_and_changes_nothing(
    sqlite_engine: Engine,
) -> None:
    generate_demo(sqlite_engine, SMALL)
    with Session(sqlite_engine) as session:
        before = (_count(session, Customer), _count(session, Order), _count(session, AuditEntry))
    with pytest.raises(DemoDatabaseNotEmpty) as refused:
        generate_demo(sqlite_engine, SMALL)
    assert refused.value.code == "demo_database_not_empty"
    assert refused.value.status == 409
    with Session(sqlite_engine) as session:
        after = (_count(session, Customer), _count(session, Order), _count(session, AuditEntry))
    assert after == before


def test_a_database_without_a_demo_has_no_stored_login(sqlite_engine: Engine) -> None:
    assert stored_demo_login(sqlite_engine) is None


# --- planted behaviour ---------------------------------------------------------------------------


def _hypergeometric_2f1(a: float, b: float, c: float, z: np.ndarray) -> np.ndarray:
    """Gauss's hypergeometric function by its series (|z| < 1), for the BG/NBD expectation."""
    term = np.ones_like(z)
    total = np.ones_like(z)
    for k in range(5_000):
        term = term * (a + k) * (b + k) / ((c + k) * (k + 1)) * z
        total += term
        if np.max(np.abs(term)) < 1e-12:
            break
    return total


def _bgnbd_expectations(r: float, alpha: float, a: float, b: float,
                        weeks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """E[X(t)] and P(X(t) = 0) of BG/NBD (Fader, Hardie and Lee 2005, eq. 9 and 8)."""
    base = (alpha / (alpha + weeks)) ** r
    hypergeometric = _hypergeometric_2f1(r, b, a + b - 1, weeks / (alpha + weeks))
    expected = (a + b - 1) / (a - 1) * (1 - base * hypergeometric)
    return expected, base


def test_orders_follow_the_planted_bgnbd_and_gamma_gamma_parameters(
    sqlite_engine: Engine,
) -> None:
    generate_demo(sqlite_engine, DemoOptions(customers=10_000, stores=4, seed=7))
    with Session(sqlite_engine) as session:
        truth = {row.name: row.value for row in session.scalars(select(PlantedTruth))}
        paid = session.execute(
            select(Order.customer_id, Order.paid_at, Order.total_fen)
            .where(Order.paid_at.is_not(None),
                   Order.source.not_in((GROUP_BUY_ORDER_SOURCE, FULL_ORDER_SOURCE,
                                        CAMPAIGN_ORDER_SOURCE, PROGRAMME_ORDER_SOURCE)))
            .order_by(Order.customer_id, Order.paid_at, Order.id)
        ).all()
    end = datetime.fromisoformat(truth["observation_end"]["at"]).timestamp()
    first_paid: dict[int, float] = {}
    purchases: dict[int, int] = {}
    repeat_totals: list[int] = []
    for customer_id, paid_at, total in paid:
        assert customer_id is not None and paid_at is not None
        if customer_id in first_paid:
            repeat_totals.append(total)
        first_paid.setdefault(customer_id, paid_at.timestamp())
        purchases[customer_id] = purchases.get(customer_id, 0) + 1
    assert len(first_paid) == 10_000  # everyone bought at acquisition
    customers = sorted(first_paid)
    weeks = np.asarray([(end - first_paid[c]) / WEEK_SECONDS for c in customers])
    repeats = np.asarray([purchases[c] - 1 for c in customers])

    bgnbd = truth["bgnbd"]
    expected, no_repeat = _bgnbd_expectations(
        bgnbd["r"], bgnbd["alpha"], bgnbd["a"], bgnbd["b"], weeks)
    assert repeats.mean() == pytest.approx(expected.mean(), rel=0.10)
    assert (repeats == 0).mean() == pytest.approx(no_repeat.mean(), abs=0.03)
    # Heterogeneity, which uniform or homogeneous Poisson buying would not show: most
    # customers never came back while a few came back many times.
    assert (repeats == 0).mean() > 0.5
    assert np.percentile(repeats, 99) >= 5 * max(1.0, float(np.median(repeats)))

    gamma_gamma = truth["gamma_gamma"]
    expected_total = gamma_gamma["p"] * gamma_gamma["v"] / (gamma_gamma["q"] - 1)
    assert np.mean(repeat_totals) == pytest.approx(expected_total, rel=0.10)


@pytest.mark.parametrize("kind", list(IdentityKind))
def test_bulk_blind_indexes_normalise_as_the_pool_does(kind: IdentityKind) -> None:
    """The sealer's blind indexes must find what ingestion stores, kind by kind."""
    protector = get_protector()
    for value in (" 138 1234 5678 ", "+86 13812345678", "dev-7a:Bc ", "wm0a_B-c", "880012"):
        sealed = seal(SealJob(index={"value_index": (kind.value, [value])}))
        assert sealed.indexes["value_index"] == [
            protector.blind_index(normalize_value(kind, value), kind.value)]


def test_the_demo_plants_offers_through_the_offers_service(fresh_engine: Engine) -> None:
    from yutang.offers import service as offers_service
    from yutang.offers.models import Coupon, LedgerTransaction
    from yutang.pool.models import Order

    generate_demo(fresh_engine, DemoOptions(customers=2_000, stores=3, seed=11))
    with Session(fresh_engine) as session:
        truth = session.scalars(select(PlantedTruth.value).where(
            PlantedTruth.name == "offers")).one()
        assert truth == {"tiers": 4, "claims": 300, "redemptions": 120, "top_ups": 100,
                         "charges": 60}
        statuses = {status: count for status, count in session.execute(
            select(Coupon.status, func.count()).group_by(Coupon.status))}
        assert statuses == {"available": 180, "redeemed": 120}
        redeemed_on_own_orders = session.scalar(
            select(func.count()).select_from(Coupon).join(Order, Order.id == Coupon.order_id)
            .where(Order.customer_id == Coupon.customer_id))
        assert redeemed_on_own_orders == 120
        assert session.scalar(select(func.count()).select_from(LedgerTransaction)) == 160
        # the offers were written now (the demo's history ends earlier): close tomorrow
        day = (datetime.now(UTC) + timedelta(days=1)).date()
        report = offers_service.reconcile(session, actor=SYSTEM, day=day)
        top_ups = 100 * (500_000 + 50_000)
        assert report.customer_liabilities_fen == report.merchant_side_fen == (
            top_ups - 60 * 8_800)
        assert report.unbalanced_transactions == [] and report.balance_mismatches == []
