"""The tables the demo loads, and the check that they are empty."""

from __future__ import annotations

from sqlalchemy import Column, Connection, MetaData, Table, select

from yutang.access.models import User
from yutang.demo.errors import DemoDatabaseNotEmpty
from yutang.demo.models import PlantedTruth
from yutang.kit.db import Base
from yutang.org.models import Region, Store
from yutang.pool.models import (
    Channel,
    ChannelSpend,
    Consent,
    Customer,
    Identity,
    IdentityLink,
    IdentityValue,
    Order,
    OrderItem,
    Product,
)


def table_of(model: type[Base]) -> Table:
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


REGION, STORE, USER = table_of(Region), table_of(Store), table_of(User)
CHANNEL, SPEND, PRODUCT = table_of(Channel), table_of(ChannelSpend), table_of(Product)
CUSTOMER, IDENTITY, CONSENT = table_of(Customer), table_of(Identity), table_of(Consent)
IDENTITY_VALUE, IDENTITY_LINK = table_of(IdentityValue), table_of(IdentityLink)
ORDER, ORDER_ITEM = table_of(Order), table_of(OrderItem)
BULK_TABLES = (
    REGION, STORE, USER, CHANNEL, SPEND, PRODUCT, CUSTOMER, IDENTITY_VALUE, IDENTITY,
    IDENTITY_LINK, CONSENT, ORDER, ORDER_ITEM,
)
"""Every table the demo loads, parents first."""
INDEXED_TABLES = (CUSTOMER, IDENTITY, IDENTITY_LINK, CONSENT, ORDER, ORDER_ITEM)
"""The large tables whose secondary indexes are rebuilt after the load."""
DEMO_TABLES = (*BULK_TABLES, table_of(PlantedTruth))

IDENTITY_HOLDER = Table(
    "identity_holder", MetaData(),
    *(Column(name, IDENTITY.columns[name].type, nullable=False) for name in (
        "id", "customer_id", "source", "created_at", "value_id", "origin_customer_id")),
)
"""Identities without the columns they share with their node: what a stage holds of them."""
NODE_COLUMNS = {"kind": "kind", "scope": "scope", "value_index": "value_index", "value": "value"}
"""Identity column → the ``identity_value`` column it equals."""


def rows_in(connection: Connection, table: Table) -> bool:
    return connection.scalar(select(1).select_from(table).limit(1)) is not None


def require_empty(connection: Connection) -> None:
    for table in DEMO_TABLES:
        if rows_in(connection, table):
            raise DemoDatabaseNotEmpty(
                f"the database already holds rows in {table.name}; generate the demo into "
                "an empty database",
                table=table.name,
            )
