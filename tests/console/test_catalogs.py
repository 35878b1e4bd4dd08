"""Every UI string goes through the catalogs, and both languages have every message."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import yutang
from yutang.console.i18n import SUPPORTED_LOCALES, catalog, translate
from yutang.console.templating import TEMPLATE_DIR
from yutang.kit.errors import DomainError

_TEMPLATE_KEY = re.compile(r"""\bt\(\s*'([a-z0-9_.]+)'""")
_DYNAMIC_PREFIXES = ("role.", "gender.", "order.status.", "nav.soon.", "lang.",
                     "channel.kind.", "channel.domain.", "identity.status.", "merge.action.",
                     "imports.kind.")


def _template_keys() -> set[str]:
    keys: set[str] = set()
    for path in Path(TEMPLATE_DIR).rglob("*.html"):
        keys |= set(_TEMPLATE_KEY.findall(path.read_text(encoding="utf-8")))
    return keys


def _all_error_codes() -> set[str]:
    for module in pkgutil.walk_packages(yutang.__path__, "yutang."):
        importlib.import_module(module.name)
    codes: set[str] = set()
    pending = [DomainError]
    while pending:
        error_class = pending.pop()
        codes.add(error_class.code)
        pending.extend(error_class.__subclasses__())
    return codes


def test_both_catalogs_have_the_same_keys_and_placeholders() -> None:
    chinese, english = catalog("zh_CN"), catalog("en")
    assert set(chinese) == set(english)
    placeholder = re.compile(r"\{(\w+)\}")
    for key in chinese:
        assert set(placeholder.findall(chinese[key])) == set(placeholder.findall(english[key])), key
        assert chinese[key].strip() and english[key].strip(), key


def test_every_key_used_by_a_template_exists() -> None:
    used = _template_keys()
    assert "auth.login" in used  # the scan itself works
    missing = {key for key in used if not key.endswith(".") and key not in catalog("zh_CN")}
    assert missing == set()


def test_dynamic_keys_cover_their_enumerations() -> None:
    from yutang.access.roles import Role
    from yutang.pool.models import ChannelDomain, ChannelKind, Gender, IdentityStatus, OrderStatus

    expected = (
        {f"role.{role.value}" for role in Role}
        | {f"gender.{gender.value}" for gender in Gender}
        | {f"order.status.{status.value}" for status in OrderStatus}
        | {f"lang.{locale}" for locale in SUPPORTED_LOCALES}
        | {f"channel.kind.{kind.value}" for kind in ChannelKind}
        | {f"channel.domain.{domain.value}" for domain in ChannelDomain}
        | {f"identity.status.{status.value}" for status in IdentityStatus}
        | {"identity.status.weak", "merge.action.merge", "merge.action.split",
           "merge.action.unmerge"}
    )
    assert expected - set(catalog("zh_CN")) == set()
    assert all(any(key.startswith(prefix) for prefix in _DYNAMIC_PREFIXES) for key in expected)


def test_every_domain_error_code_has_a_message_in_both_languages() -> None:
    codes = _all_error_codes()
    assert {"csrf_failed", "login_throttled", "customer_not_found"} <= codes
    for locale in SUPPORTED_LOCALES:
        assert {code for code in codes if f"error.{code}" not in catalog(locale)} == set(), locale


def test_translate_fills_placeholders_and_falls_back() -> None:
    assert translate("en", "common.page", page=2, pages=5) == "Page 2 of 5"
    assert translate("zh_CN", "common.page", page=2, pages=5) == "第 2 / 5 页"
    assert translate("en", "no.such.key") == "no.such.key"
