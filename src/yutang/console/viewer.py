"""Who is looking at a console page, as plain values that outlive the request's transaction."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from yutang.access.roles import Principal
from yutang.access.service import ActiveSession


@dataclass(frozen=True)
class Viewer:
    username: str
    display_name: str
    principal: Principal
    csrf_token: str
    locale: str | None

    @classmethod
    def of(cls, active: ActiveSession) -> Viewer:
        return cls(
            username=active.user.username,
            display_name=active.user.display_name,
            principal=active.principal,
            csrf_token=active.record.csrf_token,
            locale=active.user.locale,
        )


def remember_viewer(request: Request, active: ActiveSession) -> None:
    request.state.viewer = Viewer.of(active)


def viewer_of(request: Request) -> Viewer | None:
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    return viewer
