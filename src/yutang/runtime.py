"""Process start-up shared by the web app, the CLI and tests: keys and the database engine."""

from __future__ import annotations

import gc

from sqlalchemy.engine import Engine

from yutang.config import Settings
from yutang.kit.crypto import (
    DataProtector,
    configure_protector,
    decode_master_key,
    load_or_create_key_file,
)
from yutang.kit.db import create_engine


def configure_data_protection(settings: Settings) -> DataProtector:
    """Use ``YUTANG_DATA_KEY`` or the key file (created with 0600 permissions on first run)."""
    if settings.data_key:
        master_key = decode_master_key(settings.data_key)
    else:
        master_key = load_or_create_key_file(settings.data_key_file)
    protector = DataProtector.from_master_key(master_key)
    configure_protector(protector)
    return protector


def engine_for(settings: Settings) -> Engine:
    return create_engine(settings.database_url)


def freeze_start_up_heap() -> None:
    """Move the objects built so far (modules, routes, models, schemas: most of a served
    process's heap) out of the garbage collector's sight (``gc.freeze``): its full
    collections would otherwise walk them all, and stop every request of the process for
    100–250 ms, again and again under load."""
    gc.collect()
    gc.freeze()
