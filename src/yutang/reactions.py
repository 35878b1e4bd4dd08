"""Every domain's after-commit reactions, installed once by each entry point (app, CLI)."""

from __future__ import annotations

from yutang.fission import referral_reactions as fission_reactions
from yutang.groups import reactions as groups_reactions
from yutang.offers import reactions as offers_reactions


def install_all() -> None:
    offers_reactions.install()
    fission_reactions.install()
    groups_reactions.install()
