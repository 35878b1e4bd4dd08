"""What the campaigns pages share: reading form fields with clear errors, the local
date-time of a form, and the labels of the segment builder in the viewer's language."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import Request
from pydantic import ValidationError

from yutang.access.roles import Principal
from yutang.campaigns import service as campaigns_service
from yutang.console.i18n import translate
from yutang.console.templating import locale_of
from yutang.groups import service as groups_service
from yutang.kit.clock import SHANGHAI, ensure_utc, to_local
from yutang.kit.errors import InvalidInput
from yutang.kit.pagination import MAX_PAGE_SIZE, PageRequest
from yutang.kit.web import DbSession
from yutang.org import service as org_service
from yutang.pool import repository as pool_repository

RULE_VALUE_KINDS = ("choice", "store", "channel", "group", "date", "names", "score",
                    "number", "yuan")
BUILDER_WORDS = ("all", "any", "add_condition", "add_group", "remove", "true",
                 "from", "to", "names_hint", "choose", "unsupported")
"""Words of the builder's own controls (``campaigns.builder.<word>``)."""


def invalid_form(error: ValidationError) -> InvalidInput:
    fields = sorted({str(item["loc"][0]) for item in error.errors() if item["loc"]})
    return InvalidInput("the form is not valid", fields=fields)


def whole(text: str, name: str, default: int | None = None) -> int | None:
    """A whole number from a form field (empty: the default)."""
    text = text.strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError as error:
        raise InvalidInput(f"{name}: not a whole number", fields=[name]) from error


def decimal(text: str, name: str, default: float) -> float:
    text = text.strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError as error:
        raise InvalidInput(f"{name}: not a number", fields=[name]) from error


def local_moment(text: str, name: str) -> datetime | None:
    """A ``datetime-local`` field, read as Asia/Shanghai, as UTC."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise InvalidInput(f"{name}: not a date and time", fields=[name]) from error
    return ensure_utc(moment.replace(tzinfo=SHANGHAI) if moment.tzinfo is None else moment)


def local_input(moment: datetime | None) -> str:
    """The value of a ``datetime-local`` field for a stored instant."""
    return to_local(moment).strftime("%Y-%m-%dT%H:%M") if moment else ""


def parse_day(text: str, default: date) -> date:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else default
    except ValueError as error:
        raise InvalidInput("not a date (YYYY-MM-DD)", fields=["from"]) from error


def group_options(session: DbSession, principal: Principal) -> list[tuple[int, str]]:
    """The first groups the viewer may see (none for a role that may not read groups)."""
    if not principal.can(groups_service.READ):
        return []
    page = groups_service.list_groups(session, actor=principal,
                                      page=PageRequest(page=1, size=MAX_PAGE_SIZE))
    return [(group.id, f"{group.name} ({group.store_code})") for group in page.items]


def builder_data(request: Request, session: DbSession, principal: Principal,
                 rule: Any) -> dict[str, Any]:
    """The segment builder's catalog (fields, operators, choices, ids with names) in the
    viewer's language, and the rule to start from."""
    locale = locale_of(request)

    def t(key: str) -> str:
        return translate(locale, key)

    fields = [{
        "field": item.field, "label": t(f"campaigns.field.{item.field}"), "kind": item.kind,
        "ops": [{"op": op, "label": t(f"campaigns.op.{op}")} for op in item.ops],
        "choices": [{"value": choice, "label": t(f"campaigns.choice.{item.field}.{choice}")}
                    for choice in item.choices],
    } for item in campaigns_service.RULE_FIELDS]
    stores = [{"value": store.id, "label": f"{store.code} {store.name}"}
              for store in org_service.list_stores(session)
              if not principal.is_store_scoped or store.id == principal.store_id]
    channels = [{"value": channel.id, "label": f"{channel.code} {channel.name}"}
                for channel in pool_repository.all_channels(session)]
    groups = [{"value": group_id, "label": label}
              for group_id, label in group_options(session, principal)]
    return {
        "fields": fields, "options": {"store": stores, "channel": channels, "group": groups},
        "words": {word: t(f"campaigns.builder.{word}") for word in BUILDER_WORDS},
        "rule": rule,
    }
