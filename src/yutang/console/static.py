"""Static files: the console's own CSS/JS and the npm-installed libraries (ECharts, htmx)."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from yutang.config import Settings

OWN_STATIC_DIR = Path(__file__).parent / "static"
VENDOR_PACKAGES = {"echarts": "echarts/dist", "htmx": "htmx.org/dist"}
"""URL name → folder inside ``node_modules`` (installed by ``npm ci`` from package.json)."""

logger = logging.getLogger(__name__)


def find_node_modules(settings: Settings) -> Path | None:
    """``YUTANG_VENDOR_DIR``, else the nearest ``node_modules`` above the source or the cwd."""
    if settings.vendor_dir is not None:
        return settings.vendor_dir
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for folder in (start, *start.parents):
            candidate = folder / "node_modules"
            if (candidate / VENDOR_PACKAGES["echarts"]).is_dir():
                return candidate
    return None


def mount_static(app: FastAPI, settings: Settings) -> None:
    node_modules = find_node_modules(settings)
    if node_modules is None:
        logger.warning("node_modules not found: run `npm ci` so the console can draw its charts")
    else:
        for name, folder in VENDOR_PACKAGES.items():
            app.mount(
                f"/static/vendor/{name}",
                StaticFiles(directory=node_modules / folder, check_dir=False),
                name=f"vendor-{name}",
            )
    app.mount("/static", StaticFiles(directory=OWN_STATIC_DIR), name="static")
