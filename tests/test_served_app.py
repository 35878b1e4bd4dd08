"""A served app hides its start-up heap from the garbage collector (``gc.freeze``); an app
made for a test does not."""

from __future__ import annotations

import gc

from yutang.config import Settings
from yutang.main import create_app, create_served_app


def test_a_served_app_freezes_what_start_up_built(settings: Settings) -> None:
    gc.unfreeze()
    try:
        create_app(settings)
        assert gc.get_freeze_count() == 0
        app = create_served_app(settings)
        assert gc.get_freeze_count() > 0
        assert app.state.redemption_batcher is not None
    finally:
        gc.unfreeze()
